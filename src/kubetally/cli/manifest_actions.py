"""Acting on right-sizing: rewrite a manifest directory (diff / --apply), kubectl patches, VPA objects.

Used by `kubetally rightsize --manifests DIR [--apply]` and `-o patch` / `-o vpa`, and by the demo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from kubetally.actions.manifests import ManifestPlan, apply_plan, plan_manifests
from kubetally.actions.manifests.render import kubectl_patch_commands, vpa_yaml
from kubetally.actions.manifests.targets import targets_from_recommendations
from kubetally.analysis.rightsizing import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    EvidenceSettings,
    history_from_dataset,
    recommendations,
)
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.dataset import Dataset

ManifestsOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifests",
        help="Rewrite the resources of matching workloads in this YAML directory (dry run: prints a diff).",
    ),
]
ApplyOpt = Annotated[bool, typer.Option("--apply", help="With --manifests: write the files (atomically).")]
ACTION_OUTPUTS = ("patch", "vpa")
"""Output formats that turn recommendations into actions instead of listing them."""


def action_output(recs: pl.DataFrame, fmt: str) -> str:
    """``patch``: one `kubectl patch` command per workload; ``vpa``: VPA objects with updateMode Off."""
    targets, _ = targets_from_recommendations(recs)
    return kubectl_patch_commands(targets) if fmt == "patch" else vpa_yaml(targets)


def manifest_plan(recs: pl.DataFrame, directory: Path, *, namespace: str | None) -> tuple[ManifestPlan, list[str]]:
    """The plan for ``directory`` and notes on what it could not cover."""
    targets, skipped = targets_from_recommendations(recs)
    plan = plan_manifests(directory, targets, namespace=namespace)
    notes = [f"{s.ref} container {s.container}: {s.reason}" for s in skipped]
    missing = sorted({str(t.ref) for t in plan.unmatched})
    if missing:
        notes.append(f"{len(missing)} workloads with recommendations are not in {directory}: {', '.join(missing)}")
    return plan, notes


def summary(plan: ManifestPlan) -> str:
    workloads = {change.ref for change in plan.changes}
    return (
        f"{len(plan.changes)} resource values in {len(workloads)} workloads, {len(plan.files)} files "
        f"({len(plan.workloads)} workloads found in the manifests)"
    )


def rewrite_manifests(
    recs: pl.DataFrame, directory: Path, *, apply: bool, namespace: str | None, out: Console
) -> ManifestPlan:
    """Print the diff (dry run) or write the files; then a summary and what was not covered."""
    plan, notes = manifest_plan(recs, directory, namespace=namespace)
    if apply:
        written = apply_plan(plan)
        out.print(f"[green]✓[/] wrote {len(written)} files: {summary(plan)}")
    else:
        typer.echo(plan.diff(), nl=False)
        out.print(f"dry run: {summary(plan)}; add --apply to write them")
    for note in notes:
        out.print(f"[yellow]not changed:[/] {note}", highlight=False)
    return plan


def default_recommendations(dataset: Dataset) -> pl.DataFrame:
    """Right-sizing with the default strategy and settings (what the demo acts on)."""
    strategy = STRATEGIES[DEFAULT_STRATEGY]
    history = history_from_dataset(dataset)
    return recommendations(history, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())


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
    ctx.console.print(f"{summary(plan)}; the full diff: {target}")
    shown = os.path.relpath(directory)
    shown = str(directory) if shown.startswith("..") else shown
    ctx.console.print(f"apply it: kubetally rightsize --dataset {ctx.out_dir / 'dataset'} --manifests {shown} --apply")
    for note in notes:
        ctx.console.print(f"[yellow]not changed:[/] {note}", highlight=False)
