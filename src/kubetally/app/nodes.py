"""Nodes: utilization, stranded capacity and a bin-packing estimate."""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, model_validator

from kubetally.analysis.allocation import AllocationSettings, allocate
from kubetally.analysis.nodes import NodeSettings, node_report
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.inputs import CloudRequest, PricesRequest, WindowRequest, price_book, windowed
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook, node_prices
from kubetally.outputs.cost import NodesResult


class NodesRequest(CloudRequest, PricesRequest, WindowRequest, SourceRequest):
    """Per node: allocatable, requested and used CPU/memory (mean and p95), stranded capacity (allocatable not
    requested), fragmentation (free capacity unusable because the other resource is full), and how many nodes the
    running pods need when packed first-fit-decreasing at current requests and at usage-based sizes."""

    percentile: float = like(NodeSettings, "percentile")
    headroom: float | None = like(
        NodeSettings,
        "headroom",
        default=None,
        description=f"Headroom over observed usage for the usage-based packing table "
        f"(default {NodeSettings.model_fields['headroom'].default:g}).",
    )
    recommended: bool = Field(
        False, description="Also pack the pods at the requests `kubetally rightsize` recommends (default strategy)."
    )
    output: Literal["table", "json", "csv", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))

    @model_validator(mode="after")
    def _table_only(self) -> NodesRequest:
        if self.headroom is not None and self.output != "table":
            raise ValueError(f"--headroom sizes the packing table; -o {self.output} prints only the per-node frame")
        if self.recommended and self.output != "table":
            raise ValueError(
                f"--recommended adds a packing table; -o {self.output} prints only the per-node frame: drop one of them"
            )
        return self


def monthly_node_costs(ds: Dataset, prices: PriceBook) -> dict[str, float]:
    """Each node's cost over the window, projected to a month (for the packing saving)."""
    alloc = allocate(ds, prices=prices, settings=AllocationSettings())
    scale = alloc.hours_per_month / alloc.window_hours if alloc.window_hours else 0.0
    per_node = alloc.nodes.group_by(c.NODE).agg(pl.col(c.NODE_COST).sum())
    return {row[c.NODE]: row[c.NODE_COST] * scale for row in per_node.iter_rows(named=True)}


def monthly_node_book(ds: Dataset, prices: PriceBook) -> dict[str, float]:
    """The book-value part of each node's monthly cost: amortisation of owned hardware (0 for cloud nodes)."""
    return {
        row[c.NODE]: row[c.AMORTIZATION_PER_HOUR] * float(prices.hours_per_month)
        for row in node_prices(prices, ds.nodes, ds.labels).iter_rows(named=True)
    }


def nodes(request: NodesRequest, opened: Opened | None = None, progress: Progress = no_progress) -> NodesResult:
    opened = opened or open_source(request, progress)
    cut = windowed(opened.dataset, request.window)
    ds, book = cut.dataset, price_book(request.prices, request.cloud)
    settings = NodeSettings(
        percentile=request.percentile, **({} if request.headroom is None else {"headroom": request.headroom})
    )
    recs = None
    if request.recommended:
        from kubetally.app.rightsize import default_recommendations

        recs = default_recommendations(ds, book)
    report = node_report(
        ds,
        settings=settings,
        # a snapshot has no window to price a node's month over (power follows usage): no money for freed nodes
        node_monthly_cost=None if ds.info.snapshot else monthly_node_costs(ds, book),
        recommended=recs,
        node_monthly_book=monthly_node_book(ds, book),
    )
    return NodesResult(report=report, currency=book.currency, notes=tuple(n for n in (*opened.notes, cut.note) if n))
