from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kubetally.errors import KubetallyError
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.scenario import MI
from kubetally.store import STORE_ENV, RunStore, default_path


def test_record_and_read_back(tmp_path: Path) -> None:
    ds = simulate(ScenarioConfig(days=1, step_seconds=600))
    when = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with RunStore(tmp_path / "h.duckdb") as store:
        run_id = store.record(ds, command="test", now=when)
        runs = store.runs()
    assert run_id == 1
    row = runs.row(0, named=True)
    assert row["recorded_at"] == when
    assert row["nodes"] == 4
    # 4 Raspberry Pis of 4 cores; memory allocatable = board - 190Mi firmware - 100Mi eviction.
    assert row["cpu_allocatable_cores"] == 16.0
    assert row["memory_allocatable_bytes"] == 3 * (8192 - 290) * MI + (4096 - 290) * MI
    assert row["window_end"] == ds.info.end


def test_store_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "x.duckdb"))
    assert default_path() == tmp_path / "x.duckdb"


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KubetallyError, match="cannot open the history store"):
        RunStore(blocker / "sub" / "h.duckdb")
