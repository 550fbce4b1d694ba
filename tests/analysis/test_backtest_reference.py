"""The backtest on the real Bitbrains trace reproduces the issue's published reference figures.

Reference (issue 4; static mode, train on the first 14 days, 5-minute samples, VMs 1-150, 144 scored by
the protocol's rule: >= 864 samples in each of training, training memory, evaluation, evaluation memory):
operators' own sizes 0.83 / 6.1% / 0.92 / 0.11 / 15%; KRR simple 0.67 / 12.8% / 0.89 / 21.7 / 56% / 0.47 / 0.28;
VPA target 0.70 / 10.0% / 0.86 / 24.5 / 78% / 0.55 / 0.42.
These numbers were measured by someone else; our replay must land on them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BITBRAINS = Path(__file__).parents[2] / "testdata" / "traces" / "bitbrains-rnd-vm001-150.csv.gz"

pytestmark = pytest.mark.skipif(not BITBRAINS.is_file(), reason="testdata/traces not present")


def backtest(*args: str) -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "kubetally", "backtest", "--trace", str(BITBRAINS), "-o", "json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {row["strategy"]: row for row in json.loads(result.stdout)}


@pytest.mark.slow
def test_static_reference_rows() -> None:
    rows = backtest(
        *("-s", "current", "-s", "simple", "-s", "vpa", "-s", "vpa-source"),
        *("--set", "simple.rounding=krr", "--set", "vpa.rounding=none", "--set", "vpa-source.rounding=exact"),
    )
    published = {
        # strategy: CPU slack, CPU > request %, mem slack, OOM events /1000 h, hit %, CPU saving, mem saving
        "current": (0.83, 6.1, 0.92, 0.11, 15, 0.00, 0.00),
        "simple": (0.67, 12.8, 0.89, 21.65, 56, 0.47, 0.28),  # KRR simple (OOM published as 21.7 = 21.65 rounded)
        "vpa": (0.70, 10.0, 0.86, 24.5, 78, 0.55, 0.42),  # the documented VPA target
        # What the VPA recommender's code does (no published row; our own figures, pinned).
        "vpa-source": (0.70, 9.4, 0.83, 35.4, 91, 0.55, 0.50),
    }
    for name, (cslack, cover, mslack, oom, hit, csave, msave) in published.items():
        row = rows[name]
        assert row["entities"] == 144, name
        got = (
            round(row["cpu_slack"], 2),
            round(100 * row["cpu_over_request_share"], 1),
            round(row["memory_slack"], 2),
            round(row["oom_events_per_1000h"], 2 if name == "simple" else 1 if name != "current" else 2),
            round(100 * row["entities_hit_share"]),
            round(row["cpu_saving"], 2),
            round(row["memory_saving"], 2),
        )
        assert got == (cslack, cover, mslack, oom, hit, csave, msave), name


@pytest.mark.slow
def test_default_policy_against_static_krr() -> None:
    tiered = backtest("-s", "tiered", "--mode", "rolling")["tiered"]
    # KRR simple static, published: 21.7 OOM events / 1000 h, 56% hit, CPU above request in 12.8% of
    # samples, savings 0.47 CPU / 0.28 memory. The default is far safer on memory and on CPU and saves
    # more than twice the memory ...
    assert tiered["oom_events_per_1000h"] < 21.7 / 100
    assert tiered["entities_hit_share"] < 0.10
    assert tiered["cpu_over_request_share"] < 0.05
    assert tiered["memory_saving"] > 2 * 0.28
    # ... but saves slightly less CPU: its CPU request is the 98th percentile where KRR takes the 95th,
    # the price of keeping CPU above request under 5% of samples (measured 0.46 vs 0.47).
    assert round(tiered["cpu_saving"], 2) == 0.46
    # Its memory limits end above the operators' provisioned memory (limit = 2 x peak, lowered by at
    # most 1% a day): the events avoided are paid with overcommitted limits (docs/rightsizing.md).
    assert round(tiered["memory_limit_saving"], 2) == -0.52
