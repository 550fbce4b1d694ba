"""Overviews the exporter, report and dashboard tests render: hand-worked and AuditFlow."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

for _path in (Path(__file__).parent, Path(__file__).parents[1], Path(__file__).parents[1] / "cost"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from alloc_handmade import PRICES_YAML  # noqa: E402
from alloc_handmade import dataset as handmade_dataset  # noqa: E402

from kubetally.analysis.allocation import AllocationSettings  # noqa: E402
from kubetally.analysis.allocation.settings import allocation_settings_from_text  # noqa: E402
from kubetally.app.insights import build_overview  # noqa: E402
from kubetally.data import demo_inputs, demo_text  # noqa: E402
from kubetally.dataset import Dataset  # noqa: E402
from kubetally.model.owners import parse_owners_text  # noqa: E402
from kubetally.model.pricing import default_price_book, parse_price_text  # noqa: E402
from kubetally.outputs.overview import Overview  # noqa: E402
from kubetally.outputs.web.server import start  # noqa: E402
from kubetally.outputs.web.views import Application, Views  # noqa: E402
from kubetally.simulate import ScenarioConfig, simulate  # noqa: E402

NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="session")
def handmade() -> Overview:
    """The 2-node, 2-hour cluster of tests/cost/alloc_handmade.py (every number worked by hand there)."""
    book = parse_price_text(PRICES_YAML)
    return build_overview(handmade_dataset(), book=book, allocation=AllocationSettings(), owners=None, now=NOW)


@pytest.fixture(scope="session")
def auditflow_ds() -> Dataset:
    """AuditFlow, 2 days at 5-minute steps, with the demo's owners and allocation files."""
    return simulate(ScenarioConfig(days=2, step_seconds=300)).with_info(inputs=demo_inputs())


@pytest.fixture(scope="session")
def auditflow(auditflow_ds: Dataset) -> Overview:
    return build_overview(
        auditflow_ds,
        book=default_price_book(),
        allocation=allocation_settings_from_text(demo_text("allocation.yaml")),
        owners=parse_owners_text(demo_text("owners.yaml")),
        now=NOW,
    )


def windowed_overview(ds: Dataset, window: timedelta | None) -> Overview:
    """What serve computes for ``?window=``: the dataset's last ``window`` (aligned to its steps)."""
    if window is not None and window < ds.info.window:
        step = timedelta(seconds=ds.info.step_seconds)
        start = ds.info.end - window
        ds = ds.with_info(start=ds.info.start + ((start - ds.info.start) // step) * step)
    return build_overview(
        ds,
        book=default_price_book(),
        allocation=allocation_settings_from_text(demo_text("allocation.yaml")),
        owners=parse_owners_text(demo_text("owners.yaml")),
        now=NOW,
    )


@pytest.fixture(scope="session")
def windowed() -> Callable[[Dataset, timedelta | None], Overview]:
    """:func:`windowed_overview` for tests (importing it from ``conftest`` clashes with the other directories')."""
    return windowed_overview


@pytest.fixture(scope="session")
def served(auditflow_ds: Dataset) -> Iterator[str]:
    """A serve web app over AuditFlow on 127.0.0.1 and a free port; yields its base URL."""
    views = Views(lambda window: windowed_overview(auditflow_ds, window))
    views.refresh()
    server, thread = start(Application(views), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
