"""`kubetally rightsize`: right-sizing recommendations per workload container.

Thin: open the dataset, build the strategy settings once, call the pure analysis, put money on
it, render. The JSON/YAML/CSV shape is the recommendation frame of
``kubetally.model.recommendation`` plus ``monthly_saving`` and ``currency`` (docs/rightsize.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from pydantic import BaseModel, ValidationError

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
from kubetally.cli import app
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.manifest_actions import (
    ACTION_OUTPUTS,
    AllowQosOpt,
    ApplyOpt,
    ExcludeOpt,
    ManifestsOpt,
    NameMapOpt,
    StrictOpt,
    action_output,
    manifest_settings,
    rewrite_manifests,
)
from kubetally.cli.options import (
    DatasetOpt,
    DemoOpt,
    PrometheusOpt,
    check_namespaces,
    open_dataset,
)
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model.config import yaml_mapping
from kubetally.model.pricing import PriceBook, default_price_book, parse_price_text
from kubetally.outputs.formats import FORMATS, render
from kubetally.outputs.rightsizing import recommendation_table, top_opportunities
from kubetally.outputs.terminal import console


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


def _assign(model: type[BaseModel], assignments: list[str], option: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in model.model_fields:
            raise ConfigError(
                f"{option} {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(model.model_fields)}"
            )
        data[key.strip()] = value.strip()
    return data


def build_evidence(assignments: list[str]) -> EvidenceSettings:
    try:
        return EvidenceSettings.model_validate(_assign(EvidenceSettings, assignments, "--evidence"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"evidence settings: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def build_settings(strategy: str, assignments: list[str], policy: Path | None) -> StrategySettings:
    """The strategy's settings from --policy (YAML, tiered) and --set FIELD=VALUE overrides."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose {', '.join(STRATEGIES)}")
    model = STRATEGIES[strategy].settings_model
    data: dict[str, Any] = {}
    if policy is not None:
        if strategy != "tiered":
            raise ConfigError("--policy is for the tiered strategy")
        data.update(_read_yaml(policy))
    data.update(_assign(model, assignments, "--set"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{strategy} settings: {where + ': ' if where else ''}{message}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy file: {exc}") from None
    return yaml_mapping(text, where=str(path), shape="a policy file is a mapping with default_tier and tiers")


def price_book(prices: Path | None) -> PriceBook:
    if prices is None:
        return default_price_book()
    try:
        text = prices.read_text()
    except OSError as exc:
        raise ConfigError(f"{prices}: cannot read the price file: {exc}") from None
    return parse_price_text(text, where=str(prices))


def recommend(
    dataset: Dataset,
    *,
    strategy: str,
    settings: StrategySettings,
    namespaces: tuple[str, ...] = (),
    selector: str = "",
    book: PriceBook | None = None,
    evidence: EvidenceSettings | None = None,
) -> pl.DataFrame:
    """Recommendations (with money) for the selected workloads of ``dataset``."""
    history = history_from_dataset(dataset)
    recs = recommendations(
        history, strategy=STRATEGIES[strategy], settings=settings, evidence=evidence or EvidenceSettings()
    )
    requirements = parse_selector(selector)
    labels = workload_labels(dataset.labels, dataset.containers) if requirements else None
    recs = select_workloads(recs, namespaces=namespaces, selector=requirements, labels=labels)
    return with_money(
        recs, book=book, nodes=dataset.nodes, labels=dataset.labels, utilization=dataset.node_utilization()
    )


@app.command("rightsize", epilog=settings_help())
def rightsize_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help=f"Strategy: {', '.join(STRATEGIES)}.")
    ] = DEFAULT_STRATEGY,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Only this namespace (repeatable).")
    ] = None,
    selector: Annotated[
        str, typer.Option("--selector", "-l", help="Workload label selector: key=value,key!=value,key,!key.")
    ] = "",
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Output format: table, json, csv, yaml, patch (kubectl patch commands) or vpa (VPA objects).",
        ),
    ] = "table",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Strategy setting FIELD=VALUE (repeatable; see below).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Tier policy YAML for the tiered strategy (default_tier, tiers).")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price file (docs/cost-model.md); default: built-in prices.")
    ] = None,
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", help="Evidence setting FIELD=VALUE (repeatable; see below).")
    ] = None,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Table: also rows that are ok or have no recommendation.")
    ] = False,
    manifests: ManifestsOpt = None,
    apply: ApplyOpt = False,
    exclude: ExcludeOpt = None,
    strict: StrictOpt = False,
    allow_qos_change: AllowQosOpt = False,
    name_map: NameMapOpt = None,
) -> None:
    """Recommend CPU and memory requests/limits per workload container, with evidence and monthly saving.

    Act on them: --manifests DIR [--apply] rewrites your YAML (docs/rightsize-manifests.md),
    -o patch prints kubectl patch commands, -o vpa prints VPA objects in recommendation-only mode.
    """
    settings = build_settings(strategy, set_ or [], policy)
    evidence_settings = build_evidence(evidence or [])
    book = price_book(prices)
    if output not in ("table", *FORMATS, *ACTION_OUTPUTS):
        raise ConfigError(f"unknown output format {output!r}; choose {', '.join(('table', *FORMATS, *ACTION_OUTPUTS))}")
    if apply and manifests is None:
        raise ConfigError("--apply needs --manifests DIR")
    if manifests is not None and output != "table":
        raise ConfigError(f"--manifests prints a diff of your files (--apply writes them); drop -o {output}")
    manifest_options = manifest_settings(
        exclude=exclude, strict=strict, allow_qos_change=allow_qos_change, name_map=name_map
    )
    if manifests is None and (exclude or strict or name_map):
        raise ConfigError("--exclude, --strict and --name-map are for --manifests DIR")
    data = open_dataset(demo=demo, dataset=dataset, prometheus=prometheus)
    check_namespaces(namespace, data)
    recs = recommend(
        data,
        strategy=strategy,
        settings=settings,
        namespaces=tuple(namespace or ()),
        selector=selector,
        book=book,
        evidence=evidence_settings,
    )
    if selector and recs.height == 0:
        where = f" in namespace {', '.join(namespace)}" if namespace else ""
        raise ConfigError(f"--selector {selector!r}: no workload{where} matches it")
    if manifests is not None:
        only = namespace[0] if namespace and len(namespace) == 1 else None
        rewrite_manifests(
            recs, manifests, apply=apply, namespace=only, out=console(stderr=True), settings=manifest_options
        )
        return
    if output in ACTION_OUTPUTS:
        text, notes = action_output(recs, output, manifest_options)
        typer.echo(text, nl=False)
        err = console(stderr=True)
        for note in notes:
            err.print(f"[yellow]{note}[/]", highlight=False)
        return
    if output != "table":
        typer.echo(render(recs, output), nl=False)
        return
    shown = recs if all_rows else recs.filter(pl.col("status") != "ok")
    out = console()
    out.print(recommendation_table(shown, title=f"Right-sizing ({strategy}): current → recommended"))
    _print_totals(out, recs)


def _print_totals(out: Any, recs: pl.DataFrame) -> None:
    if recs.height == 0:
        out.print("no workload containers in the dataset: nothing to recommend")
        return
    counts = recs.group_by("status").len().sort("status")
    parts = ", ".join(f"{n} {s}" for s, n in counts.iter_rows())
    cpu = recs.select(pl.col("cpu_saving_cores").fill_null(0).sum()).item()
    mem = recs.select(pl.col("memory_saving_bytes").fill_null(0).sum()).item() / 2**30
    money = recs.select(pl.col("monthly_saving").sum()).item() if recs.height else None
    currency = recs.select(pl.col("currency").drop_nulls().first()).item() if recs.height else None
    line = f"{recs.height} containers: {parts}. If all applied: {cpu:+.2f} cores, {mem:+.2f} GiB freed"
    if money is not None and currency:
        line += f", {money:+,.2f} {currency}/month"
    out.print(line)


@demo_section(order=30, title="Right-sizing: top opportunities (tiered policy)")
def _demo(ctx: DemoContext) -> None:
    strategy = DEFAULT_STRATEGY
    recs = recommend(
        ctx.dataset, strategy=strategy, settings=STRATEGIES[strategy].settings_model(), book=default_price_book()
    )
    ctx.console.print(
        recommendation_table(top_opportunities(recs, 8), title="Evidence of trouble first, then the biggest savings")
    )
    _print_totals(ctx.console, recs)
    target = ctx.out_dir / "rightsizing.json"
    target.write_text(render(recs, "json"))
    ctx.console.print(f"all recommendations: {target}")
