"""`kubetally storage` on a real postgres_exporter 0.11.1 capture (v0.18 table queries) replayed into a real
Prometheus: the tables and sizes are PostgreSQL's own pg_total_relation_size(), schemas kept apart, and a
flat replay is said to be flat (no invented growth or fill date)."""

from __future__ import annotations

import pytest
from captures import PG_V018_TABLES, Loader
from test_postgres_exporter import TOTAL_RELATION_SIZE, read

from kubetally.app.storage import build_report
from kubetally.model.pricing import default_price_book
from kubetally.model.retention import parse_policy_text

pytestmark = pytest.mark.services


def test_storage_tables_from_a_real_exporter_capture(load_replay: Loader) -> None:
    ds = read(load_replay, "pg-v018", PG_V018_TABLES)
    rules = parse_policy_text("tables:\n  - {table: audit.events, time_column: created_at, keep: 30d}\n").tables
    report = build_report(dataset=ds, dsn=None, book=default_price_book(), rules=rules)
    sizes = {r["table"]: r["total_bytes"] for r in report.tables.iter_rows(named=True)}
    assert sizes == TOTAL_RELATION_SIZE
    # the replay spans less than the 6 hours a growth rate needs: no invented growth, and the outlook
    # for audit.events (not public.events) says why it has no numbers
    assert {r["growth_bytes_per_day"] for r in report.tables.iter_rows(named=True)} == {None}
    (row,) = report.outlook.iter_rows(named=True)
    assert row["table"] == "audit.events" and row["size_bytes"] == TOTAL_RELATION_SIZE["audit.events"]
    assert row["reason"] == "not enough history for a growth rate" and row["archive_bytes_now"] is None
