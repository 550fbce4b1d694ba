"""`kubetally retention`: archive old rows to verified Parquet files and delete them, by a policy file.

``plan`` reads only; ``run`` is a dry run unless ``--yes``; ``restore`` loads archived rows back
(a dry run unless ``--yes``); ``cronjob`` prints the Kubernetes objects that run a policy nightly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from kubetally.cli import legacy as app
from kubetally.cli.options import OutputFormatOpt, stderr
from kubetally.errors import ConfigError, KubetallyError
from kubetally.model.retention import RetentionPolicy, TableRule, parse_policy_text

retention_app = typer.Typer(
    name="retention",
    help="Archive rows older than a policy's `keep` to verified Parquet files, then delete them (dry run unless "
    "--yes); restore them; run it as a CronJob. See docs/retention.md.",
    no_args_is_help=True,
)
app.add_typer(retention_app)

DsnOpt = Annotated[
    str,
    typer.Option(
        "--dsn",
        envvar="KUBETALLY_DSN",
        help="PostgreSQL connection string, e.g. postgresql://user@host:5432/db (or $KUBETALLY_DSN). A password "
        "is best left to ~/.pgpass or $PGPASSWORD. A policy table named database.schema.table is read in that "
        "database on the same server.",
    ),
]
PolicyOpt = Annotated[
    Path, typer.Option("--policy", help="The retention policy file (YAML, see docs/retention.md).", show_default=False)
]
TableOpt = Annotated[
    list[str] | None,
    typer.Option("--table", help="Only this table of the policy (schema.table as written there); repeatable."),
]


def load_policy(path: Path, tables: list[str] | None = None) -> RetentionPolicy:
    """The policy file, validated; ``--table`` narrows it to the named rules."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--policy {path}: {exc.strerror}") from None
    policy = parse_policy_text(text, where=str(path))
    if not tables:
        return policy
    chosen = [rule for rule in policy.tables if rule.table in tables or rule.qualified in tables]
    unknown = [t for t in tables if not any(t in (r.table, r.qualified) for r in policy.tables)]
    if unknown:
        names = ", ".join(r.table for r in policy.tables)
        raise KubetallyError(f"--table {', '.join(unknown)}: not in {path} (it has {names})")
    return RetentionPolicy(tables=tuple(chosen))


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _plans(dsn: str, policy: RetentionPolicy) -> list[Any]:
    from kubetally.actions.retention import plan
    from kubetally.sources.postgres import connect

    plans = []
    for rule in policy.tables:
        with connect(dsn, database=rule.database) as conn, stderr.status(f"planning {rule.table}..."):
            plans.append(plan(conn, rule))
    return plans


def _batch_frame(plans: list[Any], policy: RetentionPolicy) -> pl.DataFrame:
    rows = [
        {
            "table": p.table,
            "action": "archive+delete" if rule.archive else "purge",
            "cutoff": p.cutoff,
            "batch": b.batch,
            "partition": b.partition,
            "rows": b.rows,
            "bytes": b.bytes,
            "time_from": b.time_lo,
            "time_to": b.time_hi,
        }
        for p, rule in zip(plans, policy.tables, strict=True)
        for b in p.batches
    ]
    schema: dict[str, Any] = {
        "table": pl.String, "action": pl.String, "cutoff": pl.Datetime("us", "UTC"), "batch": pl.Int64,
        "partition": pl.String, "rows": pl.Int64, "bytes": pl.Int64,
        "time_from": pl.Datetime("us", "UTC"), "time_to": pl.Datetime("us", "UTC"),
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _print_plans(plans: list[Any], policy: RetentionPolicy, *, batch_limit: int = 12) -> None:
    from rich.table import Table

    from kubetally.outputs.terminal import console as make_console

    out = make_console()
    summary = Table(title="Retention plan", title_justify="left")
    for header in ("table", "keep", "cutoff", "action", "batches", "rows", "bytes", "oldest", "newest"):
        summary.add_column(header, justify="right" if header in ("batches", "rows", "bytes") else "left")
    for p, rule in zip(plans, policy.tables, strict=True):
        action = "archive, delete" if rule.archive else "[bold red]purge: delete, no archive[/]"
        if p.batches and p.batches[0].partition:
            action = action.replace("delete", "drop partitions")
        lo = min((b.time_lo for b in p.batches if b.time_lo), default=None)
        hi = max((b.time_hi for b in p.batches if b.time_hi), default=None)
        summary.add_row(
            rule.table, rule.keep, _when(p.cutoff), action, str(len(p.batches)), f"{p.rows:,}", _size(p.bytes),
            _when(lo), _when(hi),
        )  # fmt: skip
    out.print(summary)
    for rule in policy.tables:
        if rule.archive:
            out.print(f"{rule.table}: archive files (Parquet, {rule.archive.compression}) in {rule.archive.dir}",
                      highlight=False)  # fmt: skip
    for p in plans:
        if p.unfinished:
            out.print(f"[yellow]note:[/] {p.table}: {p.unfinished} batch(es) a previous run left unfinished are "
                      "verified and finished first")  # fmt: skip
        if not p.batches:
            continue
        table = Table(title=f"{p.table}: batches", title_justify="left")
        parts = any(b.partition for b in p.batches)
        for header in ("batch", "partition", "rows", "bytes", "from", "to"):
            if header != "partition" or parts:
                table.add_column(header, justify="right" if header in ("batch", "rows", "bytes") else "left")
        shown = p.batches if len(p.batches) <= batch_limit else p.batches[: batch_limit - 1]
        for b in shown:
            cells = [str(b.batch), b.partition or "", f"{b.rows:,}", _size(b.bytes), _when(b.time_lo), _when(b.time_hi)]
            table.add_row(*(cells if parts else cells[:1] + cells[2:]))
        if len(shown) < len(p.batches):
            rest = p.batches[len(shown) :]
            cells = [f"... {len(rest)} more", "", f"{sum(b.rows for b in rest):,}", _size(sum(b.bytes for b in rest)),
                     _when(rest[0].time_lo), _when(rest[-1].time_hi)]  # fmt: skip
            table.add_row(*(cells if parts else cells[:1] + cells[2:]))
        out.print(table)


@retention_app.command("plan")
def plan_command(dsn: DsnOpt, policy: PolicyOpt, table: TableOpt = None, output: OutputFormatOpt = "table") -> None:
    """What a run would archive and delete now: per table the cutoff (now - keep), rows, bytes and time range, and
    each batch. Reads only (a read-only role is enough); nothing is written."""
    from kubetally.outputs.formats import render

    rules = load_policy(policy, table)
    plans = _plans(dsn, rules)
    if output != "table":
        typer.echo(render(_batch_frame(plans, rules), output), nl=False)
        return
    _print_plans(plans, rules)
    stderr.print("nothing written (plan); `kubetally retention run --yes` archives and deletes these rows")


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


@retention_app.command("run")
def run_command(
    dsn: DsnOpt,
    policy: PolicyOpt,
    table: TableOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Archive and delete for real. Without it: print the plan, change nothing.")
    ] = False,
    vacuum: Annotated[
        bool, typer.Option("--vacuum", help="After each table, VACUUM (ANALYZE) it (space reusable, fresh stats).")
    ] = False,
) -> None:
    """Archive every row older than `keep` and delete it: per batch, copy to Parquet (zstd), fsync, read back and
    verify (row count and primary-key checksum), journal the batch, then delete exactly those rows in one short
    transaction. Partitioned tables: detach, archive, verify, drop whole partitions. Killed at any point and run
    again, it archives each row exactly once. A dry run (the plan) unless --yes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from kubetally.actions.retention import run
    from kubetally.outputs.terminal import console as make_console
    from kubetally.sources.postgres import connect

    rules = load_policy(policy, table)
    plans = _plans(dsn, rules)
    if not yes:
        _print_plans(plans, rules)
        stderr.print("[bold]dry run:[/] nothing archived or deleted; add --yes to run the plan above")
        return
    out = make_console()
    for rule, planned in zip(rules.tables, plans, strict=True):
        with connect(dsn, read_only=False, database=rule.database) as conn:
            before = _database_size(conn)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=stderr, transient=True) as progress:
                task = progress.add_task(f"{rule.table}: rows archived and deleted", total=max(planned.rows, 1))
                result = run(conn, rule, on_rows=lambda n, task=task: progress.advance(task, n))  # type: ignore[misc]
            after = _database_size(conn)
        if vacuum:
            with stderr.status(f"VACUUM (ANALYZE) {rule.qualified}..."):
                _vacuum(dsn, rule)
            with connect(dsn, database=rule.database) as conn:
                after = _database_size(conn)
        where = f" into {len(result.files)} files in {rule.archive.dir}" if rule.archive else " (purged, no archive)"
        resumed = f", {result.resumed} batch(es) of an earlier run finished" if result.resumed else ""
        out.print(
            f"[green]✓[/] {rule.table}: {result.deleted_rows:,} rows older than {_when(result.cutoff)} deleted, "
            f"{result.archived_rows:,} archived{where} ({result.batches} batches{resumed}); database "
            f"{_size(before)} → {_size(after)}{' after VACUUM' if vacuum else ''}",
            highlight=False,
        )


def _parse_time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise KubetallyError(f"{option} {text!r}: not a date or time (2026-09-01 or 2026-09-01T12:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@retention_app.command("restore")
def restore_command(
    dsn: DsnOpt,
    archive: Annotated[Path, typer.Option("--archive", help="The archive directory of the table.", show_default=False)],
    table: Annotated[
        str,
        typer.Option(
            "--table",
            help="The table the files came from: as written in the policy (database.schema.table or schema.table), "
            "or just the table.",
            show_default=False,
        ),
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="Only rows at or after this time (ISO date/time, UTC if no zone).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Only rows before this time.")] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Restore into this schema.table (same columns) instead of --table.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Insert the rows. Without it: count them, change nothing.")
    ] = False,
) -> None:
    """Load archived rows back into the table, skipping rows whose primary key is already present. Each file is
    verified against its checksum first. A dry run (counts only) unless --yes. Rows older than the policy's keep
    are archived again by the next run: restore into another table (--into) to look at them for longer."""
    from kubetally.actions.retention.restore import archive_files, restore
    from kubetally.outputs.terminal import console as make_console
    from kubetally.sources.postgres import connect

    lo, hi = _parse_time("--from", start), _parse_time("--to", end)
    if lo is not None and hi is not None and lo >= hi:
        raise KubetallyError(f"--from {start} is not before --to {end}")
    database = None
    if table.count(".") == 2:  # the policy's database.schema.table: the DSN names the database
        database, table = table.split(".", 1)
    files = archive_files(archive, table)
    if not files:
        raise KubetallyError(f"--archive {archive}: no archive files of {table}")
    target = into or (files[0].table if "." not in table else table)
    if "." not in target:
        raise KubetallyError(f"--into {target}: give schema.table")
    out = make_console()
    with connect(dsn, read_only=not yes) as conn, stderr.status("verifying and reading archive files...") as status:
        if database is not None and conn.info.dbname != database:
            raise KubetallyError(f"--table {database}.{table}: --dsn connects to database {conn.info.dbname!r}")

        def progress(done: Any) -> None:
            status.update(f"{done.path.name}: {done.selected:,} rows")

        results = restore(conn, files, into=target, start=lo, end=hi, apply=yes, on_file=progress)
    selected = sum(r.selected for r in results)
    present = sum(r.present for r in results)
    if yes:
        restored = sum(r.restored for r in results)
        out.print(f"[green]✓[/] {restored:,} rows restored into {target} from {len(results)} files; "
                  f"{present:,} already present were skipped", highlight=False)  # fmt: skip
    else:
        out.print(f"dry run: {selected:,} rows in {len(results)} verified files, {present:,} already in {target}; "
                  f"add --yes to restore the other {selected - present:,}", highlight=False)  # fmt: skip


@retention_app.command("cronjob")
def cronjob_command(
    policy: PolicyOpt,
    image: Annotated[
        str, typer.Option("--image", help="A container image with kubetally installed.", show_default=False)
    ],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the CronJob.")] = "default",
    name: Annotated[
        str, typer.Option("--name", help="Name of the CronJob and of its ConfigMap.")
    ] = "kubetally-retention",
    schedule: Annotated[
        str, typer.Option("--schedule", help="Cron schedule (the cluster's time zone).")
    ] = "30 2 * * *",
    secret: Annotated[
        str,
        typer.Option(
            "--secret", help="Secret with the DSN (kubectl create secret generic NAME --from-literal=dsn=...)."
        ),
    ] = "kubetally-retention-dsn",
    secret_key: Annotated[str, typer.Option("--secret-key", help="Key of the DSN in the Secret.")] = "dsn",
    archive_claim: Annotated[
        str | None, typer.Option("--archive-claim", help="PersistentVolumeClaim that keeps the archive files.")
    ] = None,
    archive_mount: Annotated[
        str,
        typer.Option("--archive-mount", help="Where the claim is mounted; the policy's archive dirs must be under it."),
    ] = "/archive",
    vacuum: Annotated[bool, typer.Option("--vacuum", help="Run VACUUM (ANALYZE) after each table.")] = False,
) -> None:
    """Print a ConfigMap (the policy file) and a CronJob that runs `kubetally retention run --yes` with it nightly,
    reading the DSN from a Secret. Apply with `kubectl apply -f -`."""
    from kubetally.actions.retention.cronjob import cronjob_yaml
    from kubetally.model.config import validated
    from kubetally.model.retention import CronJobSettings

    rules = load_policy(policy)
    given = {
        "name": name, "namespace": namespace, "schedule": schedule, "image": image, "secret": secret,
        "secret_key": secret_key, "archive_claim": archive_claim, "archive_mount": archive_mount, "vacuum": vacuum,
    }  # fmt: skip
    settings = validated(CronJobSettings, given, where="retention cronjob")
    settings.check(rules)
    typer.echo(cronjob_yaml(policy.read_text(), settings), nl=False)
