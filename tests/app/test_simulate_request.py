"""simulate's rules live on SimulateRequest: checked before the (possibly long) simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.app.base import build
from kubetally.app.simulate import SimulateRequest
from kubetally.errors import ConfigError


def refused(**values: object) -> str:
    with pytest.raises(ConfigError) as err:
        build(SimulateRequest, **values)
    return str(err.value)


def test_days_steps_and_bounds(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert refused(out=out, days=0.01, step=3600) == (
        "--days 0.01 is shorter than one --step (3600 s): nothing would be simulated"
    )
    assert refused(out=out, days=121).startswith("--days 121: Input should be less than or equal to 120")
    assert refused(out=out, step=5).startswith("--step 5: Input should be greater than or equal to 10")
    request = build(SimulateRequest, out=out, days=2, step=300, extra_workloads=24)
    assert (request.scenario.steps, request.scenario.extra_workloads, request.scenario.seed) == (576, 24, 7)


def test_openmetrics_target_and_shape_options(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert refused(out=out, lost_container_label=True) == (
        "--lost-container-label shapes the OpenMetrics text: give --openmetrics FILE too"
    )
    assert refused(out=out, label_allowlist=False).startswith("--no-label-allowlist shapes the OpenMetrics text")
    assert (
        refused(out=out, openmetrics=out) == f"--openmetrics {out}: give a file path other than the dataset directory"
    )
    assert refused(out=out, openmetrics=tmp_path).endswith("is a directory; give a file path (e.g. history.om)")
    precious = tmp_path / "history.om"
    precious.write_text("precious\n")
    assert refused(out=out, openmetrics=precious) == (
        f"--openmetrics {precious} already exists: choose another file, or replace it with --overwrite"
    )
    assert build(SimulateRequest, out=out, openmetrics=precious, overwrite=True).openmetrics == precious
    assert refused(out=Path("yaml")).startswith(
        "--out yaml: names a directory to write, and 'yaml' is an output format"
    )
