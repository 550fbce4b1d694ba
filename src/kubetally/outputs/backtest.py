"""Backtest summary as a terminal table (pooled metric, mean over entities in brackets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.analysis import backtest as bt
from kubetally.outputs.registry import Result, register

_COLUMNS = (
    ("CPU slack", bt.CPU_SLACK, "{:.2f}"),
    ("CPU > req", bt.CPU_OVER_REQUEST, "{:.1%}"),
    ("mem slack", bt.MEMORY_SLACK, "{:.2f}"),
    ("OOM /1000 h", bt.OOM_PER_1000H, "{:.2f}"),
    ("hit", bt.HIT, "{:.0%}"),
    ("CPU saving", bt.CPU_SAVING, "{:.2f}"),
    ("mem saving", bt.MEMORY_SAVING, "{:.2f}"),
    ("CPU > lim", bt.CPU_OVER_LIMIT, "{:.1%}"),
    ("mem lim saving", bt.MEMORY_LIMIT_SAVING, "{:.2f}"),
)


def _fmt(fmt: str, value: float | None) -> str:
    return "-" if value is None else fmt.format(value)


_CAPTION = "pooled over samples (mean over entities); hit = entities with a would-be OOM; req/lim = request/limit"


def backtest_table(summary: pl.DataFrame, *, title: str) -> Table:
    table = Table(title=title, title_justify="left", caption=_CAPTION)
    table.add_column("strategy", no_wrap=True)
    table.add_column("entities", justify="right", no_wrap=True)
    for header, _, _ in _COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in summary.iter_rows(named=True):
        cells = []
        for _, name, fmt in _COLUMNS:
            pooled, mean = row.get(name), row.get(f"mean_{name}")
            cells.append(_fmt(fmt, pooled) if name == bt.HIT else f"{_fmt(fmt, pooled)} ({_fmt(fmt, mean)})")
        table.add_row(row["strategy"], str(row[bt.ENTITIES]), *cells)
    return table


def markdown_table(summary: pl.DataFrame) -> str:
    """The same as a Markdown table (pooled values), for docs."""
    head = "| strategy | " + " | ".join(h for h, _, _ in _COLUMNS) + " |"
    lines = [head, "|---" * (len(_COLUMNS) + 1) + "|"]
    for row in summary.iter_rows(named=True):
        cells = [_fmt(fmt, row.get(name)) for _, name, fmt in _COLUMNS]
        lines.append(f"| {row['strategy']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class BacktestReport(Result):
    """One summary row per strategy (pooled metrics and ``mean_<metric>``), and the table's title."""

    summary: pl.DataFrame
    title: str
    kind: ClassVar[str] = "backtest"

    def data(self) -> pl.DataFrame:
        return self.summary


@register("table", BacktestReport)
def _table(result: BacktestReport) -> list[RenderableType]:
    return [backtest_table(result.summary, title=result.title)]
