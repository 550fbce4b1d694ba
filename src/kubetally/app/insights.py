"""What `serve`, `report` and `baseline` share: one Overview of a source (every figure the dashboards, the
exporter and the report show, money included, computed here once), the history store's place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

import polars as pl
from pydantic import Field, field_validator

from kubetally.analysis.allocation import Allocation, AllocationSettings, allocate
from kubetally.analysis.allocation.attributes import IDENTITY
from kubetally.analysis.allocation.report import attributes, showback
from kubetally.analysis.allocation.settings import UNALLOCATED
from kubetally.analysis.nodes import NodeSettings, node_report
from kubetally.analysis.rightsizing import DEFAULT_STRATEGY, STRATEGIES, EvidenceSettings, recommendations
from kubetally.analysis.rightsizing.history import history_from_dataset
from kubetally.analysis.rightsizing.money import with_money
from kubetally.analysis.waste import WasteSettings, findings
from kubetally.app.base import Progress, Request, cli, no_progress
from kubetally.app.inputs import (
    AllocationRequest,
    CloudRequest,
    OwnersRequest,
    PricesRequest,
    WindowRequest,
    allocation_of,
    owners_of,
    price_book,
    windowed,
)
from kubetally.app.source import Opened, SourceRequest
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.owners import Owners
from kubetally.model.pricing import PriceBook, node_prices
from kubetally.model.unit_prices import node_unit_prices
from kubetally.outputs.overview import WORKLOAD_KEYS, Overview
from kubetally.store import STORE_ENV


class OverviewRequest(AllocationRequest, OwnersRequest, CloudRequest, PricesRequest, WindowRequest, SourceRequest):
    """A source and its inputs, as every cost command takes them."""


class StoreRequest(Request):
    store: Path | None = Field(
        None,
        description=f"History store (DuckDB file); default: ${STORE_ENV}, else "
        "~/.local/share/kubetally/history.duckdb (the user data directory).",
        json_schema_extra=cli(metavar="FILE", env=STORE_ENV),
    )

    @field_validator("store")
    @classmethod
    def _file(cls, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise ValueError("is a directory; give the path of a DuckDB file")
        return value


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
        hours_per_month=float(book.hours_per_month),
        allocation=alloc,
        workloads=workloads,
        amounts=workload_amounts(alloc, ds.labels, owners),
        teams=teams,
        tiers=tiers,
        nodes=report,
        node_prices=prices,
        node_money=node_money(ds, alloc, book),
        pv_prices=pv_prices(ds, book),
        rightsizing=recs,
        waste=findings(ds, settings=waste or WasteSettings(), book=book),
        owners=owners,
        computed_at=now,
    )


def node_money(ds: Dataset, alloc: Allocation, book: PriceBook) -> pl.DataFrame:
    """Per node: its cost over the window projected to a month (``monthly_cost``), and the cash and book parts of
    it (``book_monthly``: the amortisation of owned hardware, a price rule with power draw; docs/cost-model.md)."""
    hpm = float(book.hours_per_month)
    month = alloc.hours_per_month / alloc.window_hours if alloc.window_hours else 0.0
    cost = alloc.nodes.group_by(c.CLUSTER, c.NODE).agg(pl.col(c.NODE_COST).sum() * month)
    prices = node_prices(book, ds.nodes, ds.labels).select(
        c.CLUSTER, c.NODE, c.AMORTIZATION_PER_HOUR, c.POWER_MAX_WATTS, c.PRICE_RULE
    )
    owned = pl.col(c.POWER_MAX_WATTS) > 0
    return (
        cost.join(prices, on=[c.CLUSTER, c.NODE], how="left")
        .with_columns(
            pl.when(owned).then(pl.col(c.AMORTIZATION_PER_HOUR) * hpm).otherwise(0.0).alias("book_monthly"),
        )
        .with_columns(
            pl.col(c.NODE_COST).alias("monthly_cost"),
            (pl.col(c.NODE_COST) - pl.col("book_monthly")).clip(lower_bound=0.0).alias("cash_monthly"),
            owned.alias("owned"),
        )
        .sort(c.CLUSTER, c.NODE)
    )


def pv_prices(ds: Dataset, book: PriceBook) -> pl.DataFrame:
    """(pv, per_gib_hour) of every bound PersistentVolume, at its StorageClass's price."""
    volumes = ds.table(schema.VOLUMES)
    bound = volumes.filter(pl.col(c.PV) != "") if volumes.height else volumes
    hours = float(book.hours_per_month)
    rows = [
        {c.PV: row[c.PV], "per_gib_hour": float(book.storage.per_gib_month(row[c.STORAGE_CLASS])) / hours}
        for row in bound.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema={c.PV: pl.String, "per_gib_hour": pl.Float64})


def overview_of(
    request: OverviewRequest,
    opened: Opened,
    *,
    window: timedelta | None = None,
    now: datetime | None = None,
    progress: Progress = no_progress,
) -> tuple[Overview, str | None]:
    """The Overview of ``opened`` over ``window`` (else the request's ``--window``), and the window's note."""
    cut = windowed(opened.dataset, window if window is not None else request.window)
    progress("computing showback, nodes, right-sizing and waste...")
    started = perf_counter()
    overview = build_overview(
        cut.dataset,
        book=price_book(request.prices, request.cloud),
        allocation=allocation_of(request.allocation, opened),
        owners=owners_of(request.owners, opened),
        now=now or datetime.now(UTC),
    )
    from dataclasses import replace

    return replace(overview, compute_seconds=perf_counter() - started), cut.note
