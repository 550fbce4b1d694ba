"""Real Prometheus and VictoriaMetrics servers loaded with simulated histories (one per variant, per session)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

for _path in (Path(__file__).parent, Path(__file__).parents[1], Path(__file__).parents[1] / "exposition"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import servers  # noqa: E402
from kubetally.dataset import Dataset  # noqa: E402
from kubetally.simulate import ScenarioConfig, simulate  # noqa: E402
from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics  # noqa: E402


@pytest.fixture(scope="session")
def auditflow() -> Dataset:
    """AuditFlow, 2 days at 5-minute steps: the ground truth the servers are loaded with."""
    return simulate(ScenarioConfig(days=2, step_seconds=300))


@pytest.fixture(scope="session")
def auditflow_short() -> Dataset:
    """AuditFlow, 1 day at 5 minutes: for the degraded variants (faster to load)."""
    return simulate(ScenarioConfig(days=1, step_seconds=300))


VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "default": ("auditflow", {}),
    "no_allowlist": ("auditflow_short", {"label_allowlist": False}),
    "lost_container": ("auditflow_short", {"container_label_lost": True}),
}


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[servers.Serve]:
    stack = ExitStack()
    urls: dict[tuple[str, str], str] = {}

    def get(kind: str, variant: str) -> str:
        if (kind, variant) not in urls:
            servers.require_binary("promtool" if kind == "prometheus" else "victoria-metrics")
            fixture, options = VARIANTS[variant]
            dataset: Dataset = request.getfixturevalue(fixture)
            work = tmp_path_factory.mktemp(f"{kind}-{variant}")
            om = work / "history.om"
            with open(om, "wb") as out:
                write_openmetrics(dataset, out, ExpositionOptions(**options))  # type: ignore[arg-type]
            if kind == "prometheus":
                servers.backfill(om, work / "tsdb")
                om.unlink()
                urls[(kind, variant)] = stack.enter_context(servers.prometheus(work / "tsdb"))
            else:
                urls[(kind, variant)] = stack.enter_context(servers.victoria_metrics(work / "vm", om))
                om.unlink()
        return urls[(kind, variant)]

    with stack:
        yield get
