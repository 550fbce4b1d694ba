"""Rich tables for cost reports: showback, over-commitment, nodes and packing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.analysis import nodes as n
from kubetally.analysis.allocation.report import Showback
from kubetally.analysis.nodes import NodeReport
from kubetally.model import columns as c
from kubetally.outputs.registry import Result, register
from kubetally.outputs.terminal import cores, frame_table, mebibytes

_COST_HEADERS = (
    (c.TOTAL_COST, "total"),
    (c.CPU_COST, "CPU"),
    (c.MEMORY_COST, "memory"),
    (c.PV_COST, "volumes"),
    (c.NETWORK_COST, "network"),
    (c.IDLE_COST, "idle"),
    (c.SHARED_COST, "shared"),
    (c.OVERHEAD_COST, "overhead"),
    (c.WASTE_COST, "waste"),
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def window_text(hours: float) -> str:
    """A window length for people: '14 days', '2 hours'."""
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def showback_table(report: Showback, *, title: str | None = None) -> Table:
    """The showback rows with a total line. Columns that are zero everywhere are left out."""
    rows = report.rows
    shown = [(k, h) for k, h in _COST_HEADERS if k == c.TOTAL_COST or any(v != 0 for v in rows[k].to_list())]
    table = Table(
        title=title or f"Showback by {', '.join(report.by)} — {window_text(report.window_hours)}, {report.currency}",
        title_justify="left",
        show_footer=True,
    )
    for i, key in enumerate(report.by):
        table.add_column(key, footer="total" if i == 0 else "", no_wrap=True)
    for key, header in shown:
        total = sum(rows[key].to_list(), Decimal(0))
        table.add_column(header, justify="right", footer=_money(total), no_wrap=True)
    for header in ("CPU eff", "mem eff", "eff"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("per month", justify="right", footer=_money(report.monthly_projection), no_wrap=True)
    for row in rows.iter_rows(named=True):
        table.add_row(
            *[str(row[k]) for k in report.by],
            *[_money(row[k]) for k, _ in shown],
            _pct(row[c.CPU_EFFICIENCY]),
            _pct(row[c.MEMORY_EFFICIENCY]),
            _pct(row[c.TOTAL_EFFICIENCY]),
            _money(row[c.MONTHLY_PROJECTION]),
        )
    return table


def overcommit_table(frame: pl.DataFrame, currency: str) -> Table:
    table = Table(
        title="Over-commitment: max(request, usage) above node capacity (not booked as negative idle)",
        title_justify="left",
    )
    for header in ("node", "resource", "peak ratio", "over (unit-hours)", f"unbilled {currency}"):
        table.add_column(header, justify="left" if header in ("node", "resource") else "right", no_wrap=True)
    for row in frame.iter_rows(named=True):
        unit = "core-h" if row[c.RESOURCE] == "cpu" else "GiB-h"
        table.add_row(
            row[c.NODE],
            row[c.RESOURCE],
            f"{row[c.OVERCOMMIT_RATIO]:.2f}x",
            f"{row[c.OVERCOMMITTED_QUANTITY_HOURS]:.2f} {unit}",
            f"{row[c.UNBILLED_COST]:.2f}",
        )
    return table


def nodes_table(report: NodeReport) -> Table:
    table = Table(
        title="Nodes: allocatable, requested (mean / p95), used (mean / p95), stranded and fragmented",
        title_justify="left",
    )
    headers = ("node", "CPU alloc", "CPU req", "CPU used", "CPU stranded", "CPU frag",
               "mem alloc", "mem req", "mem used", "mem stranded", "mem frag")  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "node" else "right", no_wrap=True)
    for r in report.cluster.iter_rows(named=True):
        table.add_row(
            f"Σ {r[c.CLUSTER]}",
            cores(r[c.CPU_ALLOCATABLE_CORES]),
            cores(r[n.REQ_CPU_MEAN]),
            cores(r[n.USE_CPU_MEAN]),
            cores(r[n.STRANDED_CPU]),
            cores(r[n.FRAG_CPU]),
            mebibytes(r[c.MEMORY_ALLOCATABLE_BYTES]),
            mebibytes(r[n.REQ_MEM_MEAN]),
            mebibytes(r[n.USE_MEM_MEAN]),
            mebibytes(r[n.STRANDED_MEM]),
            mebibytes(r[n.FRAG_MEM]),
            style="bold",
            end_section=True,
        )
    for r in report.nodes.sort(c.NODE).iter_rows(named=True):
        table.add_row(
            r[c.NODE],
            cores(r[c.CPU_ALLOCATABLE_CORES]),
            f"{cores(r[n.REQ_CPU_MEAN])} / {cores(r[n.REQ_CPU_P95])}",
            f"{cores(r[n.USE_CPU_MEAN])} / {cores(r[n.USE_CPU_P95])}",
            cores(r[n.STRANDED_CPU]),
            cores(r[n.FRAG_CPU]),
            mebibytes(r[c.MEMORY_ALLOCATABLE_BYTES]),
            f"{mebibytes(r[n.REQ_MEM_MEAN])} / {mebibytes(r[n.REQ_MEM_P95])}",
            f"{mebibytes(r[n.USE_MEM_MEAN])} / {mebibytes(r[n.USE_MEM_P95])}",
            mebibytes(r[n.STRANDED_MEM]),
            mebibytes(r[n.FRAG_MEM]),
        )
    return table


PACKING_NOTE = (
    "cash: the freed nodes' power and overhead (all of a cloud node's price); book value: amortisation of owned "
    "hardware, already paid: saved only if the hardware is sold or reused"
)


def packing_table(report: NodeReport, currency: str) -> Table:
    table = Table(
        title="Right-sizing estimate (first-fit-decreasing onto the existing node shapes)", title_justify="left"
    )
    for header in (
        "pods sized by",
        "nodes now",
        "nodes needed",
        "pods that fit nowhere",
        "nodes freed",
        "cash saving/month",
        "book value/month",
    ):
        table.add_column(header, justify="left" if header in ("pods sized by", "nodes freed") else "right")
    if any(p.monthly_book_saving for p in report.packing):
        table.caption = PACKING_NOTE
        table.caption_justify = "left"
    for p in report.packing:
        table.add_row(
            p.scenario,
            str(p.nodes_now),
            str(p.nodes_needed),
            str(p.unplaced_pods),
            ", ".join(p.nodes_freed) or "-",
            "-" if p.monthly_saving is None else f"{p.monthly_saving:,.2f} {currency}",
            "-" if p.monthly_book_saving is None else f"{p.monthly_book_saving:,.2f} {currency}",
        )
    return table


View = Literal["rows", "daily", "overcommit", "unowned"]


@dataclass(frozen=True, kw_only=True)
class ShowbackResult(Result):
    """A showback report and what goes with it; ``view`` is the one report asked for."""

    report: Showback
    overcommit: pl.DataFrame
    unowned: pl.DataFrame | None
    view: View = "rows"
    kind: ClassVar[str] = "showback"

    def data(self) -> pl.DataFrame:
        if self.view == "overcommit":
            return self.overcommit.drop("steps")
        if self.view == "unowned" and self.unowned is not None:
            return self.unowned
        return self.report.daily if self.view == "daily" else self.report.rows


@register("table", ShowbackResult)
def _showback_table(result: ShowbackResult) -> list[RenderableType]:
    report, currency = result.report, result.report.currency
    if result.view == "overcommit":
        if result.overcommit.height == 0:
            return ["no node is over-committed in the window: max(request, usage) fits every node"]
        return [overcommit_table(result.overcommit, currency)]
    if result.view == "unowned":
        assert result.unowned is not None
        return [frame_table(result.unowned, title="Workloads without an owner (no team label or entry)")]
    if result.view == "daily":
        rows = report.daily.sort("day", *report.by)
        return [frame_table(rows, title=f"Daily cost by {', '.join(report.by)} (UTC days), {currency}")]
    mark = "[green]✓ reconciled[/]" if report.reconciled else f"[red]✗ off by {report.difference:.4f}[/]"
    out: list[RenderableType] = [
        showback_table(report),
        f"cluster cost {report.total} {currency} over {window_text(report.window_hours)}; "
        f"projected {report.monthly_projection} {currency}/month; {mark}",
    ]
    if result.overcommit.height:
        out.append(overcommit_table(result.overcommit, currency))
    if "team" in report.by and result.unowned is not None:
        out += [
            f"[yellow]spend without an owner:[/] {row['namespace']}/{row['controller']} "
            f"{row['total_cost']} {currency} (no team label, not in the owners file)"
            for row in result.unowned.iter_rows(named=True)
        ]
    return out


@dataclass(frozen=True, kw_only=True)
class NodesResult(Result):
    report: NodeReport
    currency: str
    kind: ClassVar[str] = "nodes"

    def data(self) -> pl.DataFrame:
        return self.report.nodes


@register("table", NodesResult)
def _nodes_table(result: NodesResult) -> list[RenderableType]:
    return [nodes_table(result.report), packing_table(result.report, result.currency)]
