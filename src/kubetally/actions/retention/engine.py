"""Plan and run a retention rule: archive rows older than ``keep``, verify, journal, then delete.

Per batch of an ordinary table, in this order (each step durable before the next starts):

1. read the oldest ``batch_rows`` rows older than the cutoff (``now() - keep``);
2. write them to ``<dir>/<table>-<batch>.parquet.tmp``, fsync, read the file back and check the
   row count and the primary-key checksum against the rows read;
3. record the batch (file, count, checksum) in the journal and commit;
4. rename the file into place, read it back again and verify it against the journal;
5. in one short transaction: delete exactly the keys in the verified file and mark the batch deleted.

A run killed anywhere leaves at most one batch that is journaled but not deleted; the next run
verifies its file and finishes it before starting a new batch. A batch killed before step 3
left only a ``.tmp`` file, which the next batch of that number overwrites. Rows are deleted by
primary key from the file, so rows inserted meanwhile (newer than the cutoff, or not in the file)
are never touched. One run per table at a time (a PostgreSQL advisory lock).

A partitioned table is retired a partition at a time: the partition is detached (and journaled)
in one transaction, copied to files of ``batch_rows`` rows each, verified and journaled, then
dropped in one transaction with the journal update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from kubetally.actions.retention import journal
from kubetally.actions.retention.archive import FileCheck, native, verified_file, write_verified
from kubetally.errors import RetentionError
from kubetally.model.retention import TableRule
from kubetally.sources.postgres import TableInfo, partitions, table_info

Conn = psycopg.Connection[tuple[Any, ...]]
Step = Callable[[str, int], None]
"""on_step(step name, batch number): called after each durable step (progress, fault injection)."""
Rows = Callable[[int], None]
"""on_rows(rows): called after each batch is deleted with the rows it deleted (progress)."""


@dataclass(frozen=True)
class BatchPlan:
    batch: int
    rows: int
    bytes: int
    time_lo: datetime | None
    time_hi: datetime | None
    partition: str | None = None


@dataclass(frozen=True)
class TablePlan:
    table: str
    cutoff: datetime
    archive_dir: str | None
    batches: tuple[BatchPlan, ...]
    unfinished: int
    """Journaled batches a previous run left short of deleted (finished first by the next run)."""

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    @property
    def bytes(self) -> int:
        return sum(b.bytes for b in self.batches)


@dataclass(frozen=True)
class RunResult:
    table: str
    cutoff: datetime
    batches: int
    archived_rows: int
    deleted_rows: int
    files: tuple[str, ...]
    resumed: int


def _rel(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


def _cutoff(conn: Conn, rule: TableRule, now: datetime | None) -> datetime:
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(%s::timestamptz, now()) - %s::interval", (now, rule.keep_delta))
        value = cur.fetchone()[0]  # type: ignore[index]
    conn.commit()
    assert isinstance(value, datetime)
    return value


def _checked_info(conn: Conn, rule: TableRule) -> TableInfo:
    info = table_info(conn, rule.schema_name, rule.table_name)
    column = info.column(rule.time_column)
    if column is None:
        raise RetentionError(f"{rule.qualified}: no column {rule.time_column!r} (time_column)")
    if column.type_name not in ("timestamptz", "timestamp", "date"):
        raise RetentionError(f"{rule.qualified}.{rule.time_column} is {column.declared}, not a timestamp or date")
    return info


def _select_list(info: TableInfo) -> sql.Composed:
    parts = [
        sql.Identifier(col.name) if native(col.type_name) else sql.SQL("{}::text").format(sql.Identifier(col.name))
        for col in info.columns
    ]
    return sql.SQL(", ").join(parts)


def plan(conn: Conn, rule: TableRule, *, now: datetime | None = None) -> TablePlan:
    """What a run would archive and delete now, batch by batch; reads only."""
    info = _checked_info(conn, rule)
    cutoff = _cutoff(conn, rule, now)
    unfinished = len(journal.entries(conn, rule.schema_name, rule.table_name, unfinished=True))
    start = journal.next_batch(conn, rule.schema_name, rule.table_name) if journal.exists(conn, rule.schema_name) else 1
    batches: list[BatchPlan] = []
    with conn.cursor() as cur:
        if info.partitioned:
            for offset, part in enumerate(p for p in partitions(conn, info) if _expired(p.upper, cutoff)):
                cur.execute(
                    sql.SQL("SELECT count(*), pg_total_relation_size(%s::regclass), min({t}), max({t}) FROM {}").format(
                        _rel(part.schema, part.name), t=sql.Identifier(rule.time_column)
                    ),
                    (f'"{part.schema}"."{part.name}"',),
                )
                n, size, lo, hi = cur.fetchone()  # type: ignore[misc]
                batches.append(BatchPlan(start + offset, int(n), int(size), lo, hi, part.qualified))
        else:
            order = sql.SQL(", ").join(sql.Identifier(c) for c in (rule.time_column, *info.primary_key))
            cur.execute(
                sql.SQL(
                    "SELECT b, count(*), sum(sz), min(t), max(t) FROM (SELECT {t} AS t, pg_column_size(x.*) AS sz, "
                    "(row_number() OVER (ORDER BY {order}) - 1) / %s AS b FROM {rel} x WHERE {t} < %s) s "
                    "GROUP BY b ORDER BY b"
                ).format(t=sql.Identifier(rule.time_column), order=order, rel=_rel(info.schema, info.name)),
                (rule.batch_rows, cutoff),
            )
            for b, n, size, lo, hi in cur.fetchall():
                batches.append(BatchPlan(start + int(b), int(n), int(size), lo, hi))
    conn.commit()
    archive = rule.archive.dir if rule.archive else None
    return TablePlan(rule.qualified, cutoff, archive, tuple(batches), unfinished)


def _expired(upper: datetime | None, cutoff: datetime) -> bool:
    if upper is None:
        return False
    if upper.tzinfo is None:
        upper = upper.replace(tzinfo=cutoff.tzinfo)
    return upper <= cutoff


class _Runner:
    def __init__(
        self, conn: Conn, rule: TableRule, info: TableInfo, on_step: Step | None, on_rows: Rows | None
    ) -> None:
        self.conn, self.rule, self.info = conn, rule, info
        self.on_step = on_step or (lambda _step, _batch: None)
        self.on_rows = on_rows or (lambda _rows: None)
        self.schema = rule.schema_name
        self.files: list[str] = []
        self.cache: dict[str, set[tuple[Any, ...]]] = {}
        """Primary keys of the archive files read or written by this run, by file name."""
        self.archived = 0
        self.deleted = 0
        self.batches = 0

    # -- files ---------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        assert self.rule.archive is not None
        return Path(self.rule.archive.dir) / name

    def write(self, name: str, rows: list[tuple[Any, ...]], batch: int) -> FileCheck:
        assert self.rule.archive is not None
        columns = [(c.name, c.type_name) for c in self.info.columns]
        meta = {
            "kubetally.table": self.rule.qualified,
            "kubetally.batch": str(batch),
            "kubetally.time_column": self.rule.time_column,
        }
        check = write_verified(
            self.path(name), columns=columns, rows=rows, pk=self.info.primary_key,
            compression=self.rule.archive.compression, metadata=meta,
        )  # fmt: skip
        self.on_step("written", batch)
        return check

    def verify(self, entry: journal.Entry) -> None:
        if self.rule.archive is None:
            return
        for name, rows, checksum in zip(entry.files, entry.file_rows, entry.file_checksums, strict=True):
            verified_file(self.path(name), self.info.primary_key, FileCheck(rows, checksum))
        self.on_step("verified", entry.batch)

    # -- row batches ---------------------------------------------------------------------------

    def row_batch(self, cutoff: datetime) -> bool:
        """Archive and delete one batch; False when no row older than the cutoff is left."""
        info, rule = self.info, self.rule
        batch = journal.next_batch(self.conn, self.schema, info.name)
        order = sql.SQL(", ").join(sql.Identifier(c) for c in (rule.time_column, *info.primary_key))
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT {cols} FROM {rel} WHERE {t} < %s ORDER BY {order} LIMIT %s").format(
                    cols=_select_list(info), rel=_rel(info.schema, info.name),
                    t=sql.Identifier(rule.time_column), order=order,
                ),
                (cutoff, rule.batch_rows),
            )  # fmt: skip
            rows = cur.fetchall()
        self.conn.commit()
        if not rows:
            return False
        self.on_step("selected", batch)
        names = [c.name for c in info.columns]
        t = names.index(rule.time_column)
        index = [names.index(k) for k in info.primary_key]
        files: tuple[str, ...] = ()
        checks: tuple[FileCheck, ...] = ()
        again: list[tuple[Any, ...]] = []
        if rule.archive is not None:
            # rows already in a verified archive file (restored since): deleted, not archived twice
            known = self.archived_keys(min(r[t] for r in rows), max(r[t] for r in rows))
            again = [r for r in rows if tuple(r[i] for i in index) in known]
            rows = [r for r in rows if tuple(r[i] for i in index) not in known]
        times = [r[t] for r in rows] or [r[t] for r in again]
        if rule.archive is not None and rows:
            name = f"{info.name}-{batch:06d}.parquet"
            checks = (self.write(name, rows, batch),)
            files = (name,)
            self.cache[name] = {tuple(r[i] for i in index) for r in rows}
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} (table_name, batch, kind, state, files, file_rows, file_checksums, "
                    "time_lo, time_hi) VALUES (%s, %s, 'rows', 'archived', %s, %s, %s, %s, %s)"
                ).format(journal.journal_name(self.schema)),
                (info.name, batch, list(files), [c.rows for c in checks], [c.checksum for c in checks],
                 min(times), max(times)),
            )  # fmt: skip
        self.conn.commit()
        self.on_step("journaled", batch)
        self.archived += len(rows)
        entry = journal.Entry(batch, "rows", None, "archived", files,
                              tuple(c.rows for c in checks), tuple(c.checksum for c in checks), None, None)  # fmt: skip
        purge = [[r[i] for r in rows] for i in index] if rule.archive is None else None
        extra = [[r[i] for r in again] for i in index] if again else None
        self.finish_rows(entry, purge, extra)
        return True

    def archived_keys(self, lo: datetime, hi: datetime) -> set[tuple[Any, ...]]:
        """Keys in the verified files of earlier batches whose time range overlaps ``lo``..``hi``."""
        import pyarrow.parquet as pq

        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "SELECT files, file_rows, file_checksums FROM {} WHERE table_name = %s AND kind = 'rows' "
                    "AND state = 'deleted' AND time_lo <= %s AND time_hi >= %s AND cardinality(files) > 0"
                ).format(journal.journal_name(self.schema)),
                (self.info.name, hi, lo),
            )
            found = cur.fetchall()
        self.conn.commit()
        keys: set[tuple[Any, ...]] = set()
        for names, counts, sums in found:
            for name, n, checksum in zip(names, counts, sums, strict=True):
                if name not in self.cache:
                    verified_file(self.path(name), self.info.primary_key, FileCheck(int(n), checksum))
                    table = pq.read_table(self.path(name), columns=list(self.info.primary_key))
                    columns = [table.column(k).to_pylist() for k in self.info.primary_key]
                    self.cache[name] = set(zip(*columns, strict=True))
                keys |= self.cache[name]
        return keys

    def finish_rows(
        self,
        entry: journal.Entry,
        purge_keys: list[list[object]] | None = None,
        archived_before: list[list[object]] | None = None,
    ) -> None:
        """Verify the batch's file and delete exactly its keys, with the journal update, in one transaction.

        ``purge_keys``: the keys of a purge-only batch (no file); ``archived_before``: keys found in the
        verified files of earlier batches (restored rows), deleted with this batch.
        """
        self.verify(entry)
        keys = self.file_keys(entry) if purge_keys is None else purge_keys
        if archived_before:
            keys = [[*mine, *more] for mine, more in zip(keys, archived_before, strict=True)]
        info = self.info
        types = {c.name: c.declared for c in info.columns}
        unnest = sql.SQL(", ").join(
            sql.SQL("%s::{}[]").format(sql.SQL(types[k]))
            for k in info.primary_key  # declared type from the catalog
        )
        match = sql.SQL(" AND ").join(sql.SQL("x.{k} = k.{k}").format(k=sql.Identifier(k)) for k in info.primary_key)
        names = sql.SQL(", ").join(sql.Identifier(k) for k in info.primary_key)
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("DELETE FROM {rel} x USING unnest({unnest}) AS k({names}) WHERE {match}").format(
                    rel=_rel(info.schema, info.name), unnest=unnest, names=names, match=match
                ),
                keys,
            )
            deleted = cur.rowcount
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET state = 'deleted', deleted_rows = %s, updated_at = now() "
                    "WHERE table_name = %s AND batch = %s"
                ).format(journal.journal_name(self.schema)),
                (deleted, info.name, entry.batch),
            )
        self.conn.commit()
        self.on_step("deleted", entry.batch)
        self.on_rows(deleted)
        self.deleted += deleted
        self.batches += 1
        self.files.extend(entry.files)

    def file_keys(self, entry: journal.Entry) -> list[list[object]]:
        import pyarrow.parquet as pq

        keys: list[list[object]] = [[] for _ in self.info.primary_key]
        for name in entry.files:
            table = pq.read_table(self.path(name), columns=list(self.info.primary_key))
            for i, k in enumerate(self.info.primary_key):
                keys[i].extend(table.column(k).to_pylist())
        return keys

    # -- partitions ----------------------------------------------------------------------------

    def detach(self, schema: str, name: str, lo: datetime | None, hi: datetime | None) -> journal.Entry:
        batch = journal.next_batch(self.conn, self.schema, self.info.name)
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                    _rel(self.info.schema, self.info.name), _rel(schema, name)
                )
            )
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} (table_name, batch, kind, partition_name, state, time_lo, time_hi) "
                    "VALUES (%s, %s, 'partition', %s, 'detached', %s, %s)"
                ).format(journal.journal_name(self.schema)),
                (self.info.name, batch, f"{schema}.{name}", lo, hi),
            )
        self.conn.commit()
        self.on_step("detached", batch)
        return journal.Entry(batch, "partition", f"{schema}.{name}", "detached", (), (), (), lo, hi)

    def archive_partition(self, entry: journal.Entry) -> journal.Entry:
        assert entry.partition is not None
        schema, name = entry.partition.split(".", 1)
        files: list[str] = []
        checks: list[FileCheck] = []
        if self.rule.archive is not None:
            with self.conn.cursor(name="kubetally_partition") as cur:
                cur.itersize = self.rule.batch_rows
                order = sql.SQL(", ").join(sql.Identifier(k) for k in self.info.primary_key)
                cur.execute(
                    sql.SQL("SELECT {} FROM {} ORDER BY {}").format(_select_list(self.info), _rel(schema, name), order)
                )
                part = 1
                while rows := cur.fetchmany(self.rule.batch_rows):
                    file = f"{name}-{part:04d}.parquet"
                    checks.append(self.write(file, rows, entry.batch))
                    files.append(file)
                    part += 1
            self.conn.commit()
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET state = 'archived', files = %s, file_rows = %s, file_checksums = %s, "
                    "updated_at = now() WHERE table_name = %s AND batch = %s"
                ).format(journal.journal_name(self.schema)),
                (files, [c.rows for c in checks], [c.checksum for c in checks], self.info.name, entry.batch),
            )
        self.conn.commit()
        self.on_step("journaled", entry.batch)
        self.archived += sum(c.rows for c in checks)
        return journal.Entry(entry.batch, "partition", entry.partition, "archived", tuple(files),
                             tuple(c.rows for c in checks), tuple(c.checksum for c in checks),
                             entry.time_lo, entry.time_hi)  # fmt: skip

    def drop_partition(self, entry: journal.Entry) -> None:
        assert entry.partition is not None
        self.verify(entry)
        schema, name = entry.partition.split(".", 1)
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT CASE WHEN to_regclass(%s) IS NULL THEN 0 ELSE 1 END"), (f'"{schema}"."{name}"',)
            )
            present = cur.fetchone()[0]  # type: ignore[index]
            deleted = 0
            if present:
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_rel(schema, name)))
                deleted = int(cur.fetchone()[0])  # type: ignore[index]
                if self.rule.archive is not None and deleted != sum(entry.file_rows):
                    raise RetentionError(
                        f"partition {entry.partition} has {deleted} rows but its archive {sum(entry.file_rows)}; "
                        "not dropped"
                    )
                cur.execute(sql.SQL("DROP TABLE {}").format(_rel(schema, name)))
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET state = 'deleted', deleted_rows = %s, updated_at = now() "
                    "WHERE table_name = %s AND batch = %s"
                ).format(journal.journal_name(self.schema)),
                (deleted, self.info.name, entry.batch),
            )
        self.conn.commit()
        self.on_step("deleted", entry.batch)
        self.on_rows(deleted)
        self.deleted += deleted
        self.batches += 1
        self.files.extend(entry.files)

    def finish(self, entry: journal.Entry) -> None:
        if entry.kind == "rows":
            self.finish_rows(entry)
            return
        if entry.state == "detached":
            entry = self.archive_partition(entry)
        self.drop_partition(entry)


LOCK_WAIT_SECONDS = 60.0
"""How long a run waits for the table's lock before it gives up (see :func:`_lock`)."""


def _lock(conn: Conn, rule: TableRule, wait: float) -> None:
    """Take the table's advisory lock, waiting up to ``wait`` seconds for a run that still holds it.

    A run killed with SIGKILL keeps its lock until its server process notices the closed socket and
    exits, which on a busy server (or after a lost client machine, until TCP keepalive) takes a
    moment; a retry started right away (a CronJob's next attempt) waits for it instead of failing.
    """
    key = f"kubetally.retention:{rule.qualified}"
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{max(1, int(wait * 1000))}ms")))
            cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            cur.execute("RESET lock_timeout")
        conn.commit()
    except psycopg.errors.LockNotAvailable:
        conn.rollback()
        raise RetentionError(
            f"another retention run is working on {rule.qualified} (waited {wait:g}s for it); "
            "try again when it has finished"
        ) from None


def run(
    conn: Conn,
    rule: TableRule,
    *,
    now: datetime | None = None,
    on_step: Step | None = None,
    on_rows: Rows | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> RunResult:
    """Finish what a previous run left journaled, then archive and delete every batch older than the cutoff.

    ``conn`` must be a read-write connection. Waits up to ``lock_wait`` seconds for another run of the
    same table to finish (or a killed one to be gone). Raises :class:`RetentionError` (one line; nothing lost)
    on a lost connection, a full archive disk or a file that does not verify.
    """
    try:
        _lock(conn, rule, lock_wait)
        info = _checked_info(conn, rule)
        journal.ensure(conn, rule.schema_name)
        runner = _Runner(conn, rule, info, on_step, on_rows)
        pending = journal.entries(conn, rule.schema_name, info.name, unfinished=True)
        for entry in pending:
            runner.finish(entry)
        cutoff = _cutoff(conn, rule, now)
        if info.partitioned:
            for part in partitions(conn, info):
                if not part.default and _expired(part.upper, cutoff):
                    runner.finish(runner.detach(part.schema, part.name, part.lower, part.upper))
        else:
            while runner.row_batch(cutoff):
                pass
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())[:200]
        raise RetentionError(
            f"lost the connection to PostgreSQL ({reason}); every deleted row is in a verified archive file: "
            "run again to resume"
        ) from None
    return RunResult(
        rule.qualified, cutoff, runner.batches, runner.archived, runner.deleted, tuple(runner.files), len(pending)
    )
