"""Overviews the exporter, report and dashboard tests render: hand-worked and AuditFlow."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

for _path in (Path(__file__).parent, Path(__file__).parents[1], Path(__file__).parents[1] / "cost"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from alloc_handmade import PRICES_YAML  # noqa: E402
from alloc_handmade import dataset as handmade_dataset  # noqa: E402

from kubetally.analysis.allocation import AllocationSettings  # noqa: E402
from kubetally.analysis.allocation.settings import allocation_settings_from_text  # noqa: E402
from kubetally.data import demo_inputs, demo_text  # noqa: E402
from kubetally.dataset import Dataset  # noqa: E402
from kubetally.model.owners import parse_owners_text  # noqa: E402
from kubetally.model.pricing import default_price_book, parse_price_text  # noqa: E402
from kubetally.outputs.overview import Overview, build_overview  # noqa: E402
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
