"""Right-sizing output: money next to each recommendation, and the terminal table.

The recommendation frame (``kubetally.model.recommendation``) carries resources; the cost model
(``kubetally.model.pricing``) carries prices. They meet here: a cluster's price per core-hour and
per GiB-hour is its nodes' hourly price split by ``cpu_share`` over their capacity, and the expected
monthly saving of a row is ``cpu_saving_cores x core-hour + memory_saving_GiB x GiB-hour``, times
``hours_per_month``.
"""

from __future__ import annotations

from typing import Final

import polars as pl
from rich.table import Table

from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook, node_prices
from kubetally.outputs.terminal import cores, mebibytes, workload_name

MONTHLY_SAVING: Final = "monthly_saving"
CURRENCY: Final = "currency"
MONEY_COLUMNS = (MONTHLY_SAVING, CURRENCY)
"""Columns added to the recommendation frame by :func:`with_money`."""
GIB = 2**30
MIB = 2**20


def unit_prices(book: PriceBook, nodes: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Per cluster: price per core-hour and per GiB-hour (capacity-weighted over its nodes;
    electricity at idle power included)."""
    prices = node_prices(book, nodes, labels).join(
        nodes.select(c.CLUSTER, c.NODE, c.CPU_CAPACITY_CORES, c.MEMORY_CAPACITY_BYTES), on=[c.CLUSTER, c.NODE]
    )
    hourly = pl.col(c.FIXED_COST_PER_HOUR) + pl.col(c.POWER_IDLE_WATTS) / 1000 * pl.col(c.ELECTRICITY_PER_KWH)
    return prices.group_by(c.CLUSTER).agg(
        ((hourly * pl.col(c.CPU_SHARE)).sum() / pl.col(c.CPU_CAPACITY_CORES).sum()).alias("per_core_hour"),
        ((hourly * (1 - pl.col(c.CPU_SHARE))).sum() / (pl.col(c.MEMORY_CAPACITY_BYTES).sum() / GIB)).alias(
            "per_gib_hour"
        ),
    )


def with_money(
    recs: pl.DataFrame, *, book: PriceBook | None, nodes: pl.DataFrame, labels: pl.DataFrame
) -> pl.DataFrame:
    """``recs`` plus ``monthly_saving`` (negative = costs more; null when unpriced) and ``currency``."""
    if book is None or nodes.height == 0:
        return recs.with_columns(
            pl.lit(None, pl.Float64).alias(MONTHLY_SAVING), pl.lit(None, pl.String).alias(CURRENCY)
        )
    units = unit_prices(book, nodes, labels)
    hours = float(book.hours_per_month)
    saving = (
        pl.col(c.CPU_SAVING_CORES).fill_null(0) * pl.col("per_core_hour")
        + pl.col(c.MEMORY_SAVING_BYTES).fill_null(0) / GIB * pl.col("per_gib_hour")
    ) * hours
    return (
        recs.join(units, on=c.CLUSTER, how="left")
        .with_columns(
            pl.when(pl.col("per_core_hour").is_not_null()).then(saving.round(2)).alias(MONTHLY_SAVING),
            pl.when(pl.col("per_core_hour").is_not_null()).then(pl.lit(book.currency)).alias(CURRENCY),
        )
        .drop("per_core_hour", "per_gib_hour")
    )


def _cpu(value: float | None) -> str:
    return cores(value, millicores_below=10)


def _pair(cur: str, rec: str) -> str:
    return cur if cur == rec else f"{cur}→{rec}"


STATUS_STYLE = {"over-provisioned": "yellow", "under-provisioned": "red", "ok": "green", "no-recommendation": "dim"}


STATUS_SHORT = {"over-provisioned": "over", "under-provisioned": "under", "ok": "ok", "no-recommendation": "none"}


def recommendation_table(recs: pl.DataFrame, *, title: str, limit: int | None = None) -> Table:
    """Current → recommended request/limit per container, status, money and evidence (or the reason)."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("workload / container", no_wrap=True, max_width=48, overflow="ellipsis")
    for header in ("CPU req", "CPU lim", "mem req", "mem lim", "saving/mo"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("evidence / reason", min_width=24, overflow="fold")
    rows = recs if limit is None else recs.head(limit)
    for r in rows.iter_rows(named=True):
        money = r.get(MONEY_COLUMNS[0])
        if money is None:
            cpu_s, mem_s = r[c.CPU_SAVING_CORES], r[c.MEMORY_SAVING_BYTES]
            saving = "-" if cpu_s is None and mem_s is None else f"{_cpu(cpu_s or 0.0)} {mebibytes(mem_s or 0)}"
        else:
            saving = f"{money + 0.0:,.2f} {r[CURRENCY]}"  # + 0.0: no "-0.00"
        if r[c.STATUS] == "no-recommendation":
            why = r[c.REASON]
        elif r[c.EVIDENCE]:
            why = r[c.EVIDENCE]
        else:  # the strategy's note up to its colon: "tier standard", "KRR simple", "VPA target P90+15%"
            why = r[c.REASON].split(":")[0].split(";")[0]
        name = workload_name(r[c.NAMESPACE], r[c.OWNER_KIND], r[c.OWNER_NAME])
        if r[c.CONTAINER] != r[c.OWNER_NAME]:
            name += f" / {r[c.CONTAINER]}"
        table.add_row(
            name,
            _pair(_cpu(r[c.CURRENT_CPU_REQUEST_CORES]), _cpu(r[c.RECOMMENDED_CPU_REQUEST_CORES])),
            _pair(_cpu(r[c.CURRENT_CPU_LIMIT_CORES]), _cpu(r[c.RECOMMENDED_CPU_LIMIT_CORES])),
            _pair(mebibytes(r[c.CURRENT_MEMORY_REQUEST_BYTES]), mebibytes(r[c.RECOMMENDED_MEMORY_REQUEST_BYTES])),
            _pair(mebibytes(r[c.CURRENT_MEMORY_LIMIT_BYTES]), mebibytes(r[c.RECOMMENDED_MEMORY_LIMIT_BYTES])),
            saving,
            f"[{STATUS_STYLE.get(r[c.STATUS], '')}]{STATUS_SHORT.get(r[c.STATUS], r[c.STATUS])}[/]",
            why,
        )
    return table


def top_opportunities(recs: pl.DataFrame, n: int = 10, *, risks: int = 3) -> pl.DataFrame:
    """Up to ``risks`` rows with evidence of trouble (OOM kills first), then the biggest savings
    (money, else CPU cores freed)."""
    order = MONEY_COLUMNS[0] if MONEY_COLUMNS[0] in recs.columns else c.CPU_SAVING_CORES
    trouble = (
        recs.filter((pl.col(c.STATUS) == "under-provisioned") & (pl.col(c.EVIDENCE) != ""))
        .sort([c.OOM_KILLS, c.CPU_THROTTLED_RATIO], descending=True, nulls_last=True)
        .head(risks)
    )
    savings = (
        recs.filter(pl.col(c.STATUS) == "over-provisioned")
        .sort(order, descending=True, nulls_last=True)
        .head(max(0, n - trouble.height))
    )
    return pl.concat([trouble, savings])
