"""Backtest summary as a terminal table (pooled metric, mean over entities in brackets)."""

from __future__ import annotations

import polars as pl
from rich.table import Table

from kubetally.analysis import backtest as bt

_COLUMNS = (
    ("CPU slack", bt.CPU_SLACK, "{:.2f}"),
    ("CPU > request", bt.CPU_OVER_REQUEST, "{:.1%}"),
    ("mem slack", bt.MEMORY_SLACK, "{:.2f}"),
    ("OOM events /1000 h", bt.OOM_PER_1000H, "{:.2f}"),
    ("containers hit", bt.HIT, "{:.0%}"),
    ("CPU saving", bt.CPU_SAVING, "{:.2f}"),
    ("mem saving", bt.MEMORY_SAVING, "{:.2f}"),
    ("CPU > limit", bt.CPU_OVER_LIMIT, "{:.1%}"),
    ("mem limit saving", bt.MEMORY_LIMIT_SAVING, "{:.2f}"),
)


def _fmt(fmt: str, value: float | None) -> str:
    return "-" if value is None else fmt.format(value)


def backtest_table(summary: pl.DataFrame, *, title: str) -> Table:
    table = Table(title=title, title_justify="left", caption="pooled over samples (mean over entities)")
    table.add_column("strategy", no_wrap=True)
    table.add_column("entities", justify="right")
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
