"""The embedded history store: one DuckDB file that records every run's dataset summary.

Later features (baselines, trends) read it. The default file is under the user's
data directory; ``KUBETALLY_STORE`` or ``--store`` overrides it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import platformdirs
import polars as pl

from kubetally.analysis.summary import node_summary
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError
from kubetally.model import columns as c

STORE_ENV = "KUBETALLY_STORE"

_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT PRIMARY KEY DEFAULT nextval('run_ids'),
    recorded_at TIMESTAMPTZ NOT NULL,
    command VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    step_seconds INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    clusters INTEGER NOT NULL,
    nodes INTEGER NOT NULL,
    pods INTEGER NOT NULL,
    containers INTEGER NOT NULL,
    usage_rows BIGINT NOT NULL,
    cpu_allocatable_cores DOUBLE NOT NULL,
    cpu_requested_cores DOUBLE NOT NULL,
    cpu_used_mean_cores DOUBLE,
    memory_allocatable_bytes DOUBLE NOT NULL,
    memory_requested_bytes DOUBLE NOT NULL,
    memory_used_mean_bytes DOUBLE
);
"""


def default_path() -> Path:
    override = os.environ.get(STORE_ENV)
    if override:
        return Path(override)
    return platformdirs.user_data_path("kubetally") / "history.duckdb"


def dataset_summary(ds: Dataset) -> dict[str, Any]:
    """The figures recorded for one run."""
    nodes = node_summary(ds)
    counts = ds.counts()
    return {
        "source": ds.info.source,
        "window_start": ds.info.start,
        "window_end": ds.info.end,
        "step_seconds": ds.info.step_seconds,
        "schema_version": ds.info.schema_version,
        "clusters": ds.nodes.get_column(c.CLUSTER).n_unique(),
        "nodes": ds.nodes.height,
        "pods": ds.containers.select(c.CLUSTER, c.NAMESPACE, c.POD).n_unique(),
        "containers": ds.containers.height,
        "usage_rows": counts["usage"],
        "cpu_allocatable_cores": float(nodes.get_column(c.CPU_ALLOCATABLE_CORES).sum()),
        "cpu_requested_cores": float(nodes.get_column("cpu_requested_cores").sum()),
        "cpu_used_mean_cores": nodes.get_column("cpu_used_mean_cores").sum() if nodes.height else None,
        "memory_allocatable_bytes": float(nodes.get_column(c.MEMORY_ALLOCATABLE_BYTES).sum()),
        "memory_requested_bytes": float(nodes.get_column("memory_requested_bytes").sum()),
        "memory_used_mean_bytes": nodes.get_column("memory_used_mean_bytes").sum() if nodes.height else None,
    }


class RunStore:
    """A DuckDB file of run summaries. Open with ``with RunStore(path) as store:``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = duckdb.connect(str(self.path))
            self._db.execute(_SCHEMA)
        except (OSError, duckdb.Error) as exc:
            raise KubetallyError(f"cannot open the history store {self.path}: {exc}") from None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()

    def record(self, ds: Dataset, *, command: str, now: datetime | None = None) -> int:
        """Append one run; returns its run id."""
        row = {"recorded_at": now or datetime.now(UTC), "command": command, **dataset_summary(ds)}
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        result = self._db.execute(f"INSERT INTO runs ({names}) VALUES ({marks}) RETURNING run_id", list(row.values()))
        fetched = result.fetchone()
        assert fetched is not None
        return int(fetched[0])

    def runs(self) -> pl.DataFrame:
        """Every recorded run, oldest first."""
        table = self._db.sql("SELECT * FROM runs ORDER BY run_id").to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
