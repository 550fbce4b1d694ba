"""Build the audit_event table server-side (generate_series), and read back everything a run left behind."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow.parquet as pq

AUDIT_DDL = """
CREATE TABLE audit_event (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL,
    tenant text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL
)"""

FIXED = "timestamptz '2026-12-01 00:00+00'"
"""The fault-injection tests' fixed "now"."""
# rows spread evenly over `days` days before the anchor
FILL = """
INSERT INTO audit_event (created_at, tenant, event_type, payload)
SELECT {anchor} - (g * %(days)s * interval '1 day') / %(rows)s,
       'tenant-' || (g %% 37),
       (ARRAY['login','logout','export','grant','revoke','delete'])[1 + g %% 6],
       jsonb_build_object('user', 'u' || (g %% 5003), 'ip', '10.0.' || (g %% 250) || '.' || (g %% 199),
                          'ok', g %% 11 <> 0, 'seq', g)
FROM generate_series(1, %(rows)s) AS g"""

PARTITIONED_DDL = """
CREATE TABLE audit_event (
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    tenant text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at)"""


def make_audit_event(dsn: str, *, rows: int, days: int, partitioned_months: int = 0, anchor: str = FIXED) -> None:
    """audit_event with ``rows`` rows over ``days`` days before ``anchor`` (SQL; the tests' fixed time or
    ``now()``), row ``g`` being ``g * days / rows`` days old; monthly partitions if ``partitioned_months``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if partitioned_months:
            conn.execute(PARTITIONED_DDL)
            conn.execute("CREATE SEQUENCE audit_event_id_seq OWNED BY audit_event.id")
            conn.execute("ALTER TABLE audit_event ALTER id SET DEFAULT nextval('audit_event_id_seq')")
            for back in range(partitioned_months, 0, -1):
                conn.execute(
                    f"CREATE TABLE audit_event_m{back:02d} PARTITION OF audit_event FOR VALUES "
                    f"FROM (timestamptz '2026-12-01 00:00+00' - interval '{back} month') "
                    f"TO (timestamptz '2026-12-01 00:00+00' - interval '{back - 1} month')"
                )
            conn.execute("CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT")
        else:
            conn.execute(AUDIT_DDL)
        conn.execute(FILL.replace("{anchor}", anchor), {"rows": rows, "days": days})
        conn.execute("CREATE INDEX ON audit_event (created_at)")
        conn.execute("SELECT pg_stat_force_next_flush()")  # the insert counts land before ANALYZE sets them
        conn.execute("SELECT 1")
        conn.execute("ANALYZE audit_event")


ROW_SQL = "SELECT id, created_at, tenant, event_type, payload::text FROM audit_event"


def table_rows(dsn: str) -> list[tuple[object, ...]]:
    """Every row as (id, created_at ISO, tenant, event_type, payload text)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        return [_norm(r) for r in conn.execute(ROW_SQL).fetchall()]


def archive_rows(directory: Path) -> list[tuple[object, ...]]:
    """Every row of every finished ``.parquet`` file in ``directory`` (pyarrow)."""
    found: list[tuple[object, ...]] = []
    for path in sorted(directory.glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "created_at", "tenant", "event_type", "payload"])
        found.extend(_norm(r) for r in zip(*(table.column(i).to_pylist() for i in range(5)), strict=True))
    return found


def _norm(row: tuple[object, ...]) -> tuple[object, ...]:
    i, t, tenant, kind, payload = row
    return (i, t.isoformat(), tenant, kind, payload)  # type: ignore[attr-defined]


def detached_rows(dsn: str) -> list[tuple[object, ...]]:
    """Rows of partitions a killed run detached and has not dropped yet (still in the database)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        if conn.execute("SELECT to_regclass('kubetally_retention_journal')").fetchone() == (None,):
            return []
        names = conn.execute(
            "SELECT partition_name FROM kubetally_retention_journal WHERE kind = 'partition' AND state <> 'deleted' "
            "AND to_regclass(partition_name) IS NOT NULL"
        ).fetchall()
        rows: list[tuple[object, ...]] = []
        for (name,) in names:
            rows.extend(_norm(r) for r in conn.execute(ROW_SQL.replace("audit_event", name)).fetchall())
        return rows
