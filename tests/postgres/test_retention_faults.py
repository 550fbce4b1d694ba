"""A dropped connection and a full archive disk stop a run with one clear error; nothing is lost, a rerun finishes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from auditdb import archive_rows, make_audit_event, table_rows

from kubetally.actions.retention import run
from kubetally.errors import RetentionError
from kubetally.model.retention import parse_policy_text
from kubetally.sources.postgres import connect
from servers import REQUIRE

pytestmark = pytest.mark.services

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CUTOFF = "2026-09-02T00:00:00+00:00"


def _rule(archive: Path, batch_rows: int):  # type: ignore[no-untyped-def]
    text = (
        "tables:\n  - table: public.audit_event\n    time_column: created_at\n    keep: 90d\n"
        f"    archive: {{dir: {archive}, format: parquet, compression: zstd}}\n    batch_rows: {batch_rows}\n"
    )
    return parse_policy_text(text).tables[0]


def _exact(dsn: str, archive: Path, original: set[tuple[object, ...]]) -> None:
    in_table, in_archive = table_rows(dsn), archive_rows(archive)
    together = Counter(in_table) + Counter(in_archive)
    assert max(together.values()) == 1 and set(together) == original
    assert all(str(r[1]) >= CUTOFF for r in in_table) and all(str(r[1]) < CUTOFF for r in in_archive)


def test_a_dropped_connection_stops_the_run_and_a_rerun_finishes(pg_dsn: str, tmp_path: Path) -> None:
    make_audit_event(pg_dsn, rows=3000, days=200)
    original = set(table_rows(pg_dsn))
    archive = tmp_path / "archive"
    rule = _rule(archive, 200)
    with connect(pg_dsn, read_only=False) as conn:
        pid = conn.info.backend_pid

        def drop(step: str, batch: int) -> None:
            if (step, batch) == ("written", 3):  # batch 3's file is written, not yet journaled
                with psycopg.connect(pg_dsn, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        with pytest.raises(RetentionError) as info:
            run(conn, rule, now=NOW, on_step=drop)
    message = str(info.value)
    assert message.startswith("lost the connection to PostgreSQL") and "run again to resume" in message
    assert "\n" not in message
    assert original <= set(table_rows(pg_dsn)) | set(archive_rows(archive))
    assert len(table_rows(pg_dsn)) == 3000 - 2 * 200  # batches 1 and 2 were deleted, nothing else
    with connect(pg_dsn, read_only=False) as conn:
        result = run(conn, rule, now=NOW)
    assert result.deleted_rows == 1650 - 400
    _exact(pg_dsn, archive, original)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs: room for a few archive files, not for all."""
    target = tmp_path / "archive"
    target.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(target)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        message = f"cannot mount a small tmpfs (needs root): {result.stderr.strip()}"
        if REQUIRE:
            pytest.fail(f"KUBETALLY_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_a_full_archive_disk_stops_the_run_and_nothing_is_deleted_unarchived(pg_dsn: str, small_disk: Path) -> None:
    make_audit_event(pg_dsn, rows=3000, days=200)
    original = set(table_rows(pg_dsn))
    rule = _rule(small_disk, 300)
    with connect(pg_dsn, read_only=False) as conn, pytest.raises(RetentionError) as info:
        run(conn, rule, now=NOW)
    message = str(info.value)
    assert "archive disk full" in message and "nothing was deleted" in message and "\n" not in message
    written = archive_rows(small_disk)
    assert 0 < len(written) < 1650
    left = table_rows(pg_dsn)
    assert len(left) + len(written) == 3000 and set(left) | set(written) == original
    assert not [p for p in os.listdir(small_disk) if p.endswith(".tmp")]  # the partial file was removed
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    with connect(pg_dsn, read_only=False) as conn:
        run(conn, rule, now=NOW)
    _exact(pg_dsn, small_disk, original)


def _hold_lock(dsn: str, seconds: float) -> threading.Thread:
    """Another session holds the table's retention lock for ``seconds`` (a killed run not yet gone)."""
    held = threading.Event()

    def hold() -> None:
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(hashtext('kubetally.retention:public.audit_event'))")
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread


def test_a_run_waits_for_the_lock_of_a_run_not_yet_gone(pg_dsn: str, tmp_path: Path) -> None:
    # the cause of a CI flake: a SIGKILLed run's server process still held the lock for a moment
    # under load, and the next run failed at once with "another retention run is working on ..."
    make_audit_event(pg_dsn, rows=600, days=200)
    original = set(table_rows(pg_dsn))
    holder = _hold_lock(pg_dsn, 1.0)
    started = time.monotonic()
    with connect(pg_dsn, read_only=False) as conn:
        result = run(conn, _rule(tmp_path / "archive", 100), now=NOW, lock_wait=30)
    holder.join()
    assert time.monotonic() - started >= 0.9
    assert result.deleted_rows == 330  # 110 of 200 days × 3 rows a day
    _exact(pg_dsn, tmp_path / "archive", original)


def test_a_run_gives_up_on_a_lock_held_too_long_with_one_line(pg_dsn: str, tmp_path: Path) -> None:
    make_audit_event(pg_dsn, rows=600, days=200)
    holder = _hold_lock(pg_dsn, 3.0)
    with connect(pg_dsn, read_only=False) as conn, pytest.raises(RetentionError) as info:
        run(conn, _rule(tmp_path / "archive", 100), now=NOW, lock_wait=0.5)
    holder.join()
    assert str(info.value) == (
        "another retention run is working on public.audit_event (waited 0.5s for it); try again when it has finished"
    )
    assert len(table_rows(pg_dsn)) == 600 and not (tmp_path / "archive").exists()
