"""Retention at scale: archive and delete the old rows of a 1 M-row audit_event on a real PostgreSQL.

Starts a throwaway PostgreSQL (tests/postgres_server.py, as the test fixture does), fills
``audit_event`` with N rows spread over D days before now (the fixture's realistic columns),
plans and runs a ``keep: 90d`` policy with a Parquet (zstd) archive, then VACUUM (ANALYZE) and
VACUUM FULL. Prints rows/s for the archive phase (select, write, fsync, read back, verify,
journal) and the delete phase (verify the file again, delete by key, journal) and the database
and table sizes before, after the run and after each VACUUM. ``--partitioned`` uses monthly
partitions (detach, archive, verify, drop) instead of row batches.

Usage: .venv/bin/python bench/bench_retention.py [--rows 1000000] [--days 365] [--batch-rows 10000]
       [--partitioned]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

here = Path(__file__).resolve().parent
for path in (here.parent / "tests", here.parent / "tests" / "postgres"):
    sys.path.insert(0, str(path))

import psycopg  # noqa: E402
from auditdb import make_audit_event  # noqa: E402

from kubetally.actions.retention import plan, run  # noqa: E402
from kubetally.model.retention import parse_policy_text  # noqa: E402
from kubetally.sources.postgres import connect  # noqa: E402
from postgres_server import postgres  # noqa: E402


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def sizes(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), "
            "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            " WHERE c.relkind IN ('r', 'p') AND c.relname LIKE 'audit_event%%')"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--partitioned", action="store_true")
    args = parser.parse_args()
    with postgres() as server, tempfile.TemporaryDirectory(prefix="kubetally-bench-") as tmp:
        dsn = server.dsn()
        archive = Path(tmp) / "archive"
        t0 = time.perf_counter()
        make_audit_event(dsn, rows=args.rows, days=args.days, anchor="now()",
                         partitioned_months=(args.days // 30 + 1) if args.partitioned else 0)  # fmt: skip
        fill_s = time.perf_counter() - t0
        rule = parse_policy_text(
            "tables:\n  - table: public.audit_event\n    time_column: created_at\n    keep: 90d\n"
            f"    archive: {{dir: {archive}, format: parquet, compression: zstd}}\n"
            f"    batch_rows: {args.batch_rows}\n"
        ).tables[0]
        db_before, table_before = sizes(dsn)
        with connect(dsn, read_only=True) as conn:
            t0 = time.perf_counter()
            planned = plan(conn, rule)
            plan_s = time.perf_counter() - t0

        phase = {"archive": 0.0, "delete": 0.0}
        mark = [0.0]

        def on_step(step: str, _batch: int) -> None:
            now = time.perf_counter()
            # a batch: selected -> written -> journaled (archive phase) -> verified -> deleted (delete phase)
            phase["delete" if step in ("verified", "deleted") else "archive"] += now - mark[0]
            mark[0] = now

        with connect(dsn, read_only=False) as conn:
            t0 = mark[0] = time.perf_counter()
            result = run(conn, rule, on_step=on_step)
            run_s = time.perf_counter() - t0
        db_after, table_after = sizes(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute("VACUUM (ANALYZE) audit_event")
            vacuum_s = time.perf_counter() - t0
            db_vacuum, table_vacuum = sizes(dsn)
            t0 = time.perf_counter()
            conn.execute("VACUUM FULL audit_event")
            full_s = time.perf_counter() - t0
            db_full, table_full = sizes(dsn)
        archive_bytes = sum(p.stat().st_size for p in archive.glob("*.parquet"))
        kind = "partitioned (monthly)" if args.partitioned else "ordinary"

    print(f"audit_event: {args.rows:,} rows over {args.days} days, {kind}, keep 90d, batch_rows {args.batch_rows:,}")
    print(f"fill {fill_s:.1f} s; plan {plan_s:.2f} s: {planned.rows:,} rows in {len(planned.batches)} batches")
    print(f"run {run_s:.1f} s: {result.archived_rows:,} archived, {result.deleted_rows:,} deleted, "
          f"{len(result.files)} files, {mib(archive_bytes)} MiB of Parquet (zstd)")  # fmt: skip
    for name, rows in (("archive", result.archived_rows), ("delete", result.deleted_rows)):
        print(f"  {name} phase {phase[name]:.1f} s = {rows / max(phase[name], 1e-9):,.0f} rows/s")
    print(f"  overall {result.deleted_rows / run_s:,.0f} rows/s")
    print("| step | database MiB | audit_event MiB (with indexes, TOAST) | s |")
    print("|---|---|---|---|")
    print(f"| before | {mib(db_before)} | {mib(table_before)} | |")
    print(f"| after the run | {mib(db_after)} | {mib(table_after)} | {run_s:.1f} |")
    print(f"| after VACUUM (ANALYZE) | {mib(db_vacuum)} | {mib(table_vacuum)} | {vacuum_s:.1f} |")
    print(f"| after VACUUM FULL | {mib(db_full)} | {mib(table_full)} | {full_s:.1f} |")


if __name__ == "__main__":
    main()
