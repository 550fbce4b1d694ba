"""Everything the exporter, the web dashboard and the report show, computed once per run.

An :class:`Overview` bundles the results of the analyses for one dataset and one set of
inputs (prices, owners, allocation settings): showback per workload with its labels,
nodes and stranded capacity, right-sizing with money, waste findings. ``/metrics``, the
JSON API, the dashboard pages and ``kubetally report`` all render the same Overview, so
their numbers agree by construction. :func:`build_overview` is pure (no I/O, no clock:
``now`` is passed in); the app layer opens the source and calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from kubetally.analysis.allocation import Allocation, AllocationSettings, allocate
from kubetally.analysis.allocation.attributes import IDENTITY
from kubetally.analysis.allocation.report import Showback, attributes, showback
from kubetally.analysis.allocation.settings import UNALLOCATED
from kubetally.analysis.nodes import NodeReport, NodeSettings, node_report
from kubetally.analysis.rightsizing import DEFAULT_STRATEGY, STRATEGIES, EvidenceSettings, recommendations
from kubetally.analysis.rightsizing.history import history_from_dataset
from kubetally.analysis.rightsizing.money import with_money
from kubetally.analysis.waste import WasteReport, WasteSettings, findings
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.owners import Owners
from kubetally.model.pricing import PriceBook
from kubetally.model.unit_prices import node_unit_prices

LABEL_KEYS: tuple[str, ...] = ("team", "app", "component", "environment", "finops_tier")
"""The seed's label vocabulary: every workload row carries these (``__unallocated__`` when unset)."""
WORKLOAD_KEYS: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, *LABEL_KEYS)


@dataclass(frozen=True)
class Overview:
    """The results of one run (see the module docstring)."""

    dataset: Dataset
    book: PriceBook
    allocation: Allocation
    workloads: Showback
    """Showback by :data:`WORKLOAD_KEYS`: one row per workload (plus the ``__idle__``/``__unmounted__`` lines)."""
    amounts: pl.DataFrame
    """:data:`WORKLOAD_KEYS` + unrounded window amounts (total/cpu/memory/pv/idle/shared/overhead/waste cost,
    request and usage hours): the exporter's figures, so sums in PromQL are not sums of rounded cents."""
    teams: Showback
    """Showback by team, with the daily series (trend)."""
    tiers: Showback
    """Showback by criticality (owners file, else the finops_tier label): cost next to value."""
    nodes: NodeReport
    node_prices: pl.DataFrame
    """(cluster, node, cpu_cost_per_hour, memory_cost_per_hour, capacities): each node's hourly price split."""
    rightsizing: pl.DataFrame
    """Recommendations with money (``monthly_saving``), the default strategy."""
    waste: WasteReport
    owners: Owners | None
    """The owners file the showback used (team/owner/criticality fallback), for more showbacks by any key."""
    computed_at: datetime
    compute_seconds: float = 0.0

    @property
    def currency(self) -> str:
        return self.allocation.currency

    @property
    def window_hours(self) -> float:
        return self.allocation.window_hours

    @property
    def month_factor(self) -> float:
        """Window amounts times this = a 30.4-day month (the book's hours per month)."""
        hours = self.allocation.window_hours
        return self.allocation.hours_per_month / hours if hours else 0.0


def workload_amounts(alloc: Allocation, labels: pl.DataFrame, owners: Owners | None) -> pl.DataFrame:
    """Unrounded window amounts per workload, labelled as showback labels them."""
    keys = list(WORKLOAD_KEYS)
    items = alloc.items.join(attributes(alloc, labels, keys, owners), on=list(IDENTITY), how="left", nulls_equal=True)
    numeric = [name for name, dtype in items.schema.items() if dtype.is_numeric() and name not in keys]
    return (
        items.with_columns(pl.col(k).fill_null(UNALLOCATED) for k in keys)
        .group_by(keys)
        .agg(pl.col(numeric).sum())
        .sort(c.TOTAL_COST, descending=True)
    )


def build_overview(
    ds: Dataset,
    *,
    book: PriceBook,
    allocation: AllocationSettings,
    owners: Owners | None,
    now: datetime,
    strategy: str = DEFAULT_STRATEGY,
    nodes: NodeSettings | None = None,
    waste: WasteSettings | None = None,
) -> Overview:
    """Run every analysis the dashboards show on ``ds`` (already cut to its window)."""
    alloc = allocate(ds, prices=book, settings=allocation)
    workloads = showback(alloc, ds.labels, by=list(WORKLOAD_KEYS), owners=owners)
    teams = showback(alloc, ds.labels, by=["team"], owners=owners)
    tiers = showback(alloc, ds.labels, by=["criticality"], owners=owners)
    chosen = STRATEGIES[strategy]
    recs = recommendations(
        history_from_dataset(ds), strategy=chosen, settings=chosen.settings_model(), evidence=EvidenceSettings()
    )
    utilization = ds.node_utilization()
    recs = with_money(recs, book=book, nodes=ds.nodes, labels=ds.labels, utilization=utilization)
    scale = alloc.hours_per_month / alloc.window_hours if alloc.window_hours else 0.0
    per_node = alloc.nodes.group_by(c.NODE).agg(pl.col(c.NODE_COST).sum())
    monthly = {row[c.NODE]: row[c.NODE_COST] * scale for row in per_node.iter_rows(named=True)}
    report = node_report(ds, settings=nodes or NodeSettings(), node_monthly_cost=monthly, recommended=recs)
    prices = node_unit_prices(book, ds.nodes, ds.labels, utilization=utilization)
    return Overview(
        dataset=ds,
        book=book,
        allocation=alloc,
        workloads=workloads,
        amounts=workload_amounts(alloc, ds.labels, owners),
        teams=teams,
        tiers=tiers,
        nodes=report,
        node_prices=prices,
        rightsizing=recs,
        waste=findings(ds, settings=waste or WasteSettings(), book=book),
        owners=owners,
        computed_at=now,
    )
