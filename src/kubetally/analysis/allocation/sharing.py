"""Moving cost between allocation rows: idle sharing, shared services and fixed overheads.

Every move takes an amount out of source rows and adds it to target rows in
proportion to a weight, inside a group (a day, a cluster-day or a node-day).
A group without any target weight keeps its source rows, so nothing is lost and
every report still reconciles.
"""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

from kubetally.analysis.allocation.attributes import selector_mask
from kubetally.analysis.allocation.settings import (
    IDLE,
    OVERHEAD,
    UNMOUNTED,
    AllocationSettings,
    Selector,
    Split,
)
from kubetally.model import columns as c

_COSTS = (c.CPU_COST, c.MEMORY_COST, c.PV_COST, c.NETWORK_COST, c.IDLE_COST, c.SHARED_COST, c.OVERHEAD_COST)
_SENTINELS = (IDLE, UNMOUNTED, OVERHEAD)
_WORKLOAD = [c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER]


def _row_cost() -> pl.Expr:
    return pl.sum_horizontal(*_COSTS)


def _spread(
    frame: pl.DataFrame,
    *,
    source: pl.Series,
    target: pl.Series,
    group: list[str],
    weight: pl.Expr,
    into: str,
) -> pl.DataFrame:
    """Move every cost of the ``source`` rows onto ``target`` rows (per ``group``), into column ``into``."""
    f = frame.with_columns(source.alias("_src"), (target & ~source).alias("_tgt"))
    f = f.with_columns(
        pl.when(pl.col("_src")).then(_row_cost()).otherwise(0.0).alias("_amt"),
        pl.when(pl.col("_tgt")).then(weight).otherwise(0.0).fill_null(0.0).alias("_w"),
    )
    f = f.with_columns(pl.col("_amt").sum().over(group).alias("_pool"), pl.col("_w").sum().over(group).alias("_wsum"))
    moved = pl.col("_wsum") > 0
    f = f.with_columns(
        pl.when(moved & pl.col("_tgt"))
        .then(pl.col(into) + pl.col("_pool") * pl.col("_w") / pl.col("_wsum"))
        .otherwise(pl.col(into))
        .alias(into)
    )
    return f.filter(~(pl.col("_src") & moved)).drop("_src", "_tgt", "_amt", "_w", "_pool", "_wsum")


def _split_weight(split: Split, group: list[str]) -> pl.Expr:
    if split == "weighted":
        return _row_cost()
    # even: every consumer workload gets the same, spread over its rows by their cost (or evenly)
    wl = [*group, *_WORKLOAD]
    cost_in_wl = pl.when(pl.col("_tgt")).then(_row_cost()).otherwise(0.0).sum().over(wl)
    rows_in_wl = pl.col("_tgt").cast(pl.Float64).sum().over(wl)
    workloads = pl.struct(_WORKLOAD).filter(pl.col("_tgt")).n_unique().over(group)
    within = pl.when(cost_in_wl > 0).then(_row_cost() / cost_in_wl).otherwise(1.0 / rows_in_wl)
    return within / workloads


def _pods(frame: pl.DataFrame) -> pl.Series:
    return frame.select(~pl.col(c.NAMESPACE).is_in(list(_SENTINELS)).alias("pods"))["pods"]


def _consumers(frame: pl.DataFrame, labels: pl.DataFrame, selector: Selector) -> pl.Series:
    pods = _pods(frame)
    return pods if selector.empty else pods & selector_mask(frame, labels, selector)


def distribute(
    items: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    settings: AllocationSettings,
    days: pl.DataFrame,
    hours_per_month: float,
) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    """Apply idle sharing, shared services and overheads. Returns (items, shared sources, overhead total)."""
    frame = items
    if settings.idle != "separate":
        group = [c.CLUSTER, c.DAY] if settings.idle == "share" else [c.CLUSTER, c.NODE, c.DAY]
        is_idle = frame.select((pl.col(c.NAMESPACE) == IDLE).alias("m"))["m"]
        weight = pl.col(c.CPU_COST) + pl.col(c.MEMORY_COST)
        frame = _spread(frame, source=is_idle, target=_pods(frame), group=group, weight=weight, into=c.IDLE_COST)

    sources: list[pl.DataFrame] = []
    for rule in settings.shared:
        group = [c.CLUSTER, c.DAY]
        src = _pods(frame) & selector_mask(frame, labels, rule.select)
        sources.append(
            frame.filter(src)
            .group_by(c.DAY)
            .agg(_row_cost().sum().alias(c.SHARED_COST))
            .with_columns(pl.lit(rule.name).alias(c.NAME))
        )
        tgt = _consumers(frame, labels, rule.consumers)
        weight = _split_weight(rule.split, group)
        frame = _spread(frame, source=src, target=tgt, group=group, weight=weight, into=c.SHARED_COST)

    overhead_total = 0.0
    for overhead in settings.overheads:
        per_hour = float(overhead.per_month) / hours_per_month
        rows = days.select(
            c.DAY,
            (pl.col("hours") * per_hour).alias(c.OVERHEAD_COST),
            *[pl.lit(OVERHEAD).alias(k) for k in (c.CLUSTER, c.NODE, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER)],
            pl.lit(overhead.name).alias(c.POD),
            pl.lit(OVERHEAD).alias(c.CONTAINER),
        )
        overhead_total += float(rows[c.OVERHEAD_COST].sum())
        frame = pl.concat([frame, rows], how="diagonal_relaxed").with_columns(cs.float().fill_null(0.0))
        src = frame.select(((pl.col(c.NAMESPACE) == OVERHEAD) & (pl.col(c.POD) == overhead.name)).alias("m"))["m"]
        tgt = _consumers(frame, labels, overhead.consumers)
        weight = _split_weight(overhead.split, [c.DAY])
        frame = _spread(frame, source=src, target=tgt, group=[c.DAY], weight=weight, into=c.OVERHEAD_COST)

    shared = (
        pl.concat(sources)
        if sources
        else pl.DataFrame(schema={c.DAY: pl.Date, c.SHARED_COST: pl.Float64, c.NAME: pl.String})
    )
    return frame, shared.select(c.NAME, c.DAY, c.SHARED_COST), overhead_total
