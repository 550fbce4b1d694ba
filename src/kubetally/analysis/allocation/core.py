"""Step-level cost allocation: node prices -> per-container costs, idle and over-commitment.

All of it is polars lazy aggregations over the step-level usage frame joined to
the inventory; nothing loops over rows. Amounts are float64 here and become
exact cents only in reports (:mod:`kubetally.analysis.allocation.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from kubetally.analysis.allocation.settings import IDLE, POD_LEVEL, UNMOUNTED, AllocationSettings
from kubetally.analysis.allocation.sharing import distribute
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.pricing import GIB, PriceBook, node_prices, storage_prices
from kubetally.model.unit_prices import node_hourly_price

ITEM_KEYS: tuple[str, ...] = (
    c.CLUSTER,
    c.NODE,
    c.NAMESPACE,
    c.CONTROLLER_KIND,
    c.CONTROLLER,
    c.POD,
    c.CONTAINER,
    c.DAY,
)
COST_COLUMNS: tuple[str, ...] = (
    c.CPU_COST,
    c.MEMORY_COST,
    c.PV_COST,
    c.NETWORK_COST,
    c.IDLE_COST,
    c.SHARED_COST,
    c.OVERHEAD_COST,
)
METRIC_COLUMNS: tuple[str, ...] = (
    c.CPU_CORE_HOURS,
    c.CPU_REQUEST_CORE_HOURS,
    c.CPU_USAGE_CORE_HOURS,
    c.MEMORY_GIB_HOURS,
    c.MEMORY_REQUEST_GIB_HOURS,
    c.MEMORY_USAGE_GIB_HOURS,
    c.CPU_USAGE_REQUESTED_CORE_HOURS,
    c.MEMORY_USAGE_REQUESTED_GIB_HOURS,
    c.CPU_REQUEST_COST,
    c.MEMORY_REQUEST_COST,
    c.CPU_USAGE_COST,
    c.MEMORY_USAGE_COST,
    c.WASTE_COST,
)
_KEYS = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]


@dataclass(frozen=True)
class Allocation:
    """The allocated window: one row per item and day, plus node-level facts."""

    items: pl.DataFrame
    """ITEM_KEYS + COST_COLUMNS + METRIC_COLUMNS + total_cost. Idle/unmounted lines use the sentinels."""
    nodes: pl.DataFrame
    """Per cluster, node and day: node_cost, cpu_cost, memory_cost, idle_cost, price_rule."""
    overcommit: pl.DataFrame
    """Per cluster, node and resource where max(request, usage) exceeded capacity."""
    shared_sources: pl.DataFrame
    """What was taken out as shared (name, day, amount), for the report's footnote."""
    total_cost: float
    """The cluster's cost over the window, computed from the nodes, volumes, network and overheads alone."""
    window_hours: float
    hours_per_month: float
    currency: str
    notes: tuple[str, ...] = ()


def _grid(ds: Dataset) -> pl.DataFrame:
    info = ds.info
    stamps = [info.start + timedelta(seconds=k * info.step_seconds) for k in range(info.steps)]
    return pl.DataFrame({c.TIMESTAMP: stamps}, schema={c.TIMESTAMP: schema.TIME})


def _in_window(ds: Dataset) -> pl.Expr:
    return (pl.col(c.TIMESTAMP) >= ds.info.start) & (pl.col(c.TIMESTAMP) < ds.info.end)


def _on_grid(ds: Dataset) -> pl.Expr:
    """Timestamps floored to the window's step grid (a sample stands for the step it falls in)."""
    start = pl.lit(ds.info.start).cast(schema.TIME).cast(pl.Int64)
    step_us = ds.info.step_seconds * 1_000_000
    ts = pl.col(c.TIMESTAMP).cast(pl.Int64)
    return ((ts - start) // step_us * step_us + start).cast(schema.TIME).alias(c.TIMESTAMP)


def _quantities(basis: str, req: str, use: str) -> pl.Expr:
    if basis == "request":
        return pl.coalesce(pl.col(req), pl.col(use))
    return pl.max_horizontal(pl.col(req).fill_null(0.0), pl.col(use))


def _inventory(ds: Dataset) -> pl.DataFrame:
    """Containers with an integer id (``cid``) and their node's integer id (``nid``, null if unknown)."""
    node_ids = ds.nodes.select(c.CLUSTER, c.NODE).with_row_index("nid")
    return (
        ds.containers.select(
            *_KEYS,
            c.NODE,
            pl.col(c.OWNER_KIND).alias(c.CONTROLLER_KIND),
            pl.col(c.OWNER_NAME).alias(c.CONTROLLER),
            c.CPU_REQUEST_CORES,
            pl.col(c.MEMORY_REQUEST_BYTES).cast(pl.Float64),
        )
        .unique(subset=_KEYS, keep="last", maintain_order=True)
        .with_row_index("cid")
        .join(node_ids, on=[c.CLUSTER, c.NODE], how="left")
    )


def _container_steps(ds: Dataset, inv: pl.DataFrame, settings: AllocationSettings) -> pl.LazyFrame:
    """Step-level rows keyed by integers: cid, nid, timestamp, usage, requests and charged quantities."""
    return (
        ds.usage.filter(_in_window(ds))
        .select(*_KEYS, _on_grid(ds), c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES)
        .join(inv.lazy().select(*_KEYS, "cid", "nid", c.CPU_REQUEST_CORES, c.MEMORY_REQUEST_BYTES), on=_KEYS)
        .select(
            "cid",
            "nid",
            c.TIMESTAMP,
            c.CPU_USAGE_CORES,
            c.MEMORY_WORKING_SET_BYTES,
            c.CPU_REQUEST_CORES,
            c.MEMORY_REQUEST_BYTES,
            _quantities(settings.basis, c.CPU_REQUEST_CORES, c.CPU_USAGE_CORES).alias("cpu_q"),
            _quantities(settings.basis, c.MEMORY_REQUEST_BYTES, c.MEMORY_WORKING_SET_BYTES).alias("mem_q"),
        )
    )


def _node_steps(ds: Dataset, prices: pl.DataFrame, sums: pl.DataFrame, step_h: float) -> pl.DataFrame:
    node_cpu = (
        ds.node_usage.filter(_in_window(ds))
        .select(c.CLUSTER, c.NODE, _on_grid(ds), pl.col(c.CPU_USAGE_CORES).alias("node_cpu"))
        .unique(subset=[c.CLUSTER, c.NODE, c.TIMESTAMP], keep="first")
        .collect()
    )
    cap_cpu, cap_mem = pl.col(c.CPU_CAPACITY_CORES), pl.col(c.MEMORY_CAPACITY_BYTES).cast(pl.Float64)
    util = (pl.coalesce("node_cpu", "sum_cpu_use", pl.lit(0.0)) / cap_cpu).clip(0.0, 1.0)
    cost = node_hourly_price(util) * step_h
    return (
        ds.nodes.select(c.CLUSTER, c.NODE, c.CPU_CAPACITY_CORES, c.MEMORY_CAPACITY_BYTES)
        .with_row_index("nid")
        .join(_grid(ds), how="cross")
        .join(prices, on=[c.CLUSTER, c.NODE], how="left")
        .join(node_cpu, on=[c.CLUSTER, c.NODE, c.TIMESTAMP], how="left")
        .join(sums, on=["nid", c.TIMESTAMP], how="left")
        .with_columns(pl.col("sum_cpu_q", "sum_mem_q", "sum_cpu_use").fill_null(0.0))
        .with_columns(cost.alias(c.NODE_COST))
        .with_columns(
            (pl.col(c.NODE_COST) * pl.col(c.CPU_SHARE)).alias("cpu_node_cost"),
            (pl.col(c.NODE_COST) * (1.0 - pl.col(c.CPU_SHARE))).alias("mem_node_cost"),
            pl.min_horizontal(pl.lit(1.0), cap_cpu / pl.col("sum_cpu_q")).alias("cpu_factor"),
            pl.min_horizontal(pl.lit(1.0), cap_mem / pl.col("sum_mem_q")).alias("mem_factor"),
            pl.min_horizontal(pl.lit(1.0), pl.col("sum_cpu_q") / cap_cpu).alias("cpu_used_share"),
            pl.min_horizontal(pl.lit(1.0), pl.col("sum_mem_q") / cap_mem).alias("mem_used_share"),
        )
        .with_columns(
            (pl.col("cpu_node_cost") / cap_cpu * pl.col("cpu_factor")).alias("cpu_price"),
            (pl.col("mem_node_cost") / cap_mem * pl.col("mem_factor")).alias("mem_price"),
            (pl.col("cpu_node_cost") * (1.0 - pl.col("cpu_used_share"))).alias("idle_cpu"),
            (pl.col("mem_node_cost") * (1.0 - pl.col("mem_used_share"))).alias("idle_mem"),
            (pl.col("sum_cpu_q") - cap_cpu).clip(lower_bound=0.0).alias("over_cpu"),
            (pl.col("sum_mem_q") - cap_mem).clip(lower_bound=0.0).alias("over_mem"),
            pl.col(c.TIMESTAMP).dt.date().alias(c.DAY),
        )
    )


def _container_items(
    steps: pl.LazyFrame, node_steps: pl.DataFrame, inv: pl.DataFrame, grid: pl.DataFrame, step_h: float
) -> pl.DataFrame:
    price = node_steps.select("nid", c.TIMESTAMP, "cpu_price", "mem_price").lazy()
    days = grid.with_columns(pl.col(c.TIMESTAMP).dt.date().alias(c.DAY)).lazy()
    req_cpu, req_mem = pl.col(c.CPU_REQUEST_CORES).fill_null(0.0), pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0.0)
    use_cpu, use_mem = pl.col(c.CPU_USAGE_CORES), pl.col(c.MEMORY_WORKING_SET_BYTES)
    cp, mp = pl.col("cpu_price").fill_null(0.0), pl.col("mem_price").fill_null(0.0)
    gib_h = step_h / GIB
    per_id = (
        steps.join(price, on=["nid", c.TIMESTAMP], how="left")
        .join(days, on=c.TIMESTAMP, how="left")
        .group_by("cid", c.DAY)
        .agg(
            (pl.col("cpu_q") * cp).sum().alias(c.CPU_COST),
            (pl.col("mem_q") * mp).sum().alias(c.MEMORY_COST),
            (pl.col("cpu_q").sum() * step_h).alias(c.CPU_CORE_HOURS),
            (req_cpu.sum() * step_h).alias(c.CPU_REQUEST_CORE_HOURS),
            (use_cpu.sum() * step_h).alias(c.CPU_USAGE_CORE_HOURS),
            (pl.col("mem_q").sum() * gib_h).alias(c.MEMORY_GIB_HOURS),
            (req_mem.sum() * gib_h).alias(c.MEMORY_REQUEST_GIB_HOURS),
            (use_mem.sum() * gib_h).alias(c.MEMORY_USAGE_GIB_HOURS),
            (use_cpu.filter(pl.col(c.CPU_REQUEST_CORES).is_not_null()).sum() * step_h).alias(
                c.CPU_USAGE_REQUESTED_CORE_HOURS
            ),
            (use_mem.filter(pl.col(c.MEMORY_REQUEST_BYTES).is_not_null()).sum() * gib_h).alias(
                c.MEMORY_USAGE_REQUESTED_GIB_HOURS
            ),
            (req_cpu * cp).sum().alias(c.CPU_REQUEST_COST),
            (req_mem * mp).sum().alias(c.MEMORY_REQUEST_COST),
            (pl.min_horizontal(use_cpu, pl.col("cpu_q")) * cp).sum().alias(c.CPU_USAGE_COST),
            (pl.min_horizontal(use_mem, pl.col("mem_q")) * mp).sum().alias(c.MEMORY_USAGE_COST),
            (((req_cpu - use_cpu).clip(lower_bound=0.0) * cp) + ((req_mem - use_mem).clip(lower_bound=0.0) * mp))
            .sum()
            .alias(c.WASTE_COST),
        )
        .collect(engine="streaming")
    )
    names = inv.select("cid", c.CLUSTER, c.NODE, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, c.POD, c.CONTAINER)
    return per_id.join(names, on="cid", how="left").drop("cid")


def _volume_items(ds: Dataset, book: PriceBook, pods: pl.DataFrame, step_h: float) -> tuple[pl.DataFrame, float]:
    """PV cost by capacity, split evenly among the pods mounting the claim in each step."""
    vols = ds.table(schema.VOLUMES).filter(pl.col(c.PV) != "")
    if vols.height == 0:
        return pl.DataFrame(), 0.0
    classes = sorted(set(vols[c.STORAGE_CLASS].to_list()))
    grid = (
        vols.join(storage_prices(book, classes), on=c.STORAGE_CLASS, how="left")
        .join(_grid(ds), how="cross")
        .filter(pl.col(c.CREATED_AT).is_null() | (pl.col(c.TIMESTAMP) >= pl.col(c.CREATED_AT).dt.truncate("1s")))
        .with_columns((pl.col(c.CAPACITY_BYTES) / GIB * pl.col("per_gib_hour") * step_h).alias("step_cost"))
        .select(c.CLUSTER, c.NAMESPACE, c.PVC, c.PV, c.TIMESTAMP, "step_cost")
    )
    total = float(grid["step_cost"].sum())
    mounts = ds.table(schema.VOLUME_MOUNTS)
    present = (
        ds.usage.filter(_in_window(ds))
        .select(c.CLUSTER, c.NAMESPACE, c.POD, _on_grid(ds))
        .join(
            mounts.lazy().select(c.CLUSTER, c.NAMESPACE, c.POD).unique(), on=[c.CLUSTER, c.NAMESPACE, c.POD], how="semi"
        )
        .unique()
        .join(mounts.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.POD], how="inner")
        .collect()
    )
    mounted = grid.join(present, on=[c.CLUSTER, c.NAMESPACE, c.PVC, c.TIMESTAMP], how="left").with_columns(
        (pl.col("step_cost") / pl.len().over(c.CLUSTER, c.NAMESPACE, c.PVC, c.PV, c.TIMESTAMP)).alias("share"),
        pl.col(c.TIMESTAMP).dt.date().alias(c.DAY),
    )
    by_pod = (
        mounted.filter(pl.col(c.POD).is_not_null())
        .group_by(c.CLUSTER, c.NAMESPACE, c.POD, c.DAY)
        .agg(pl.col("share").sum().alias(c.PV_COST))
        .join(pods, on=[c.CLUSTER, c.NAMESPACE, c.POD], how="left")
        .with_columns(pl.lit(POD_LEVEL).alias(c.CONTAINER))
    )
    unmounted = (
        mounted.filter(pl.col(c.POD).is_null())
        .group_by(c.CLUSTER, c.DAY)
        .agg(pl.col("share").sum().alias(c.PV_COST))
        .with_columns([pl.lit(UNMOUNTED).alias(k) for k in ITEM_KEYS if k not in (c.CLUSTER, c.DAY)])
    )
    return pl.concat([by_pod, unmounted], how="diagonal_relaxed"), total


def _network_items(ds: Dataset, book: PriceBook, pods: pl.DataFrame, step_h: float) -> tuple[pl.DataFrame, float]:
    if book.network_per_gib <= 0:
        return pl.DataFrame(), 0.0
    per_byte = float(book.network_per_gib) / GIB
    net = (
        ds.series(schema.POD_NETWORK)
        .filter(_in_window(ds))
        .group_by(c.CLUSTER, c.NAMESPACE, c.POD, pl.col(c.TIMESTAMP).dt.date().alias(c.DAY))
        .agg((pl.col(c.NETWORK_TRANSMIT_BYTES_PER_SECOND).sum() * step_h * 3600 * per_byte).alias(c.NETWORK_COST))
        .collect()
        .join(pods, on=[c.CLUSTER, c.NAMESPACE, c.POD], how="inner")
        .with_columns(pl.lit(POD_LEVEL).alias(c.CONTAINER))
    )
    return net, float(net[c.NETWORK_COST].sum())


def allocate(ds: Dataset, *, prices: PriceBook, settings: AllocationSettings) -> Allocation:
    """Allocate the cluster's cost over the dataset's window (see docs/cost-model.md)."""
    step_h = ds.info.step_seconds / 3600.0
    window_hours = ds.info.steps * step_h
    priced = node_prices(prices, ds.nodes, ds.labels)
    inv = _inventory(ds)
    steps = _container_steps(ds, inv, settings)
    sums = (
        steps.group_by("nid", c.TIMESTAMP)
        .agg(
            pl.col("cpu_q").sum().alias("sum_cpu_q"),
            pl.col("mem_q").sum().alias("sum_mem_q"),
            pl.col(c.CPU_USAGE_CORES).sum().alias("sum_cpu_use"),
        )
        .collect(engine="streaming")
    )
    node_steps = _node_steps(ds, priced, sums, step_h)
    items = _container_items(steps, node_steps, inv, _grid(ds), step_h)
    notes: list[str] = []
    unknown = items.filter(~pl.col(c.NODE).is_in(ds.nodes[c.NODE].implode()))
    if unknown.height:
        notes.append(f"{unknown.height} container-day(s) ran on nodes missing from the inventory: not charged")

    pods = ds.containers.select(
        c.CLUSTER,
        c.NAMESPACE,
        c.POD,
        c.NODE,
        pl.col(c.OWNER_KIND).alias(c.CONTROLLER_KIND),
        pl.col(c.OWNER_NAME).alias(c.CONTROLLER),
    ).unique(subset=[c.CLUSTER, c.NAMESPACE, c.POD], keep="first")
    volume_items, volume_total = _volume_items(ds, prices, pods, step_h)
    network_items, network_total = _network_items(ds, prices, pods, step_h)

    nodes_daily = node_steps.group_by(c.CLUSTER, c.NODE, c.DAY).agg(
        pl.col(c.PRICE_RULE).first(),
        pl.col(c.NODE_COST).sum(),
        pl.col("cpu_node_cost").sum().alias(c.CPU_COST),
        pl.col("mem_node_cost").sum().alias(c.MEMORY_COST),
        pl.col("idle_cpu").sum(),
        pl.col("idle_mem").sum(),
    )
    idle_items = nodes_daily.select(
        c.CLUSTER,
        c.NODE,
        c.DAY,
        (pl.col("idle_cpu") + pl.col("idle_mem")).alias(c.IDLE_COST),
        *[pl.lit(IDLE).alias(k) for k in ITEM_KEYS if k not in (c.CLUSTER, c.NODE, c.DAY)],
    )
    overcommit = pl.concat(
        [
            node_steps.filter(pl.col(f"over_{res}") > 0)
            .group_by(c.CLUSTER, c.NODE)
            .agg(
                pl.lit(name).alias(c.RESOURCE),
                (pl.col(f"over_{res}").sum() * step_h * scale).alias(c.OVERCOMMITTED_QUANTITY_HOURS),
                (pl.col(f"sum_{res}_q") / cap).max().alias(c.OVERCOMMIT_RATIO),
                (pl.col(f"over_{res}") * pl.col(f"{res}_node_cost") / cap).sum().alias(c.UNBILLED_COST),
                pl.len().alias("steps"),
            )
            for res, name, cap, scale in (
                ("cpu", "cpu", pl.col(c.CPU_CAPACITY_CORES), 1.0),
                ("mem", "memory", pl.col(c.MEMORY_CAPACITY_BYTES).cast(pl.Float64), 1.0 / GIB),
            )
        ]
    ).sort(c.CLUSTER, c.NODE, c.RESOURCE)
    node_total = float(node_steps[c.NODE_COST].sum())

    frames = [items, idle_items]
    if volume_items.height:
        frames.append(volume_items)
    if network_items.height:
        frames.append(network_items)
    base = pl.concat(frames, how="diagonal_relaxed")
    base = base.with_columns(
        [
            pl.col(k).fill_null(0.0) if k in base.columns else pl.lit(0.0).alias(k)
            for k in (*COST_COLUMNS, *METRIC_COLUMNS)
        ]
    )
    days = node_steps.group_by(c.DAY).agg((pl.len() / priced.height * step_h).alias("hours")).sort(c.DAY)
    shared_items, shared_sources, overhead_total = distribute(
        base, ds.labels, settings=settings, days=days, hours_per_month=float(prices.hours_per_month)
    )
    final = shared_items.with_columns(pl.sum_horizontal(*COST_COLUMNS).alias(c.TOTAL_COST)).select(
        *ITEM_KEYS, *COST_COLUMNS, *METRIC_COLUMNS, c.TOTAL_COST
    )
    return Allocation(
        items=final,
        nodes=nodes_daily.sort(c.CLUSTER, c.NODE, c.DAY),
        overcommit=overcommit,
        shared_sources=shared_sources,
        total_cost=node_total + volume_total + network_total + overhead_total,
        window_hours=window_hours,
        hours_per_month=float(prices.hours_per_month),
        currency=prices.currency,
        notes=tuple(notes),
    )
