"""`kubetally janitor --offhours FILE` and `--downscale`: the off-hours changes, shown and carried out like deletions.

Thin: list the workloads, plan (kubetally.actions.janitor.downscale, where the rules live), print the
plan; with ``--yes`` patch (journaled, resumable, an Event per change).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from kubetally.actions.janitor import client as kube
from kubetally.actions.janitor.downscale import Change, ChangePlan, annotate_plan, downscale_plan, plans_from_scale_json
from kubetally.actions.janitor.execute import Journal, run_changes, start_changes, unfinished_changes
from kubetally.actions.janitor.plan import Obj
from kubetally.actions.janitor.rules import JanitorRules
from kubetally.cli.options import stderr
from kubetally.errors import ConfigError
from kubetally.outputs.terminal import console

KINDS = ("Namespace", "Deployment", "StatefulSet")


def change_table(p: ChangePlan, *, title: str) -> Table:
    table = Table(title=title)
    for column in ("#", "change", "kind", "namespace", "name", "why"):
        table.add_column(column)
    for i, change in enumerate(p.changes, 1):
        table.add_row(str(i), change.action, change.kind, change.namespace, change.name, change.reason)
    return table


def _show(p: ChangePlan, *, output: str, yes: bool) -> None:
    if output == "json":
        typer.echo(json.dumps(p.as_dict(), indent=2))
        return
    out = console()
    out.print(change_table(p, title=f"janitor off-hours plan: {len(p.changes)} change(s)"))
    for r in p.refused:
        out.print(f"kept: {r.kind} {r.namespace}/{r.name}: {r.reason}", highlight=False)
    for problem in p.problems:
        out.print(f"[yellow]warning:[/] {problem}", highlight=False)
    if not yes and p.changes and p.blocked is None:
        out.print("dry-run: nothing changed. Run again with --yes to make these changes.")


def _execute(
    client: kube.Client, journal: Journal, plan_id: str, p: ChangePlan, done: set[tuple[str, str, str]]
) -> None:
    def progress(change: Change, result: str) -> None:
        stderr.print(f"{result}: {change.action} {change.kind} {change.namespace}/{change.name}", highlight=False)

    counts = run_changes(plan_id, p.changes, client, journal, done=done, progress=progress)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    stderr.print(f"[green]plan {plan_id} finished:[/] {summary}; audit log {journal.path}", highlight=False)


def offhours(
    client: kube.Client,
    journal: Journal,
    *,
    plan_file: Path | None,
    now: datetime,
    rules: JanitorRules,
    own_namespace: str | None,
    yes: bool,
    output: str,
) -> None:
    """``plan_file``: annotate from that scale plan; None: scale by the annotations at ``now``."""
    plans = None
    if plan_file is not None:
        try:
            text = plan_file.read_text()
        except OSError as exc:
            raise ConfigError(f"--offhours {plan_file}: cannot read it: {exc.strerror}") from None
        plans = plans_from_scale_json(text, source=f"--offhours {plan_file}")
    resume = unfinished_changes(journal) if yes else None
    if resume is not None:
        plan_id, changes, done = resume
        stderr.print(f"resuming plan {plan_id} from {journal.path}: {len(changes) - len(done)} of {len(changes)} "
                     "change(s) left (no new plan until it is finished)", highlight=False)  # fmt: skip
        _execute(client, journal, plan_id, ChangePlan(changes=changes), done)
        return
    objects: list[Obj] = []
    with stderr.status("listing workloads..."):
        for kind in KINDS:
            try:
                objects += list(client.list(kind))
            except PermissionError as exc:
                raise ConfigError(f"{exc}: the off-hours plan needs to read {kind} objects") from None
    if plans is not None:
        p = annotate_plan(objects, plans, rules=rules, own_namespace=own_namespace)
    else:
        p = downscale_plan(objects, now=now, rules=rules, own_namespace=own_namespace)
    _show(p, output=output, yes=yes)
    if p.blocked is not None:
        stderr.print(f"[bold red]refused:[/] {p.blocked}", highlight=False)
        raise typer.Exit(4)
    if not yes or not p.changes:
        return
    _execute(client, journal, start_changes(journal, p.changes, context=client.conn.context), p, set())
