"""``--trace`` streams: a real trace scanned from its Parquet copy, batch by batch, scores the same as the
trace loaded whole (``load_trace``), in both modes, every strategy."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings
from kubetally.sources.traces import load_trace, scan_trace

BITBRAINS = Path(__file__).resolve().parents[2] / "testdata" / "traces" / "bitbrains-rnd-vm001-150.csv.gz"

pytestmark = pytest.mark.skipif(not BITBRAINS.is_file(), reason="testdata/traces not present")


@pytest.mark.parametrize("mode", ["static", "rolling"])
def test_streamed_trace_scores_as_the_trace_in_memory(tmp_path: Path, mode: str) -> None:
    # four real VMs (4 and 10 have would-be OOM kills under several strategies; 21 has too few samples
    # to be scored), their first 20 days (14 to train, 6 scored), rows shuffled in the file: the scan
    # reads them in file order, the eager load sorts them
    ts = pl.col("timestamp_s")
    rows = (
        pl.scan_csv(BITBRAINS).filter(pl.col("vm_id").is_in([4, 10, 12, 21]) & (ts < ts.min() + 20 * 86400)).collect()
    )
    small = tmp_path / "four.csv.gz"
    with gzip.open(small, "wb") as f:
        rows.sample(fraction=1.0, shuffle=True, seed=7).write_csv(f)
    candidates: dict[str, bt.Candidate] = {
        bt.CURRENT: (None, None),
        **{name: (s, s.settings_model()) for name, s in STRATEGIES.items()},
    }
    # two entities a batch: two batches (in lockstep when rolling)
    settings = bt.BacktestSettings(mode=mode, window_days=3, batch_entities=2)
    kwargs = {"evidence": EvidenceSettings(), "backtest": settings, "step_seconds": 300}
    eager = bt.replay_many(load_trace(small), candidates, **kwargs)  # type: ignore[arg-type]
    lazy = bt.replay_many(scan_trace(small, tmp_path), candidates, **kwargs)  # type: ignore[arg-type]
    for a, b in zip(eager, lazy, strict=True):
        assert a.per_entity.height == 3
        assert_frame_equal(a.per_entity, b.per_entity, rel_tol=1e-12, abs_tol=0.0)
        assert_frame_equal(a.summary, b.summary, rel_tol=1e-12, abs_tol=0.0)
