"""The janitor's plan: which objects to delete, why, in which order — and what is refused and why.

Pure: objects in (the JSON the API lists), a plan out. Safety lives here, in one place:

- protected namespaces (kube-system, kube-public, kube-node-lease, the janitor's own) and objects
  annotated ``kubetally.io/protect: "true"`` (or in a namespace so annotated) are never planned;
  a Namespace holding a protected object is not deleted (its deletion would take the object along);
- objects a controller owns are left to their owner (deleting them only makes it recreate them),
  except a ReplicaSet or Job a ``waste_rule`` names itself;
- the order deletes what uses things before the things used: workloads, then Services, Ingresses
  and HPAs, then ConfigMaps, Secrets and ServiceAccounts, then claims, volumes, and namespaces last;
- the blast radius: a plan with more than ``max_deletions`` deletions, or deleting more than
  ``max_percent`` of the listed objects of a kind (when 2 or more), is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from kubetally.actions.janitor.rules import (
    EXPIRES_ANNOTATION,
    KINDS,
    PROTECT_ANNOTATION,
    TTL_ANNOTATION,
    JanitorRules,
    parse_expires,
    parse_ttl,
)

Obj = dict[str, Any]
ORDER = {kind: i for i, kind in enumerate(KINDS[1:] + KINDS[:1])}
"""Deletion order: KINDS lists workloads first and Namespace first; namespaces go last."""
WASTE_OWNED = frozenset({"ReplicaSet", "Job"})


@dataclass(frozen=True, order=True)
class Item:
    """One object to delete (``uid`` is a precondition: a recreated object of the same name is kept)."""

    order: int
    kind: str
    namespace: str
    name: str
    uid: str
    reason: str

    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Refusal:
    kind: str
    namespace: str
    name: str
    reason: str


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    """Objects a rule matched that safety kept (protected, owned ...)."""
    problems: list[str] = field(default_factory=list)
    """Malformed annotations (the object is kept, the plan goes on)."""
    blocked: str | None = None
    """Why the whole plan is refused (blast radius); None when it may run."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": [asdict(i) for i in self.items],
            "refused": [asdict(r) for r in self.refused],
            "problems": self.problems,
            "blocked": self.blocked,
        }


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _created(obj: Mapping[str, Any]) -> datetime | None:
    value = _meta(obj).get("creationTimestamp")
    if not isinstance(value, str):
        return None
    try:
        return parse_expires(value)
    except ValueError:
        return None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = _meta(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    notes = _meta(obj).get("annotations")
    return notes if isinstance(notes, Mapping) else {}


def _matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _age_text(now: datetime, created: datetime | None) -> str:
    if created is None:
        return "age unknown"
    hours = (now - created).total_seconds() / 3600
    return f"{hours:.1f}h old" if hours < 48 else f"{hours / 24:.1f}d old"


def _why(
    obj: Obj,
    now: datetime,
    rules: JanitorRules,
    selector: Mapping[str, str] | None,
    waste: Mapping[str, set[tuple[str, str, str]]],
    problems: list[str],
) -> str | None:
    """Why ``obj`` is to be deleted (the first reason found), None when nothing asks for it."""
    kind, meta = str(obj.get("kind")), _meta(obj)
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    created = _created(obj)
    where = f"{kind} {ns + '/' if ns else ''}{name}"
    if selector is not None:  # CI clean-up: exactly the labelled objects, no annotation or rule on top
        return (
            "selector " + ",".join(f"{k}={v}" for k, v in selector.items())
            if _matches(_labels(obj), selector)
            else None
        )
    notes = _annotations(obj)
    if rules.annotations and TTL_ANNOTATION in notes:
        try:
            ttl = parse_ttl(str(notes[TTL_ANNOTATION]))
        except ValueError as exc:
            problems.append(f"{where}: {TTL_ANNOTATION} {exc}; kept")
            ttl = None
        if ttl is not None and created is not None and now >= created + ttl:
            return f"{TTL_ANNOTATION} {notes[TTL_ANNOTATION]} expired ({_age_text(now, created)})"
    if rules.annotations and EXPIRES_ANNOTATION in notes:
        try:
            expires = parse_expires(str(notes[EXPIRES_ANNOTATION]))
        except ValueError as exc:
            problems.append(f"{where}: {EXPIRES_ANNOTATION} {exc}; kept")
        else:
            if now >= expires:
                return f"{EXPIRES_ANNOTATION} {notes[EXPIRES_ANNOTATION]} passed"
    if kind == "Namespace":
        for eph in rules.ephemeral_namespaces:
            if _matches(_labels(obj), eph.selector) and created is not None and now - created >= eph.max_age:
                labels = ",".join(f"{k}={v}" for k, v in eph.selector.items())
                return f"ephemeral namespace ({labels}) older than {eph.max_age} ({_age_text(now, created)})"
    for rule in rules.rules:
        if kind not in rule.kinds or not any(fnmatchcase(ns, p) for p in rule.namespaces):
            continue
        if not _matches(_labels(obj), rule.selector):
            continue
        if rule.min_age is not None and (created is None or now - created < rule.min_age):
            continue
        if rule.waste_rule is not None and (kind, ns, name) not in waste.get(rule.waste_rule, set()):
            continue
        extra = f" (waste rule {rule.waste_rule})" if rule.waste_rule else ""
        return f"rule {rule.id}{extra}, {_age_text(now, created)}"
    return None


def scope_protection(objs: Iterable[Obj], rules: JanitorRules, own_namespace: str | None) -> tuple[set[str], set[str]]:
    """(protected namespaces, namespaces holding a protected object): the protected list, the janitor's
    own namespace and namespaces annotated ``kubetally.io/protect: "true"``."""
    protected_ns = set(rules.protected_namespaces) | ({own_namespace} if own_namespace else set())
    holds_protected: set[str] = set()
    for obj in objs:
        if str(_annotations(obj).get(PROTECT_ANNOTATION)).lower() != "true":
            continue
        if obj.get("kind") == "Namespace":
            protected_ns.add(str(_meta(obj).get("name")))
        holds_protected.add(str(_meta(obj).get("namespace", "")))
    return protected_ns, holds_protected


def refusal_reason(
    obj: Obj, protected_ns: set[str], holds_protected: set[str], *, allow_owned: bool = False, deleting: bool = True
) -> str | None:
    """Why the janitor must not touch ``obj`` (delete or change it); None when it may. One rule for
    deletions and off-hours changes: protected namespaces and annotations, and objects a controller owns
    (it would undo the change) unless ``allow_owned``."""
    kind, meta = str(obj.get("kind")), _meta(obj)
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    scope = name if kind == "Namespace" else ns
    if scope in protected_ns:
        return f"namespace {scope} is protected"
    if str(_annotations(obj).get(PROTECT_ANNOTATION)).lower() == "true":
        return f"annotated {PROTECT_ANNOTATION}: true"
    if kind == "Namespace" and name in holds_protected:
        return f"holds an object annotated {PROTECT_ANNOTATION}: true"
    if meta.get("ownerReferences") and not allow_owned:
        owner: Mapping[str, Any] = next(iter(meta["ownerReferences"]), {})
        return f"owned by {owner.get('kind')}/{owner.get('name')}: " + (
            "deleted with its owner" if deleting else "its owner would undo the change"
        )
    return None


def plan(
    objects: Iterable[Obj],
    *,
    now: datetime,
    rules: JanitorRules,
    selector: Mapping[str, str] | None = None,
    own_namespace: str | None = None,
    waste: Mapping[str, set[tuple[str, str, str]]] | None = None,
) -> Plan:
    """The plan for ``objects`` at ``now``. ``waste``: waste rule id -> (kind, namespace, name) it reports."""
    objs = [o for o in objects if o.get("kind") in KINDS]
    waste = waste or {}
    protected_ns, holds_protected = scope_protection(objs, rules, own_namespace)
    waste_named = {(k, ns, n) for targets in waste.values() for k, ns, n in targets}
    out = Plan()
    for obj in objs:
        reason = _why(obj, now, rules, selector, waste, out.problems)
        if reason is None:
            continue
        kind, meta = str(obj["kind"]), _meta(obj)
        ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        owned_ok = kind in WASTE_OWNED and (kind, ns, name) in waste_named
        why = refusal_reason(obj, protected_ns, holds_protected, allow_owned=owned_ok)
        if why is not None:
            out.refused.append(Refusal(kind, ns, name, why))
        else:
            out.items.append(Item(ORDER[kind], kind, ns, name, str(meta.get("uid", "")), reason))
    out.items.sort()
    out.blocked = blast_radius((i.kind for i in out.items), objs, rules, verb="deleted")
    return out


def blast_radius(planned_kinds: Iterable[str], objs: Iterable[Obj], rules: JanitorRules, *, verb: str) -> str | None:
    """Why a plan is refused whole, one rule for deletions and changes (``verb``: ``deleted``/``changed``):
    more steps than ``max_deletions``, or more than ``max_percent`` of the listed objects of a kind (when 2
    or more); None when it may run."""
    planned: dict[str, int] = {}
    for kind in planned_kinds:
        planned[kind] = planned.get(kind, 0) + 1
    total = sum(planned.values())
    steps = "deletions" if verb == "deleted" else "changes"
    if total > rules.max_deletions:
        limit = rules.max_deletions
        return f"{total} {steps} planned, more than the limit of {limit} (--max-deletions): nothing {verb}"
    listed: dict[str, int] = {}
    for obj in objs:
        listed[str(obj.get("kind"))] = listed.get(str(obj.get("kind")), 0) + 1
    for kind, n in sorted(planned.items()):
        share = 100 * n / listed[kind]
        if n >= 2 and share > rules.max_percent:
            return (
                f"{n} of {listed[kind]} {kind} objects planned ({share:.0f}%), more than "
                f"{rules.max_percent:g}% (--max-percent): nothing {verb}"
            )
    return None
