"""The retention outlook from size history alone: hand-worked tables, then the AuditFlow scenario's planted growth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from kubetally.analysis.storage import (
    DATABASE_SCHEMA,
    VOLUME_SCHEMA,
    database_growth,
    retention_outlook,
    volume_forecast,
)
from kubetally.model.pricing import default_price_book, parse_price_text
from kubetally.model.retention import parse_policy_text
from kubetally.simulate import ScenarioConfig, simulate

MI = 2**20
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _rules(*keeps: str, table: str = "app.public.events"):  # type: ignore[no-untyped-def]
    text = "tables:\n" + "".join(
        f"  - {{table: {table.replace('events', f'events{i}') if i else table}, time_column: at, keep: {k}}}\n"
        for i, k in enumerate(keeps)
    )
    return parse_policy_text(text).tables


def _frames(growth: float = 100 * MI) -> tuple[pl.DataFrame, pl.DataFrame]:
    # events: 3,000 MiB, 3,000 rows (1 MiB a row), +100 MiB a day, so ~30 days old; its volume:
    # 10,000 MiB, 4,000 MiB used, +110 MiB a day (the other 10 MiB a day are other tables)
    tables = pl.DataFrame(
        [{"namespace": "db", "pod": "pg-0", "database": "app", "table": "events", "size_bytes": 3000.0 * MI,
          "rows": 3000.0, "growth_bytes_per_day": growth, "growth_rows_per_day": growth / MI}],
        schema=DATABASE_SCHEMA,
    )  # fmt: skip
    volumes = pl.DataFrame(
        [{"namespace": "db", "pvc": "data-pg-0", "storage_class": "ssd", "capacity_bytes": 10_000.0 * MI,
          "used_bytes": 4000.0 * MI, "growth_bytes_per_day": 110.0 * MI, "growth_source": "history",
          "fills_on": NOW + timedelta(days=6000 / 110), "days_left": 6000 / 110, "monthly_cost": 1.0,
          "databases": "app"}],
        schema=VOLUME_SCHEMA,
    )  # fmt: skip
    return tables, volumes


def _days(value: datetime) -> float:
    return (value - NOW).total_seconds() / 86_400


def test_a_keep_shorter_than_the_table_archives_now_and_levels_it_off() -> None:
    book = parse_price_text("storage: {archive_per_gib_month: 0.02}")
    row = retention_outlook(*_frames(), _rules("20d"), book, now=NOW).row(0, named=True)
    assert row["age_days"] == pytest.approx(30)
    assert row["archive_bytes_now"] == pytest.approx(1000 * MI)  # 3,000 - 20 d x 100 MiB
    assert row["archive_rows_now"] == 1000
    assert row["first_archive_on"] == NOW
    assert row["steady_bytes"] == pytest.approx(2000 * MI)
    # a month of rows a month: 30.44 x 100 MiB = 2.97 GiB at 0.02 a GiB-month
    assert row["archive_cost_per_month"] == pytest.approx(30.44 * 100 / 1024 * 0.02)
    # already above its level: only the other 10 MiB a day fill the 6,000 MiB left
    assert _days(row["fills_on"]) == pytest.approx(6000 / 110)
    assert _days(row["fills_on_with_retention"]) == pytest.approx(600)
    assert row["largest_keep_days"] == 90  # (10,000 - 4,000 + 3,000) / 100
    assert row["pvc"] == "db/data-pg-0" and row["reason"] == ""


def test_a_keep_longer_than_the_table_archives_later_and_caps_the_growth_then() -> None:
    row = retention_outlook(*_frames(), _rules("40d"), default_price_book(), now=NOW).row(0, named=True)
    assert row["archive_rows_now"] == 0 and row["archive_bytes_now"] == 0
    assert _days(row["first_archive_on"]) == pytest.approx(10)  # 40 d keep - 30 d old
    # 10 days at 110 MiB a day (to 5,100 MiB), then 10 MiB a day for the last 4,900 MiB
    assert _days(row["fills_on_with_retention"]) == pytest.approx(10 + 490)


def test_no_history_or_no_growth_is_a_reason_not_a_number() -> None:
    tables, volumes = _frames(growth=0.0)
    rows = retention_outlook(tables, volumes, [*_rules("20d"), *_rules("5d", table="other.public.x")],
                             default_price_book(), now=NOW).to_dicts()  # fmt: skip
    assert [(r["table"], r["reason"]) for r in rows] == [
        ("events", "not growing"), ("x", "no size history for this table in the dataset")
    ]  # fmt: skip
    assert all(r["archive_bytes_now"] is None and r["fills_on_with_retention"] is None for r in rows)


def test_the_scenario_audit_event_under_a_30_day_keep() -> None:
    ds = simulate(ScenarioConfig(days=3, step_seconds=900))
    rules = parse_policy_text(
        "tables:\n  - {table: auditflow.public.audit_event, time_column: created_at, keep: 30d}\n"
    )
    book = default_price_book()
    row = retention_outlook(database_growth(ds), volume_forecast(ds, book), rules.tables, book,
                            now=ds.info.end).row(0, named=True)  # fmt: skip
    # planted: 1,800 MiB at the window start + 95 MiB a day until the last sample (3 days - 15 min)
    # = 2,084 MiB, so 21.9 days old: a 30-day keep archives nothing yet and starts in 8.1 days;
    # the table levels off at 30 x 95 = 2,850 MiB
    size = 1800 + 95 * (3 - 900 / 86_400)
    assert row["size_bytes"] == pytest.approx(size * MI, rel=1e-6)
    assert row["age_days"] == pytest.approx(size / 95, rel=1e-6)
    assert row["archive_bytes_now"] == 0
    assert (row["first_archive_on"] - ds.info.end).total_seconds() / 86_400 == pytest.approx(30 - size / 95, rel=1e-4)
    assert row["steady_bytes"] == pytest.approx(30 * 95 * MI, rel=1e-6)
    assert row["pvc"] == "auditflow/data-postgresql-0"
    # with audit_event capped the volume grows 4 MiB a day once it has levelled off, so it lasts far longer
    assert row["fills_on_with_retention"] > row["fills_on"] + timedelta(days=365)


def test_a_table_outside_public_is_matched_by_schema() -> None:
    tables, volumes = _frames()
    other = tables.with_columns(pl.lit("audit.events").alias("table"), pl.lit(500.0 * MI).alias("size_bytes"))
    both = pl.concat([tables, other])
    (row,) = retention_outlook(both, volumes, _rules("20d", table="app.audit.events"), default_price_book(),
                               now=NOW).iter_rows(named=True)  # fmt: skip
    assert row["table"] == "audit.events" and row["size_bytes"] == 500 * MI  # not public.events (3,000 MiB)
