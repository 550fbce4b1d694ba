"""Storage growth, fill dates and the what-if, against the AuditFlow scenario's planted growth and hand-worked sums.

The scenario (kubetally.simulate.scenario.TABLES) grows audit_event by exactly 95 MiB a day,
notification by 1 MiB and analysis_result by 3 MiB; the postgresql volume holds all three plus
a constant 328 MiB, so it grows 99 MiB a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubetally.analysis.storage import (
    database_growth,
    fill_date,
    growth_from_ages,
    growth_per_day,
    volume_forecast,
    what_if,
)
from kubetally.errors import ConfigError
from kubetally.model.pricing import GIB, default_price_book, parse_price_text
from kubetally.simulate import ScenarioConfig, simulate

MI = 2**20


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    return simulate(ScenarioConfig(days=3, step_seconds=900))


def test_growth_is_the_planted_rate(dataset) -> None:  # type: ignore[no-untyped-def]
    growth = {row["table"]: row["growth_bytes_per_day"] for row in database_growth(dataset).iter_rows(named=True)}
    assert growth["audit_event"] == pytest.approx(95 * MI, rel=1e-6)
    assert growth["notification"] == pytest.approx(1 * MI, rel=1e-4)
    assert growth["analysis_result"] == pytest.approx(3 * MI, rel=1e-5)
    assert growth[""] == pytest.approx(99 * MI, rel=1e-6)  # the whole database


def test_the_postgresql_volume_fills_when_its_growth_says(dataset) -> None:  # type: ignore[no-untyped-def]
    volumes = volume_forecast(dataset, default_price_book())
    pg = volumes.filter(volumes["pvc"] == "data-postgresql-0").row(0, named=True)
    assert pg["growth_bytes_per_day"] == pytest.approx(99 * MI, rel=1e-6)
    assert pg["databases"] == "auditflow" and pg["storage_class"] == "longhorn"
    assert pg["days_left"] == pytest.approx((10 * GIB - pg["used_bytes"]) / (99 * MI), rel=1e-5)
    # used at the end: 2,230 MiB of tables at the start + 99 MiB a day for ~3 days + 328 MiB
    assert pg["used_bytes"] / MI == pytest.approx(2230 + 99 * 3 + 328, abs=2)
    assert pg["monthly_cost"] == pytest.approx(10 * 0.04)  # the default 0.04 a GiB-month
    unused = volumes.filter(volumes["pvc"] == "analysis-scratch").row(0, named=True)
    assert unused["used_bytes"] is None and unused["fills_on"] is None


def test_fill_date_and_growth_by_hand() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert fill_date(capacity=10 * GIB, used=4 * GIB, growth=GIB, now=now) == now + timedelta(days=6)
    assert fill_date(capacity=10 * GIB, used=4 * GIB, growth=0.0, now=now) is None
    assert fill_date(capacity=10 * GIB, used=4 * GIB, growth=-5.0, now=now) is None
    assert fill_date(capacity=10 * GIB, used=11 * GIB, growth=1.0, now=now) == now  # already full
    times = [now + timedelta(hours=h) for h in range(0, 25, 6)]
    assert growth_per_day(times, [100.0 + 40 * i for i in range(5)]) == pytest.approx(160.0)
    assert growth_per_day(times[:1], [1.0]) is None
    assert growth_per_day([now, now + timedelta(hours=1)], [1.0, 2.0]) is None  # too short to say
    # 300 rows younger than 30 days, 1,000 rows in 100 bytes each: 10 rows = 1,000 bytes a day
    assert growth_from_ages(rows_recent=300, recent_days=30, total_rows=1000, total_bytes=100_000,
                            oldest_age_days=200) == pytest.approx(1000.0)  # fmt: skip
    # a table 10 days old spreads its rows over 10 days, not 30
    assert growth_from_ages(rows_recent=300, recent_days=30, total_rows=300, total_bytes=30_000,
                            oldest_age_days=10) == pytest.approx(3000.0)  # fmt: skip


def test_what_if_prices_the_same_capacity_elsewhere(dataset) -> None:  # type: ignore[no-untyped-def]
    book = parse_price_text(
        "storage: {classes: {longhorn: 0.06, hdd: aws/sc1}, default_per_gib_month: 0.05, "
        "archive_per_gib_month: aws/s3-glacier-ir}"
    )
    volumes = volume_forecast(dataset, book)
    used = volumes.filter(volumes["used_bytes"].is_not_null())
    table = {row["option"]: row for row in what_if(used, book).iter_rows(named=True)}
    assert table["longhorn"]["current"] and table["longhorn"]["monthly_cost"] == pytest.approx(10 * 0.06)
    assert table["hdd"]["per_gib_month"] == 0.015 and table["hdd"]["monthly_cost"] == pytest.approx(0.15)
    assert table["hdd"]["delta"] == pytest.approx(0.15 - 0.60)
    assert table["aws/gp3"]["kind"] == "catalog" and table["aws/gp3"]["monthly_cost"] == pytest.approx(0.80)
    archive = table["(archive)"]
    assert archive["per_gib_month"] == 0.004 and archive["billed_bytes"] == used["used_bytes"][0]


def test_price_file_storage_names_must_be_known() -> None:
    with pytest.raises(ConfigError) as info:
        parse_price_text("storage: {classes: {fast: aws/nvme}}", where="prices.yaml")
    assert "'aws/nvme' is neither a price nor a storage catalog name" in str(info.value)
    assert "\n" not in str(info.value)
