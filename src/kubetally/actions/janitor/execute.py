"""Carrying out a plan: in order, one DELETE at a time, every step journaled before the next.

The audit log (JSON lines, flushed and fsynced per line) is also the journal. A run writes a
``plan`` record (its id and every item), then one ``delete`` record per item, then ``finished``.
A run that finds an unfinished plan in the log resumes **that** plan, not a new one: it skips the
items already recorded, deletes the rest (404 means a killed run got there first: ``gone``) and
never deletes anything outside it. The uid precondition keeps an object recreated under the same
name since the plan (409: ``replaced``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kubetally.actions.janitor.downscale import Change
from kubetally.actions.janitor.plan import Item

EVENT_REASON = "KubetallyJanitorDelete"

Key = tuple[str, str, str]
"""(kind, namespace, name) of a step."""
S = TypeVar("S", Item, Change)


class Deleter(Protocol):
    def delete(self, kind: str, namespace: str, name: str, *, uid: str, dry_run: bool) -> str: ...

    def event(self, *, kind: str, namespace: str, name: str, uid: str, reason: str, message: str) -> None: ...


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Journal:
    """The audit log: append-only JSON lines, each on disk before the next action."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill in the middle of a write
        return out

    def write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps({"time": _now(), **record}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def unfinished(self) -> tuple[str, list[Item], set[Key]] | None:
        """(plan id, its items, keys already done) of the last deletion plan without a ``finished`` record."""
        return unfinished_plan(self, "plan", "delete", lambda rec: [Item(**i) for i in rec.get("items", [])])


def unfinished_plan(
    journal: Journal, plan_event: str, step_event: str, steps: Callable[[dict[str, Any]], list[S]]
) -> tuple[str, list[S], set[Key]] | None:
    """The replay of the journal, one rule for deletions and changes: (plan id, its steps, keys already
    done) of the last ``plan_event`` record with no ``finished`` record; ``steps`` reads its steps."""
    plans: dict[str, list[S]] = {}
    done: dict[str, set[Key]] = {}
    finished: set[str] = set()
    order: list[str] = []
    for rec in journal.records():
        pid = rec.get("plan_id", "")
        if rec.get("event") == plan_event:
            plans[pid] = steps(rec)
            order.append(pid)
        elif rec.get("event") == step_event:
            done.setdefault(pid, set()).add((rec["kind"], rec["namespace"], rec["name"]))
        elif rec.get("event") == "finished":
            finished.add(pid)
    for pid in reversed(order):
        if pid not in finished:
            return pid, plans[pid], done.get(pid, set())
    return None


def start_plan(journal: Journal, plan_event: str, key: str, steps: list[S], *, context: str) -> str:
    """Journal a new plan (``plan_event`` record, its steps under ``key``) before its first step; its id."""
    plan_id = uuid.uuid4().hex[:12]
    journal.write({"event": plan_event, "plan_id": plan_id, "context": context, key: [asdict(s) for s in steps]})
    return plan_id


def start(journal: Journal, items: list[Item], *, context: str) -> str:
    return start_plan(journal, "plan", "items", items, context=context)


def run(
    plan_id: str,
    items: list[Item],
    client: Deleter,
    journal: Journal,
    *,
    done: set[Key] = frozenset(),  # type: ignore[assignment]
    dry_run: bool = False,
    progress: Callable[[Item, str], None] = lambda _i, _r: None,
) -> dict[str, int]:
    """Delete every item not in ``done``, in order; result counts (deleted, gone, replaced, dry-run)."""

    def delete(item: Item) -> str:
        return client.delete(item.kind, item.namespace, item.name, uid=item.uid, dry_run=dry_run)

    def announce(item: Item) -> None:
        client.event(kind=item.kind, namespace=item.namespace, name=item.name, uid=item.uid,
                     reason=EVENT_REASON, message=f"deleted by kubetally janitor: {item.reason}")  # fmt: skip

    return carry_out(plan_id, items, delete, announce, journal=journal, step_event="delete", success="deleted",
                     done=done, dry_run=dry_run, progress=progress)  # fmt: skip


def carry_out(
    plan_id: str,
    steps: list[S],
    act: Callable[[S], str],
    announce: Callable[[S], None],
    *,
    journal: Journal,
    step_event: str,
    success: str,
    done: set[Key],
    dry_run: bool,
    progress: Callable[[S, str], None],
) -> dict[str, int]:
    """One rule for carrying out a plan of deletions or changes: in order, skipping the steps ``done``
    (a killed run's), each journaled before the next, an Event for each ``success``, then ``finished``."""
    counts: dict[str, int] = {}
    for step in sorted(steps):
        if step.key() in done:
            counts["done before"] = counts.get("done before", 0) + 1
            continue
        result = act(step)
        journal.write({"event": step_event, "plan_id": plan_id, **asdict(step), "result": result, "dry_run": dry_run})
        if result == success:
            announce(step)
        counts[result] = counts.get(result, 0) + 1
        progress(step, result)
    journal.write({"event": "finished", "plan_id": plan_id, "counts": counts})
    return counts


# -- off-hours changes (downscale.py): the same journal, its own record types ---------------------------


class Patcher(Protocol):
    def patch(self, kind: str, namespace: str, name: str, body: dict[str, Any], *, dry_run: bool) -> str: ...

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def event(self, *, kind: str, namespace: str, name: str, uid: str, reason: str, message: str) -> None: ...


CHANGE_REASON = {
    "annotate": "KubetallyJanitorOffHours",
    "scale-down": "KubetallyJanitorScaleDown",
    "scale-up": "KubetallyJanitorScaleUp",
}


def start_changes(journal: Journal, changes: list[Change], *, context: str) -> str:
    return start_plan(journal, "change-plan", "changes", changes, context=context)


def unfinished_changes(journal: Journal) -> tuple[str, list[Change], set[Key]] | None:
    """(plan id, its changes, keys already done) of the last change plan without a ``finished`` record."""
    return unfinished_plan(
        journal, "change-plan", "change", lambda rec: [Change.from_record(c) for c in rec.get("changes", [])]
    )


def run_changes(
    plan_id: str,
    changes: list[Change],
    client: Patcher,
    journal: Journal,
    *,
    done: set[Key] = frozenset(),  # type: ignore[assignment]
    dry_run: bool = False,
    progress: Callable[[Change, str], None] = lambda _c, _r: None,
) -> dict[str, int]:
    """Patch every change not in ``done``; counts by result: changed, already (a killed run patched it
    before journaling), modified (someone changed the object since the plan: kept), gone, dry-run."""

    def patch(change: Change) -> str:
        result = client.patch(change.kind, change.namespace, change.name, change.patch(), dry_run=dry_run)
        if result != "conflict":
            return result
        current = client.get(change.kind, change.namespace, change.name)
        if current is None:
            return "gone"
        if str((current.get("metadata") or {}).get("uid", "")) != change.uid:
            return "replaced"
        return "already" if change.holds_in(current) else "modified"

    def announce(change: Change) -> None:
        client.event(kind=change.kind, namespace=change.namespace, name=change.name, uid=change.uid,
                     reason=CHANGE_REASON[change.action],
                     message=f"{change.action} by kubetally janitor: {change.reason}")  # fmt: skip

    return carry_out(plan_id, changes, patch, announce, journal=journal, step_event="change", success="changed",
                     done=done, dry_run=dry_run, progress=progress)  # fmt: skip
