"""Right-sizing: recommendations per workload container, with evidence and monthly saving; acting on them.

``-o patch`` / ``-o vpa`` turn the recommendations into kubectl patches / VPA objects (checked
against the live values first); ``--manifests DIR`` plans (and with ``--apply`` writes) the edit
of a manifest tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from kubetally.actions.manifests import ManifestPlan, ManifestSettings, apply_plan, plan_manifests
from kubetally.actions.manifests.live import LiveCheck, checked_live_targets
from kubetally.actions.manifests.render import kubectl_patch_commands, vpa_yaml
from kubetally.actions.manifests.targets import targets_from_recommendations
from kubetally.analysis.rightsizing import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    EvidenceSettings,
    StrategySettings,
    TierPolicy,
    history_from_dataset,
    recommendations,
)
from kubetally.analysis.rightsizing.money import with_money
from kubetally.analysis.rightsizing.select import parse_selector, select_workloads, workload_labels
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.inputs import PricesRequest, price_book
from kubetally.app.source import Opened, SourceRequest, check_namespaces, open_source
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model.config import yaml_mapping
from kubetally.model.pricing import PriceBook
from kubetally.outputs.registry import Result, register
from kubetally.outputs.rightsizing import RecommendationsResult

SKIPPED_EXIT = 3
"""Exit status when some files were skipped or some objects refused (the rest was planned or written)."""


def _fields_help(title: str, model: type[BaseModel]) -> list[str]:
    lines = [title]
    for field, info in model.model_fields.items():
        bounds = [
            f"{op}{getattr(m, attr)}"
            for m in info.metadata
            for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
            if hasattr(m, attr)
        ]
        default = "per tier, see below" if field == "tiers" else repr(info.get_default(call_default_factory=True))
        lines.append(f"  {field} = {default} {' '.join(bounds)}: {info.description or ''}")
    lines.append("")
    return lines


def settings_help() -> str:
    """Every strategy's settings with bounds and descriptions (the --help epilog and docs)."""
    lines = []
    for name, strategy in STRATEGIES.items():
        lines += _fields_help(f"{name} settings (--set FIELD=VALUE):", strategy.settings_model)
        if name == "tiered":
            lines += _fields_help("tier policy fields (per tier in the --policy file; standard defaults):", TierPolicy)
    lines += _fields_help("evidence settings (--evidence FIELD=VALUE, every strategy):", EvidenceSettings)
    return "\n\n".join(lines)


def assignments(model: type[BaseModel], items: tuple[str, ...] | list[str], option: str) -> dict[str, str]:
    """``FIELD=VALUE`` items as a dict; a field ``model`` does not have is refused."""
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in model.model_fields:
            raise ValueError(
                f"{option} {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(model.model_fields)}"
            )
        data[key.strip()] = value.strip()
    return data


def build_evidence(items: tuple[str, ...] | list[str]) -> EvidenceSettings:
    try:
        return EvidenceSettings.model_validate(assignments(EvidenceSettings, items, "--evidence"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"evidence settings: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _read_policy(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy file: {exc}") from None
    return yaml_mapping(text, where=str(path), shape="a policy file is a mapping with default_tier and tiers")


def build_settings(strategy: str, items: tuple[str, ...] | list[str], policy: Path | None) -> StrategySettings:
    """The strategy's settings from --policy (YAML, tiered) and --set FIELD=VALUE overrides."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose {', '.join(STRATEGIES)}")
    model = STRATEGIES[strategy].settings_model
    data: dict[str, Any] = {}
    if policy is not None:
        if strategy != "tiered":
            raise ConfigError("--policy is for the tiered strategy")
        data.update(_read_policy(policy))
    try:
        data.update(assignments(model, items, "--set"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{strategy} settings: {where + ': ' if where else ''}{message}") from None


def recommend(
    dataset: Dataset,
    *,
    strategy: str,
    settings: StrategySettings,
    namespaces: tuple[str, ...] = (),
    selector: str = "",
    book: PriceBook | None = None,
    evidence: EvidenceSettings | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """Recommendations (with money) for the selected workloads of ``dataset``; percentiles from its hourly
    summaries when it has them, unless ``exact``."""
    exact = exact or bool(getattr(STRATEGIES[strategy], "needs_samples", False))
    history = history_from_dataset(dataset, percentiles="exact" if exact else "auto")
    recs = recommendations(
        history, strategy=STRATEGIES[strategy], settings=settings, evidence=evidence or EvidenceSettings()
    )
    requirements = parse_selector(selector)
    labels = workload_labels(dataset.labels, dataset.containers) if requirements else None
    recs = select_workloads(recs, namespaces=namespaces, selector=requirements, labels=labels)
    return with_money(
        recs, book=book, nodes=dataset.nodes, labels=dataset.labels, utilization=dataset.node_utilization()
    )


def default_recommendations(dataset: Dataset, book: PriceBook | None = None, *, priced: bool = True) -> pl.DataFrame:
    """Recommendations of the default strategy with its default settings (what nodes, scale and the demo use);
    without money columns when not ``priced``."""
    strategy = STRATEGIES[DEFAULT_STRATEGY]
    if not priced:
        history = history_from_dataset(dataset)
        return recommendations(
            history, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings()
        )
    return recommend(dataset, strategy=DEFAULT_STRATEGY, settings=strategy.settings_model(), book=book)


class RightsizeRequest(PricesRequest, SourceRequest):
    """Recommend CPU and memory requests/limits per workload container, with evidence and monthly saving.

    Act on them: --manifests DIR [--apply] rewrites your YAML (docs/rightsize-manifests.md),
    -o patch prints kubectl patch commands, -o vpa prints VPA objects in recommendation-only mode.
    """

    strategy: str = Field(
        DEFAULT_STRATEGY, description=f"Strategy: {', '.join(STRATEGIES)}.", json_schema_extra=cli(short="-s")
    )
    namespace: tuple[str, ...] = Field(
        (), description="Only this namespace (repeatable).", json_schema_extra=cli(short="-n")
    )
    selector: str = Field(
        "", description="Workload label selector: key=value,key!=value,key,!key.", json_schema_extra=cli(short="-l")
    )
    output: Literal["table", "json", "csv", "yaml", "patch", "vpa"] = Field("table", json_schema_extra=cli(short="-o"))
    set_values: tuple[str, ...] = Field(
        (),
        description="Strategy setting FIELD=VALUE (repeatable; see below).",
        json_schema_extra=cli(flag="--set", metavar="FIELD=VALUE"),
    )
    policy: Path | None = Field(
        None,
        description="Tier policy YAML for the tiered strategy (default_tier, tiers).",
        json_schema_extra=cli(metavar="FILE"),
    )
    evidence: tuple[str, ...] = Field(
        (),
        description="Evidence setting FIELD=VALUE (repeatable; see below).",
        json_schema_extra=cli(metavar="FIELD=VALUE"),
    )
    all_rows: bool = Field(
        False,
        description="Table: also rows that are ok or have no recommendation.",
        json_schema_extra=cli(flag="--all"),
    )
    manifests: Path | None = Field(
        None,
        description="Rewrite the resources of matching workloads in this YAML directory (dry run: prints a diff).",
        json_schema_extra=cli(metavar="DIR"),
    )
    apply: bool = Field(False, description="With --manifests: write the files (atomically).")
    exclude: tuple[str, ...] = like(ManifestSettings, "exclude", metavar="GLOB")
    strict: bool = like(ManifestSettings, "strict")
    allow_qos_change: bool = like(ManifestSettings, "allow_qos_change")
    name_map: tuple[str, ...] = like(ManifestSettings, "name_map", default=(), metavar="RULE")
    exact: bool = Field(
        False,
        description="Exact percentiles from every usage sample (KRR-compatible). Default: from hourly summaries "
        "when the source has them (--prometheus with remote read), within 0.5%.",
    )

    series_frames: ClassVar[frozenset[str] | None] = frozenset({"usage", "terminations", "node_usage"})

    def hourly_usage(self) -> bool:
        return not self.exact and not getattr(STRATEGIES[self.strategy], "needs_samples", False)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; choose {', '.join(STRATEGIES)}")
        return value

    @field_validator("set_values")
    @classmethod
    def _set_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if "=" not in item:
                raise ValueError(f"--set {item!r}: expected FIELD=VALUE")
        return value

    @model_validator(mode="after")
    def _options_fit_together(self) -> RightsizeRequest:
        if self.policy is not None and self.strategy != "tiered":
            raise ValueError("--policy is for the tiered strategy")
        assignments(STRATEGIES[self.strategy].settings_model, self.set_values, "--set")
        assignments(EvidenceSettings, self.evidence, "--evidence")
        if self.apply and self.manifests is None:
            raise ValueError("--apply needs --manifests DIR")
        if self.manifests is not None and self.output != "table":
            raise ValueError(f"--manifests prints a diff of your files (--apply writes them); drop -o {self.output}")
        if self.manifests is None and (self.exclude or self.strict or self.name_map):
            raise ValueError("--exclude, --strict and --name-map are for --manifests DIR")
        self.manifest_settings  # noqa: B018  (validated here: a bad --name-map is one line before any work)
        return self

    @property
    def manifest_settings(self) -> ManifestSettings:
        try:
            return ManifestSettings.model_validate(
                {
                    "exclude": self.exclude,
                    "strict": self.strict,
                    "allow_qos_change": self.allow_qos_change,
                    "name_map": self.name_map,
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "manifest settings"
            raise ValueError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None


# ---------------------------------------------------------------- acting on recommendations


@dataclass(frozen=True, kw_only=True)
class LiveActionsResult(Result):
    """``-o patch`` / ``-o vpa``: the recommendations as changes to the live objects, checked first."""

    check: LiveCheck
    kind: ClassVar[str] = "rightsize"


@register("patch", LiveActionsResult)
def _patch(result: LiveActionsResult) -> str:
    return kubectl_patch_commands(result.check.targets)


@register("vpa", LiveActionsResult)
def _vpa(result: LiveActionsResult) -> str:
    return vpa_yaml(result.check.targets)


def live_actions(recs: pl.DataFrame, settings: ManifestSettings | None = None) -> LiveActionsResult:
    """The changes to the live objects, under the manifest invariants; what was refused as messages."""
    targets, _ = targets_from_recommendations(recs, include_unchanged=True)
    check = checked_live_targets(targets, settings)
    lines = [f"[yellow]refused {ref}: {reason}[/]" for ref, reason in check.refused]
    lines += [f"[yellow]{ref}: {note}[/]" for ref, note in check.notes]
    return LiveActionsResult(check=check, messages=tuple(lines))


def manifest_plan(
    recs: pl.DataFrame, directory: Path, *, namespace: str | None, settings: ManifestSettings | None = None
) -> tuple[ManifestPlan, list[str]]:
    """The plan for ``directory`` and notes on what it could not cover."""
    targets, skipped = targets_from_recommendations(recs, whole=True)
    plan = plan_manifests(directory, targets, namespace=namespace, settings=settings)
    notes = [f"{s.ref} container {s.container}: {s.reason}" for s in skipped]
    missing = sorted({str(t.ref) for t in plan.unmatched})
    if missing:
        notes.append(f"{len(missing)} workloads with recommendations are not in {directory}: {', '.join(missing)}")
    sidecars = sorted({f"{t.ref} container {t.container}" for t in plan.sidecars})
    if sidecars:
        notes.append(
            f"{len(sidecars)} containers are in the usage data but not in the manifests (injected sidecars such as "
            f"istio-proxy?): {', '.join(sidecars)}"
        )
    return plan, notes


def plan_report(plan: ManifestPlan) -> list[str]:
    """One line per refused object, skipped file, adjustment and note (for standard error)."""
    style = {"refused": "[red]refused:[/]", "unchanged": "[green]unchanged:[/]", "note": "[cyan]note:[/]"}
    facts = plan.facts()
    lines = [f"{style[f.kind]} {f}" for f in facts if f.kind == "refused"]
    lines += [f"[red]skipped file:[/] {s.reason}" for s in plan.skipped]
    lines += [f"{style[f.kind]} {f}" for f in facts if f.kind != "refused"]
    lines += [f"[cyan]note:[/] {n}" for n in plan.notes]
    for v in plan.values:
        if v.refused is not None:
            lines.append(f"[red]no values suggestion:[/] {v.chart}: {v.ref}: {v.refused}")
        else:
            lines.append(f"[green]values suggestion[/] (the chart's templates are not edited):\n{v.text().rstrip()}")
        lines += [f"[cyan]note:[/] {v.chart}: {v.ref}: {n}" for n in v.notes]
    return lines


def plan_summary(plan: ManifestPlan) -> str:
    workloads = {change.ref for change in plan.changes}
    refused = f", {len(plan.refused)} objects refused" if plan.refused else ""
    return (
        f"{len(plan.changes)} resource values in {len(workloads)} workloads, {len(plan.files)} files "
        f"({len(plan.workloads)} workloads found in the manifests{refused})"
    )


@dataclass(frozen=True, kw_only=True)
class ManifestsResult(Result):
    """``--manifests DIR``: the plan (a diff when not applied) and what was written."""

    plan: ManifestPlan
    applied: bool
    kind: ClassVar[str] = "rightsize --manifests"


@register("table", ManifestsResult)
def _diff(result: ManifestsResult) -> str:
    return "" if result.applied else result.plan.diff()


def rewrite_manifests(
    recs: pl.DataFrame, directory: Path, *, apply: bool, namespace: str | None, settings: ManifestSettings
) -> ManifestsResult:
    """Plan the edit of ``directory`` (write it with ``apply``); a summary and what was not covered."""
    plan, notes = manifest_plan(recs, directory, namespace=namespace, settings=settings)
    if apply:
        written = apply_plan(plan)
        lines = [f"[green]✓[/] wrote {len(written)} files: {plan_summary(plan)}"]
    else:
        lines = [f"dry run: {plan_summary(plan)}; add --apply to write them"]
    lines += plan_report(plan)
    lines += [f"[yellow]not changed:[/] {note}" for note in notes]
    unsuggested = [v for v in plan.values if v.refused is not None]
    bad = bool(plan.skipped or plan.refused or unsuggested)
    if bad:
        lines.append(
            f"[yellow]{len(plan.skipped)} files skipped, {len(plan.refused) + len(unsuggested)} objects refused[/] "
            f"(the rest {'was written' if apply else 'is planned'}; --strict stops at the first bad file)"
        )
    return ManifestsResult(plan=plan, applied=apply, messages=tuple(lines), exit_code=SKIPPED_EXIT if bad else 0)


# ---------------------------------------------------------------- the use case


def rightsize(request: RightsizeRequest, opened: Opened | None = None, progress: Progress = no_progress) -> Result:
    """Recommendations (or, with -o patch/vpa or --manifests, the changes they make) for ``request``."""
    settings = build_settings(request.strategy, request.set_values, request.policy)
    evidence = build_evidence(request.evidence)
    book = price_book(request.prices)
    opened = opened or open_source(request, progress)
    data = opened.dataset
    check_namespaces(request.namespace, data)
    progress("recommending...")
    recs = recommend(
        data,
        strategy=request.strategy,
        settings=settings,
        namespaces=request.namespace,
        selector=request.selector,
        book=book,
        evidence=evidence,
        exact=request.exact,
    )
    if request.selector and recs.height == 0:
        where = f" in namespace {', '.join(request.namespace)}" if request.namespace else ""
        raise ConfigError(f"--selector {request.selector!r}: no workload{where} matches it")
    if request.manifests is not None:
        only = request.namespace[0] if len(request.namespace) == 1 else None
        return rewrite_manifests(
            recs, request.manifests, apply=request.apply, namespace=only, settings=request.manifest_settings
        )
    if request.output in ("patch", "vpa"):
        return live_actions(recs, request.manifest_settings)
    return RecommendationsResult(
        recommendations=recs, strategy=request.strategy, all_rows=request.all_rows, notes=opened.notes
    )
