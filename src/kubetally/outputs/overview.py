"""Everything the exporter, the web dashboard and the report show, computed once per run.

An :class:`Overview` bundles the results of the analyses for one dataset and one set of
inputs (prices, owners, allocation settings): showback per workload with its labels,
nodes and stranded capacity, right-sizing with money, waste findings. ``/metrics``, the
JSON API, the dashboard pages and ``kubetally report`` all render the same Overview, so
their numbers agree by construction. The app layer computes it (``kubetally.app.insights.build_overview``:
every figure, money included); outputs only render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from kubetally.analysis.allocation import Allocation
from kubetally.analysis.allocation.report import Showback
from kubetally.analysis.nodes import NodeReport
from kubetally.analysis.waste import WasteReport
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.owners import Owners

LABEL_KEYS: tuple[str, ...] = ("team", "app", "component", "environment", "finops_tier")
"""The seed's label vocabulary: every workload row carries these (``__unallocated__`` when unset)."""
WORKLOAD_KEYS: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, *LABEL_KEYS)


@dataclass(frozen=True)
class Overview:
    """The results of one run (see the module docstring)."""

    dataset: Dataset
    hours_per_month: float
    """The price book's hours in a month (monthly figures are hourly x this)."""
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
    node_money: pl.DataFrame
    """Per node: monthly_cost over the window projected to a month, its cash_monthly and book_monthly parts
    (book value = amortisation of owned hardware), owned."""
    pv_prices: pl.DataFrame
    """(pv, per_gib_hour): each bound PersistentVolume's price per GiB-hour at its StorageClass."""
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
