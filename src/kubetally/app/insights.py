"""What `serve`, `report` and `baseline` share: one Overview of a source, the history store's place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

from pydantic import Field, field_validator

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
from kubetally.outputs.overview import Overview, build_overview
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
