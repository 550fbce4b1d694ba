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
