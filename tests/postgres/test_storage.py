"""`kubetally storage` on a real PostgreSQL: sizes, dead tuples, the bloat estimate, rows by age and growth.

The table's rows are ``g * 0.1`` days old (g = 1..2000, anchored at the fill's ``now()``), so by
construction the age buckets hold 9 (< 1 d, g 1-9), 60 (1-7 d), 230 (7-30 d), 600 (30-90 d) and
1,101 (90-365 d) rows, and 299 rows are younger than 30 days: about 9.97 rows a day.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from auditdb import make_audit_event

from clirun import cli
from kubetally.sources.postgres import connect
from kubetally.sources.postgres.stats import age_profile, database_sizes, table_stats

pytestmark = pytest.mark.services


def _analyze(dsn: str) -> None:
    """ANALYZE from a fresh session: the filling session's insert counts, flushed late, no longer add up."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.2)")  # give the filling session's exit time to flush its counts
        conn.execute("ANALYZE audit_event")


def test_age_buckets_and_sizes(pg_dsn: str) -> None:
    make_audit_event(pg_dsn, rows=2000, days=200, anchor="now()")
    _analyze(pg_dsn)
    with connect(pg_dsn) as conn:
        profile = age_profile(conn, "public", "audit_event", "created_at")
        stats = {t.qualified: t for t in table_stats(conn)}
        sizes = {d.name: d.size_bytes for d in database_sizes(conn)}
        row = conn.execute(
            "SELECT pg_total_relation_size('audit_event'), pg_indexes_size('audit_event'), "
            "pg_database_size(current_database())"
        ).fetchone()
    assert [b.rows for b in profile.buckets] == [9, 60, 230, 600, 1101, 0]
    assert [b.label for b in profile.buckets] == ["< 1 d", "1-7 d", "7-30 d", "30-90 d", "90-365 d", "> 365 d"]
    assert profile.rows_younger_than(30) == 299
    t = stats["public.audit_event"]
    assert row is not None and (t.total_bytes, t.index_bytes) == (row[0], row[1])
    assert t.table_bytes + t.toast_bytes + t.index_bytes == t.total_bytes
    assert (t.live_rows, t.dead_rows) == (2000, 0)
    assert sizes[pg_dsn.rsplit("/", 1)[1]] == row[2]


def test_bloat_estimate_sees_half_the_rows_deleted(pg_dsn: str) -> None:
    make_audit_event(pg_dsn, rows=40_000, days=100)
    _analyze(pg_dsn)
    with connect(pg_dsn) as conn:
        fresh = next(t for t in table_stats(conn) if t.name == "audit_event")
    assert fresh.bloat_bytes is not None and fresh.bloat_bytes < 0.1 * fresh.table_bytes
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_event WHERE id % 2 = 0")
        conn.execute("SELECT pg_stat_force_next_flush()")  # the delete's counts land before ANALYZE sets them
        conn.execute("SELECT 1")
    _analyze(pg_dsn)  # no VACUUM: the space of the deleted half is still allocated
    with connect(pg_dsn) as conn:
        after = next(t for t in table_stats(conn) if t.name == "audit_event")
    assert after.live_rows == 20_000 and after.dead_rows == 20_000
    assert after.bloat_bytes is not None
    assert 0.40 < after.bloat_bytes / after.table_bytes < 0.60


def test_storage_command_growth_and_fill_date(
    pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_audit_event(pg_dsn, rows=2000, days=200, anchor="now()")
    base = ("storage", "--dsn", pg_dsn, "--capacity", "1Gi", "--storage-class", "fast", "-o", "json")
    code, out, _err = cli(capsys, monkeypatch, *base, "--report", "tables")
    assert code == 0, _err
    table = next(t for t in json.loads(out) if t["table"] == "audit_event")
    assert table["time_column"] == "created_at" and table["growth_source"] == "ages (created_at)"
    assert table["growth_bytes_per_day"] == pytest.approx(299 / 30 * table["total_bytes"] / 2000)
    code, out, _err = cli(capsys, monkeypatch, *base, "--report", "ages")
    assert [b["rows"] for b in json.loads(out)] == [9, 60, 230, 600, 1101, 0]
    code, out, _err = cli(capsys, monkeypatch, *base, "--report", "volumes")
    (volume,) = json.loads(out)
    assert volume["capacity_bytes"] == 2**30
    growth = volume["growth_bytes_per_day"]
    assert growth >= table["growth_bytes_per_day"]  # the database's tables together
    assert volume["monthly_cost"] == pytest.approx(0.04)  # 1 GiB at the default 0.04 a GiB-month
    assert volume["days_left"] is None  # over a century at this growth: "never" rather than a date in 2400
    room = int(volume["used_bytes"] + 30 * growth)  # a disk with 30 days of growth left
    code, out, _err = cli(capsys, monkeypatch, *base[:4], str(room), *base[5:], "--report", "volumes")
    (volume,) = json.loads(out)
    assert volume["days_left"] == pytest.approx(30, abs=0.01)
    # the terminal report names every part
    code, out, _err = cli(capsys, monkeypatch, "storage", "--dsn", pg_dsn, "--capacity", "1Gi")
    assert code == 0
    for part in ("Databases", "Tables", "Rows of", "created_at", "Volumes", "What if", "aws/sc1"):
        assert part in out


def test_time_column_from_a_policy_and_bad_input(
    pg_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_audit_event(pg_dsn, rows=500, days=50, anchor="now()")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_event RENAME created_at TO happened")
    policy = tmp_path / "p.yaml"
    policy.write_text("tables:\n  - {table: public.audit_event, time_column: happened, keep: 30d}\n")
    code, out, _err = cli(capsys, monkeypatch, "storage", "--dsn", pg_dsn, "--policy", str(policy), "-o", "json",
                          "--report", "ages")  # fmt: skip
    assert code == 0 and sum(b["rows"] for b in json.loads(out)) == 500
    for args, message in (
        (("--time-column", "audit_event"), "write TABLE=COLUMN"),
        (("--time-column", "nope=x"), "public.nope: no such table"),
        (("--time-column", "audit_event=tenant"), "is text, not a timestamp"),
        (("--capacity", "lots"), "--capacity 'lots': not a size"),
        (("--storage-class", "x"), "give --capacity too"),
    ):
        code, out, err = cli(capsys, monkeypatch, "storage", "--dsn", pg_dsn, *args)
        assert code == 2 and message in " ".join(err.split()) and "Traceback" not in err, err
    code, _out, err = cli(capsys, monkeypatch, "storage")
    assert code == 2 and "give --dsn DSN" in " ".join(err.split())
