"""The demo's results and how they print: the header and summary, then each step under its title.

Each step of ``kubetally.app.demo.STEPS`` returns a result; the ones below are what the demo shows of a use case
(a table or two and the file it wrote); a step may also return a use case's own result (e.g. nodes), printed by
its own table renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.rule import Rule
from rich.text import Text

from kubetally.outputs.cost import ShowbackResult, showback_table
from kubetally.outputs.registry import Result, register, render
from kubetally.outputs.rightsizing import change_table, recommendation_table, top_opportunities, totals_line
from kubetally.outputs.scaling import ScaleResult, hpa_table, offhours_table
from kubetally.outputs.storage import StorageReport, outlook_table, tables_table, volumes_table, what_if_table
from kubetally.outputs.terminal import node_table, workload_table
from kubetally.outputs.waste import WasteResult, tables

SHARED = (
    "shared: postgresql and rabbitmq split over auditflow and auditflow-dev by cost; "
    "overhead 4.00/month split evenly; prices: built-in Raspberry Pi profiles"
)
"""How the demo's allocation file (data/auditflow/allocation.yaml) shares cost, in one line."""


@dataclass(frozen=True, kw_only=True)
class DemoResult(Result):
    """One demo run: what was simulated and saved, the summary, and each step's result under its title."""

    days: float
    step_seconds: int
    seed: int
    dataset: Path
    counts: dict[str, int]
    recorded: tuple[int, Path] | None
    """(run id, history store) when the run was recorded."""
    nodes: pl.DataFrame
    workloads: pl.DataFrame
    steps: tuple[tuple[str, Result], ...]
    kind: ClassVar[str] = "demo"


@register("table", DemoResult)
def _demo(result: DemoResult) -> list[RenderableType]:
    counts = result.counts
    out: list[RenderableType] = [
        f"[bold]kubetally demo[/] — AuditFlow on a 4-node k3s Raspberry Pi cluster, "
        f"{result.days:g} days at {result.step_seconds} s steps (seed {result.seed})",
        f"[green]✓[/] dataset saved to [bold]{result.dataset}[/] "
        f"({counts['containers']} containers, {counts['usage']:,} usage samples)",
    ]
    if result.recorded is not None:
        out.append(f"[green]✓[/] run {result.recorded[0]} recorded in {result.recorded[1]}")
    out += [Text(""), node_table(result.nodes), workload_table(result.workloads)]
    for title, step in result.steps:
        out.append(Rule(f"[bold]{title}"))
        shown = render(step, "table")
        out += [Text(shown)] if isinstance(shown, str) else list(shown)
    return out


def _done(path: Path) -> str:
    return f"[green]✓[/] {path}"


@dataclass(frozen=True, kw_only=True)
class ShowbackStep(Result):
    by_team: ShowbackResult
    by_value: ShowbackResult
    """By criticality: spend next to efficiency."""
    csv: Path


@register("table", ShowbackStep)
def _showback(step: ShowbackStep) -> list[RenderableType]:
    out: list[RenderableType] = [showback_table(step.by_team.report), SHARED]
    unowned = step.by_team.unowned if step.by_team.unowned is not None else pl.DataFrame()
    currency = step.by_team.report.currency
    out += [
        f"[yellow]no owner:[/] {row['namespace']}/{row['controller']} {row['total_cost']} {currency}"
        for row in unowned.iter_rows(named=True)
    ]
    title = "Cost vs value: spend per criticality tier next to efficiency"
    return [*out, showback_table(step.by_value.report, title=title), _done(step.csv)]


@dataclass(frozen=True, kw_only=True)
class FocusStep(Result):
    rows: int
    files: tuple[Path, ...]


@register("table", FocusStep)
def _focus(step: FocusStep) -> list[RenderableType]:
    return [f"[green]✓[/] {step.rows} FOCUS 1.2 rows: {', '.join(str(f) for f in step.files)}"]


@dataclass(frozen=True, kw_only=True)
class RightsizeStep(Result):
    recommendations: pl.DataFrame
    file: Path


@register("table", RightsizeStep)
def _rightsize(step: RightsizeStep) -> list[RenderableType]:
    top = top_opportunities(step.recommendations, 8)
    return [
        recommendation_table(top, title="Evidence of trouble first, then the biggest savings"),
        totals_line(step.recommendations),
        f"all recommendations: {step.file}",
    ]


@dataclass(frozen=True, kw_only=True)
class StorageStep(Result):
    report: StorageReport
    currency: str
    policy: str
    """The demo's retention policy (YAML), shown as it is."""


@register("table", StorageStep)
def _storage(step: StorageStep) -> list[RenderableType]:
    report, currency = step.report, step.currency
    return [
        tables_table(report.tables),
        volumes_table(report.volumes, currency),
        what_if_table(report.what_if, currency),
        outlook_table(report.outlook, currency),
        Text(
            "The demo's policy (keep: 30d, `kubetally retention plan --policy` on a real database counts the rows; "
            "`kubetally retention cronjob` runs it nightly):\n" + step.policy
        ),
    ]


@dataclass(frozen=True, kw_only=True)
class ManifestsStep(Result):
    skipped: str | None = None
    """Why there is no plan (no k8s/ directory)."""
    changes: Sequence[Any] = ()
    summary: str = ""
    file: Path | None = None
    apply: str = ""
    """The command that applies the plan."""
    report: tuple[str, ...] = ()
    not_changed: tuple[str, ...] = ()


@register("table", ManifestsStep)
def _manifests(step: ManifestsStep) -> list[RenderableType]:
    if step.skipped is not None:
        return [step.skipped]
    out: list[RenderableType] = [
        change_table(step.changes),
        f"{step.summary}; the full diff: {step.file}",
        f"apply it: {step.apply}",
    ]
    out += [Text.from_markup(line) for line in step.report]
    return out + [Text.from_markup(f"[yellow]not changed:[/] {note}") for note in step.not_changed]


@dataclass(frozen=True, kw_only=True)
class ScaleStep(Result):
    result: ScaleResult
    file: Path


@register("table", ScaleStep)
def _scale(step: ScaleStep) -> list[RenderableType]:
    result = step.result
    return [
        hpa_table(result.shown_hpa(), result.prices, title="HPA what-if (workloads an HPA would save on)"),
        offhours_table(result.offhours, result.prices, title="Off-hours plans for non-production workloads"),
        f"proposed HPA and downscaler annotations: {step.file}",
    ]


@dataclass(frozen=True, kw_only=True)
class WasteStep(Result):
    result: WasteResult
    file: Path


@register("table", WasteStep)
def _waste(step: WasteStep) -> list[RenderableType]:
    return [tables(step.result.report), f"every finding with its silence command: {step.file}"]


@dataclass(frozen=True, kw_only=True)
class ReportStep(Result):
    changes: dict[str, Any] | None
    """The first week against the last (a baseline diff), None when the window is shorter than two weeks."""
    currency: str
    file: Path


@register("table", ReportStep)
def _report(step: ReportStep) -> list[RenderableType]:
    out: list[RenderableType] = []
    if step.changes is not None:
        t, f = step.changes["totals"], step.changes["findings"]
        out.append(
            f"since the first week (baseline diff): spend {t['monthly_before']:.2f} -> {t['monthly_after']:.2f} "
            f"{step.currency}/month ({t['monthly_change']:+.2f}), {len(step.changes['workloads'])} workload(s) "
            f"changed, findings appeared {len(f['appeared'])}, resolved {len(f['resolved'])}"
        )
    out.append(f"[green]✓[/] report for the business owner: [bold]{step.file.resolve()}[/] (open it in a browser)")
    return out
