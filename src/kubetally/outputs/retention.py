"""Renderings of `kubetally retention`: the plan (per table and per batch), what a run did, what a restore did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.outputs.registry import Result, register

PLAN_SCHEMA: dict[str, Any] = {
    "table": pl.String, "relation": pl.String, "keep": pl.String, "cutoff": pl.Datetime("us", "UTC"),
    "action": pl.String, "batches": pl.Int64, "rows": pl.Int64, "bytes": pl.Int64, "oldest": pl.Datetime("us", "UTC"),
    "newest": pl.Datetime("us", "UTC"), "archive_dir": pl.String, "compression": pl.String, "unfinished": pl.Int64,
}  # fmt: skip
"""One row per table of the policy (as written there; ``relation``: schema.table): what a run would do now."""
BATCH_SCHEMA: dict[str, Any] = {
    "table": pl.String, "action": pl.String, "cutoff": pl.Datetime("us", "UTC"), "batch": pl.Int64,
    "partition": pl.String, "rows": pl.Int64, "bytes": pl.Int64,
    "time_from": pl.Datetime("us", "UTC"), "time_to": pl.Datetime("us", "UTC"),
}  # fmt: skip
"""One row per batch (what `retention plan -o json` prints)."""
RUN_SCHEMA: dict[str, Any] = {
    "table": pl.String, "cutoff": pl.Datetime("us", "UTC"), "deleted_rows": pl.Int64, "archived_rows": pl.Int64,
    "files": pl.Int64, "archive_dir": pl.String, "batches": pl.Int64, "resumed": pl.Int64,
    "database_bytes_before": pl.Int64, "database_bytes_after": pl.Int64, "vacuumed": pl.Boolean,
}  # fmt: skip
"""One row per table a run worked on."""


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, kw_only=True)
class RetentionPlanResult(Result):
    """What a retention run would do now: ``tables`` (PLAN_SCHEMA) and ``batches`` (BATCH_SCHEMA)."""

    tables: pl.DataFrame
    batches: pl.DataFrame
    kind: ClassVar[str] = "retention plan"

    def data(self) -> pl.DataFrame:
        return self.batches


def _summary(frame: pl.DataFrame) -> Table:
    summary = Table(title="Retention plan", title_justify="left")
    for header in ("table", "keep", "cutoff", "action", "batches", "rows", "bytes", "oldest", "newest"):
        summary.add_column(header, justify="right" if header in ("batches", "rows", "bytes") else "left")
    for row in frame.iter_rows(named=True):
        action = f"[bold red]{row['action']}[/]" if row["action"].startswith("purge") else row["action"]
        summary.add_row(
            row["table"], row["keep"], when(row["cutoff"]), action, str(row["batches"]), f"{row['rows']:,}",
            size(row["bytes"]), when(row["oldest"]), when(row["newest"]),
        )  # fmt: skip
    return summary


def _batches(table_name: str, frame: pl.DataFrame, limit: int) -> Table:
    table = Table(title=f"{table_name}: batches", title_justify="left")
    parts = frame["partition"].drop_nulls().len() > 0
    for header in ("batch", "partition", "rows", "bytes", "from", "to"):
        if header != "partition" or parts:
            table.add_column(header, justify="right" if header in ("batch", "rows", "bytes") else "left")
    rows = list(frame.iter_rows(named=True))
    shown = rows if len(rows) <= limit else rows[: limit - 1]
    for b in shown:
        cells = [str(b["batch"]), b["partition"] or "", f"{b['rows']:,}", size(b["bytes"]), when(b["time_from"]),
                 when(b["time_to"])]  # fmt: skip
        table.add_row(*(cells if parts else cells[:1] + cells[2:]))
    if len(shown) < len(rows):
        rest = rows[len(shown) :]
        cells = [f"... {len(rest)} more", "", f"{sum(b['rows'] for b in rest):,}", size(sum(b["bytes"] for b in rest)),
                 when(rest[0]["time_from"]), when(rest[-1]["time_to"])]  # fmt: skip
        table.add_row(*(cells if parts else cells[:1] + cells[2:]))
    return table


@register("table", RetentionPlanResult)
def plan_tables(result: RetentionPlanResult, *, batch_limit: int = 12) -> list[RenderableType]:
    out: list[RenderableType] = [_summary(result.tables)]
    for row in result.tables.iter_rows(named=True):
        if row["archive_dir"] is not None:
            out.append(f"{row['table']}: archive files (Parquet, {row['compression']}) in {row['archive_dir']}")
    for row in result.tables.iter_rows(named=True):
        if row["unfinished"]:
            out.append(
                f"[yellow]note:[/] {row['table']}: {row['unfinished']} batch(es) a previous run left unfinished are "
                "verified and finished first"
            )
        batches = result.batches.filter(pl.col("table") == row["relation"])
        if batches.height:
            out.append(_batches(row["relation"], batches, batch_limit))
    return out


@dataclass(frozen=True, kw_only=True)
class RetentionRunResult(Result):
    """What a run did, per table (RUN_SCHEMA)."""

    tables: pl.DataFrame
    kind: ClassVar[str] = "retention run"

    def data(self) -> pl.DataFrame:
        return self.tables


@register("table", RetentionRunResult)
def run_lines(result: RetentionRunResult) -> list[RenderableType]:
    lines: list[RenderableType] = []
    for r in result.tables.iter_rows(named=True):
        where = f" into {r['files']} files in {r['archive_dir']}" if r["archive_dir"] else " (purged, no archive)"
        resumed = f", {r['resumed']} batch(es) of an earlier run finished" if r["resumed"] else ""
        vacuum = " after VACUUM" if r["vacuumed"] else ""
        lines.append(
            f"[green]✓[/] {r['table']}: {r['deleted_rows']:,} rows older than {when(r['cutoff'])} deleted, "
            f"{r['archived_rows']:,} archived{where} ({r['batches']} batches{resumed}); database "
            f"{size(r['database_bytes_before'])} → {size(r['database_bytes_after'])}{vacuum}"
        )
    return lines


@dataclass(frozen=True, kw_only=True)
class RestoreResult(Result):
    """What a restore found (a dry run) or did: rows in the verified files, already present, restored."""

    target: str
    files: int
    selected: int
    present: int
    restored: int
    applied: bool
    kind: ClassVar[str] = "retention restore"

    def data(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("target", "files", "selected", "present", "restored", "applied")}


@register("table", RestoreResult)
def restore_line(result: RestoreResult) -> list[RenderableType]:
    if result.applied:
        return [
            f"[green]✓[/] {result.restored:,} rows restored into {result.target} from {result.files} files; "
            f"{result.present:,} already present were skipped"
        ]
    return [
        f"dry run: {result.selected:,} rows in {result.files} verified files, {result.present:,} already in "
        f"{result.target}; add --yes to restore the other {result.selected - result.present:,}"
    ]


@dataclass(frozen=True, kw_only=True)
class CronJobResult(Result):
    """The ConfigMap and CronJob that run a policy nightly (YAML)."""

    manifests: str
    kind: ClassVar[str] = "retention cronjob"


@register("manifests", CronJobResult)
def _cronjob(result: CronJobResult) -> str:
    return result.manifests
