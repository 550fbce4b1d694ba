"""Money next to each recommendation, from the one unit price of requested capacity.

The recommendation frame (``kubetally.model.recommendation``) carries resources; the unit price
(``kubetally.model.unit_prices``: the cluster's nodes at their mean utilization, split by
``cpu_share`` over capacity) turns them into money: ``monthly_cost_current`` is the current
request × replicas for a month (what showback charges), ``monthly_saving`` the **cash** the freed
request (``cpu_saving_cores`` × core-hour + ``memory_saving_bytes`` GiB × GiB-hour) saves a month
(negative = costs more): power, overhead and cloud prices; ``monthly_book_saving`` the book value
on top (amortisation of owned hardware you keep paying for whether or not it is used).
"""

from __future__ import annotations

import polars as pl

from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook
from kubetally.model.unit_prices import (
    BOOK_PER_CORE_HOUR,
    BOOK_PER_GIB_HOUR,
    GIB,
    PER_CORE_HOUR,
    PER_GIB_HOUR,
    cluster_unit_prices,
)

CURRENCY = c.CURRENCY
MONTHLY_COST_CURRENT = c.MONTHLY_COST_CURRENT
MONTHLY_SAVING = c.MONTHLY_SAVING
MONTHLY_BOOK_SAVING = c.MONTHLY_BOOK_SAVING
MONEY_COLUMNS = (MONTHLY_COST_CURRENT, MONTHLY_SAVING, MONTHLY_BOOK_SAVING, CURRENCY)
"""Columns added to the recommendation frame by :func:`with_money`."""


def with_money(
    recs: pl.DataFrame,
    *,
    book: PriceBook | None,
    nodes: pl.DataFrame,
    labels: pl.DataFrame,
    utilization: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``recs`` plus the MONEY_COLUMNS (null when unpriced), at each row's cluster's unit prices."""
    if book is None or nodes.height == 0:
        return recs.with_columns(
            pl.lit(None, pl.Float64).alias(MONTHLY_COST_CURRENT),
            pl.lit(None, pl.Float64).alias(MONTHLY_SAVING),
            pl.lit(None, pl.Float64).alias(MONTHLY_BOOK_SAVING),
            pl.lit(None, pl.String).alias(CURRENCY),
        )
    units = cluster_unit_prices(book, nodes, labels, utilization=utilization)
    hours = float(book.hours_per_month)

    def monthly(cpu: pl.Expr, memory: pl.Expr, core: pl.Expr, gib: pl.Expr) -> pl.Expr:
        return (cpu.fill_null(0) * core + memory.fill_null(0) / GIB * gib) * hours

    full_core, full_gib = pl.col(PER_CORE_HOUR), pl.col(PER_GIB_HOUR)
    book_core, book_gib = pl.col(BOOK_PER_CORE_HOUR), pl.col(BOOK_PER_GIB_HOUR)
    current = monthly(
        pl.col(c.CURRENT_CPU_REQUEST_CORES), pl.col(c.CURRENT_MEMORY_REQUEST_BYTES), full_core, full_gib
    ) * pl.col(c.REPLICAS)
    freed = (pl.col(c.CPU_SAVING_CORES), pl.col(c.MEMORY_SAVING_BYTES))
    priced = full_core.is_not_null()
    return (
        recs.join(units, on=c.CLUSTER, how="left")
        .with_columns(
            pl.when(priced).then(current.round(2)).alias(MONTHLY_COST_CURRENT),
            pl.when(priced)
            .then(monthly(*freed, full_core - book_core, full_gib - book_gib).round(2))
            .alias(MONTHLY_SAVING),
            # the book value is the rounded whole saving less the rounded cash: the two add up to the cent
            pl.when(priced)
            .then(
                monthly(*freed, full_core, full_gib).round(2)
                - monthly(*freed, full_core - book_core, full_gib - book_gib).round(2)
            )
            .round(2)
            .alias(MONTHLY_BOOK_SAVING),
            pl.when(priced).then(pl.lit(book.currency)).alias(CURRENCY),
        )
        .drop(PER_CORE_HOUR, PER_GIB_HOUR, BOOK_PER_CORE_HOUR, BOOK_PER_GIB_HOUR)
    )
