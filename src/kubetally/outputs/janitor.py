"""`kubetally janitor` output: the plan (deletions or off-hours changes, in order), what safety kept, and
what a run did to each step. Plain records: the plan itself is computed in kubetally.actions.janitor."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from kubetally.outputs.registry import Result, register

Mode = Literal["delete", "annotate", "downscale"]


@dataclass(frozen=True)
class Step:
    """One planned deletion or change; ``result`` is what this run got (None: not carried out)."""

    kind: str
    namespace: str
    name: str
    why: str
    action: str = "delete"
    result: str | None = None


@dataclass(frozen=True)
class Kept:
    """An object a rule or plan named that the janitor's safety rules keep."""

    kind: str
    namespace: str
    name: str
    why: str


@dataclass(frozen=True, kw_only=True)
class JanitorResult(Result):
    """``kubetally janitor``: the plan, and when carried out (``--yes``), each step's result."""

    mode: Mode
    plan: dict[str, Any]
    """The plan as data (items/changes, refused, problems, blocked): what ``-o json`` prints."""
    steps: tuple[Step, ...]
    kept: tuple[Kept, ...] = ()
    blocked: str | None = None
    plan_id: str | None = None
    """Set when the plan was carried out (``--yes``), or resumed from the audit log."""
    resumed: int | None = None
    """Steps a killed run had already done, when this run resumed its plan."""
    counts: dict[str, int] | None = None
    """Steps by result (deleted, gone, replaced, changed, dry-run ...) when carried out."""
    server_dry_run: bool = False
    kind: ClassVar[str] = "janitor"

    @property
    def carried_out(self) -> bool:
        return self.counts is not None

    def data(self) -> dict[str, Any]:
        out = dict(self.plan)
        if self.counts is not None:
            out["run"] = {
                "plan_id": self.plan_id,
                "resumed": self.resumed is not None,
                "server_dry_run": self.server_dry_run,
                "counts": self.counts,
                "results": [asdict(s) for s in self.steps if s.result is not None],
            }
        return out


def _title(result: JanitorResult) -> str:
    n = len(result.steps)
    what = "deletion(s), in this order" if result.mode == "delete" else "change(s)"
    head = "janitor plan" if result.mode == "delete" else "janitor off-hours plan"
    if result.resumed is not None:
        return f"{head} {result.plan_id}, resumed: {n - result.resumed} of {n} {what.split(',', maxsplit=1)[0]} left"
    return f"{head}: {n} {what}"


def plan_table(result: JanitorResult) -> Table:
    table = Table(title=_title(result))
    changes = result.mode != "delete"
    columns = ["#", *(["change"] if changes else []), "kind", "namespace", "name", "why"]
    if result.carried_out:
        columns.append("result")
    for column in columns:
        table.add_column(column)
    for i, s in enumerate(result.steps, 1):
        row = [str(i), *([s.action] if changes else []), s.kind, s.namespace or "-", s.name, s.why]
        if result.carried_out:
            row.append(s.result or "done before")
        table.add_row(*row)
    return table


@register("table", JanitorResult)
def _table(result: JanitorResult) -> list[RenderableType]:
    out: list[RenderableType] = [plan_table(result)]
    for k in result.kept:
        out.append(Text(f"kept: {k.kind} {k.namespace + '/' if k.namespace else ''}{k.name}: {k.why}"))
    if not result.carried_out and result.steps and result.blocked is None:
        verb = "deleted" if result.mode == "delete" else "changed"
        what = "delete these objects" if result.mode == "delete" else "make these changes"
        out.append(Text(f"dry-run: nothing {verb}. Run again with --yes to {what}."))
    return out


@register("json", JanitorResult)
def _json(result: JanitorResult) -> str:
    return json.dumps(result.data(), indent=2) + "\n"
