"""Load archived rows back into a table, skipping rows already present (by primary key).

The archive files explain themselves (Parquet key-value metadata written by the engine): the
table they came from, its primary key, the PostgreSQL type of each column, the time column, the
row count and the key checksum. Every file is verified against that checksum before a row of
it is loaded; a file that does not verify stops the restore before anything is written.

Rows are copied into a temporary table (``COPY``, text format, so ``jsonb`` and other columns
archived as text are parsed by the server) and inserted with ``ON CONFLICT DO NOTHING`` in one
transaction per file: a restore killed half-way and run again restores each row exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from psycopg import sql

from kubetally.actions.retention.archive import FileCheck, read_check
from kubetally.errors import RetentionError
from kubetally.sources.postgres import TableInfo, table_info

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class ArchiveFile:
    path: Path
    table: str
    """schema.table the rows came from."""
    primary_key: tuple[str, ...]
    time_column: str | None
    rows: int
    checksum: str
    time_lo: datetime | None
    time_hi: datetime | None


@dataclass(frozen=True)
class FileRestore:
    path: Path
    selected: int
    """Rows of the file inside --from/--to."""
    restored: int
    """Rows inserted (0 in a dry run)."""
    present: int
    """Rows skipped because their key is already in the table."""


def archive_files(directory: Path, table: str) -> list[ArchiveFile]:
    """The finished archive files of ``table`` (schema.table or just the table name) in ``directory``, oldest first."""
    if not directory.is_dir():
        raise RetentionError(f"--archive {directory}: not a directory")
    found: list[ArchiveFile] = []
    for path in sorted(directory.glob("*.parquet")):
        try:
            meta = pq.read_schema(path).metadata or {}
        except (OSError, pa.ArrowException) as exc:
            raise RetentionError(f"archive file {path} cannot be read: {exc}".splitlines()[0]) from None
        text = {k.decode(): v.decode() for k, v in meta.items()}
        origin = text.get("kubetally.table", "")
        if origin != table and origin.split(".")[-1] != table:
            continue
        time_column = text.get("kubetally.time_column")
        lo = hi = None
        if time_column:
            stats = pq.read_table(path, columns=[time_column]).column(0)
            bounds = pc.min_max(stats).as_py()
            lo, hi = bounds["min"], bounds["max"]
        found.append(
            ArchiveFile(
                path, origin, tuple(json.loads(text["kubetally.primary_key"])), time_column,
                int(text["kubetally.rows"]), text["kubetally.pk_checksum"], _utc(lo), _utc(hi),
            )
        )  # fmt: skip
    return found


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def restore(
    conn: Conn,
    files: list[ArchiveFile],
    *,
    into: str,
    start: datetime | None = None,
    end: datetime | None = None,
    apply: bool = False,
    on_file: Callable[[FileRestore], None] | None = None,
) -> list[FileRestore]:
    """Restore the rows of ``files`` with ``start <= time < end`` into ``into`` (schema.table).

    With ``apply=False`` nothing is written: it counts what would be restored and what is already present.
    """
    schema, name = into.split(".", 1)
    info = table_info(conn, schema, name)
    results: list[FileRestore] = []
    for archive in files:
        if archive.time_lo is not None and end is not None and archive.time_lo >= end:
            continue
        if archive.time_hi is not None and start is not None and archive.time_hi < start:
            continue
        if (start is not None or end is not None) and archive.time_column is None:
            raise RetentionError(f"{archive.path}: no time column recorded; restore it without --from/--to")
        got = read_check(archive.path, archive.primary_key)
        if got != FileCheck(archive.rows, archive.checksum):
            raise RetentionError(
                f"archive file {archive.path} does not verify ({got.rows} rows, its metadata says {archive.rows}); "
                "nothing restored from it"
            )
        table = pq.read_table(archive.path)
        if archive.time_column is not None and (start is not None or end is not None):
            column = table.column(archive.time_column)
            mask = None
            if start is not None:
                mask = pc.greater_equal(column, pa.scalar(start, type=column.type))
            if end is not None:
                upper = pc.less(column, pa.scalar(end, type=column.type))
                mask = upper if mask is None else pc.and_(mask, upper)
            table = table.filter(mask)
        missing = [col.name for col in info.columns if col.name not in table.column_names]
        if missing:
            raise RetentionError(f"{archive.path} has no column {missing[0]!r} of {into}; not restored")
        restored, present = _load(conn, info, table, apply=apply)
        result = FileRestore(archive.path, table.num_rows, restored, present)
        results.append(result)
        if on_file is not None:
            on_file(result)
    return results


def _load(conn: Conn, info: TableInfo, table: pa.Table, *, apply: bool) -> tuple[int, int]:
    """(rows inserted, rows whose key is already present); a dry run (``apply=False``) only reads."""
    target = sql.SQL("{}.{}").format(sql.Identifier(info.schema), sql.Identifier(info.name))
    pk = list(info.primary_key)
    types = {col.name: col.declared for col in info.columns}
    unnest = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(types[k])) for k in pk)
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in pk)
    match = sql.SQL(" AND ").join(sql.SQL("t.{k} = k.{k}").format(k=sql.Identifier(k)) for k in pk)
    columns = table.column_names
    names = sql.SQL(", ").join(sql.Identifier(col) for col in columns)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT count(*) FROM {} t JOIN unnest({}) AS k({}) ON {}").format(target, unnest, keys, match),
                [table.column(k).to_pylist() for k in pk],
            )
            present = int(cur.fetchone()[0])  # type: ignore[index]
            restored = 0
            if apply:
                cur.execute(
                    sql.SQL("CREATE TEMP TABLE kubetally_restore ON COMMIT DROP AS SELECT {} FROM {} LIMIT 0").format(
                        names, target
                    )
                )
                with cur.copy(sql.SQL("COPY kubetally_restore ({}) FROM STDIN").format(names)) as copy:
                    for batch in table.to_batches(max_chunksize=10_000):
                        for row in zip(*(batch.column(i).to_pylist() for i in range(len(columns))), strict=True):
                            copy.write_row(row)
                cur.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM kubetally_restore ON CONFLICT DO NOTHING").format(
                        target, names, names
                    )
                )
                restored = cur.rowcount
    except psycopg.errors.CheckViolation as exc:  # no partition for the rows' range (it was dropped)
        conn.rollback()
        raise RetentionError(f"{info.qualified}: {str(exc).splitlines()[0]}; create the partition first") from None
    except psycopg.DataError as exc:
        conn.rollback()
        raise RetentionError(f"{info.qualified}: rows do not fit the table: {str(exc).splitlines()[0]}") from None
    if apply:
        conn.commit()
    else:
        conn.rollback()
    return restored, present
