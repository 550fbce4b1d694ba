"""The demo's manifest section: the right-sizing as a diff of the repository's ``k8s/`` tree.

The logic (planning, summary, refusals) is in :mod:`kubetally.app.rightsize`.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from rich.table import Table

from kubetally.actions.manifests import ManifestPlan
from kubetally.app.rightsize import default_recommendations as _default_recommendations
from kubetally.app.rightsize import manifest_plan, plan_report, plan_summary
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.dataset import Dataset


def default_recommendations(dataset: Dataset) -> pl.DataFrame:
    """Right-sizing with the default strategy and settings, without money (what the demo and scale act on)."""
    return _default_recommendations(dataset, priced=False)


def repository_k8s() -> Path | None:
    """The AuditFlow manifests of a source checkout (``k8s/`` next to ``src/``), if present."""
    candidate = Path(__file__).resolve().parents[3] / "k8s"
    return candidate if candidate.is_dir() else None


def change_table(plan: ManifestPlan, *, limit: int = 14) -> Table:
    table = Table(title="Proposed resource changes in k8s/", title_justify="left")
    for header in ("workload", "container", "field", "now", "proposed"):
        table.add_column(header)
    for change in plan.changes[:limit]:
        table.add_row(
            f"{change.ref.namespace}/{change.ref.name}",
            change.container,
            ".".join(change.field),
            change.before or "(unset)",
            change.after or "(removed)",
        )
    if len(plan.changes) > limit:
        table.add_row(f"... {len(plan.changes) - limit} more", "", "", "", "")
    return table


@demo_section(order=40, title="Manifests: the right-sizing as a diff of k8s/")
def _demo(ctx: DemoContext) -> None:
    directory = repository_k8s()
    if directory is None:
        ctx.console.print("k8s/ not found (the AuditFlow manifests ship with a source checkout): skipped")
        return
    plan, notes = manifest_plan(default_recommendations(ctx.dataset), directory, namespace=None)
    target = ctx.out_dir / "k8s-rightsizing.diff"
    target.write_text(plan.diff())
    ctx.console.print(change_table(plan))
    ctx.console.print(f"{plan_summary(plan)}; the full diff: {target}")
    shown = os.path.relpath(directory)
    shown = str(directory) if shown.startswith("..") else shown
    ctx.console.print(f"apply it: kubetally rightsize --dataset {ctx.out_dir / 'dataset'} --manifests {shown} --apply")
    for line in plan_report(plan):
        ctx.console.print(line, highlight=False)
    for note in notes:
        ctx.console.print(f"[yellow]not changed:[/] {note}", highlight=False)
