"""Retention: archive rows older than a policy's ``keep`` to verified Parquet files and delete them; restore them;
run it as a CronJob (docs/retention.md). ``plan`` reads only; ``run`` and ``restore`` are dry runs unless ``yes``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from kubetally.app.base import Progress, Request, cli, like, no_progress
from kubetally.app.inputs import policy_of
from kubetally.errors import KubetallyError
from kubetally.model.config import validated
from kubetally.model.retention import CronJobSettings, RetentionPolicy, TableRule
from kubetally.outputs.retention import (
    BATCH_SCHEMA,
    PLAN_SCHEMA,
    RUN_SCHEMA,
    CronJobResult,
    RestoreResult,
    RetentionPlanResult,
    RetentionRunResult,
)


class DsnRequest(Request):
    dsn: str = Field(
        description="PostgreSQL connection string, e.g. postgresql://user@host:5432/db. A password is best left to "
        "~/.pgpass or $PGPASSWORD. A policy table named database.schema.table is read in that database on the "
        "same server.",
        json_schema_extra=cli(env="KUBETALLY_DSN", metavar="DSN"),
    )


class PolicyRequest(Request):
    policy: Path = Field(
        description="The retention policy file (YAML, see docs/retention.md).", json_schema_extra=cli(metavar="FILE")
    )


class PolicyTablesRequest(PolicyRequest, DsnRequest):
    table: tuple[str, ...] = Field(
        (),
        description="Only this table of the policy (schema.table as written there); repeatable.",
        json_schema_extra=cli(metavar="TABLE"),
    )


class PlanRequest(PolicyTablesRequest):
    """What a run would archive and delete now: per table the cutoff (now - keep), rows, bytes and time range, and
    each batch. Reads only (a read-only role is enough); nothing is written."""

    output: Literal["table", "json", "yaml", "csv"] = Field("table", json_schema_extra=cli(short="-o"))


class RunRequest(PolicyTablesRequest):
    """Archive every row older than `keep` and delete it: per batch, copy to Parquet (zstd), fsync, read back and
    verify (row count and primary-key checksum), journal the batch, then delete exactly those rows in one short
    transaction. Partitioned tables: detach, archive, verify, drop whole partitions. Killed at any point and run
    again, it archives each row exactly once. A dry run (the plan) unless --yes."""

    yes: bool = Field(False, description="Archive and delete for real. Without it: print the plan, change nothing.")
    vacuum: bool = Field(False, description="After each table, VACUUM (ANALYZE) it (space reusable, fresh stats).")


def _time(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("not a date or time (2026-09-01 or 2026-09-01T12:00Z)") from None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


class RestoreRequest(DsnRequest):
    """Load archived rows back into the table, skipping rows whose primary key is already present. Each file is
    verified against its checksum first. A dry run (counts only) unless --yes. Rows older than the policy's keep
    are archived again by the next run: restore into another table (--into) to look at them for longer."""

    archive: Path = Field(description="The archive directory of the table.", json_schema_extra=cli(metavar="DIR"))
    table: str = Field(
        description="The table the files came from: as written in the policy (database.schema.table or "
        "schema.table), or just the table.",
        json_schema_extra=cli(metavar="TABLE"),
    )
    start: datetime | None = Field(
        None,
        description="Only rows at or after this time (ISO date/time, UTC if no zone).",
        json_schema_extra=cli(flag="from", metavar="TIME"),
    )
    end: datetime | None = Field(
        None, description="Only rows before this time.", json_schema_extra=cli(flag="to", metavar="TIME")
    )
    into: str | None = Field(
        None,
        description="Restore into this schema.table (same columns) instead of --table.",
        json_schema_extra=cli(metavar="TABLE"),
    )
    yes: bool = Field(False, description="Insert the rows. Without it: count them, change nothing.")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _time(value)

    @model_validator(mode="after")
    def _order(self) -> RestoreRequest:
        if self.start is not None and self.end is not None and self.start >= self.end:
            start, end = (t.isoformat().replace("+00:00", "Z") for t in (self.start, self.end))
            raise ValueError(f"--from {start} is not before --to {end}")
        return self


class CronJobRequest(PolicyRequest):
    """Print a ConfigMap (the policy file) and a CronJob that runs `kubetally retention run --yes` with it nightly,
    reading the DSN from a Secret. Apply with `kubectl apply -f -`."""

    image: str = like(CronJobSettings, "image", metavar="IMAGE")
    namespace: str = like(CronJobSettings, "namespace", short="-n", metavar="NAME")
    name: str = like(CronJobSettings, "name", metavar="NAME")
    schedule: str = like(CronJobSettings, "schedule", metavar="CRON")
    secret: str = like(
        CronJobSettings,
        "secret",
        description="Secret with the DSN (kubectl create secret generic NAME --from-literal=dsn=...).",
        metavar="NAME",
    )
    secret_key: str = like(CronJobSettings, "secret_key", metavar="KEY")
    archive_claim: str | None = like(CronJobSettings, "archive_claim", metavar="CLAIM")
    archive_mount: str = like(CronJobSettings, "archive_mount", metavar="DIR")
    vacuum: bool = like(CronJobSettings, "vacuum")
    output: ClassVar[str] = "manifests"


# ---------------------------------------------------------------- use cases


def _plans(dsn: str, policy: RetentionPolicy, progress: Progress) -> list[Any]:
    from kubetally.actions.retention import plan
    from kubetally.sources.postgres import connect

    plans = []
    for rule in policy.tables:
        progress(f"planning {rule.table}...")
        with connect(dsn, database=rule.database) as conn:
            plans.append(plan(conn, rule))
    return plans


def _action(rule: TableRule, planned: Any) -> str:
    action = "archive, delete" if rule.archive else "purge: delete, no archive"
    return action.replace("delete", "drop partitions") if planned.batches and planned.batches[0].partition else action


def _plan_result(plans: list[Any], policy: RetentionPolicy, messages: tuple[str, ...]) -> RetentionPlanResult:
    tables = [
        {
            "table": rule.table, "relation": p.table, "keep": rule.keep, "cutoff": p.cutoff, "action": _action(rule, p),
            "batches": len(p.batches), "rows": p.rows, "bytes": p.bytes,
            "oldest": min((b.time_lo for b in p.batches if b.time_lo), default=None),
            "newest": max((b.time_hi for b in p.batches if b.time_hi), default=None),
            "archive_dir": rule.archive.dir if rule.archive else None,
            "compression": rule.archive.compression if rule.archive else None, "unfinished": p.unfinished,
        }
        for p, rule in zip(plans, policy.tables, strict=True)
    ]  # fmt: skip
    batches = [
        {
            "table": p.table, "action": "archive+delete" if rule.archive else "purge", "cutoff": p.cutoff,
            "batch": b.batch, "partition": b.partition, "rows": b.rows, "bytes": b.bytes,
            "time_from": b.time_lo, "time_to": b.time_hi,
        }
        for p, rule in zip(plans, policy.tables, strict=True)
        for b in p.batches
    ]  # fmt: skip
    return RetentionPlanResult(
        tables=pl.DataFrame(tables, schema=PLAN_SCHEMA),
        batches=pl.DataFrame(batches, schema=BATCH_SCHEMA),
        messages=messages,
    )


def plan(request: PlanRequest, progress: Progress = no_progress) -> RetentionPlanResult:
    rules = policy_of(request.policy, request.table)
    return _plan_result(
        _plans(request.dsn, rules, progress),
        rules,
        ("nothing written (plan); `kubetally retention run --yes` archives and deletes these rows",),
    )


def _database_size(conn: Any) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        size = int(cur.fetchone()[0])
    conn.commit()
    return size


def _vacuum(dsn: str, rule: TableRule) -> None:
    from psycopg import sql

    from kubetally.sources.postgres import connect

    with connect(dsn, read_only=False, database=rule.database) as conn:
        conn.autocommit = True
        conn.execute(
            sql.SQL("VACUUM (ANALYZE) {}.{}").format(sql.Identifier(rule.schema_name), sql.Identifier(rule.table_name))
        )


def run(request: RunRequest, progress: Progress = no_progress) -> RetentionPlanResult | RetentionRunResult:
    from kubetally.actions.retention import run as run_rule
    from kubetally.sources.postgres import connect

    rules = policy_of(request.policy, request.table)
    plans = _plans(request.dsn, rules, progress)
    if not request.yes:
        return _plan_result(
            plans, rules, ("[bold]dry run:[/] nothing archived or deleted; add --yes to run the plan above",)
        )
    done = []
    for rule, planned in zip(rules.tables, plans, strict=True):
        with connect(request.dsn, read_only=False, database=rule.database) as conn:
            before = _database_size(conn)
            total, count = max(planned.rows, 1), [0]

            def rows(n: int, total: int = total, count: list[int] = count, table: str = rule.table) -> None:
                count[0] += n
                progress(f"{table}: {count[0]:,}/{total:,} rows archived and deleted")

            result = run_rule(conn, rule, on_rows=rows)
            after = _database_size(conn)
        if request.vacuum:
            progress(f"VACUUM (ANALYZE) {rule.qualified}...")
            _vacuum(request.dsn, rule)
            with connect(request.dsn, database=rule.database) as conn:
                after = _database_size(conn)
        done.append(
            {
                "table": rule.table, "cutoff": result.cutoff, "deleted_rows": result.deleted_rows,
                "archived_rows": result.archived_rows, "files": len(result.files),
                "archive_dir": rule.archive.dir if rule.archive else None, "batches": result.batches,
                "resumed": result.resumed, "database_bytes_before": before, "database_bytes_after": after,
                "vacuumed": request.vacuum,
            }
        )  # fmt: skip
    return RetentionRunResult(tables=pl.DataFrame(done, schema=RUN_SCHEMA))


def restore(request: RestoreRequest, progress: Progress = no_progress) -> RestoreResult:
    from kubetally.actions.retention.restore import archive_files
    from kubetally.actions.retention.restore import restore as restore_files
    from kubetally.sources.postgres import connect

    table, database = request.table, None
    if table.count(".") == 2:  # the policy's database.schema.table: the DSN names the database
        database, table = table.split(".", 1)
    files = archive_files(request.archive, table)
    if not files:
        raise KubetallyError(f"--archive {request.archive}: no archive files of {table}")
    target = request.into or (files[0].table if "." not in table else table)
    if "." not in target:
        raise KubetallyError(f"--into {target}: give schema.table")
    progress("verifying and reading archive files...")
    with connect(request.dsn, read_only=not request.yes) as conn:
        if database is not None and conn.info.dbname != database:
            raise KubetallyError(f"--table {database}.{table}: --dsn connects to database {conn.info.dbname!r}")

        def on_file(done: Any) -> None:
            progress(f"{done.path.name}: {done.selected:,} rows")

        results = restore_files(
            conn, files, into=target, start=request.start, end=request.end, apply=request.yes, on_file=on_file
        )
    return RestoreResult(
        target=target,
        files=len(results),
        selected=sum(r.selected for r in results),
        present=sum(r.present for r in results),
        restored=sum(r.restored for r in results) if request.yes else 0,
        applied=request.yes,
    )


def cronjob(request: CronJobRequest, progress: Progress = no_progress) -> CronJobResult:
    from kubetally.actions.retention.cronjob import cronjob_yaml

    rules = policy_of(request.policy)
    given = request.model_dump(include=set(CronJobSettings.model_fields))
    settings = validated(CronJobSettings, given, where="retention cronjob")
    settings.check(rules)
    return CronJobResult(manifests=cronjob_yaml(request.policy.read_text(), settings))
