"""The retention journal: a small table beside the archived table that records every batch.

One row per batch (or detached partition). States move forward only:
``detached`` (partitions) -> ``archived`` (files written, read back and verified) -> ``deleted``
(rows deleted or the partition dropped, in the same transaction as the state change). A run that
is killed leaves at most one batch short of ``deleted``; the next run finishes it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

JOURNAL = "kubetally_retention_journal"
Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class Entry:
    batch: int
    kind: str
    """``rows`` (a batch of rows) or ``partition`` (a whole detached partition)."""
    partition: str | None
    state: str
    files: tuple[str, ...]
    file_rows: tuple[int, ...]
    file_checksums: tuple[str, ...]
    time_lo: datetime | None
    time_hi: datetime | None


def journal_name(schema: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(JOURNAL))


def ensure(conn: Conn, schema: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (table_name text NOT NULL, batch integer NOT NULL, "
                "kind text NOT NULL CHECK (kind IN ('rows', 'partition')), partition_name text, "
                "state text NOT NULL CHECK (state IN ('detached', 'archived', 'deleted')), "
                "files text[] NOT NULL DEFAULT '{{}}', file_rows bigint[] NOT NULL DEFAULT '{{}}', "
                "file_checksums text[] NOT NULL DEFAULT '{{}}', deleted_rows bigint, "
                "time_lo timestamptz, time_hi timestamptz, updated_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (table_name, batch))"
            ).format(journal_name(schema))
        )
    conn.commit()


def exists(conn: Conn, schema: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{JOURNAL}"',))
        found = bool(cur.fetchone()[0])  # type: ignore[index]
    conn.commit()
    return found


def entries(conn: Conn, schema: str, table: str, *, unfinished: bool = False) -> list[Entry]:
    if not exists(conn, schema):
        return []
    where = sql.SQL(" AND state <> 'deleted'") if unfinished else sql.SQL("")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT batch, kind, partition_name, state, files, file_rows, file_checksums, time_lo, time_hi "
                "FROM {} WHERE table_name = %s{} ORDER BY batch"
            ).format(journal_name(schema), where),
            (table,),
        )
        rows = cur.fetchall()
    conn.commit()
    return [
        Entry(int(b), str(k), p if p is None else str(p), str(s), tuple(f), tuple(int(n) for n in r), tuple(c), lo, hi)
        for b, k, p, s, f, r, c, lo, hi in rows
    ]


def next_batch(conn: Conn, schema: str, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT coalesce(max(batch), 0) + 1 FROM {} WHERE table_name = %s").format(journal_name(schema)),
            (table,),
        )
        value = int(cur.fetchone()[0])  # type: ignore[index]
    conn.commit()
    return value
