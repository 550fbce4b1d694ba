"""The rolling replay's daily statistics from arrays equal the strategies' own passes over samples.

``replay_many(window_statistics="samples")`` recounts every day's window with ``Strategy.statistics``
and ``usage_summary`` (the reference); the default computes the same frames from per-entity arrays
(``kubetally.analysis.backtest_windows``). Every metric of every entity must be identical, on real
VMs and jobs and on a hand-made case with several pods, missing memory, gaps and would-be OOM kills.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kubetally.analysis import backtest as bt
from kubetally.analysis import backtest_windows as bw
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, SimpleSettings, TieredSettings
from kubetally.model import columns as c
from kubetally.model.stats import exact_quantiles
from kubetally.sources.traces import bitbrains_replay, google_replay

TRACES = Path(__file__).resolve().parents[2] / "testdata" / "traces"


def both_ways(frame: pl.DataFrame, candidates: dict[str, bt.Candidate], settings: bt.BacktestSettings) -> None:
    kwargs = {"evidence": EvidenceSettings(), "backtest": settings, "step_seconds": 300}
    fast = bt.replay_many(frame, candidates, **kwargs)  # type: ignore[arg-type]
    slow = bt.replay_many(frame, candidates, window_statistics="samples", **kwargs)  # type: ignore[arg-type]
    for a, b in zip(fast, slow, strict=True):
        assert a.per_entity.height > 0
        # integers and strings exactly; floats to 1e-12 relative: a pooled sum's last bit follows polars'
        # summation order (a CI run saw memory_slack differ in the 16th digit under load)
        assert_frame_equal(a.per_entity, b.per_entity, rel_tol=1e-12, abs_tol=0.0)
        assert_frame_equal(a.summary, b.summary, rel_tol=1e-12, abs_tol=0.0)


def defaults() -> dict[str, bt.Candidate]:
    return {name: (s, s.settings_model()) for name, s in STRATEGIES.items()}


def bitbrains(tmp_path: Path, ids: list[int]) -> pl.DataFrame:
    """The trace's own loader on a few VMs' rows (keeps the test fast)."""
    small = tmp_path / "bitbrains.csv"
    pl.scan_csv(TRACES / "bitbrains-rnd-vm001-150.csv.gz").filter(pl.col("vm_id").is_in(ids)).collect().write_csv(small)
    return bitbrains_replay(small)


def test_real_vms_rolling_every_strategy_identical(tmp_path: Path) -> None:
    # both VMs have would-be OOM kills under simple, vpa and vpa-source (5-7 each): vpa-source's OOM
    # bump of the memory peaks and the engine's OOM evidence are exercised
    frame = bitbrains(tmp_path, [4, 10])
    both_ways(frame, defaults(), bt.BacktestSettings(mode="rolling", window_days=3))


def test_google_jobs_rolling_every_strategy_identical() -> None:
    frame = google_replay(TRACES / "google2011-jobs-5min.csv.gz")
    jobs = frame.get_column(c.OWNER_NAME).unique().sort().head(4)
    frame = frame.filter(pl.col(c.OWNER_NAME).is_in(jobs.implode()))
    both_ways(frame, defaults(), bt.BacktestSettings(mode="rolling", train_days=3, window_days=3, min_points=288))


def test_pods_gaps_missing_memory_and_other_settings_identical() -> None:
    rng = np.random.default_rng(7)
    t0 = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    rows = []
    for owner, pods in (("a", ["a-1", "a-2"]), ("b", ["b-1"])):
        for pod in pods:
            for i in range(0, 8 * 288):
                if 3 * 288 < i < 3 * 288 + 30:
                    continue  # a 2.5 h gap
                cpu = float(rng.gamma(2.0, 0.1)) if i % 97 else None
                mem = float(rng.normal(300, 40)) * 2**20 if i % 13 else None
                if i % 500 == 0 and mem is not None:
                    mem *= 3  # spikes over the limit: would-be OOM kills
                rows.append((owner, pod, t0 + timedelta(minutes=5 * i), cpu, mem))
    frame = pl.DataFrame(
        rows, schema=[c.OWNER_NAME, c.POD, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES], orient="row"
    ).with_columns(
        pl.lit("t").alias(c.CLUSTER),
        pl.lit("t").alias(c.NAMESPACE),
        pl.lit("Deployment").alias(c.OWNER_KIND),
        pl.lit("main").alias(c.CONTAINER),
        pl.lit(1.0).alias(c.CPU_REQUEST_CORES),
        pl.lit(1.0).alias(c.CPU_LIMIT_CORES),
        pl.lit(500 * 2**20).alias(c.MEMORY_REQUEST_BYTES),
        pl.lit(600 * 2**20).alias(c.MEMORY_LIMIT_BYTES),
    )
    tiers = TieredSettings.model_validate({"tiers": {"standard": {"memory_request_basis": "daily-peaks"}}})
    candidates = {
        **defaults(),
        "tiered-peaks": (STRATEGIES["tiered"], tiers),
        "simple-p90": (STRATEGIES["simple"], SimpleSettings(cpu_percentile=90)),
    }
    both_ways(frame, candidates, bt.BacktestSettings(mode="rolling", train_days=2, window_days=2, min_points=100))


@pytest.mark.parametrize("q", [0.0, 0.05, 0.5, 0.95, 0.98, 1.0])
@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_quantile_is_exact_quantiles(q: float, n: int) -> None:
    values = np.random.default_rng(n).lognormal(size=n)
    frame = pl.DataFrame({"k": ["x"] * n, "v": values})
    expected = exact_quantiles(frame.lazy(), keys=["k"], value="v", quantiles={"q": q}).get_column("q").item()
    assert bw.quantile(values, q) == expected
