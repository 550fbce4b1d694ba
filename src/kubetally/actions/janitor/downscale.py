"""Off-hours by the janitor: put ``kubetally scale``'s plans on the workloads, and scale them by their uptime.

Two plans, both pure (objects in, changes out) and carried out like the janitor's deletions: dry run
by default, protected namespaces and ``kubetally.io/protect`` honoured, the blast-radius limit, every
change journaled in the audit log and recorded as an Event, a killed run resumed.

- :func:`annotate_plan`: set ``downscaler/uptime`` (kube-downscaler's annotation and format) on each
  workload an off-hours plan names; never on a workload whose ``environment`` label (by the one label
  rule, :func:`kubetally.model.labels.resolved_value`) is a production one.
- :func:`downscale_plan`: what kube-downscaler does, for clusters that do not run it: a Deployment or
  StatefulSet annotated ``downscaler/uptime`` is scaled to 0 outside its uptime (its replica count kept
  in ``downscaler/original-replicas``) and back to that count inside it. ``downscaler/exclude: "true"``
  keeps a workload out. A workload already at 0 without ``original-replicas`` is left alone (someone
  scaled it down by hand).

Every change is a JSON merge patch carrying the ``resourceVersion`` the plan saw: the API server
refuses it (409) when the object changed since, and the change is then re-checked, never forced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kubetally.actions.janitor.plan import Refusal, blast_radius, refusal_reason, scope_protection
from kubetally.actions.janitor.rules import JanitorRules
from kubetally.errors import ConfigError
from kubetally.model.labels import resolved_value

Obj = dict[str, Any]
UPTIME = "downscaler/uptime"
EXCLUDE = "downscaler/exclude"
ORIGINAL = "downscaler/original-replicas"
SCALABLE = ("Deployment", "StatefulSet")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SPAN = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s+(\S+)$")


@dataclass(frozen=True)
class Uptime:
    """A parsed ``downscaler/uptime``: weekday spans in a time zone, or always/never."""

    text: str
    spans: tuple[tuple[frozenset[int], int, int, str], ...]
    """(weekdays 0=Mon, start minute, end minute, IANA zone)."""
    always: bool = False

    def is_up(self, at: datetime) -> bool:
        if self.always:
            return True
        for days, start, end, zone in self.spans:
            local = at.astimezone(ZoneInfo(zone))
            minute = local.hour * 60 + local.minute
            if local.weekday() in days and start <= minute < end:
                return True
        return False


def parse_uptime(text: str) -> Uptime:
    """kube-downscaler's format: ``Mon-Fri 07:30-20:30 Europe/Berlin``, several joined by commas, or
    ``always``/``never``. ValueError (one line) otherwise."""
    value = text.strip()
    if value.lower() == "always":
        return Uptime(value, (), always=True)
    if value.lower() == "never":
        return Uptime(value, ())
    spans = []
    for part in (p.strip() for p in value.split(",")):
        match = _SPAN.match(part)
        if match is None or match[1] not in DAYS or (match[2] is not None and match[2] not in DAYS):
            raise ValueError(f"{text!r} is not an uptime (e.g. 'Mon-Fri 07:30-20:30 Europe/Berlin', always, never)")
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
        start, end = int(match[3]) * 60 + int(match[4]), int(match[5]) * 60 + int(match[6])
        if not (0 <= start < end <= 24 * 60):
            raise ValueError(f"{text!r}: {part!r} must start before it ends, within one day (00:00-24:00)")
        try:
            ZoneInfo(match[7])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{text!r}: unknown time zone {match[7]!r}") from None
        spans.append((days, start, end, match[7]))
    return Uptime(value, tuple(spans))


@dataclass(frozen=True, order=True)
class Change:
    """One merge patch on one workload; ``resource_version`` is the precondition."""

    kind: str
    namespace: str
    name: str
    action: str
    """``annotate``, ``scale-down`` or ``scale-up``."""
    replicas: int | None
    """The replica count after the change (None: unchanged)."""
    annotations: tuple[tuple[str, str | None], ...]
    """Annotations set (None: removed)."""
    uid: str
    resource_version: str
    reason: str

    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def patch(self) -> Obj:
        meta: Obj = {"annotations": dict(self.annotations)}
        if self.resource_version:
            meta["resourceVersion"] = self.resource_version
        body: Obj = {"metadata": meta}
        if self.replicas is not None:
            body["spec"] = {"replicas": self.replicas}
        return body

    def holds_in(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` already is as this change leaves it (a killed run got there first)."""
        notes = _annotations(obj)
        if any(notes.get(k) != v for k, v in self.annotations):
            return False
        return self.replicas is None or _replicas(obj) == self.replicas

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> Change:
        fields = {k: record[k] for k in Change.__dataclass_fields__}
        fields["annotations"] = tuple((str(k), v) for k, v in fields["annotations"])
        return Change(**fields)


@dataclass
class ChangePlan:
    changes: list[Change] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    """Workloads a plan named that safety kept, and why (the shape of a deletion plan's)."""
    problems: list[str] = field(default_factory=list)
    blocked: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": [asdict(c) for c in self.changes],
            "refused": [asdict(r) for r in self.refused],
            "problems": self.problems,
            "blocked": self.blocked,
        }


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    notes = _meta(obj).get("annotations")
    return notes if isinstance(notes, Mapping) else {}


def _replicas(obj: Mapping[str, Any]) -> int:
    spec = obj.get("spec")
    value = spec.get("replicas", 1) if isinstance(spec, Mapping) else 1
    return int(value) if isinstance(value, int) else 1


def _id(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = _meta(obj)
    return (str(obj.get("kind")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def _change(obj: Obj, action: str, replicas: int | None, annotations: dict[str, str | None], reason: str) -> Change:
    kind, ns, name = _id(obj)
    meta = _meta(obj)
    return Change(kind, ns, name, action, replicas, tuple(sorted(annotations.items())),
                  str(meta.get("uid", "")), str(meta.get("resourceVersion", "")), reason)  # fmt: skip


def _environment(obj: Mapping[str, Any], namespaces: Mapping[str, Mapping[str, Any]]) -> str | None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = _meta(template).get("labels") if isinstance(template, Mapping) else None
    own = _meta(obj).get("labels")
    ns = _meta(namespaces.get(_id(obj)[1], {})).get("labels")
    return resolved_value(
        "environment",
        pod=pod if isinstance(pod, Mapping) else {},
        controller=own if isinstance(own, Mapping) else {},
        namespace=ns if isinstance(ns, Mapping) else {},
    )


def _guarded(
    candidates: list[tuple[Obj, Change]], objs: list[Obj], rules: JanitorRules, own_namespace: str | None
) -> ChangePlan:
    """The changes that pass the janitor's safety rules, and the blast-radius check over them."""
    protected_ns, holds_protected = scope_protection(objs, rules, own_namespace)
    out = ChangePlan()
    for obj, change in candidates:
        why = refusal_reason(obj, protected_ns, holds_protected, deleting=False)
        if why is not None:
            out.refused.append(Refusal(change.kind, change.namespace, change.name, why))
        else:
            out.changes.append(change)
    out.changes.sort()
    out.blocked = blast_radius((c.kind for c in out.changes), objs, rules, verb="changed")
    return out


@dataclass(frozen=True)
class OffHoursPlan:
    """One recommended off-hours plan of ``kubetally scale`` (its ``offhours`` rows)."""

    namespace: str
    kind: str
    name: str
    uptime: str


def plans_from_scale_json(text: str, *, source: str = "off-hours plan") -> list[OffHoursPlan]:
    """The recommended off-hours plans of ``kubetally scale -o json`` output (its ``offhours`` rows with
    status ``recommended``). ConfigError (one line) when the text is not that."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: not JSON ({exc.msg} at line {exc.lineno}); give kubetally scale -o json output"
        ) from None
    rows = payload.get("offhours") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f"{source}: no 'offhours' list; give kubetally scale -o json output")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("namespace", "kind", "name")):
            raise ConfigError(f"{source}: offhours[{i}] has no namespace/kind/name")
        if row.get("status") == "recommended" and isinstance(row.get("uptime"), str):
            out.append(OffHoursPlan(row["namespace"], row["kind"], row["name"], row["uptime"]))
    return out


def annotate_plan(
    objects: Iterable[Obj],
    plans: Iterable[OffHoursPlan],
    *,
    rules: JanitorRules,
    own_namespace: str | None = None,
    production_environments: tuple[str, ...] = ("production", "prod"),
) -> ChangePlan:
    """Set ``downscaler/uptime`` on each planned workload (nothing when it already has that value)."""
    objs = list(objects)
    by_id = {_id(o): o for o in objs}
    namespaces = {_id(o)[2]: o for o in objs if o.get("kind") == "Namespace"}
    candidates: list[tuple[Obj, Change]] = []
    problems: list[str] = []
    refused: list[Refusal] = []
    for p in plans:
        where = f"{p.kind} {p.namespace}/{p.name}"
        try:
            parse_uptime(p.uptime)
        except ValueError as exc:
            problems.append(f"{where}: {exc}; skipped")
            continue
        obj = by_id.get((p.kind, p.namespace, p.name))
        if p.kind not in SCALABLE:
            problems.append(f"{where}: only Deployments and StatefulSets are scaled; skipped")
        elif obj is None:
            problems.append(f"{where}: not in the cluster; skipped")
        elif (env := _environment(obj, namespaces)) in production_environments:
            refused.append(Refusal(p.kind, p.namespace, p.name, f"environment={env} is production"))
        elif _annotations(obj).get(UPTIME) != p.uptime:
            before = _annotations(obj).get(UPTIME)
            was = f" (was {before!r})" if before else ""
            change = _change(obj, "annotate", None, {UPTIME: p.uptime}, f"off-hours plan: uptime {p.uptime}{was}")
            candidates.append((obj, change))
    out = _guarded(candidates, objs, rules, own_namespace)
    out.problems = problems + out.problems
    out.refused = refused + out.refused
    return out


def downscale_plan(
    objects: Iterable[Obj], *, now: datetime, rules: JanitorRules, own_namespace: str | None = None
) -> ChangePlan:
    """Scale annotated workloads to 0 outside their uptime and back inside it, at ``now``."""
    objs = list(objects)
    candidates: list[tuple[Obj, Change]] = []
    problems: list[str] = []
    for obj in objs:
        notes = _annotations(obj)
        if obj.get("kind") not in SCALABLE or UPTIME not in notes:
            continue
        kind, ns, name = _id(obj)
        if str(notes.get(EXCLUDE, "")).lower() == "true":
            continue
        try:
            uptime = parse_uptime(str(notes[UPTIME]))
        except ValueError as exc:
            problems.append(f"{kind} {ns}/{name}: {UPTIME} {exc}; kept")
            continue
        replicas = _replicas(obj)
        original = notes.get(ORIGINAL)
        if uptime.is_up(now):
            if original is None:
                continue
            try:
                count = int(original)
            except ValueError:
                problems.append(f"{kind} {ns}/{name}: {ORIGINAL} {original!r} is not a number; kept")
                continue
            if replicas == 0:
                reason = f"inside uptime {uptime.text}: back to {count} replica(s)"
                candidates.append((obj, _change(obj, "scale-up", count, {ORIGINAL: None}, reason)))
        elif replicas > 0:
            reason = f"outside uptime {uptime.text}: {replicas} replica(s) to 0"
            candidates.append((obj, _change(obj, "scale-down", 0, {ORIGINAL: str(replicas)}, reason)))
    out = _guarded(candidates, objs, rules, own_namespace)
    out.problems = problems + out.problems
    return out
