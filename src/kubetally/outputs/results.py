"""Results of `report`, `serve` and `baseline` (data), and how the terminal shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.outputs.registry import Result, register


@dataclass(frozen=True, kw_only=True)
class ReportResult(Result):
    html: Path
    pdf: Path | None = None
    kind: ClassVar[str] = "report"

    def data(self) -> dict[str, Any]:
        return {"html": str(self.html), "pdf": None if self.pdf is None else str(self.pdf)}


@dataclass(frozen=True, kw_only=True)
class ServeResult(Result):
    url: str
    refreshes: int
    kind: ClassVar[str] = "serve"

    def data(self) -> dict[str, Any]:
        return {"url": self.url, "refreshes": self.refreshes}


@dataclass(frozen=True, kw_only=True)
class BaselineSaved(Result):
    name: str
    store: Path
    workloads: int
    findings: int
    kind: ClassVar[str] = "baseline"

    def data(self) -> dict[str, Any]:
        return {"name": self.name, "store": str(self.store), "workloads": self.workloads, "findings": self.findings}


@dataclass(frozen=True, kw_only=True)
class BaselineList(Result):
    store: Path
    baselines: pl.DataFrame
    kind: ClassVar[str] = "baselines"

    def data(self) -> pl.DataFrame:
        return self.baselines


@dataclass(frozen=True, kw_only=True)
class BaselineDiff(Result):
    changes: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "baseline diff"

    def data(self) -> dict[str, Any]:
        return self.changes


def _messages_only(_: Result) -> list[RenderableType]:
    """Nothing but the result's messages (printed by the caller)."""
    return []


register("table", ReportResult)(_messages_only)
register("table", ServeResult)(_messages_only)
register("table", BaselineSaved)(_messages_only)


@register("table", BaselineList)
def _list_table(result: BaselineList) -> list[RenderableType]:
    table = Table(title=f"Baselines in {result.store}")
    for column in ("name", "saved_at", "window_start", "window_end", "source"):
        table.add_column(column)
    for row in result.baselines.iter_rows(named=True):
        table.add_row(*(str(row[k])[:19] for k in ("name", "saved_at", "window_start", "window_end", "source")))
    return [table]


def _signed(value: float | None) -> str:
    if value is None:
        return ""
    return "0.00" if abs(value) < 0.005 else f"{value:+.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@register("table", BaselineDiff)
def _diff_tables(result: BaselineDiff) -> list[RenderableType]:
    ch = result.changes
    base, cur, totals = ch["baseline"], ch["current"], ch["totals"]
    head = (
        f"[bold]since baseline {base['name']!r}[/] ({base['window_start'][:10]} to {base['window_end'][:10]}): "
        f"{totals['monthly_before']:.2f} → {totals['monthly_after']:.2f} {cur['currency']}/month "
        f"({_signed(totals['monthly_change'])})"
    )
    teams = Table(title="Per team (per month)")
    for name in ("team", "before", "now", "change", "CPU efficiency"):
        teams.add_column(name, justify="left" if name == "team" else "right")
    for t in ch["teams"]:
        efficiency = f"{_pct(t['efficiency_before'])} → {_pct(t['efficiency_after'])}"
        teams.add_row(t["team"], f"{t['monthly_before']:.2f}", f"{t['monthly_after']:.2f}",
                      _signed(t["monthly_change"]), efficiency)  # fmt: skip
    out: list[RenderableType] = [head, teams]
    if ch["workloads"]:
        moved = Table(title="Workloads that changed")
        for name in ("workload", "team", "what changed", "CPU efficiency"):
            moved.add_column(name)
        for w in ch["workloads"]:
            moved.add_row(f"{w['namespace']}/{w['controller']}", str(w["team"]), w["what"],
                          f"{_pct(w['cpu_efficiency_before'])} → {_pct(w['cpu_efficiency_after'])}")  # fmt: skip
        out.append(moved)
    for state in ("appeared", "resolved"):
        found = ch["findings"][state]
        listed = ", ".join(f"{f['rule']} {f['namespace'] + '/' if f['namespace'] else ''}{f['name']}" for f in found)
        out.append(f"findings {state}: {len(found)}" + (f" ({listed})" if listed else ""))
    return out
