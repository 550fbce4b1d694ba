"""postgres_exporter 0.11.1 (Debian bookworm) scraping a real PostgreSQL 15 with a table `events` in two schemas
(`audit` and `public`), replayed with the KSM capture into a real Prometheus. The expected sizes are PostgreSQL's own
pg_total_relation_size() of each table, read with psql when the captures were made (testdata/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from captures import KIND_END, KIND_START, KSM_KIND, PG_QUERIES_EXAMPLE, PG_V018_TABLES, Loader, Target

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services
TOTAL_RELATION_SIZE = {"audit.events": 1409024, "events": 81920, "audit_event": 262144}
LIVE_ROWS = {"audit.events": 5000, "events": 300, "audit_event": 1000}


def read(load_replay: Loader, name: str, target: Target) -> Dataset:
    url = load_replay(name, (KSM_KIND, target), 30)
    query = Query(end=datetime.fromtimestamp(KIND_END, UTC), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


def last_tables(ds: Dataset) -> dict[str, tuple[float | None, float | None]]:
    rows = ds.collected(schema.DATABASE_USAGE)
    last = rows.filter(rows[c.TIMESTAMP] == rows[c.TIMESTAMP].max())
    return {r[c.TABLE]: (r[c.SIZE_BYTES], r[c.ROWS]) for r in last.iter_rows(named=True) if r[c.TABLE]}


def test_table_size_is_table_plus_index_and_schemas_stay_apart(load_replay: Loader) -> None:
    ds = read(load_replay, "pg-v018", PG_V018_TABLES)
    # pg_stat_user_tables_table_size_bytes{schemaname="audit",relname="events"} 1.277952e+06 + index_size_bytes 131072
    tables = last_tables(ds)
    assert {k: v[0] for k, v in tables.items()} == TOTAL_RELATION_SIZE
    assert {k: v[1] for k, v in tables.items()} == LIVE_ROWS
    notes = "\n".join(ds.info.notes)
    assert "default/postgres-exporter-6f9c7d8b5-q2x7m (the exporter in its own Deployment)" in notes
    assert "no per-table size family" not in notes


def test_older_exporter_has_rows_but_no_size_and_says_so(load_replay: Loader) -> None:
    ds = read(load_replay, "pg-queries-example", PG_QUERIES_EXAMPLE)
    tables = last_tables(ds)
    assert {k: v[1] for k, v in tables.items()} == LIVE_ROWS
    assert all(size is None for size, _ in tables.values())
    assert any("no per-table size family" in note for note in ds.info.notes)
