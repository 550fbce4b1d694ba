"""Terminal tables of `kubetally storage`: databases, tables, rows by age, volumes and the what-if."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, get_args

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.model import columns as c
from kubetally.outputs.registry import Result, register

Report = Literal["volumes", "tables", "databases", "ages", "what-if", "outlook"]
REPORTS: tuple[str, ...] = get_args(Report)
"""The frames of a storage report (``--report``)."""


@dataclass(frozen=True)
class StorageReport:
    databases: pl.DataFrame
    tables: pl.DataFrame
    ages: pl.DataFrame
    volumes: pl.DataFrame
    what_if: pl.DataFrame
    notes: tuple[str, ...]
    outlook: pl.DataFrame
    """A policy's retention outlook from size history (empty without --policy, or with --dsn: then run
    `retention plan` for the real rows)."""

    def frame(self, name: str) -> pl.DataFrame:
        return {"volumes": self.volumes, "tables": self.tables, "databases": self.databases, "ages": self.ages,
                "what-if": self.what_if, "outlook": self.outlook}[name]  # fmt: skip


def size(n: float | None) -> str:
    """Bytes in binary units (1.5 GiB); empty for unknown."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1023.95 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def money(value: float) -> str:
    """2 decimals, or 2 significant digits for amounts under 1 (storage of small volumes costs cents)."""
    if value == 0 or abs(value) >= 0.995:
        return f"{value:.2f}"
    return f"{value:.2g}"


def per_day(n: float | None) -> str:
    return "" if n is None else f"{'+' if n >= 0 else ''}{size(n)}/d"


def day(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


def _right(table: Table, *headers: str, left: tuple[str, ...] = ()) -> Table:
    for header in headers:
        table.add_column(header, justify="left" if header in left else "right")
    return table


def databases_table(frame: pl.DataFrame) -> Table:
    table = _right(Table(title="Databases", title_justify="left"), "database", "size", "growth", "source",
                   left=("database", "source"))  # fmt: skip
    for row in frame.iter_rows(named=True):
        table.add_row(row[c.DATABASE], size(row[c.SIZE_BYTES]), per_day(row["growth_bytes_per_day"]), row["source"])
    return table


def name(row: dict[str, object]) -> str:
    """schema.table for a live database, database.table from history (which has no schema)."""
    return f"{row['schema']}.{row[c.TABLE]}" if row["schema"] else f"{row[c.DATABASE]}.{row[c.TABLE]}"


def tables_table(frame: pl.DataFrame, *, limit: int = 15) -> Table:
    table = _right(
        Table(title="Tables (largest first)", title_justify="left"),
        "table", "total", "heap", "TOAST", "indexes", "live rows", "dead rows", "bloat (est.)", "last vacuum",
        "growth", "source", left=("table", "source", "last vacuum"),
    )  # fmt: skip
    for row in frame.head(limit).iter_rows(named=True):
        live, dead = row["live_rows"], row["dead_rows"]
        dead_text = "" if dead is None else f"{dead:,}" + (f" ({dead / (live + dead):.0%})" if live + dead else "")
        bloat = row["bloat_bytes"]
        bloat_text = (
            "" if bloat is None else size(bloat) + (f" ({bloat / row['heap_bytes']:.0%})" if row["heap_bytes"] else "")
        )
        table.add_row(
            name(row), size(row["total_bytes"]), size(row["heap_bytes"]),
            size(row["toast_bytes"]), size(row["index_bytes"]), f"{live:,}", dead_text, bloat_text,
            day(row["last_vacuum"]), per_day(row["growth_bytes_per_day"]), row["growth_source"],
        )  # fmt: skip
    if frame.height > limit:
        table.add_row(f"... {frame.height - limit} more", *([""] * 10))
    return table


def ages_table(frame: pl.DataFrame, title: str) -> Table:
    table = _right(Table(title=title, title_justify="left"), "age", "rows", "share", "about", left=("age",))
    total = int(frame.get_column("rows").sum()) if frame.height else 0
    for row in frame.iter_rows(named=True):
        share = f"{row['rows'] / total:.1%}" if total else ""
        table.add_row(row["age"], f"{row['rows']:,}", share, size(row["bytes"]))
    return table


def volumes_table(frame: pl.DataFrame, currency: str) -> Table:
    table = _right(
        Table(title="Volumes: when each fills at its current growth", title_justify="left"),
        "claim", "class", "capacity", "used", "growth", "fills on", "days left", f"{currency}/month", "holds",
        left=("claim", "class", "holds", "fills on"),
    )  # fmt: skip
    for row in frame.iter_rows(named=True):
        used = row[c.USED_BYTES]
        used_text = "" if used is None else f"{size(used)} ({used / row[c.CAPACITY_BYTES]:.0%})"
        days = row["days_left"]
        fills = day(row["fills_on"]) if row["fills_on"] else ("not growing" if row["growth_bytes_per_day"] is not None
                                                               else "no usage data")  # fmt: skip
        table.add_row(
            f"{row[c.NAMESPACE]}/{row[c.PVC]}" if row[c.NAMESPACE] else row[c.PVC], row[c.STORAGE_CLASS],
            size(row[c.CAPACITY_BYTES]), used_text, per_day(row["growth_bytes_per_day"]), fills,
            "" if days is None else f"{days:.0f}", money(row["monthly_cost"]), row["databases"],
        )  # fmt: skip
    return table


def what_if_table(frame: pl.DataFrame, currency: str) -> Table:
    table = _right(
        Table(title="What if: the same volumes on other storage (capacity; archive tiers: the bytes used)",
              title_justify="left"),
        "storage", "kind", f"{currency}/GiB-month", "billed", f"{currency}/month", "vs now", left=("storage", "kind"),
    )  # fmt: skip
    for row in frame.iter_rows(named=True):
        name = row["option"] + (" (now)" if row["current"] else "")
        delta = row["delta"]
        table.add_row(
            name, row["kind"], f"{row['per_gib_month']:g}", size(row["billed_bytes"]), money(row["monthly_cost"]),
            f"{'+' if delta > 0 else ''}{money(delta)}",
        )  # fmt: skip
    return table


def outlook_table(frame: pl.DataFrame, currency: str) -> Table:
    """The retention outlook of tables known from size history (estimates; ``retention plan`` counts real rows)."""
    table = _right(
        Table(title="Retention outlook: what the policy does to each table (estimated from its growth)",
              title_justify="left"),
        "table", "keep", "size", "growth", "age (est.)", "to archive", "levels off at", "archive a month",
        "volume fills (now → with policy)", "longest keep that fits",
        left=("table", "to archive", "volume fills (now → with policy)"),
    )  # fmt: skip
    for row in frame.iter_rows(named=True):
        table_name = f"{row[c.DATABASE]}.{row[c.TABLE]}" if row[c.DATABASE] else row[c.TABLE]
        keep = f"{row['keep_days']:g}d"
        if row["reason"]:
            table.add_row(table_name, keep, size(row[c.SIZE_BYTES]), per_day(row["growth_bytes_per_day"]),
                          row["reason"], *([""] * 5))  # fmt: skip
            continue
        now_rows = row["archive_rows_now"]
        to_archive = (
            f"from {day(row['first_archive_on'])}" if not now_rows
            else f"now: {now_rows:,.0f} rows, {size(row['archive_bytes_now'])}"
        )  # fmt: skip
        month = f"{size(row['archive_bytes_per_month'])}, {money(row['archive_cost_per_month'])} {currency}"
        fills = ""
        if row[c.PVC]:
            after = day(row["fills_on_with_retention"]) or "never"
            fills = f"{row[c.PVC]}: {day(row['fills_on']) or 'never'} → {after}"
        fits = row["largest_keep_days"]
        table.add_row(
            table_name, keep, size(row[c.SIZE_BYTES]), per_day(row["growth_bytes_per_day"]), f"{row['age_days']:.0f} d",
            to_archive, size(row["steady_bytes"]), month, fills, "" if fits is None else f"{fits:,.0f} d",
        )  # fmt: skip
    return table


@dataclass(frozen=True, kw_only=True)
class StorageResult(Result):
    report: StorageReport
    currency: str
    frame: str = "volumes"
    """The frame json/csv/yaml print (``--report``)."""
    kind: ClassVar[str] = "storage"

    def data(self) -> pl.DataFrame:
        return self.report.frame(self.frame)


@register("table", StorageResult)
def storage_tables(result: StorageResult) -> list[RenderableType]:
    """Every non-empty frame of the report as a table."""
    report, currency = result.report, result.currency
    out: list[RenderableType] = []
    if report.databases.height:
        out.append(databases_table(report.databases))
    if report.tables.height:
        out.append(tables_table(report.tables))
    for (table, column), frame in report.ages.group_by(["table", "time_column"], maintain_order=True):
        out.append(ages_table(frame, f"Rows of {table} by age of {column}"))
    if report.volumes.height:
        out.append(volumes_table(report.volumes, currency))
    if report.what_if.height and report.volumes.height:
        out.append(what_if_table(report.what_if, currency))
    if report.outlook.height:
        out.append(outlook_table(report.outlook, currency))
    return out
