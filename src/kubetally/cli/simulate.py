"""`kubetally simulate`: write the AuditFlow scenario as a Dataset directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from kubetally.cli import legacy as app
from kubetally.cli.options import check_dataset_target
from kubetally.dataset import save
from kubetally.errors import ConfigError
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics

_FIELDS = ScenarioConfig.model_fields


def _help(name: str) -> str:
    return _FIELDS[name].description or ""


def _check_targets(output: Path, openmetrics: Path | None, *, overwrite: bool) -> None:
    """Refuse, before the (possibly long) simulation, what ``save`` or the OpenMetrics writer would refuse."""
    check_dataset_target("--output", output, overwrite=overwrite)
    if openmetrics is None:
        return
    if openmetrics.resolve() == output.resolve():
        raise ConfigError(f"--openmetrics {openmetrics}: give a file path other than the dataset directory")
    if openmetrics.is_dir():
        raise ConfigError(f"--openmetrics {openmetrics}: is a directory; give a file path (e.g. history.om)")
    if openmetrics.exists() and not overwrite:
        raise ConfigError(
            f"--openmetrics {openmetrics} already exists: choose another file, or replace it with --overwrite"
        )
    _check_parents("--openmetrics", openmetrics)


def _check_parents(option: str, path: Path) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a directory")
            return


@app.command("simulate")
def simulate_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Dataset directory to write.")],
    days: Annotated[float, typer.Option(help=_help("days"), min=0.01, max=120)] = 14.0,
    step: Annotated[int, typer.Option(help=_help("step_seconds"), min=10, max=3600)] = 60,
    seed: Annotated[int, typer.Option(help=_help("seed"), min=0)] = 7,
    extra_workloads: Annotated[int, typer.Option(help=_help("extra_workloads"), min=0, max=20_000)] = 0,
    nodes: Annotated[int | None, typer.Option(help=_help("nodes"), min=1, max=5_000)] = None,
    replicas: Annotated[int, typer.Option(help=_help("replicas"), min=1, max=50)] = 2,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace OUTPUT if it is an existing dataset (and the --openmetrics file if it exists)."),
    ] = False,
    openmetrics: Annotated[
        Path | None,
        typer.Option(
            help="Also write the history as OpenMetrics text (for promtool backfill / VictoriaMetrics import)."
        ),
    ] = None,
    label_allowlist: Annotated[
        bool, typer.Option(help="With --openmetrics: emit kube_*_labels (KSM --metric-labels-allowlist set).")
    ] = True,
    lost_container_label: Annotated[
        bool, typer.Option(help="With --openmetrics: k3s cAdvisor without container labels (pod-level series only).")
    ] = False,
) -> None:
    """Simulate the AuditFlow cluster (optionally scaled up) and save its ground-truth Dataset."""
    config = ScenarioConfig(
        days=days, step_seconds=step, seed=seed, extra_workloads=extra_workloads, nodes=nodes, replicas=replicas
    )
    if config.steps < 1:
        raise ConfigError(f"--days {days:g} is shorter than one --step ({step} s): nothing would be simulated")
    _check_targets(output, openmetrics, overwrite=overwrite)
    console = Console(stderr=True)
    spill = output.with_name(f".{output.name}.spill")
    spill.mkdir(parents=True, exist_ok=True)
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("simulating pods", total=None)
            dataset = simulate(
                config, spill_dir=spill, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
            bar.update(task, description="saving")
            save(dataset, output, overwrite=overwrite)
            counts = dataset.counts()
            if openmetrics is not None:
                bar.update(task, description="writing OpenMetrics")
                options = ExpositionOptions(label_allowlist=label_allowlist, container_label_lost=lost_container_label)
                openmetrics.parent.mkdir(parents=True, exist_ok=True)
                with open(openmetrics, "wb") as out:
                    stats = write_openmetrics(dataset, out, options)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    console.print(f"wrote {output}: {counts['containers']} containers, {counts['usage']:,} usage samples")
    if openmetrics is not None:
        console.print(
            f"wrote {openmetrics}: {stats.families} families, {stats.series:,} series, {stats.samples:,} samples"
        )
