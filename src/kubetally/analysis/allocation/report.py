"""Showback reports: an allocation aggregated by any keys, rounded to cents, reconciled.

Keys are item columns (cluster, node, namespace, controller_kind, controller, pod,
container) or label keys (team, app, component, environment, finops_tier, any
other), with the owners file as a fallback for team / owner / criticality /
business_value. Items without the key land in ``__unallocated__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from kubetally.analysis.allocation.attributes import IDENTITY, label_values, selector_mask
from kubetally.analysis.allocation.core import COST_COLUMNS, Allocation
from kubetally.analysis.allocation.settings import IDLE, OVERHEAD, UNALLOCATED, UNMOUNTED, Selector
from kubetally.model import columns as c
from kubetally.model.money import largest_remainder_cents, table_cents, to_cents
from kubetally.model.owners import OWNER_FIELDS, Owners

ITEM_COLUMNS = (c.CLUSTER, c.NODE, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, c.POD, c.CONTAINER)
_SENTINELS = (IDLE, UNMOUNTED, OVERHEAD)
_FALLBACK = {"criticality": "finops_tier"}
"""A label used when neither the key's label nor the owners file says (criticality <- finops_tier)."""


@dataclass(frozen=True)
class Showback:
    rows: pl.DataFrame
    """Group keys, cost columns (Decimal, 2 places), efficiency, waste, monthly projection."""
    daily: pl.DataFrame
    """Group keys, day, total_cost (Decimal); each day reconciles with that day's total."""
    total: Decimal
    """The cluster's cost over the window (from nodes, volumes, network and overheads alone)."""
    monthly_projection: Decimal
    reconciled: bool
    """True when the allocated amounts add up to ``total`` (float sum within half a cent)."""
    difference: float
    currency: str
    window_hours: float
    by: tuple[str, ...]


def attributes(
    allocation: Allocation, labels: pl.DataFrame, keys: Sequence[str], owners: Owners | None
) -> pl.DataFrame:
    """IDENTITY + one column per non-item key (labels, then owners file, then fallback label)."""
    ids = allocation.items.select(IDENTITY).unique()
    wanted = [k for k in keys if k not in ITEM_COLUMNS]
    extra = sorted({_FALLBACK[k] for k in wanted if k in _FALLBACK} - set(wanted))
    out = label_values(ids, labels, [*wanted, *extra])
    if owners is not None:
        for key in [k for k in wanted if k in OWNER_FIELDS]:
            value = pl.lit(None, dtype=pl.String)
            for entry in reversed(owners.owners):
                field = getattr(entry, key)
                if field is None:
                    continue
                sel = Selector(
                    namespaces=entry.match.namespaces, workloads=entry.match.workloads, labels=entry.match.labels
                )
                mask = selector_mask(out, labels, sel)
                value = pl.when(mask).then(pl.lit(field)).otherwise(value)
            out = out.with_columns(pl.coalesce(pl.col(key), value).alias(key))
    for key, fallback in _FALLBACK.items():
        if key in wanted:
            out = out.with_columns(pl.coalesce(key, fallback).alias(key))
    sentinel = pl.col(c.NAMESPACE).is_in(list(_SENTINELS))
    return out.with_columns(
        [
            pl.when(sentinel).then(pl.col(c.NAMESPACE)).otherwise(pl.col(k).fill_null(UNALLOCATED)).alias(k)
            for k in wanted
        ]
    ).select(*IDENTITY, *wanted)


def _round(frame: pl.DataFrame, column: str, target: float | None, group: list[str] | None = None) -> pl.Series:
    """Cents of ``column`` by largest remainder (per ``group`` when given); sum = rounded target."""
    if group is None:
        return pl.Series(column, largest_remainder_cents(frame[column].to_numpy(), target), dtype=pl.Int64)
    cents = np.zeros(frame.height, dtype=np.int64)
    indexed = frame.with_row_index("_i")
    for part in indexed.partition_by(group, maintain_order=True):
        cents[part["_i"].to_numpy()] = largest_remainder_cents(part[column].to_numpy())
    return pl.Series(column, cents, dtype=pl.Int64)


def column_targets(allocation: Allocation) -> dict[str, int]:
    """Cents of every cost column over the whole allocation, by largest remainder so that they add up
    to the rounded total: the same in every grouping (what each column of a report sums to)."""
    floats = np.array([float(allocation.items[k].sum()) for k in COST_COLUMNS])
    cents = largest_remainder_cents(floats, allocation.total_cost)
    return dict(zip(COST_COLUMNS, (int(v) for v in cents), strict=True))


def column_cents(values: pl.Series, target: int, fixed: pl.Series) -> pl.Series:
    """Cents of a report column that sum to ``target``: rows in ``fixed`` (idle, unmounted and
    overhead lines, the same quantity in every grouping) are rounded on their own to the nearest cent,
    so they print the same everywhere; the others share the rest by largest remainder."""
    amounts = values.cast(pl.Float64).fill_null(0.0).to_numpy()
    mask = fixed.to_numpy()
    out = np.zeros(amounts.size, dtype=np.int64)
    out[mask] = [to_cents(v) for v in amounts[mask]]
    rest = target - int(out[mask].sum())
    if (~mask).any() and rest >= 0:
        out[~mask] = largest_remainder_cents(amounts[~mask], rest / 100)
    else:
        out = largest_remainder_cents(amounts, target / 100)
    return pl.Series(values.name, out, dtype=pl.Int64)


def _money(cents: pl.Series) -> pl.Series:
    return pl.Series(cents.name, [Decimal(int(v)).scaleb(-2) for v in cents.to_list()], dtype=pl.Decimal(18, 2))


def showback(
    allocation: Allocation,
    labels: pl.DataFrame,
    *,
    by: Sequence[str],
    owners: Owners | None = None,
) -> Showback:
    """Costs grouped by ``by`` over the whole window, with efficiency, waste and a monthly projection."""
    keys = list(dict.fromkeys(by)) or [c.NAMESPACE]
    items = allocation.items
    label_keys = [k for k in keys if k not in ITEM_COLUMNS]
    if label_keys:
        items = items.join(
            attributes(allocation, labels, keys, owners), on=list(IDENTITY), how="left", nulls_equal=True
        )
    items = items.with_columns([pl.col(k).fill_null(UNALLOCATED) for k in keys])
    sums = [pl.col(k).sum() for k in (*COST_COLUMNS, c.TOTAL_COST, c.WASTE_COST)]
    metrics = [
        pl.col(k).sum()
        for k in (
            c.CPU_REQUEST_CORE_HOURS,
            c.CPU_USAGE_CORE_HOURS,
            c.MEMORY_REQUEST_GIB_HOURS,
            c.MEMORY_USAGE_GIB_HOURS,
            c.CPU_USAGE_REQUESTED_CORE_HOURS,
            c.MEMORY_USAGE_REQUESTED_GIB_HOURS,
        )
    ]
    grouped = (
        items.group_by(keys).agg(*sums, *metrics).sort(c.TOTAL_COST, *keys, descending=[True] + [False] * len(keys))
    )
    total = allocation.total_cost
    float_sum = float(grouped[c.TOTAL_COST].sum())
    difference = float_sum - total
    eff = grouped.select(
        pl.when(pl.col(c.CPU_REQUEST_CORE_HOURS) > 0)
        .then(pl.col(c.CPU_USAGE_REQUESTED_CORE_HOURS) / pl.col(c.CPU_REQUEST_CORE_HOURS))
        .alias(c.CPU_EFFICIENCY),
        pl.when(pl.col(c.MEMORY_REQUEST_GIB_HOURS) > 0)
        .then(pl.col(c.MEMORY_USAGE_REQUESTED_GIB_HOURS) / pl.col(c.MEMORY_REQUEST_GIB_HOURS))
        .alias(c.MEMORY_EFFICIENCY),
    )
    cost_cpu, cost_mem = grouped[c.CPU_COST], grouped[c.MEMORY_COST]
    weighted = eff.select(
        pl.when((cost_cpu + cost_mem) > 0)
        .then(
            (pl.col(c.CPU_EFFICIENCY).fill_null(0.0) * cost_cpu + pl.col(c.MEMORY_EFFICIENCY).fill_null(0.0) * cost_mem)
            / (cost_cpu + cost_mem)
        )
        .otherwise(None)
        .alias(c.TOTAL_EFFICIENCY)
    )
    # total efficiency is unknown when neither resource has a request
    weighted = weighted.with_columns(
        pl.when(eff[c.CPU_EFFICIENCY].is_null() & eff[c.MEMORY_EFFICIENCY].is_null())
        .then(None)
        .otherwise(pl.col(c.TOTAL_EFFICIENCY))
        .alias(c.TOTAL_EFFICIENCY)
    )
    scale = allocation.hours_per_month / allocation.window_hours if allocation.window_hours else 0.0
    projected = grouped.select((pl.col(c.TOTAL_COST) * scale).alias(c.MONTHLY_PROJECTION))
    # Every column adds up to a total that does not depend on the grouping (so the cluster's CPU cost
    # prints the same by team or by pod), every row's parts add up to its total, and each total is
    # within a cent of its amount (controlled rounding, kubetally.model.money.table_cents).
    fixed = grouped.select(pl.any_horizontal([pl.col(k).is_in(list(_SENTINELS)) for k in keys])).to_series()
    targets = column_targets(allocation)
    total_cents = column_cents(grouped[c.TOTAL_COST], sum(targets.values()), fixed)
    table = table_cents(
        grouped.select(COST_COLUMNS).to_numpy(), total_cents.to_numpy(), np.array([targets[k] for k in COST_COLUMNS])
    )
    money = {k: _money(pl.Series(k, table[:, j], dtype=pl.Int64)) for j, k in enumerate(COST_COLUMNS)}
    waste_target = to_cents(float(allocation.items[c.WASTE_COST].sum()))
    money[c.WASTE_COST] = _money(column_cents(grouped[c.WASTE_COST], waste_target, fixed))
    money[c.TOTAL_COST] = _money(total_cents)
    money[c.MONTHLY_PROJECTION] = _money(column_cents(projected[c.MONTHLY_PROJECTION], to_cents(total * scale), fixed))
    rows = pl.DataFrame(
        [
            *[grouped[k] for k in keys],
            money[c.TOTAL_COST],
            *[money[k] for k in COST_COLUMNS],
            money[c.WASTE_COST],
            eff[c.CPU_EFFICIENCY].round(4),
            eff[c.MEMORY_EFFICIENCY].round(4),
            weighted[c.TOTAL_EFFICIENCY].round(4),
            money[c.MONTHLY_PROJECTION],
        ]
    )
    daily_float = items.group_by([*keys, c.DAY]).agg(pl.col(c.TOTAL_COST).sum()).sort(c.DAY, *keys)
    daily = daily_float.with_columns(_money(_round(daily_float, c.TOTAL_COST, None, group=[c.DAY])))
    return Showback(
        rows=rows,
        daily=daily,
        total=Decimal(to_cents(total)).scaleb(-2),
        monthly_projection=Decimal(to_cents(total * scale)).scaleb(-2),
        reconciled=abs(difference) < 0.005,
        difference=difference,
        currency=allocation.currency,
        window_hours=allocation.window_hours,
        by=tuple(keys),
    )


def unowned(showback_by_team: Showback) -> pl.DataFrame:
    """Rows of a by-team showback whose team is unknown (``__unallocated__``)."""
    return showback_by_team.rows.filter(pl.col("team") == UNALLOCATED)
