"""Storage: database and table sizes, growth, when each volume fills, what storage costs, and what a retention
policy would do (docs/storage.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import polars as pl
from pydantic import AfterValidator, Field, field_validator, model_validator

from kubetally.analysis.storage import (
    OUTLOOK_SCHEMA,
    RECENT_DAYS,
    VOLUME_SCHEMA,
    database_growth,
    fill_date,
    growth_from_ages,
    monthly_cost,
    retention_outlook,
    volume_forecast,
    what_if,
)
from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.inputs import PricesRequest, policy_of, price_book
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook
from kubetally.model.quantity import parse_memory
from kubetally.model.retention import TableRule
from kubetally.outputs.storage import REPORTS, Report, StorageReport, StorageResult

AUTO_TIME_COLUMNS = ("created_at",)
"""A table with a timestamp column of one of these names gets its age buckets without --time-column."""


def _time_column_spec(spec: str) -> str:
    table, sep, column = spec.partition("=")
    parts = table.split(".")
    if not sep or not column or len(parts) > 2 or not all(parts):
        raise ValueError("write TABLE=COLUMN or SCHEMA.TABLE=COLUMN")
    return spec


class StorageRequest(PricesRequest, SourceRequest):
    """Database, table, index and TOAST sizes, dead tuples and a bloat estimate, rows by age, growth per day
    (from history where Prometheus has it, else from the rows' ages), the date each volume fills at that growth,
    its monthly cost by StorageClass, and what the same volumes would cost on other storage classes and on an
    archive tier. Give --dsn (a live database) and/or a cluster (--demo, --dataset, --prometheus or a
    Kubernetes source)."""

    source_optional: ClassVar[bool] = True

    dsn: str | None = Field(
        None,
        description="Read sizes, dead tuples, bloat and rows by age from this PostgreSQL database (read-only role "
        "is enough).",
        json_schema_extra=cli(env="KUBETALLY_DSN", metavar="DSN"),
    )
    time_column: tuple[Annotated[str, AfterValidator(_time_column_spec)], ...] = Field(
        (),
        description="TABLE=COLUMN: count this table's rows by the age of COLUMN (repeatable; a created_at "
        "timestamp is found by itself).",
        json_schema_extra=cli(metavar="TABLE=COLUMN"),
    )
    policy: Path | None = Field(
        None,
        description="A retention policy file (docs/retention.md): its tables' time columns, and the outlook of "
        "what it would archive.",
        json_schema_extra=cli(metavar="FILE"),
    )
    capacity: str | None = Field(
        None,
        description="Size of the database's disk (20Gi, 500G) when no cluster data names it.",
        json_schema_extra=cli(metavar="SIZE"),
    )
    storage_class: str | None = Field(
        None, description="StorageClass of --capacity (for its price).", json_schema_extra=cli(metavar="NAME")
    )
    report: Report | None = Field(
        None,
        description=f"With -o json/csv/yaml: which frame ({', '.join(REPORTS)}; default: volumes).",
        json_schema_extra=cli(metavar="FRAME"),
    )
    output: Literal["table", "json", "csv", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))

    @field_validator("capacity")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            size = parse_memory(value)
        except ValueError:
            raise ValueError("not a size (20Gi, 500G, 1Ti)") from None
        if size <= 0:
            raise ValueError("must be more than 0")
        return value

    @model_validator(mode="after")
    def _what_to_read(self) -> StorageRequest:
        if self.dsn is None and not self.has_source:
            raise ValueError(
                "give --dsn DSN (a database) and/or a cluster: --demo, --dataset DIR, --prometheus URL or a "
                "Kubernetes source"
            )
        if self.storage_class is not None and self.capacity is None:
            raise ValueError("--storage-class prices --capacity: give --capacity too")
        if self.report is not None and self.output == "table":
            raise ValueError("--report picks the frame of -o json/csv/yaml; the table shows every frame")
        return self

    @property
    def capacity_bytes(self) -> int | None:
        return None if self.capacity is None else parse_memory(self.capacity)


def _time_columns(specs: tuple[str, ...], rules: tuple[TableRule, ...], database: str) -> dict[tuple[str, str], str]:
    """(schema, table) -> time column from --time-column TABLE=COLUMN and the policy file's rules."""
    found: dict[tuple[str, str], str] = {}
    for rule in rules:
        if rule.database in (None, database):
            found[(rule.schema_name, rule.table_name)] = rule.time_column
    for spec in specs:
        table, _, column = spec.partition("=")
        parts = table.split(".")
        found[(parts[0], parts[1]) if len(parts) == 2 else ("public", parts[0])] = column
    return found


_TABLE_SCHEMA: dict[str, Any] = {
    c.DATABASE: pl.String, "schema": pl.String, c.TABLE: pl.String, "total_bytes": pl.Int64, "heap_bytes": pl.Int64,
    "toast_bytes": pl.Int64, "index_bytes": pl.Int64, "live_rows": pl.Int64, "dead_rows": pl.Int64,
    "bloat_bytes": pl.Int64, "last_vacuum": pl.Datetime("us", "UTC"), "time_column": pl.String,
    "growth_bytes_per_day": pl.Float64, "growth_source": pl.String,
}  # fmt: skip
_AGE_SCHEMA: dict[str, Any] = {
    "table": pl.String, "time_column": pl.String, "age": pl.String, "older_than_days": pl.Int64,
    "younger_than_days": pl.Int64, "rows": pl.Int64, "bytes": pl.Float64,
}  # fmt: skip
_DB_SCHEMA: dict[str, Any] = {
    c.DATABASE: pl.String,
    c.SIZE_BYTES: pl.Float64,
    "growth_bytes_per_day": pl.Float64,
    "source": pl.String,
}


def _live(
    dsn: str, specs: tuple[str, ...], rules: tuple[TableRule, ...], history: pl.DataFrame, progress: Progress
) -> dict[str, Any]:
    """Sizes, statistics and age buckets read from the database now."""
    from kubetally.sources.postgres import connect
    from kubetally.sources.postgres.stats import age_profile, database_sizes, table_stats

    with connect(dsn) as conn:
        progress("reading sizes and statistics...")
        sizes = database_sizes(conn)
        stats = table_stats(conn)
        database = stats[0].database if stats else str(conn.info.dbname)
        wanted = _time_columns(specs, rules, database)
        known = {(t.schema, t.name) for t in stats}
        for key in wanted:
            if key not in known:
                raise KubetallyError(f"{key[0]}.{key[1]}: no such table in database {database}")
        profiles = {}
        for t in stats:
            column = wanted.get((t.schema, t.name))
            if column is None:
                from kubetally.sources.postgres import table_info

                info = table_info(conn, t.schema, t.name) if t.live_rows else None
                column = next(
                    (col.name for col in (info.columns if info else ()) if col.name in AUTO_TIME_COLUMNS
                     and col.type_name in ("timestamptz", "timestamp", "date")),
                    None,
                )  # fmt: skip
            if column is not None:
                progress(f"counting rows of {t.qualified} by age of {column}...")
                profiles[(t.schema, t.name)] = age_profile(conn, t.schema, t.name, column)
    table_rows, age_rows = [], []
    for t in stats:
        profile = profiles.get((t.schema, t.name))
        past = history.filter((pl.col(c.DATABASE) == t.database) & (pl.col(c.TABLE) == t.name))
        growth, source = None, ""
        if past.height and past.get_column("growth_bytes_per_day")[0] is not None:
            growth, source = float(past.get_column("growth_bytes_per_day")[0]), "history"
        elif profile is not None and profile.oldest is not None:
            age = (profile.measured_at - profile.oldest).total_seconds() / 86_400
            growth = growth_from_ages(
                rows_recent=profile.rows_younger_than(RECENT_DAYS), recent_days=RECENT_DAYS,
                total_rows=profile.rows, total_bytes=t.total_bytes, oldest_age_days=age,
            )  # fmt: skip
            source = f"ages ({profile.time_column})"
        table_rows.append(
            {
                c.DATABASE: t.database, "schema": t.schema, c.TABLE: t.name, "total_bytes": t.total_bytes,
                "heap_bytes": t.table_bytes, "toast_bytes": t.toast_bytes, "index_bytes": t.index_bytes,
                "live_rows": t.live_rows, "dead_rows": t.dead_rows, "bloat_bytes": t.bloat_bytes,
                "last_vacuum": t.last_vacuum, "time_column": profile.time_column if profile else None,
                "growth_bytes_per_day": growth, "growth_source": source,
            }
        )  # fmt: skip
        if profile is not None:
            per_row = t.total_bytes / profile.rows if profile.rows else 0.0
            for b in profile.buckets:
                age_rows.append(
                    {
                        "table": f"{t.database}.{profile.table}", "time_column": profile.time_column, "age": b.label,
                        "older_than_days": b.older_than_days, "younger_than_days": b.younger_than_days,
                        "rows": b.rows, "bytes": b.rows * per_row,
                    }
                )  # fmt: skip
    tables = pl.DataFrame(table_rows, schema=_TABLE_SCHEMA)
    db_rows = []
    for size in sizes:
        past = history.filter((pl.col(c.DATABASE) == size.name) & (pl.col(c.TABLE) == ""))
        growth, source = None, ""
        if past.height and past.get_column("growth_bytes_per_day")[0] is not None:
            growth, source = float(past.get_column("growth_bytes_per_day")[0]), "history"
        elif size.name == database:
            known_growth = tables.get_column("growth_bytes_per_day").drop_nulls()
            if known_growth.len():
                growth, source = float(known_growth.sum()), "sum of its tables"
        db_rows.append({c.DATABASE: size.name, c.SIZE_BYTES: float(size.size_bytes),
                        "growth_bytes_per_day": growth, "source": source})  # fmt: skip
    return {
        "databases": pl.DataFrame(db_rows, schema=_DB_SCHEMA),
        "tables": tables,
        "ages": pl.DataFrame(age_rows, schema=_AGE_SCHEMA),
    }


def _history_databases(growth: pl.DataFrame) -> pl.DataFrame:
    whole = growth.filter(pl.col(c.TABLE) == "")
    return pl.DataFrame(
        [{c.DATABASE: r[c.DATABASE], c.SIZE_BYTES: r[c.SIZE_BYTES], "growth_bytes_per_day": r["growth_bytes_per_day"],
          "source": "history"} for r in whole.iter_rows(named=True)],
        schema=_DB_SCHEMA,
    )  # fmt: skip


def _history_tables(growth: pl.DataFrame) -> pl.DataFrame:
    rows = [
        {
            c.DATABASE: r[c.DATABASE], "schema": "", c.TABLE: r[c.TABLE], "total_bytes": int(r[c.SIZE_BYTES]),
            "heap_bytes": None, "toast_bytes": None, "index_bytes": None,
            "live_rows": None if r[c.ROWS] is None else int(r[c.ROWS]), "dead_rows": None, "bloat_bytes": None,
            "last_vacuum": None, "time_column": None, "growth_bytes_per_day": r["growth_bytes_per_day"],
            "growth_source": "history",
        }
        for r in growth.filter(pl.col(c.TABLE) != "").iter_rows(named=True)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=_TABLE_SCHEMA).sort("total_bytes", descending=True)


def build_report(
    *,
    dataset: Dataset | None,
    dsn: str | None,
    book: PriceBook,
    time_columns: tuple[str, ...] = (),
    rules: tuple[TableRule, ...] = (),
    capacity: int | None = None,
    storage_class: str | None = None,
    progress: Progress = no_progress,
) -> StorageReport:
    """Everything `kubetally storage` shows; a policy's ``rules`` add the retention outlook (and time columns)."""
    notes: list[str] = []
    history = database_growth(dataset) if dataset is not None else pl.DataFrame(
        schema={c.DATABASE: pl.String, c.TABLE: pl.String, "growth_bytes_per_day": pl.Float64}
    )  # fmt: skip
    volumes = volume_forecast(dataset, book) if dataset is not None else None
    if dsn is not None:
        live = _live(dsn, time_columns, rules, history, progress)
        databases, tables, ages = live["databases"], live["tables"], live["ages"]
    else:
        databases, tables = _history_databases(history), _history_tables(history)
        ages = pl.DataFrame(schema=_AGE_SCHEMA)
    if capacity is not None:
        used = float(databases.get_column(c.SIZE_BYTES).sum())
        growth_values = databases.get_column("growth_bytes_per_day").drop_nulls()
        growth = float(growth_values.sum()) if growth_values.len() else None
        now = datetime.now().astimezone()
        fills = fill_date(capacity=capacity, used=used, growth=growth, now=now)
        klass = storage_class or ""
        row = pl.DataFrame(
            [
                {
                    c.NAMESPACE: "", c.PVC: "(--capacity)", c.STORAGE_CLASS: klass, c.CAPACITY_BYTES: float(capacity),
                    c.USED_BYTES: used, "growth_bytes_per_day": growth, "growth_source": "databases",
                    "fills_on": fills, "days_left": (fills - now).total_seconds() / 86_400 if fills else None,
                    "monthly_cost": monthly_cost(capacity, float(book.storage.per_gib_month(klass))),
                    "databases": ", ".join(databases.get_column(c.DATABASE).to_list()),
                }
            ],
            schema=VOLUME_SCHEMA,
        )  # fmt: skip
        volumes = row if volumes is None else pl.concat([volumes, row])
        notes.append("(--capacity): used = the databases' sizes (WAL and other files on the disk are not counted)")
    if volumes is None:
        volumes = pl.DataFrame(schema=VOLUME_SCHEMA)
        notes.append("no volumes: give --capacity SIZE (and --storage-class) for the database's disk, or read the "
                     "cluster with --prometheus/--dataset")  # fmt: skip
    choices = volumes.filter(pl.col(c.USED_BYTES).is_not_null())
    outlook = pl.DataFrame(schema=OUTLOOK_SCHEMA)
    if rules and dataset is not None:
        outlook = retention_outlook(history, volumes, rules, book, now=dataset.info.end)
        if dsn is not None:
            notes.append("the retention outlook is estimated from the cluster's size history; "
                         "`kubetally retention plan` counts the database's real rows")  # fmt: skip
    return StorageReport(databases, tables, ages, volumes, what_if(choices, book), tuple(notes), outlook)


def storage(request: StorageRequest, opened: Opened | None = None, progress: Progress = no_progress) -> StorageResult:
    book = price_book(request.prices)
    rules = policy_of(request.policy).tables if request.policy is not None else ()
    if opened is None and request.has_source:
        opened = open_source(request, progress)
    result = build_report(
        dataset=opened.dataset if opened else None,
        dsn=request.dsn,
        book=book,
        time_columns=request.time_column,
        rules=rules,
        capacity=request.capacity_bytes,
        storage_class=request.storage_class,
        progress=progress,
    )
    return StorageResult(
        report=result,
        currency=book.currency,
        frame=request.report or "volumes",
        notes=(*(opened.notes if opened else ()), *result.notes),
    )
