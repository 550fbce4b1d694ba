"""Janitor: delete what has expired or is wasted, or apply the off-hours plan — dry-run by default (docs/janitor.md).

The request holds every option once; the plan and every safety rule live in kubetally.actions.janitor
(plan.py for deletions, downscale.py for off-hours changes, execute.py for the journaled run).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from kubetally.actions.janitor import client as kube
from kubetally.actions.janitor.downscale import (
    ChangePlan,
    OffHoursPlan,
    annotate_plan,
    downscale_plan,
    plans_from_scale_json,
)
from kubetally.actions.janitor.execute import (
    Journal,
    run,
    run_changes,
    start,
    start_changes,
    unfinished_changes,
)
from kubetally.actions.janitor.plan import Obj, Plan, plan
from kubetally.actions.janitor.rules import KINDS, JanitorRules, parse_expires, parse_selector, rules_from_text
from kubetally.app.base import Progress, Request, cli, like, no_progress
from kubetally.errors import ConfigError
from kubetally.outputs.janitor import JanitorResult, Kept, Mode, Step
from kubetally.sources.kubernetes.settings import KubeConnection

SCALED_KINDS = ("Namespace", "Deployment", "StatefulSet")
"""What the off-hours plans list: the workloads, and the namespaces for their environment label."""


class JanitorRequest(Request):
    """Delete expired and wasted objects: janitor/ttl and janitor/expires annotations, a rules file, --selector.

    Dry-run by default: prints the plan (what, why, in which order) and deletes nothing. With
    --yes it deletes in order (workloads before the objects they use, namespaces last) with
    propagationPolicy Foreground, writes every action to the audit log and as a Kubernetes Event.
    Protected namespaces and objects annotated kubetally.io/protect: "true" are never touched; a plan
    larger than the blast-radius limits is refused whole (exit 4). Killed in the middle, the next run
    finishes the same plan and deletes nothing outside it.

    Off-hours, with the same safety rules, dry run and audit log: --offhours FILE annotates the
    workloads of a 'kubetally scale -o json' plan with downscaler/uptime; --downscale scales the
    annotated workloads down outside their uptime and back up inside it."""

    kubeconfig: Path | None = Field(
        None,
        description="kubeconfig of the cluster (default $KUBECONFIG, ~/.kube/config).",
        json_schema_extra=cli(metavar="FILE"),
    )
    context: str | None = Field(
        None,
        description="Context of the kubeconfig (default: its current-context).",
        json_schema_extra=cli(metavar="NAME"),
    )
    in_cluster: bool = Field(False, description="Use the pod's service account (the janitor runs in the cluster).")
    offhours: Path | None = Field(
        None,
        description="Instead of deleting: put the off-hours plans of this 'kubetally scale -o json' file on the "
        "workloads as downscaler/uptime annotations.",
        json_schema_extra=cli(metavar="FILE"),
    )
    downscale: bool = Field(
        False,
        description="Instead of deleting: scale Deployments/StatefulSets annotated downscaler/uptime to 0 outside "
        "their uptime and back inside it (as kube-downscaler; run it every few minutes).",
    )
    rules: Path | None = Field(
        None,
        description="Rules file (YAML): kinds, namespaces, selectors, ages, waste rules, ephemeral namespaces, "
        "limits (docs/janitor.md).",
        json_schema_extra=cli(metavar="FILE"),
    )
    selector: str | None = Field(
        None,
        description="Also delete every object with these labels (e.g. ci-run=1234), namespaces included: CI clean-up.",
        json_schema_extra=cli(short="-l", metavar="KEY=VALUE[,...]"),
    )
    yes: bool = Field(False, description="Delete (or change). Without it the janitor only prints its plan.")
    server_dry_run: bool = Field(
        False, description="Send the DELETEs with dryRun=All: the API server checks them, nothing is deleted."
    )
    max_deletions: int | None = like(
        JanitorRules,
        "max_deletions",
        default=None,
        description="Abort a plan with more deletions or changes (default: the rules file's, else 25).",
    )
    max_percent: float | None = like(
        JanitorRules,
        "max_percent",
        default=None,
        description="Abort a plan deleting or changing more than this % of a kind's objects, when 2 or more "
        "(default: the rules file's, else 50).",
    )
    audit_log: Path = Field(
        Path("kubetally-janitor.jsonl"),
        description="Audit log and journal (JSON lines); a killed run resumes from it.",
        json_schema_extra=cli(metavar="FILE"),
    )
    own_namespace: str | None = Field(
        None,
        description="The janitor's own namespace, never touched.",
        json_schema_extra=cli(env="POD_NAMESPACE", metavar="NAME"),
    )
    now: datetime | None = Field(
        None,
        description="Plan as of this time (ISO 8601, UTC when no offset), to review a plan ahead.",
        json_schema_extra=cli(metavar="TIME"),
    )
    output: Literal["table", "json"] = Field("table", json_schema_extra=cli(short="-o"))

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None:
            parse_selector(value)  # ValueError: one line naming --selector
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        return parse_expires(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_thing(self) -> JanitorRequest:
        if self.yes and self.server_dry_run:
            raise ValueError("--yes deletes and --server-dry-run does not: give one of them")
        if self.offhours is not None and self.downscale:
            raise ValueError("--offhours FILE annotates and --downscale scales: give one of them")
        if (self.offhours is not None or self.downscale) and (
            self.selector is not None or self.rules is not None or self.server_dry_run
        ):
            raise ValueError(
                "--offhours/--downscale change workloads; --selector, --rules and --server-dry-run are for "
                "deletions: run them separately"
            )
        self.connection()  # the Kubernetes source's rule: --kubeconfig or --in-cluster, --context needs a kubeconfig
        return self

    def connection(self) -> KubeConnection:
        try:
            return KubeConnection(kubeconfig=self.kubeconfig, context=self.context, in_cluster=self.in_cluster)
        except ValidationError as exc:
            raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None

    @property
    def mode(self) -> Mode:
        return "annotate" if self.offhours is not None else "downscale" if self.downscale else "delete"


def janitor_rules(request: JanitorRequest) -> JanitorRules:
    """The rules file (or the defaults), with --max-deletions/--max-percent over its limits."""
    base = JanitorRules()
    if request.rules is not None:
        try:
            text = request.rules.read_text()
        except OSError as exc:
            raise ConfigError(f"--rules {request.rules}: cannot read it: {exc.strerror}") from None
        base = rules_from_text(text, where=str(request.rules))
    updates = {k: v for k in ("max_deletions", "max_percent") if (v := getattr(request, k)) is not None}
    return base.model_copy(update=updates)


def _list(
    client: kube.Client, kinds: tuple[str, ...], progress: Progress, *, required: bool
) -> tuple[list[Obj], list[str]]:
    objects: list[Obj] = []
    notes: list[str] = []
    for kind in kinds:
        progress(f"listing {kind}...")
        try:
            objects += list(client.list(kind))
        except PermissionError as exc:
            if required:
                raise ConfigError(f"{exc}: the off-hours plan needs to read {kind} objects") from None
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


def _summary(plan_id: str, counts: dict[str, int], journal: Journal) -> str:
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    return f"[green]plan {plan_id} finished:[/] {summary}; audit log {journal.path}"


def _planned(mode: Mode, p: Plan | ChangePlan, notes: list[str]) -> dict[str, Any]:
    """What every janitor result says of its plan, carried out or not."""
    kept = tuple(Kept(r.kind, r.namespace, r.name, r.reason) for r in p.refused)
    return {"mode": mode, "plan": p.as_dict(), "kept": kept, "blocked": p.blocked, "notes": tuple(notes),
            "warnings": tuple(p.problems)}  # fmt: skip


def _not_carried_out(base: dict[str, Any], steps: list[Step], *, act: bool) -> JanitorResult | None:
    """The result of a plan that stops here: refused by a safety limit, or a dry run (or nothing to do)."""
    if base["blocked"] is not None:
        refused = (f"[bold red]refused:[/] {base['blocked']}",)
        return JanitorResult(**base, steps=tuple(steps), messages=refused, exit_code=4)
    return None if act else JanitorResult(**base, steps=tuple(steps))


def _with_results(steps: list[Step], results: dict[tuple[str, str, str], str]) -> tuple[Step, ...]:
    return tuple(replace(s, result=results.get((s.kind, s.namespace, s.name))) for s in steps)


def _deletions(request: JanitorRequest, client: kube.Client, journal: Journal, progress: Progress) -> JanitorResult:
    rules = janitor_rules(request)
    resume = journal.unfinished() if request.yes else None
    notes: list[str] = []
    if resume is not None:
        plan_id, items, done = resume
        p = Plan(items=sorted(items))
        notes.append(f"resuming plan {plan_id} from {journal.path} (no new plan until it is finished)")
    else:
        objects, notes = _list(client, KINDS, progress, required=False)
        p = plan(objects, now=request.now or datetime.now(UTC), rules=rules,
                 selector=parse_selector(request.selector) if request.selector is not None else None,
                 own_namespace=request.own_namespace, waste=_waste_targets(objects, rules))  # fmt: skip
        plan_id, done = "", set()
    base = _planned("delete", p, notes)
    steps = [Step(i.kind, i.namespace, i.name, i.reason) for i in p.items]
    if stop := _not_carried_out(base, steps, act=(request.yes or request.server_dry_run) and bool(p.items)):
        return stop
    results: dict[tuple[str, str, str], str] = {}
    lines: list[str] = []

    def step_done(item: Any, result: str) -> None:
        results[item.key()] = result
        where = f"{item.namespace}/" if item.namespace else ""
        progress(f"{result}: {item.kind} {where}{item.name}")  # the table's result column says it after

    if request.server_dry_run:
        for item in p.items:
            step_done(item, client.delete(item.kind, item.namespace, item.name, uid=item.uid, dry_run=True))
        counts = {"dry-run": len(p.items)}
        lines.append("server dry-run: the API server accepted the plan; nothing deleted")
    else:
        if resume is None:
            plan_id = start(journal, p.items, context=client.conn.context)
        counts = run(plan_id, p.items, client, journal, done=done, progress=step_done)
        lines.append(_summary(plan_id, counts, journal))
    return JanitorResult(**base, steps=_with_results(steps, results), plan_id=plan_id or None, counts=counts,
                         messages=tuple(lines), resumed=len(done) if resume is not None else None,
                         server_dry_run=request.server_dry_run)  # fmt: skip


def offhours_plans(request: JanitorRequest) -> list[OffHoursPlan] | None:
    """The recommended plans of the ``--offhours`` file (None without one)."""
    if request.offhours is None:
        return None
    try:
        text = request.offhours.read_text()
    except OSError as exc:
        raise ConfigError(f"--offhours {request.offhours}: cannot read it: {exc.strerror}") from None
    return plans_from_scale_json(text, source=f"--offhours {request.offhours}")


def _changes(request: JanitorRequest, client: kube.Client, journal: Journal, progress: Progress) -> JanitorResult:
    rules = janitor_rules(request)
    plans = offhours_plans(request)
    resume = unfinished_changes(journal) if request.yes else None
    notes: list[str] = []
    if resume is not None:
        plan_id, changes, done = resume
        p = ChangePlan(changes=sorted(changes))
        notes.append(f"resuming plan {plan_id} from {journal.path} (no new plan until it is finished)")
    else:
        objects, _ = _list(client, SCALED_KINDS, progress, required=True)
        now = request.now or datetime.now(UTC)
        if plans is not None:
            p = annotate_plan(objects, plans, rules=rules, own_namespace=request.own_namespace)
        else:
            p = downscale_plan(objects, now=now, rules=rules, own_namespace=request.own_namespace)
        plan_id, done = "", set()
    base = _planned(request.mode, p, notes)
    steps = [Step(c.kind, c.namespace, c.name, c.reason, action=c.action) for c in p.changes]
    if stop := _not_carried_out(base, steps, act=request.yes and bool(p.changes)):
        return stop
    results: dict[tuple[str, str, str], str] = {}
    lines: list[str] = []

    def step_done(change: Any, result: str) -> None:
        results[change.key()] = result
        progress(f"{result}: {change.action} {change.kind} {change.namespace}/{change.name}")

    if resume is None:
        plan_id = start_changes(journal, p.changes, context=client.conn.context)
    counts = run_changes(plan_id, p.changes, client, journal, done=done, progress=step_done)
    lines.append(_summary(plan_id, counts, journal))
    return JanitorResult(**base, steps=_with_results(steps, results), plan_id=plan_id, counts=counts,
                         messages=tuple(lines), resumed=len(done) if resume is not None else None)  # fmt: skip


def janitor(request: JanitorRequest, progress: Progress = no_progress) -> JanitorResult:
    """Plan (and with ``--yes`` carry out) the deletions, or the off-hours changes, ``request`` asks for."""
    janitor_rules(request)  # a bad rules or off-hours file fails before the cluster is contacted
    offhours_plans(request)
    journal = Journal(request.audit_log)
    progress("connecting to the API server...")
    client = kube.Client(request.connection())
    try:
        if request.mode == "delete":
            return _deletions(request, client, journal, progress)
        return _changes(request, client, journal, progress)
    finally:
        client.close()
