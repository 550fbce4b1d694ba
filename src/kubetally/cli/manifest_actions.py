"""Acting on right-sizing: rewrite a manifest directory (diff / --apply), kubectl patches, VPA objects.

Used by `kubetally rightsize --manifests DIR [--apply]` and `-o patch` / `-o vpa`, and by the demo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kubetally.actions.manifests import ManifestPlan, ManifestSettings, apply_plan, plan_manifests
from kubetally.actions.manifests.live import checked_live_targets
from kubetally.actions.manifests.render import kubectl_patch_commands, vpa_yaml
from kubetally.actions.manifests.targets import targets_from_recommendations
from kubetally.analysis.rightsizing import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    EvidenceSettings,
    history_from_dataset,
    recommendations,
)
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError

_HELP = ManifestSettings.model_fields

ManifestsOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifests",
        help="Rewrite the resources of matching workloads in this YAML directory (dry run: prints a diff).",
    ),
]
ApplyOpt = Annotated[bool, typer.Option("--apply", help="With --manifests: write the files (atomically).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help=_HELP["exclude"].description)]
StrictOpt = Annotated[bool, typer.Option("--strict", help=_HELP["strict"].description)]
AllowQosOpt = Annotated[bool, typer.Option("--allow-qos-change", help=_HELP["allow_qos_change"].description)]
NameMapOpt = Annotated[list[str] | None, typer.Option("--name-map", help=_HELP["name_map"].description)]
SKIPPED_EXIT = 3
"""Exit status when some files were skipped or some objects refused (the rest was planned or written)."""


def manifest_settings(
    *, exclude: list[str] | None, strict: bool, allow_qos_change: bool, name_map: list[str] | None
) -> ManifestSettings:
    """The settings model from the command-line options (one clear line on a bad value)."""
    try:
        return ManifestSettings.model_validate(
            {
                "exclude": tuple(exclude or ()),
                "strict": strict,
                "allow_qos_change": allow_qos_change,
                "name_map": tuple(name_map or ()),
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "manifest settings"
        raise ConfigError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None


ACTION_OUTPUTS = ("patch", "vpa")
"""Output formats that turn recommendations into actions instead of listing them."""


def action_output(recs: pl.DataFrame, fmt: str, settings: ManifestSettings | None = None) -> tuple[str, list[str]]:
    """``patch``: one `kubectl patch` command per workload; ``vpa``: VPA objects with updateMode Off.

    The invariants are checked against the live values first; the second item says what was refused.
    """
    targets, _ = targets_from_recommendations(recs, include_unchanged=True)
    checked = checked_live_targets(targets, settings)
    text = kubectl_patch_commands(checked.targets) if fmt == "patch" else vpa_yaml(checked.targets)
    notes = [f"refused {ref}: {reason}" for ref, reason in checked.refused]
    notes += [f"{ref}: {note}" for ref, note in checked.notes]
    return text, notes


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
    lines = [f"[red]refused:[/] {r.file}:{r.line}: {r.ref}: {r.reason}" for r in plan.refused]
    lines += [f"[red]skipped file:[/] {s.reason}" for s in plan.skipped]
    lines += [f"[cyan]note:[/] {r.file}: {r.ref}: {n}" for r in plan.objects if r.status != "refused" for n in r.notes]
    lines += [f"[cyan]note:[/] {n}" for n in plan.notes]
    for v in plan.values:
        if v.refused is not None:
            lines.append(f"[red]no values suggestion:[/] {v.chart}: {v.ref}: {v.refused}")
        else:
            lines.append(f"[green]values suggestion[/] (the chart's templates are not edited):\n{v.text().rstrip()}")
        lines += [f"[cyan]note:[/] {v.chart}: {v.ref}: {n}" for n in v.notes]
    return lines


def summary(plan: ManifestPlan) -> str:
    workloads = {change.ref for change in plan.changes}
    refused = f", {len(plan.refused)} objects refused" if plan.refused else ""
    return (
        f"{len(plan.changes)} resource values in {len(workloads)} workloads, {len(plan.files)} files "
        f"({len(plan.workloads)} workloads found in the manifests{refused})"
    )


def rewrite_manifests(
    recs: pl.DataFrame,
    directory: Path,
    *,
    apply: bool,
    namespace: str | None,
    out: Console,
    settings: ManifestSettings | None = None,
) -> ManifestPlan:
    """Print the diff (dry run) or write the files; then a summary and what was not covered.

    Exits with status 3 after that when some files were skipped or some objects refused.
    """
    plan, notes = manifest_plan(recs, directory, namespace=namespace, settings=settings)
    if apply:
        written = apply_plan(plan)
        out.print(f"[green]✓[/] wrote {len(written)} files: {summary(plan)}")
    else:
        typer.echo(plan.diff(), nl=False)
        out.print(f"dry run: {summary(plan)}; add --apply to write them")
    for line in plan_report(plan):
        out.print(line, highlight=False)
    for note in notes:
        out.print(f"[yellow]not changed:[/] {note}", highlight=False)
    unsuggested = [v for v in plan.values if v.refused is not None]
    if plan.skipped or plan.refused or unsuggested:
        out.print(
            f"[yellow]{len(plan.skipped)} files skipped, {len(plan.refused) + len(unsuggested)} objects refused[/] "
            f"(the rest {'was written' if apply else 'is planned'}; --strict stops at the first bad file)",
            highlight=False,
        )
        raise typer.Exit(SKIPPED_EXIT)
    return plan


def default_recommendations(dataset: Dataset) -> pl.DataFrame:
    """Right-sizing with the default strategy and settings (what the demo acts on)."""
    strategy = STRATEGIES[DEFAULT_STRATEGY]
    history = history_from_dataset(dataset)
    return recommendations(history, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())


def repository_k8s() -> Path | None:
    """The AuditFlow manifests of a source checkout (``k8s/`` next to ``src/``), if present."""
    candidate = Path(__file__).resolve().parents[3] / "k8s"
    return candidate if candidate.is_dir() else None


def change_table(plan: ManifestPlan, *, limit: int = 14) -> Table:
    table = Table(title="Proposed resource changes in k8s/", title_justify="left")
    for header in ("workload", "container", "field", "now", "proposed"):
        table.add_column(header)
    for change in plan.changes[:limit]:
        table.add_row(
            f"{change.ref.namespace}/{change.ref.name}",
            change.container,
            ".".join(change.field),
            change.before or "(unset)",
            change.after or "(removed)",
        )
    if len(plan.changes) > limit:
        table.add_row(f"... {len(plan.changes) - limit} more", "", "", "", "")
    return table


@demo_section(order=40, title="Manifests: the right-sizing as a diff of k8s/")
def _demo(ctx: DemoContext) -> None:
    directory = repository_k8s()
    if directory is None:
        ctx.console.print("k8s/ not found (the AuditFlow manifests ship with a source checkout): skipped")
        return
    plan, notes = manifest_plan(default_recommendations(ctx.dataset), directory, namespace=None)
    target = ctx.out_dir / "k8s-rightsizing.diff"
    target.write_text(plan.diff())
    ctx.console.print(change_table(plan))
    ctx.console.print(f"{summary(plan)}; the full diff: {target}")
    shown = os.path.relpath(directory)
    shown = str(directory) if shown.startswith("..") else shown
    ctx.console.print(f"apply it: kubetally rightsize --dataset {ctx.out_dir / 'dataset'} --manifests {shown} --apply")
    for line in plan_report(plan):
        ctx.console.print(line, highlight=False)
    for note in notes:
        ctx.console.print(f"[yellow]not changed:[/] {note}", highlight=False)
