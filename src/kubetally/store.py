"""The embedded history store: one DuckDB file that records every run's dataset summary and the baselines.

Tables: ``runs`` (one row per recorded run), ``baselines`` (one row per named baseline),
``baseline_workloads`` and ``baseline_findings`` (its per-workload summary and waste findings;
see kubetally.model.baseline). The default file is under the user's data directory
(``platformdirs.user_data_path("kubetally") / "history.duckdb"``, e.g.
``~/.local/share/kubetally/history.duckdb`` on Linux); ``KUBETALLY_STORE`` or ``--store`` overrides it.
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
from kubetally.model.baseline import FINDING_SCHEMA, WORKLOAD_SCHEMA, Baseline

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
CREATE TABLE IF NOT EXISTS baselines (
    name VARCHAR PRIMARY KEY,
    saved_at TIMESTAMPTZ NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    currency VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS baseline_workloads (
    baseline VARCHAR NOT NULL,
    cluster VARCHAR, namespace VARCHAR, controller_kind VARCHAR, controller VARCHAR, team VARCHAR,
    monthly_cost DOUBLE, cpu_request_cores DOUBLE, memory_request_bytes DOUBLE,
    cpu_p95_cores DOUBLE, memory_peak_bytes DOUBLE, cpu_efficiency DOUBLE, memory_efficiency DOUBLE
);
CREATE TABLE IF NOT EXISTS baseline_findings (
    baseline VARCHAR NOT NULL,
    rule VARCHAR, kind VARCHAR, namespace VARCHAR, name VARCHAR, owner VARCHAR, monthly_cost DOUBLE
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

    def save_baseline(self, baseline: Baseline, *, replace: bool = False) -> None:
        """Store ``baseline`` under its name; an existing name is an error unless ``replace``."""
        exists = self._db.execute("SELECT 1 FROM baselines WHERE name = ?", [baseline.name]).fetchone()
        if exists and not replace:
            raise KubetallyError(
                f"baseline {baseline.name!r} already exists in {self.path}: choose another name or pass --replace"
            )
        self._db.execute("BEGIN TRANSACTION")
        try:
            for table, column in (("baselines", "name"), ("baseline_workloads", "baseline"),
                                  ("baseline_findings", "baseline")):  # fmt: skip
                self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", [baseline.name])
            self._db.execute(
                "INSERT INTO baselines VALUES (?, ?, ?, ?, ?, ?)",
                [baseline.name, baseline.saved_at, baseline.window_start, baseline.window_end, baseline.source,
                 baseline.currency],
            )  # fmt: skip
            for table, frame in (("baseline_workloads", baseline.workloads), ("baseline_findings", baseline.findings)):
                rows = frame.with_columns(pl.lit(baseline.name).alias("baseline")).select("baseline", *frame.columns)
                if rows.height:
                    marks = ", ".join("?" for _ in rows.columns)
                    self._db.executemany(
                        f"INSERT INTO {table} ({', '.join(rows.columns)}) VALUES ({marks})", rows.rows()
                    )
            self._db.execute("COMMIT")
        except duckdb.Error as exc:
            self._db.execute("ROLLBACK")
            raise KubetallyError(f"cannot save baseline {baseline.name!r} in {self.path}: {exc}") from None

    def baselines(self) -> pl.DataFrame:
        """Every saved baseline (name, saved_at, window, source, currency), oldest first."""
        frame = pl.from_arrow(self._db.sql("SELECT * FROM baselines ORDER BY saved_at, name").to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def load_baseline(self, name: str) -> Baseline:
        """The baseline called ``name``; a clear error naming the saved ones when it does not exist."""
        row = self._db.execute("SELECT * FROM baselines WHERE name = ?", [name]).fetchone()
        if row is None:
            saved = ", ".join(self.baselines().get_column("name").to_list()) or "none saved yet"
            raise KubetallyError(f"no baseline {name!r} in {self.path} (saved: {saved})")
        frames = []
        for table, schema in (("baseline_workloads", WORKLOAD_SCHEMA), ("baseline_findings", FINDING_SCHEMA)):
            query = f"SELECT {', '.join(schema)} FROM {table} WHERE baseline = ?"
            rows = self._db.execute(query, [name]).fetchall()
            frames.append(pl.DataFrame(rows, schema=schema, orient="row"))
        _, saved_at, start, end, source, currency = row
        return Baseline(name=name, saved_at=saved_at, window_start=start, window_end=end, source=source,
                        currency=currency, workloads=frames[0], findings=frames[1])  # fmt: skip
