"""The price of a requested core-hour and GiB-hour: one place for every command that prices requests.

Showback charges each container at its node's price in each step (``kubetally.analysis.allocation``).
Rightsize's saving, scale's saving and cost-diff price requests that are not placed on a node
step by step, so they need a unit price. It is defined here, once, so that the four agree:

* a node's hourly price is its fixed part plus its power at its **mean CPU utilization over the
  window** (node-exporter's busy cores / capacity in each sample, clipped to [0, 1]; the sum of its
  containers' CPU usage for a node without node-exporter samples; idle power when neither is
  known). Power is linear in utilization, so this is the time-average of the price allocation
  charges step by step;
* it is split into CPU and memory by the rule's ``cpu_share`` and divided by **capacity** (as
  allocation does);
* a cluster's unit price is the capacity-weighted mean of its nodes' (Σ CPU parts / Σ cores,
  Σ memory parts / Σ GiB). Requests are priced on their own cluster; a dataset of several
  clusters, when one price is needed (scale, cost-diff), gets the mean over all of them.

So a container that ran the whole window on a one-node cluster (or on identical nodes with the
same load) costs the same at its request in showback, rightsize, scale and cost-diff
(``tests/cost/test_one_price.py``). Without a dataset, cost-diff uses the price file's catch-all
``unit:`` rule (:func:`book_unit_prices`).
"""

from __future__ import annotations

import math

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook, node_prices

GIB = 2**30
CPU_UTILIZATION = "cpu_utilization_ratio"
PER_CORE_HOUR = "per_core_hour"
PER_GIB_HOUR = "per_gib_hour"
BOOK_PER_CORE_HOUR = "book_per_core_hour"
BOOK_PER_GIB_HOUR = "book_per_gib_hour"


class UnitPrices(BaseModel):
    """Prices of requested capacity, as the cost model derives them from the nodes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cpu_per_core_hour: float = Field(ge=0, description="Price of one requested core for one hour.")
    memory_per_gib_hour: float = Field(ge=0, description="Price of one requested GiB for one hour.")
    currency: str = Field("USD", description="Currency of the prices.")
    hours_per_month: float = Field(730.0, gt=0, le=744, description="Hours in a month for monthly figures.")
    book_cpu_per_core_hour: float = Field(
        0.0, ge=0, description="Part of the core-hour price that is amortisation of owned hardware (book value)."
    )
    book_memory_per_gib_hour: float = Field(
        0.0, ge=0, description="Part of the GiB-hour price that is amortisation of owned hardware (book value)."
    )

    def cash(self) -> UnitPrices:
        """The cash part only (power, overhead, cloud prices): what a saving saves on owned hardware you keep."""
        return self.model_copy(
            update={
                "cpu_per_core_hour": max(self.cpu_per_core_hour - self.book_cpu_per_core_hour, 0.0),
                "memory_per_gib_hour": max(self.memory_per_gib_hour - self.book_memory_per_gib_hour, 0.0),
                "book_cpu_per_core_hour": 0.0,
                "book_memory_per_gib_hour": 0.0,
            }
        )

    def monthly(self, cpu_cores: float, memory_bytes: float) -> float:
        """Monthly cost of a request of ``cpu_cores`` and ``memory_bytes`` held all month."""
        hourly = cpu_cores * self.cpu_per_core_hour + memory_bytes / GIB * self.memory_per_gib_hour
        return hourly * self.hours_per_month


def node_hourly_price(utilization: pl.Expr) -> pl.Expr:
    """A node's price per hour at CPU ``utilization`` (0..1), over the columns of
    :func:`kubetally.model.pricing.node_prices`: the fixed part plus power linear between idle and full
    load. Allocation applies it per step, the unit prices at the window's mean."""
    idle, full = pl.col(c.POWER_IDLE_WATTS), pl.col(c.POWER_MAX_WATTS)
    watts = idle + (full - idle) * utilization
    return pl.col(c.FIXED_COST_PER_HOUR) + watts / 1000.0 * pl.col(c.ELECTRICITY_PER_KWH)


def node_utilization(
    nodes: pl.DataFrame,
    node_usage: pl.LazyFrame,
    usage: pl.LazyFrame | None = None,
    containers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """(cluster, node, cpu_utilization_ratio): mean over the samples of busy cores / capacity, clipped
    to [0, 1] per sample; from the containers' usage summed per node where node-exporter is missing;
    null when neither is known."""
    cap = nodes.select(c.CLUSTER, c.NODE, c.CPU_CAPACITY_CORES)
    keys = [c.CLUSTER, c.NODE]
    busy = pl.col(c.CPU_USAGE_CORES) / pl.col(c.CPU_CAPACITY_CORES)

    def mean_of(samples: pl.LazyFrame) -> pl.DataFrame:
        return (
            samples.join(cap.lazy(), on=keys)
            .group_by(keys)
            .agg(busy.clip(0.0, 1.0).mean().alias(CPU_UTILIZATION))
            .collect()
        )

    measured = mean_of(node_usage.select(c.CLUSTER, c.NODE, c.TIMESTAMP, c.CPU_USAGE_CORES))
    out = cap.select(keys).join(measured, on=keys, how="left")
    if usage is not None and containers is not None:
        placed = containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.NODE).unique(
            [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER], keep="last"
        )
        summed = (
            usage.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP, c.CPU_USAGE_CORES)
            .join(placed.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER])
            .group_by(c.CLUSTER, c.NODE, c.TIMESTAMP)
            .agg(pl.col(c.CPU_USAGE_CORES).sum())
        )
        fallback = mean_of(summed).rename({CPU_UTILIZATION: "_fallback"})
        out = out.join(fallback, on=keys, how="left").select(
            *keys, pl.coalesce(CPU_UTILIZATION, "_fallback").alias(CPU_UTILIZATION)
        )
    return out


def node_unit_prices(
    book: PriceBook, nodes: pl.DataFrame, labels: pl.DataFrame, *, utilization: pl.DataFrame | None = None
) -> pl.DataFrame:
    """(cluster, node, cpu_cost_per_hour, memory_cost_per_hour, cpu capacity, memory capacity): each node's
    hourly price at its mean utilization (idle power without one), split by ``cpu_share``."""
    keys = [c.CLUSTER, c.NODE]
    prices = node_prices(book, nodes, labels).join(
        nodes.select(*keys, c.CPU_CAPACITY_CORES, c.MEMORY_CAPACITY_BYTES), on=keys
    )
    if utilization is not None:
        prices = prices.join(utilization.select(*keys, CPU_UTILIZATION), on=keys, how="left")
    else:
        prices = prices.with_columns(pl.lit(None, pl.Float64).alias(CPU_UTILIZATION))
    hourly = node_hourly_price(pl.col(CPU_UTILIZATION).fill_null(0.0))
    return prices.select(
        *keys,
        (hourly * pl.col(c.CPU_SHARE)).alias("cpu_cost_per_hour"),
        (hourly * (1 - pl.col(c.CPU_SHARE))).alias("memory_cost_per_hour"),
        (pl.col(c.AMORTIZATION_PER_HOUR) * pl.col(c.CPU_SHARE)).alias("book_cpu_cost_per_hour"),
        (pl.col(c.AMORTIZATION_PER_HOUR) * (1 - pl.col(c.CPU_SHARE))).alias("book_memory_cost_per_hour"),
        c.CPU_CAPACITY_CORES,
        c.MEMORY_CAPACITY_BYTES,
    )


def _weighted() -> list[pl.Expr]:
    cores, gib = pl.col(c.CPU_CAPACITY_CORES).sum(), pl.col(c.MEMORY_CAPACITY_BYTES).sum() / GIB
    return [
        (pl.col("cpu_cost_per_hour").sum() / cores).alias(PER_CORE_HOUR),
        (pl.col("memory_cost_per_hour").sum() / gib).alias(PER_GIB_HOUR),
        (pl.col("book_cpu_cost_per_hour").sum() / cores).alias(BOOK_PER_CORE_HOUR),
        (pl.col("book_memory_cost_per_hour").sum() / gib).alias(BOOK_PER_GIB_HOUR),
    ]


def cluster_unit_prices(
    book: PriceBook, nodes: pl.DataFrame, labels: pl.DataFrame, *, utilization: pl.DataFrame | None = None
) -> pl.DataFrame:
    """(cluster, per_core_hour, per_gib_hour): each cluster's capacity-weighted price of requested capacity."""
    per_node = node_unit_prices(book, nodes, labels, utilization=utilization)
    return per_node.group_by(c.CLUSTER).agg(_weighted()).sort(c.CLUSTER)


def unit_prices(
    book: PriceBook, nodes: pl.DataFrame, labels: pl.DataFrame, *, utilization: pl.DataFrame | None = None
) -> UnitPrices:
    """One price of requested capacity for all of ``nodes`` (one cluster's price when they are one cluster);
    without nodes (or capacity) to weigh, the book's catch-all unit prices (:func:`book_unit_prices`)."""
    per_node = node_unit_prices(book, nodes, labels, utilization=utilization)
    core, gib, book_core, book_gib = per_node.select(_weighted()).row(0) if per_node.height else (None,) * 4
    if core is None or gib is None or math.isnan(core) or math.isnan(gib):
        return book_unit_prices(book)
    return UnitPrices(
        cpu_per_core_hour=float(core or 0.0),
        memory_per_gib_hour=float(gib or 0.0),
        book_cpu_per_core_hour=float(book_core or 0.0),
        book_memory_per_gib_hour=float(book_gib or 0.0),
        currency=book.currency,
        hours_per_month=float(book.hours_per_month),
    )


def book_unit_prices(book: PriceBook) -> UnitPrices:
    """Unit prices of the book's catch-all rule (``match: {}`` with ``unit:``), for pricing without nodes."""
    for rule in book.nodes:
        empty = not rule.match.names and not rule.match.selector and rule.match.instance_type is None
        if empty and rule.unit is not None:
            return UnitPrices(
                cpu_per_core_hour=float(rule.unit.cpu_per_core_hour),
                memory_per_gib_hour=float(rule.unit.memory_per_gib_hour),
                currency=book.currency,
                hours_per_month=float(book.hours_per_month),
            )
    raise ConfigError(
        "the price file has no catch-all unit prices (a rule `match: {}` with `unit:`); add one, or pass "
        "--dataset/--demo to price requests by the cluster's nodes"
    )
