"""Scale: the HPA what-if (replay total demand through the HPA controller) and off-hours plans (docs/scale.md).

The per-pod request is the right-sized one (default strategy); savings are priced at the cash part of
the cluster's unit prices (power, overhead, cloud prices; not the amortisation of hardware you keep).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from kubetally.analysis.scaling import HpaSettings, OffHoursSettings, hpa_whatif, offhours_plans
from kubetally.analysis.scaling.offhours import check_timezone
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.inputs import PricesRequest, price_book
from kubetally.app.source import Opened, SourceRequest, check_namespaces, open_source
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook
from kubetally.model.unit_prices import unit_prices
from kubetally.outputs.scaling import ScaleResult

NO_NODES = "the source has no nodes: savings are priced at the price file's unit prices (built-in: OpenCost's)"


class ScaleRequest(PricesRequest, SourceRequest):
    """HPA what-if (replay total demand through the HPA controller) and off-hours plans for non-production.

    The what-if sizes each pod at the request `kubetally rightsize` recommends (default strategy) and
    compares an HPA's replica-hours with today's fixed replicas; off-hours plans say when a non-production
    workload can be scaled to zero (kube-downscaler's downscaler/uptime). -o manifests prints the HPA
    objects and annotations to apply."""

    namespace: tuple[str, ...] = Field(
        (), description="Only this namespace (repeatable).", json_schema_extra=cli(short="-n")
    )
    timezone: str = like(OffHoursSettings, "timezone", description="IANA time zone of the users, for off-hours.")
    max_risk: float = like(HpaSettings, "max_risk_ratio")
    all_rows: bool = Field(
        False,
        description="Table: also workloads an HPA would not save on (and why).",
        json_schema_extra=cli(flag="all"),
    )
    output: Literal["table", "json", "yaml", "manifests"] = Field("table", json_schema_extra=cli(short="-o"))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)


def scaling(dataset: Dataset, *, book: PriceBook, hpa: HpaSettings, offhours: OffHoursSettings) -> ScaleResult:
    """The HPA what-if (best saving first) and off-hours plans of ``dataset``, at the right-sized per-pod request."""
    from kubetally.app.rightsize import default_recommendations

    prices = unit_prices(book, dataset.nodes, dataset.labels, utilization=dataset.node_utilization())
    cash = prices.cash()  # a saving is cash, not the amortisation of owned hardware you keep
    what_if = hpa_whatif(
        usage=dataset.usage,
        containers=dataset.containers,
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
        settings=hpa,
        prices=cash,
        recommendations=default_recommendations(dataset, priced=False),
    )
    plans = offhours_plans(
        usage=dataset.usage,
        containers=dataset.containers,
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
        settings=offhours,
        prices=cash,
    )
    return ScaleResult(
        hpa=what_if.sort(c.MONTHLY_COST_SAVED, descending=True, nulls_last=True), offhours=plans, prices=prices
    )


def scale(request: ScaleRequest, opened: Opened | None = None, progress: Progress = no_progress) -> ScaleResult:
    opened = opened or open_source(request, progress)
    data = opened.dataset
    check_namespaces(request.namespace, data)
    progress("replaying demand through the HPA controller...")
    result = scaling(
        data,
        book=price_book(request.prices),
        hpa=HpaSettings(max_risk_ratio=request.max_risk),
        offhours=OffHoursSettings(timezone=request.timezone),
    )
    hpa, plans = result.hpa, result.offhours
    if request.namespace:
        hpa = hpa.filter(pl.col(c.NAMESPACE).is_in(request.namespace))
        plans = plans.filter(pl.col(c.NAMESPACE).is_in(request.namespace))
    unpriced = () if data.nodes.height else (NO_NODES,)
    return ScaleResult(
        hpa=hpa, offhours=plans, prices=result.prices, all_rows=request.all_rows, notes=(*opened.notes, *unpriced)
    )
