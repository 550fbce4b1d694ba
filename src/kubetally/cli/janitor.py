"""`kubetally janitor`: delete what has expired or is wasted — dry-run by default (docs/janitor.md).

Thin: connect, list, plan (kubetally.actions.janitor.plan, where every safety rule lives), print
the plan; with ``--yes`` carry it out (journaled, resumable).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kubetally.actions.janitor import client as kube
from kubetally.actions.janitor.execute import Journal, run, start
from kubetally.actions.janitor.plan import Obj, Plan, plan
from kubetally.actions.janitor.rules import KINDS, JanitorRules, parse_expires, rules_from_text, selector_option
from kubetally.cli import legacy as app
from kubetally.cli.janitor_offhours import offhours
from kubetally.cli.options import stderr
from kubetally.errors import ConfigError
from kubetally.outputs.terminal import console

OUTPUTS = ("table", "json")


def _rules(path: Path | None, max_deletions: int | None, max_percent: float | None) -> JanitorRules:
    base = JanitorRules()
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"--rules {path}: cannot read it: {exc.strerror}") from None
        base = rules_from_text(text, where=str(path))
    updates: dict[str, Any] = {}
    if max_deletions is not None:
        updates["max_deletions"] = max_deletions
    if max_percent is not None:
        if not 0 < max_percent <= 100:
            raise ConfigError(f"--max-percent {max_percent:g}: must be more than 0 and at most 100")
        updates["max_percent"] = max_percent
    return base.model_copy(update=updates)


def _list(client: kube.Client) -> tuple[list[Obj], list[str]]:
    objects: list[Obj] = []
    notes: list[str] = []
    with stderr.status("listing objects...") as status:
        for kind in KINDS:
            status.update(f"listing {kind}...")
            try:
                objects += list(client.list(kind))
            except PermissionError as exc:
                notes.append(f"{exc}: no {kind} is deleted")
    return objects, notes


def _waste_targets(objects: list[Obj], rules: JanitorRules) -> dict[str, set[tuple[str, str, str]]]:
    """Waste rule id -> objects it reports, for the rules that name one (computed from the listed objects)."""
    wanted = {r.waste_rule for r in rules.rules if r.waste_rule}
    if not wanted:
        return {}
    from kubetally.analysis.waste import WasteSettings, findings
    from kubetally.sources.kubernetes import dataset_from_objects

    ds = dataset_from_objects(objects, cluster_name="live", source="janitor")
    report = findings(ds, settings=WasteSettings(), book=None)
    out: dict[str, set[tuple[str, str, str]]] = {w: set() for w in wanted if w}
    for row in report.findings.iter_rows(named=True):
        if row["rule"] in out:
            out[row["rule"]].add((row["kind"], row["namespace"], row["name"]))
    return out


def plan_table(p: Plan, *, title: str) -> Table:
    table = Table(title=title)
    for column in ("#", "kind", "namespace", "name", "why"):
        table.add_column(column)
    for i, item in enumerate(p.items, 1):
        table.add_row(str(i), item.kind, item.namespace or "-", item.name, item.reason)
    return table


def _show(p: Plan, *, output: str, yes: bool) -> None:
    if output == "json":
        typer.echo(json.dumps(p.as_dict(), indent=2))
        return
    out = console()
    out.print(plan_table(p, title=f"janitor plan: {len(p.items)} deletion(s), in this order"))
    for r in p.refused:
        out.print(f"kept: {r.kind} {r.namespace + '/' if r.namespace else ''}{r.name}: {r.reason}", highlight=False)
    for problem in p.problems:
        out.print(f"[yellow]warning:[/] {problem}", highlight=False)
    if not yes and p.items and p.blocked is None:
        out.print("dry-run: nothing deleted. Run again with --yes to delete these objects.")


@app.command("janitor")
def janitor_command(
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="kubeconfig of the cluster (default $KUBECONFIG, ~/.kube/config)."),
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Context of the kubeconfig.")] = None,
    in_cluster: Annotated[
        bool, typer.Option("--in-cluster", help="Use the pod's service account (the janitor runs in the cluster).")
    ] = False,
    offhours_file: Annotated[
        Path | None,
        typer.Option(
            "--offhours",
            help="Instead of deleting: put the off-hours plans of this 'kubetally scale -o json' file on the "
            "workloads as downscaler/uptime annotations.",
        ),
    ] = None,
    downscale: Annotated[
        bool,
        typer.Option(
            "--downscale",
            help="Instead of deleting: scale Deployments/StatefulSets annotated downscaler/uptime to 0 outside "
            "their uptime and back inside it (as kube-downscaler; run it every few minutes).",
        ),
    ] = False,
    rules_file: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Rules file (YAML): kinds, namespaces, selectors, ages, waste rules, "
            "ephemeral namespaces, limits (docs/janitor.md).",
        ),
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option(
            "--selector",
            "-l",
            help="Also delete every object with these labels (e.g. ci-run=1234), namespaces included: CI clean-up.",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Delete. Without it the janitor only prints its plan.")] = False,
    server_dry_run: Annotated[
        bool,
        typer.Option(
            "--server-dry-run", help="Send the DELETEs with dryRun=All: the API server checks them, nothing is deleted."
        ),
    ] = False,
    max_deletions: Annotated[
        int | None,
        typer.Option("--max-deletions", help="Abort a plan with more deletions or changes (default 25).", min=0),
    ] = None,
    max_percent: Annotated[
        float | None,
        typer.Option("--max-percent", help="Abort a plan deleting more than this % of a kind's objects (default 50)."),
    ] = None,
    audit_log: Annotated[
        Path, typer.Option("--audit-log", help="Audit log and journal (JSON lines); a killed run resumes from it.")
    ] = Path("kubetally-janitor.jsonl"),
    own_namespace: Annotated[
        str | None,
        typer.Option("--own-namespace", help="The janitor's own namespace, never touched (default $POD_NAMESPACE)."),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Plan as of this time (ISO 8601, UTC), to review a plan ahead.")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Plan output: table or json.")] = "table",
) -> None:
    """Delete expired and wasted objects: janitor/ttl and janitor/expires annotations, a rules file, --selector.

    Dry-run by default: prints the plan (what, why, in which order) and deletes nothing. With
    --yes it deletes in order (workloads before the objects they use, namespaces last) with
    propagationPolicy Foreground, writes every action to the audit log and as a Kubernetes Event.
    Protected namespaces and objects annotated kubetally.io/protect: "true" are never touched; a plan
    larger than the blast-radius limits is refused whole. Killed in the middle, the next run finishes
    the same plan and deletes nothing outside it.

    Off-hours, with the same safety rules, dry run and audit log: --offhours FILE annotates the
    workloads of a 'kubetally scale -o json' plan with downscaler/uptime; --downscale scales the
    annotated workloads down outside their uptime and back up inside it.
    """
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}; choose {', '.join(OUTPUTS)}")
    if yes and server_dry_run:
        raise ConfigError("--yes deletes and --server-dry-run does not: give one of them")
    rules = _rules(rules_file, max_deletions, max_percent)
    labels = selector_option(selector) if selector is not None else None
    try:
        at = parse_expires(now) if now is not None else datetime.now(UTC)
    except ValueError as exc:
        raise ConfigError(f"--now: {exc}") from None
    if offhours_file is not None and downscale:
        raise ConfigError("--offhours FILE annotates and --downscale scales: give one of them")
    if (offhours_file is not None or downscale) and (selector is not None or rules_file is not None or server_dry_run):
        raise ConfigError("--offhours/--downscale change workloads; --selector, --rules and --server-dry-run are "
                          "for deletions: run them separately")  # fmt: skip
    own = own_namespace or os.environ.get("POD_NAMESPACE")
    journal = Journal(audit_log)
    client = kube.Client(kube.connection(kubeconfig, context, in_cluster=in_cluster))
    try:
        if offhours_file is not None or downscale:
            offhours(client, journal, plan_file=offhours_file, now=at, rules=rules, own_namespace=own, yes=yes,
                     output=output)  # fmt: skip
            return
        resume = journal.unfinished() if yes else None
        if resume is not None:
            plan_id, items, done = resume
            stderr.print(
                f"resuming plan {plan_id} from {audit_log}: {len(items) - len(done)} of {len(items)} deletion(s) left "
                "(no new plan until it is finished)",
                highlight=False,
            )
            _execute(client, journal, plan_id, items, done)
            return
        objects, notes = _list(client)
        for note in notes:
            stderr.print(f"[yellow]note:[/] {note}", highlight=False)
        p = plan(objects, now=at, rules=rules, selector=labels, own_namespace=own,
                 waste=_waste_targets(objects, rules))  # fmt: skip
        _show(p, output=output, yes=yes)
        if p.blocked is not None:
            stderr.print(f"[bold red]refused:[/] {p.blocked}", highlight=False)
            raise typer.Exit(4)
        if server_dry_run:
            for item in p.items:
                result = client.delete(item.kind, item.namespace, item.name, uid=item.uid, dry_run=True)
                stderr.print(f"server dry-run {item.kind} {item.namespace}/{item.name}: {result}", highlight=False)
            return
        if not yes or not p.items:
            return
        plan_id = start(journal, p.items, context=client.conn.context)
        _execute(client, journal, plan_id, p.items, set())
    finally:
        client.close()


def _execute(client: kube.Client, journal: Journal, plan_id: str, items: list[Any], done: set[Any]) -> None:
    def progress(item: Any, result: str) -> None:
        where = f"{item.namespace}/" if item.namespace else ""
        stderr.print(f"{result}: {item.kind} {where}{item.name}", highlight=False)

    counts = run(plan_id, items, client, journal, done=done, progress=progress)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    stderr.print(f"[green]plan {plan_id} finished:[/] {summary}; audit log {journal.path}", highlight=False)
