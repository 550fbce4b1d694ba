"""Showback: what each team, namespace, workload or label value costs over the window."""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from kubetally.analysis.allocation import Allocation, AllocationSettings, Selector, SharedCost, allocate
from kubetally.analysis.allocation.report import showback as showback_report
from kubetally.analysis.allocation.report import unowned
from kubetally.analysis.allocation.settings import Basis, IdleMode, Split
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.inputs import (
    AllocationRequest,
    CloudRequest,
    OwnersRequest,
    PricesRequest,
    WindowRequest,
    allocation_of,
    owners_of,
    price_book,
    recorded_inputs_note,
    windowed,
)
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.errors import KubetallyError
from kubetally.model.owners import Owners
from kubetally.outputs.cost import ShowbackResult, View


class ShowbackRequest(AllocationRequest, OwnersRequest, CloudRequest, PricesRequest, WindowRequest, SourceRequest):
    """Cost per team, namespace, workload or label over the window: CPU, memory, volumes, idle, shared, waste,
    efficiency and a monthly projection. Every report adds up to the cluster's total cost, to the cent."""

    by: tuple[str, ...] = Field(
        ("namespace",),
        description="Comma-separated keys: cluster, node, namespace, controller_kind, controller, pod, container, "
        "or any label (team, app, component, environment, finops_tier); owners-file keys: team, owner, "
        "criticality, business_value.",
        json_schema_extra=cli(short="-b", metavar="KEYS", comma=True),
    )
    idle: IdleMode | None = like(
        AllocationSettings,
        "idle",
        default=None,
        description="Idle cost: separate (an __idle__ line), share "
        "(by cost), node (per node); default: the allocation settings' (separate).",
    )
    basis: Basis | None = like(
        AllocationSettings,
        "basis",
        default=None,
        description="Charge max(request, usage) per step (max, "
        "OpenCost) or requests (request); default: the allocation settings' (max).",
    )
    share: tuple[str, ...] = Field(
        (), description="A shared namespace or namespace/workload (repeatable); split over the rest."
    )
    split: Split | None = Field(
        None, description="How --share is split: weighted (by cost, the default) or even (per workload)."
    )
    daily: bool = Field(False, description="Print the daily series instead of window totals.")
    overcommit: bool = Field(False, description="List only the over-committed nodes and resources.")
    unowned: bool = Field(False, description="List only the workloads without an owner (no team label or entry).")
    output: Literal["table", "json", "csv", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))

    @field_validator("by")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        keys = tuple(k.strip() for item in value for k in item.split(",") if k.strip())
        if not keys:
            raise ValueError("give at least one key, e.g. team or namespace")
        return keys

    @model_validator(mode="after")
    def _one_report(self) -> ShowbackRequest:
        chosen = [f"--{name}" for name in ("daily", "overcommit", "unowned") if getattr(self, name)]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)} print different reports: give only one of them")
        if self.split is not None and not self.share:
            raise ValueError("--split says how --share is split: give --share too")
        return self


def _check_share(share: tuple[str, ...], workloads: pl.DataFrame, containers: pl.DataFrame) -> None:
    """Refuse a --share target that is not in the dataset (it would silently share nothing)."""
    owners = pl.concat(
        [
            workloads.select("namespace", "kind", "name"),
            containers.select("namespace", kind="owner_kind", name="owner_name").drop_nulls(),
        ]
    )
    namespaces = set(owners.get_column("namespace").to_list())
    names = {f"{ns}/{name}" for ns, _, name in owners.iter_rows()}
    names |= {f"{ns}/{kind}/{name}" for ns, kind, name in owners.iter_rows()}
    missing = [s for s in share if s not in (names if "/" in s else namespaces)]
    if missing:
        raise KubetallyError(
            f"--share {', '.join(missing)}: no such namespace or namespace/workload in the dataset; nothing to share"
        )


def _settings(base: AllocationSettings, request: ShowbackRequest) -> AllocationSettings:
    changes: dict[str, object] = {}
    if request.idle is not None:
        changes["idle"] = request.idle
    if request.basis is not None:
        changes["basis"] = request.basis
    if request.share:
        workloads = tuple(s for s in request.share if "/" in s)
        namespaces = tuple(s for s in request.share if "/" not in s)
        select = Selector(namespaces=namespaces, workloads=workloads)
        changes["shared"] = (*base.shared, SharedCost(name="shared", select=select, split=request.split or "weighted"))
    return AllocationSettings.model_validate(base.model_dump() | changes)


def unowned_workloads(alloc: Allocation, labels: pl.DataFrame, owners: Owners | None) -> pl.DataFrame:
    """Workloads with no team (label or owners file), with what they cost."""
    report = showback_report(alloc, labels, by=["team", "namespace", "controller"], owners=owners)
    return (
        unowned(report)
        .filter(~pl.col("namespace").str.starts_with("__"))
        .select("namespace", "controller", "total_cost")
    )


def showback(
    request: ShowbackRequest, opened: Opened | None = None, progress: Progress = no_progress
) -> ShowbackResult:
    """The showback report ``request`` asks for (``opened``: an already opened source)."""
    opened = opened or open_source(request, progress)
    cut = windowed(opened.dataset, request.window)
    ds = cut.dataset
    _check_share(request.share, ds.workloads, ds.containers)
    settings = _settings(allocation_of(request.allocation, opened), request)
    owners = owners_of(request.owners, opened)
    alloc = allocate(ds, prices=price_book(request.prices, request.cloud), settings=settings)
    warnings: list[str] = []
    if ds.info.snapshot:
        warnings.append(
            "one point in time: cost accrues over a window, and these objects have none (0 hours): showback needs "
            "history (--prometheus URL beside the Kubernetes source, or a directory `kubetally record` builds); "
            "`kubetally nodes` shows what the running pods request now"
        )
    matched = set(alloc.shared_sources.get_column("name").to_list())
    for rule in settings.shared:
        if rule.name not in matched:
            warnings.append(
                f"shared-cost rule {rule.name!r} shares nothing: it selects no workload with cost in this window"
            )
    report = showback_report(alloc, ds.labels, by=list(request.by), owners=owners)
    for key in request.by:
        values = set(report.rows.get_column(key)) if key in report.rows.columns else set()
        if values and all(value is None or str(value).startswith("__") for value in values):
            warnings.append(
                f"no workload or pod carries {key!r} (label or owners-file field): all of their cost is __unallocated__"
            )
    view: View = (
        "daily" if request.daily else "overcommit" if request.overcommit else "unowned" if request.unowned else "rows"
    )
    needs_unowned = view == "unowned" or "team" in request.by
    return ShowbackResult(
        report=report,
        overcommit=alloc.overcommit,
        unowned=unowned_workloads(alloc, ds.labels, owners) if needs_unowned else None,
        view=view,
        notes=tuple(n for n in (*opened.notes, cut.note, *alloc.notes) if n),
        warnings=tuple(warnings),
        messages=tuple(
            m for m in (recorded_inputs_note(opened, owners=request.owners, allocation=request.allocation),) if m
        ),
    )
