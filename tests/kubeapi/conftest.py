"""The Kubernetes API test server loaded with the AuditFlow simulator's objects (one per module)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

for _path in (Path(__file__).parents[1],):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from kubeapi.server import KubeAPIServer  # noqa: E402
from kubetally.dataset import Dataset  # noqa: E402
from kubetally.simulate import ScenarioConfig, simulate  # noqa: E402
from kubetally.simulate.k8s import cluster_objects  # noqa: E402


@pytest.fixture(scope="session")
def truth() -> Dataset:
    """AuditFlow over 2 days: the ground truth the server's objects are made from."""
    return simulate(ScenarioConfig(days=2, step_seconds=300))


@pytest.fixture(scope="session")
def truth_objects(truth: Dataset) -> list[dict[str, object]]:
    return cluster_objects(truth)


@pytest.fixture
def api(truth_objects: list[dict[str, object]]) -> Iterator[KubeAPIServer]:
    """A fresh server (objects validated against the official schemas on load)."""
    with KubeAPIServer(truth_objects) as server:
        yield server
