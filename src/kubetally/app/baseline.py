"""`kubetally baseline save|diff|list`: summaries of a stable period in the history store, compared later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.insights import OverviewRequest, StoreRequest, overview_of
from kubetally.app.source import Opened, open_source
from kubetally.outputs.baseline import baseline_of, compare
from kubetally.outputs.results import BaselineDiff, BaselineList, BaselineSaved
from kubetally.store import RunStore

NameField = Field(
    description="Name of the baseline (e.g. 2026-q3, before-rightsizing).",
    min_length=1,
    max_length=100,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    json_schema_extra=cli(argument=True, metavar="NAME"),
)


class BaselineSaveRequest(StoreRequest, OverviewRequest):
    """Record a summary of the window (per workload and team: cost per month, requests, p95 usage, efficiency; the
    waste findings) under NAME in the history store, to compare later windows with (`kubetally baseline diff`)."""

    name: str = NameField
    replace: bool = Field(False, description="Overwrite a baseline of the same name (otherwise an error).")


class BaselineDiffRequest(StoreRequest, OverviewRequest):
    """Compare the current window with the baseline NAME: cost per month, efficiency and requests per team and
    workload, workloads added or gone, waste findings appeared and resolved."""

    name: str = NameField
    output: Literal["table", "json", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))


class BaselineListRequest(StoreRequest):
    """List the baselines saved in the history store."""

    output: Literal["table", "json", "csv", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))


def save(request: BaselineSaveRequest, opened: Opened | None = None, progress: Progress = no_progress) -> BaselineSaved:
    opened = opened or open_source(request, progress)
    overview, note = overview_of(request, opened, progress=progress)
    record = baseline_of(overview, name=request.name, saved_at=datetime.now(UTC))
    with RunStore(request.store) as store:
        store.save_baseline(record, replace=request.replace)
        path = store.path
    start, end = record.window_start.isoformat()[:16], record.window_end.isoformat()[:16]
    message = (
        f"[green]✓[/] baseline [bold]{request.name}[/] saved in {path}: {record.workloads.height} workloads, "
        f"{record.findings.height} findings, window {start} to {end} UTC"
    )
    return BaselineSaved(
        name=request.name, store=path, workloads=record.workloads.height, findings=record.findings.height,
        notes=tuple(n for n in (*opened.notes, note) if n), messages=(message,),
    )  # fmt: skip


def diff(request: BaselineDiffRequest, opened: Opened | None = None, progress: Progress = no_progress) -> BaselineDiff:
    with RunStore(request.store) as store:
        saved = store.load_baseline(request.name)
    opened = opened or open_source(request, progress)
    overview, note = overview_of(request, opened, progress=progress)
    changes = compare(saved, baseline_of(overview, name="now", saved_at=overview.computed_at))
    return BaselineDiff(changes=changes, notes=tuple(n for n in (*opened.notes, note) if n))


def listing(request: BaselineListRequest, progress: Progress = no_progress) -> BaselineList:
    with RunStore(request.store) as store:
        return BaselineList(store=store.path, baselines=store.baselines())


def first_and_last(
    request: OverviewRequest, opened: Opened, *, span: timedelta, progress: Progress = no_progress
) -> dict[str, Any] | None:
    """What changed from the first ``span`` of the dataset (as a baseline) to its last ``span`` (the comparison
    `baseline diff` makes, without a store: what the demo shows); None when the dataset is shorter than two spans."""
    info = opened.dataset.info
    if info.end - info.start < 2 * span:
        return None
    progress("comparing the first and the last part of the window...")
    first = Opened(opened.dataset.with_info(end=info.start + span), notes=opened.notes, demo=opened.demo)
    last = Opened(opened.dataset.with_info(start=info.end - span), notes=opened.notes, demo=opened.demo)
    before, _ = overview_of(request, first, window=None, progress=progress)
    after, _ = overview_of(request, last, window=None, progress=progress)
    days = f"{span.total_seconds() / 86400:g}"
    return compare(baseline_of(before, name=f"first {days} days", saved_at=before.computed_at),
                   baseline_of(after, name=f"last {days} days", saved_at=after.computed_at))  # fmt: skip
