"""Acting on right-sizing: rewrite a manifest directory (diff / --apply), kubectl patches, VPA objects.

Used by `kubetally rightsize --manifests DIR [--apply]` and `-o patch` / `-o vpa`, and by the demo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from kubetally.actions.manifests import ManifestPlan, apply_plan, plan_manifests
from kubetally.actions.manifests.render import kubectl_patch_commands, vpa_yaml
from kubetally.actions.manifests.targets import targets_from_recommendations

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
