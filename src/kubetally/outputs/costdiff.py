"""Cost diff as Markdown (a pull-request comment) and as a terminal table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.model import columns as c
from kubetally.model.money import to_cents
from kubetally.model.quantity import format_cpu, format_memory
from kubetally.model.unit_prices import UnitPrices
from kubetally.outputs.registry import Result, register

MIB = 2**20


def _cores(value: float) -> str:
    return format_cpu(round(value, 3))


def _mem(value: int) -> str:
    return format_memory(value) if value % MIB else f"{value // MIB}Mi"


def _delta_cores(value: float) -> str:
    return "±0" if abs(value) < 5e-4 else f"{'+' if value > 0 else '-'}{_cores(abs(value))}"


def _delta_mem(value: int) -> str:
    return "±0" if value == 0 else f"{'+' if value > 0 else '-'}{_mem(abs(value))}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _delta_money(value: float) -> str:
    return f"{value:+,.2f}" if round(value, 2) != 0 else "±0.00"


def _change(base: float, head: float) -> str:
    """``base → head (delta)`` where the delta is the difference of the printed amounts (1.04 → 1.32
    is +0.28, not the +0.29 of the unrounded amounts)."""
    delta = (to_cents(head) - to_cents(base)) / 100
    return f"{_money(base)} → {_money(head)} ({_delta_money(delta)})"


def _count(replicas: int | None, hpa_max: int | None) -> str:
    if replicas is None:
        return "–"
    return f"{replicas}-{hpa_max} (HPA)" if hpa_max is not None else str(replicas)


def _replicas(row: dict[str, Any]) -> str:
    base, head = _count(row["replicas_base"], row["hpa_max_base"]), _count(row["replicas_head"], row["hpa_max_head"])
    return base if base == head else f"{base} → {head}"


def _rows(diff: pl.DataFrame) -> list[list[str]]:
    rows = []
    for row in diff.filter(pl.col(c.CHANGE) != "unchanged").iter_rows(named=True):
        rows.append(
            [
                f"{row[c.NAMESPACE]}/{row[c.KIND]}/{row[c.NAME]}",
                row[c.CHANGE],
                _replicas(row),
                f"{_cores(row['cpu_request_base_cores'])} → {_cores(row['cpu_request_head_cores'])} "
                f"({_delta_cores(row[c.CPU_REQUEST_DELTA_CORES])})",
                f"{_mem(row['memory_request_base_bytes'])} → {_mem(row['memory_request_head_bytes'])} "
                f"({_delta_mem(row[c.MEMORY_REQUEST_DELTA_BYTES])})",
                _change(row[c.MONTHLY_COST_BASE], row[c.MONTHLY_COST_HEAD]),
            ]
        )
    return rows


HEADERS = ["Workload", "Change", "Replicas", "CPU requested", "Memory requested", "Monthly cost"]


def totals(diff: pl.DataFrame) -> tuple[float, float, float]:
    """Monthly cost before, after and the change, in cents as printed (the change is the difference of
    the printed totals)."""
    base = to_cents(float(diff[c.MONTHLY_COST_BASE].sum())) / 100
    head = to_cents(float(diff[c.MONTHLY_COST_HEAD].sum())) / 100
    return base, head, (round(head * 100) - round(base * 100)) / 100


def markdown(diff: pl.DataFrame, *, base: str, head: str, prices: UnitPrices, notes: list[str]) -> str:
    """A pull-request comment: changed workloads, totals, and the prices used."""
    total_base, total_head, delta = totals(diff)
    pct = f", {delta / total_base:+.1%}" if total_base else ""
    lines = [f"### kubetally cost diff: `{base}` → `{head}`", ""]
    rows = _rows(diff)
    if rows:
        lines += ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 3) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    else:
        lines.append("No workload's requests or replicas changed.")
    cpu = float(diff[c.CPU_REQUEST_DELTA_CORES].sum())
    mem = int(diff[c.MEMORY_REQUEST_DELTA_BYTES].sum())
    lines += [
        "",
        f"**Monthly cost: {_money(total_base)} → {_money(total_head)} {prices.currency} "
        f"({_delta_money(delta)}{pct})** · requested CPU {_delta_cores(cpu)}, memory {_delta_mem(mem)}",
        "",
        f"<sub>Requests × replicas priced at {prices.cpu_per_core_hour:.6g} {prices.currency} per core-hour and "
        f"{prices.memory_per_gib_hour:.6g} per GiB-hour, {prices.hours_per_month:g} h/month "
        f"({len(diff)} workloads, {len(rows)} changed).</sub>",
    ]
    for note in notes:
        lines += ["", f"<sub>{note}</sub>"]
    return "\n".join(lines) + "\n"


def diff_table(diff: pl.DataFrame, *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for header in HEADERS:
        table.add_column(header, justify="right" if header == "Monthly cost" else "left")
    for row in _rows(diff):
        table.add_row(*row)
    return table


@dataclass(frozen=True, kw_only=True)
class CostDiffResult(Result):
    """The per-workload diff of BASE and HEAD, the unit prices it is priced at, and what the reader should
    know about the prices (``about``: the Markdown comment's footnotes)."""

    diff: pl.DataFrame
    base: str
    head: str
    prices: UnitPrices
    about: tuple[str, ...] = ()
    kind: ClassVar[str] = "cost-diff"

    def data(self) -> dict[str, Any]:
        total_base, total_head, delta = totals(self.diff)
        return {
            "base": self.base,
            "head": self.head,
            "prices": self.prices.model_dump(),
            "monthly_cost_base": round(total_base, 2),
            "monthly_cost_head": round(total_head, 2),
            "monthly_cost_delta": round(delta, 2),
            "workloads": self.diff,
        }


@register("markdown", CostDiffResult)
def _markdown(result: CostDiffResult) -> str:
    return markdown(result.diff, base=result.base, head=result.head, prices=result.prices, notes=list(result.about))


@register("table", CostDiffResult)
def _table(result: CostDiffResult) -> list[RenderableType]:
    total_base, total_head, delta = totals(result.diff)
    return [
        diff_table(result.diff, title=f"Cost diff {result.base} → {result.head}"),
        f"monthly cost {total_base:,.2f} → {total_head:,.2f} {result.prices.currency} ({delta:+,.2f})",
    ]
