"""Storage growth and the disk forecast: how fast data grows, when each volume fills, what it costs.

Growth comes from history where there is some (a least-squares line through the samples of a
size series: robust to scrape jitter, and the slope of what is really stored) and otherwise
from the rows' ages (rows younger than 30 days / 30 x the table's bytes per row: what was
inserted lately and is still there). A volume fills on ``now + (capacity - used) / growth``;
it never fills if it does not grow.

Costs are per month at the price file's ``storage`` prices: ``classes`` by StorageClass, the
``default_per_gib_month`` for any other, and ``archive_per_gib_month`` for object storage.
Pure functions over frames and numbers; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema as sc
from kubetally.model.price_catalog import STORAGE_CATALOG
from kubetally.model.pricing import GIB, PriceBook
from kubetally.model.retention import TableRule

DAY = 86_400.0
RECENT_DAYS = 30
"""The age-bucket growth counts rows younger than this many days."""
MIN_HISTORY = timedelta(hours=6)
"""Less history than this gives no growth rate (a line through a few minutes says nothing about a month)."""


def growth_per_day(times: Sequence[datetime], values: Sequence[float]) -> float | None:
    """Slope of the least-squares line through (time, value), per day; None with < 2 samples or < 6 h."""
    if len(times) < 2:
        return None
    t0 = min(times)
    if max(times) - t0 < MIN_HISTORY:
        return None
    x = np.array([(t - t0).total_seconds() / DAY for t in times])
    y = np.array(values, dtype=float)
    slope = np.polyfit(x, y, 1)[0]
    return float(slope)


def growth_from_ages(
    *, rows_recent: int, recent_days: float, total_rows: int, total_bytes: int, oldest_age_days: float | None
) -> float | None:
    """Bytes a day from the rows inserted lately: ``rows_recent`` rows younger than ``recent_days``.

    A table younger than ``recent_days`` spreads its rows over its own age. None without rows.
    """
    if total_rows <= 0 or oldest_age_days is None or oldest_age_days <= 0:
        return None
    days = min(recent_days, oldest_age_days)
    per_row = total_bytes / total_rows
    return rows_recent / days * per_row


def fill_date(*, capacity: float, used: float, growth: float | None, now: datetime) -> datetime | None:
    """When ``used`` reaches ``capacity`` growing ``growth`` bytes a day; None if it does not grow."""
    if growth is None or growth <= 0:
        return None
    left = max(0.0, capacity - used)
    days = left / growth
    if days > 365 * 100:
        return None
    return now + timedelta(days=days)


def monthly_cost(size_bytes: float, per_gib_month: float) -> float:
    return size_bytes / GIB * per_gib_month


@dataclass(frozen=True)
class StorageOption:
    """One place to keep the data: a StorageClass of the price file or the archive tier."""

    name: str
    per_gib_month: float
    kind: str
    """``class`` (a StorageClass of the price file or of the volumes), ``catalog`` (a built-in block product)
    or ``archive`` (object storage)."""


def storage_options(book: PriceBook, current: Sequence[str] = ()) -> list[StorageOption]:
    """Where the data could live: the volumes' own classes and the price file's (``class``), its default
    price, the built-in catalog's block products (``catalog``), its archive tier and the catalog's object
    products (``archive``)."""
    names = sorted(set(current) | set(book.storage.classes))
    options = [StorageOption(name, float(book.storage.per_gib_month(name)), "class") for name in names]
    options.append(StorageOption("(default)", float(book.storage.default_per_gib_month), "class"))
    options.extend(
        StorageOption(p.name, float(p.per_gib_month), "catalog") for p in STORAGE_CATALOG.values() if p.kind == "block"
    )
    options.append(StorageOption("(archive)", float(book.storage.archive_per_gib_month), "archive"))
    options.extend(
        StorageOption(p.name, float(p.per_gib_month), "archive") for p in STORAGE_CATALOG.values() if p.kind == "object"
    )
    return options


def what_if(volumes: pl.DataFrame, book: PriceBook) -> pl.DataFrame:
    """The monthly cost of the volumes' capacity on every storage option, next to what they cost now.

    ``volumes`` needs ``capacity_bytes``, ``storage_class`` and ``used_bytes``; the archive tier is
    priced on the bytes used (object storage bills what is stored, not a provisioned size).
    """
    now = sum(
        monthly_cost(row[c.CAPACITY_BYTES], float(book.storage.per_gib_month(row[c.STORAGE_CLASS])))
        for row in volumes.iter_rows(named=True)
    )
    capacity = float(volumes.get_column(c.CAPACITY_BYTES).sum()) if volumes.height else 0.0
    used = float(volumes.get_column(c.USED_BYTES).fill_null(0).sum()) if volumes.height else 0.0
    current = sorted(set(volumes.get_column(c.STORAGE_CLASS).to_list())) if volumes.height else []
    rows = []
    for option in storage_options(book, current):
        size = used if option.kind == "archive" else capacity
        cost = monthly_cost(size, option.per_gib_month)
        rows.append(
            {
                "option": option.name,
                "kind": option.kind,
                "per_gib_month": option.per_gib_month,
                "billed_bytes": size,
                "monthly_cost": cost,
                "delta": cost - now,
                "current": option.kind == "class" and option.name in current,
            }
        )
    schema: dict[str, Any] = {
        "option": pl.String, "kind": pl.String, "per_gib_month": pl.Float64, "billed_bytes": pl.Float64,
        "monthly_cost": pl.Float64, "delta": pl.Float64, "current": pl.Boolean,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


VOLUME_SCHEMA: dict[str, Any] = {
    c.NAMESPACE: pl.String,
    c.PVC: pl.String,
    c.STORAGE_CLASS: pl.String,
    c.CAPACITY_BYTES: pl.Float64,
    c.USED_BYTES: pl.Float64,
    "growth_bytes_per_day": pl.Float64,
    "growth_source": pl.String,
    "fills_on": pl.Datetime("us", "UTC"),
    "days_left": pl.Float64,
    "monthly_cost": pl.Float64,
    "databases": pl.String,
}


def volume_forecast(ds: Dataset, book: PriceBook) -> pl.DataFrame:
    """Per bound claim: capacity, used now, growth a day from its used-bytes history, fill date, monthly cost.

    ``databases`` names the databases whose server pod mounts the claim (from ``volume_mounts``).
    """
    claims = ds.table(sc.VOLUMES).filter(pl.col(c.PVC) != "")
    if claims.height == 0:
        return pl.DataFrame(schema=VOLUME_SCHEMA)
    now = ds.info.end
    usage = ds.collected(sc.VOLUME_USAGE).sort(c.TIMESTAMP)
    db_pods = (
        ds.collected(sc.DATABASE_USAGE).filter(pl.col(c.TABLE) == "").select(c.NAMESPACE, c.POD, c.DATABASE).unique()
    )
    mounts = ds.table(sc.VOLUME_MOUNTS).join(db_pods, on=[c.NAMESPACE, c.POD], how="inner")
    rows = []
    for claim in claims.iter_rows(named=True):
        key = (pl.col(c.NAMESPACE) == claim[c.NAMESPACE]) & (pl.col(c.PVC) == claim[c.PVC])
        series = usage.filter(key)
        used = float(series.get_column(c.USED_BYTES)[-1]) if series.height else None
        growth = growth_per_day(series.get_column(c.TIMESTAMP).to_list(), series.get_column(c.USED_BYTES).to_list())
        capacity = float(claim[c.CAPACITY_BYTES])
        fills = fill_date(capacity=capacity, used=used or 0.0, growth=growth, now=now) if used is not None else None
        dbs = sorted(set(mounts.filter(key).get_column(c.DATABASE).to_list()))
        rows.append(
            {
                c.NAMESPACE: claim[c.NAMESPACE],
                c.PVC: claim[c.PVC],
                c.STORAGE_CLASS: claim[c.STORAGE_CLASS],
                c.CAPACITY_BYTES: capacity,
                c.USED_BYTES: used,
                "growth_bytes_per_day": growth,
                "growth_source": "history" if growth is not None else "",
                "fills_on": fills,
                "days_left": (fills - now).total_seconds() / DAY if fills else None,
                "monthly_cost": monthly_cost(capacity, float(book.storage.per_gib_month(claim[c.STORAGE_CLASS]))),
                "databases": ", ".join(dbs),
            }
        )
    return pl.DataFrame(rows, schema=VOLUME_SCHEMA).sort("days_left", c.NAMESPACE, c.PVC, nulls_last=True)


DATABASE_SCHEMA: dict[str, Any] = {
    c.NAMESPACE: pl.String,
    c.POD: pl.String,
    c.DATABASE: pl.String,
    c.TABLE: pl.String,
    c.SIZE_BYTES: pl.Float64,
    c.ROWS: pl.Float64,
    "growth_bytes_per_day": pl.Float64,
    "growth_rows_per_day": pl.Float64,
}


def database_growth(ds: Dataset) -> pl.DataFrame:
    """Per database (``table`` empty) and table: the last size and rows, and their growth a day from history."""
    usage = ds.collected(sc.DATABASE_USAGE).sort(c.TIMESTAMP)
    if usage.height == 0:
        return pl.DataFrame(schema=DATABASE_SCHEMA)
    rows = []
    for (namespace, pod, database, table), series in usage.group_by(
        [c.NAMESPACE, c.POD, c.DATABASE, c.TABLE], maintain_order=True
    ):
        times = series.get_column(c.TIMESTAMP).to_list()
        sizes = series.get_column(c.SIZE_BYTES).to_list()
        counts = series.get_column(c.ROWS).to_list()
        rows.append(
            {
                c.NAMESPACE: namespace,
                c.POD: pod,
                c.DATABASE: database,
                c.TABLE: table,
                c.SIZE_BYTES: float(sizes[-1]),
                c.ROWS: None if counts[-1] is None else float(counts[-1]),
                "growth_bytes_per_day": growth_per_day(times, sizes),
                "growth_rows_per_day": None if counts[-1] is None else growth_per_day(times, counts),
            }
        )
    return pl.DataFrame(rows, schema=DATABASE_SCHEMA).sort(
        [c.DATABASE, c.TABLE, c.SIZE_BYTES], descending=[False, False, True]
    )


OUTLOOK_SCHEMA: dict[str, Any] = {
    c.DATABASE: pl.String,
    c.TABLE: pl.String,
    "keep_days": pl.Float64,
    c.SIZE_BYTES: pl.Float64,
    c.ROWS: pl.Float64,
    "growth_bytes_per_day": pl.Float64,
    "age_days": pl.Float64,
    "archive_rows_now": pl.Float64,
    "archive_bytes_now": pl.Float64,
    "first_archive_on": pl.Datetime("us", "UTC"),
    "steady_bytes": pl.Float64,
    "archive_bytes_per_month": pl.Float64,
    "archive_cost_per_month": pl.Float64,
    c.PVC: pl.String,
    "fills_on": pl.Datetime("us", "UTC"),
    "fills_on_with_retention": pl.Datetime("us", "UTC"),
    "largest_keep_days": pl.Float64,
    "reason": pl.String,
}
MONTH_DAYS = 30.44


def _fill_with_caps(
    *, capacity: float, used: float, other_growth: float, caps: Sequence[tuple[float, float]], now: datetime
) -> datetime | None:
    """When ``used`` reaches ``capacity``: the rest grows ``other_growth`` a day, each capped table ``(growth a
    day, bytes left until it levels off)`` grows until it has added its bytes left, then stays (its deleted
    rows' space reused after VACUUM). None if it never fills (within 100 years)."""
    t, level = 0.0, used
    growing = [(g, left) for g, left in caps if g > 0 and left > 0]
    while True:
        rate = other_growth + sum(g for g, _ in growing)
        stop = min((left / g for g, left in growing), default=None)
        if rate > 0 and level + rate * (stop if stop is not None else float("inf")) >= capacity:
            t += (capacity - level) / rate
            return now + timedelta(days=t) if t <= 365 * 100 else None
        if stop is None:
            return None
        level += rate * stop
        t += stop
        growing = [(g, left - g * stop) for g, left in growing if left - g * stop > 1e-6]


def retention_outlook(
    tables: pl.DataFrame, volumes: pl.DataFrame, rules: Sequence[TableRule], book: PriceBook, *, now: datetime
) -> pl.DataFrame:
    """What each retention rule would do to a table known only from its size history (no live database).

    An estimate that assumes rows arrived at today's growth rate for as long as the table is old
    (``size / growth`` days): ``rows - keep x rows a day`` are older than ``keep`` now; the table levels
    off at ``keep x growth`` (with VACUUM after each run its deleted rows' space is reused; the files do
    not shrink); the archive grows by a month of rows a month (priced at ``archive_per_gib_month``, on the
    PostgreSQL bytes: Parquet is smaller). ``tables`` is :func:`database_growth`, ``volumes`` is
    :func:`volume_forecast` (a claim holds a database when its server pod mounts it). The volume's fill
    date is recomputed with every rule of its database capped, and ``largest_keep_days`` is the longest
    keep that fits the volume with the rest at today's size. Against a live database ``kubetally
    retention plan`` counts the real rows.
    """
    rows: list[dict[str, Any]] = []
    by_db: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        # history names a table as postgres_exporter's source does: "table" in public, else "schema.table"
        name = rule.table_name if rule.schema_name == "public" else f"{rule.schema_name}.{rule.table_name}"
        found = tables.filter(
            (pl.col(c.TABLE) == name) & (pl.lit(rule.database is None) | (pl.col(c.DATABASE) == (rule.database or "")))
        )
        keep = rule.keep_delta.total_seconds() / DAY
        row: dict[str, Any] = dict.fromkeys(OUTLOOK_SCHEMA)
        row.update({c.DATABASE: rule.database or "", c.TABLE: name, "keep_days": keep})
        if found.height == 0:
            row["reason"] = "no size history for this table in the dataset"
            rows.append(row)
            continue
        t = found.row(0, named=True)
        size, count, growth = t[c.SIZE_BYTES], t[c.ROWS], t["growth_bytes_per_day"]
        row.update({c.DATABASE: t[c.DATABASE], c.SIZE_BYTES: size, c.ROWS: count, "growth_bytes_per_day": growth})
        if growth is None or growth <= 0 or not count:
            row["reason"] = "not growing" if growth is not None else "not enough history for a growth rate"
            rows.append(row)
            continue
        age = size / growth
        per_row = size / count
        old_bytes = max(0.0, size - keep * growth)
        row.update(
            {
                "age_days": age,
                "archive_rows_now": float(np.floor(old_bytes / per_row)),
                "archive_bytes_now": old_bytes,
                "first_archive_on": now if old_bytes > 0 else now + timedelta(days=keep - age),
                "steady_bytes": keep * growth,
                "archive_bytes_per_month": growth * MONTH_DAYS,
                "archive_cost_per_month": monthly_cost(growth * MONTH_DAYS, float(book.storage.archive_per_gib_month)),
                "reason": "",
            }
        )
        rows.append(row)
        by_db.setdefault(t[c.DATABASE], []).append(row)
    for row in rows:
        holding = [v for v in volumes.iter_rows(named=True)
                   if row[c.DATABASE] and row[c.DATABASE] in (v["databases"] or "").split(", ")]  # fmt: skip
        if not holding or row["reason"]:
            continue
        v = holding[0]
        capped = by_db[row[c.DATABASE]]
        used, capacity, growth = v[c.USED_BYTES], v[c.CAPACITY_BYTES], v["growth_bytes_per_day"]
        row[c.PVC] = f"{v[c.NAMESPACE]}/{v[c.PVC]}"
        row["fills_on"] = v["fills_on"]
        if used is None or growth is None:
            continue
        other = growth - sum(r["growth_bytes_per_day"] for r in capped)
        caps = [(r["growth_bytes_per_day"], max(0.0, r["steady_bytes"] - r[c.SIZE_BYTES])) for r in capped]
        row["fills_on_with_retention"] = _fill_with_caps(
            capacity=capacity, used=used, other_growth=other, caps=caps, now=now
        )
        row["largest_keep_days"] = float(np.floor((capacity - used + row[c.SIZE_BYTES]) / row["growth_bytes_per_day"]))
    return pl.DataFrame(rows, schema=OUTLOOK_SCHEMA)
