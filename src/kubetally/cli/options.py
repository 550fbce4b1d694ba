"""Options shared by every analysis command, and opening the Dataset they name.

Every analysis command accepts one of ``--demo``, ``--dataset DIR`` (and, with
the Prometheus source, ``--prometheus URL``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kubetally.dataset import Dataset, load
from kubetally.errors import KubetallyError

DemoOpt = Annotated[bool, typer.Option("--demo", help="Use the built-in AuditFlow demo cluster (simulated, 14 days).")]
DatasetOpt = Annotated[
    Path | None,
    typer.Option(
        "--dataset", "-d", help="Read a dataset directory written by `kubetally collect` or `kubetally demo`."
    ),
]
OutputFormatOpt = Annotated[str, typer.Option("--output", "-o", help="Output format: table, json, csv or yaml.")]
PrometheusOpt = Annotated[
    str | None,
    typer.Option(
        "--prometheus",
        help="Read the cluster from this Prometheus/VictoriaMetrics/Thanos URL (window, step, auth: "
        "KUBETALLY_PROMETHEUS_* variables, see docs/collect.md).",
    ),
]

stderr = Console(stderr=True)


def open_dataset(*, demo: bool, dataset: Path | None, prometheus: str | None = None) -> Dataset:
    """The dataset the user named; exactly one source must be given."""
    given = (("--demo", demo), ("--dataset", dataset is not None), ("--prometheus", prometheus is not None))
    chosen = [name for name, flag in given if flag]
    if len(chosen) != 1:
        raise KubetallyError("give exactly one data source: --demo, --dataset DIR or --prometheus URL")
    if dataset is not None:
        return load(dataset)
    if prometheus is not None:
        from kubetally.app import prometheus as promsettings
        from kubetally.sources.prometheus import collect

        conn, query = promsettings.connection(prometheus), promsettings.query()
        with stderr.status("reading the cluster from Prometheus...") as status:
            result = collect(conn, query, progress=status.update)
        for note in result.dataset.info.notes:
            stderr.print(f"[yellow]note:[/] {note}", highlight=False)
        return result.dataset
    from kubetally.data import demo_inputs
    from kubetally.simulate import ScenarioConfig, simulate

    with stderr.status("simulating the AuditFlow demo cluster (14 days, 1-minute steps)..."):
        return simulate(ScenarioConfig()).with_info(inputs=demo_inputs())


def check_namespaces(namespaces: list[str] | None, dataset: Dataset) -> None:
    """Refuse a ``--namespace`` the dataset does not have (instead of an empty report)."""
    if not namespaces:
        return
    known = set(dataset.containers.get_column("namespace").unique().to_list())
    unknown = [n for n in namespaces if n not in known]
    if unknown:
        raise KubetallyError(
            f"--namespace {', '.join(unknown)}: no such namespace in the dataset (it has {', '.join(sorted(known))})"
        )


def check_directory_path(option: str, path: Path) -> None:
    """Refuse a directory option that names a file, or a path under a file (before any work is done)."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise KubetallyError(f"{option} {path}: {part} is a file, not a directory")
            return


def check_dataset_target(option: str, path: Path, *, overwrite: bool) -> None:
    """Refuse, before any long work, a dataset directory that ``save`` would refuse at the end."""
    from kubetally.dataset import MANIFEST

    for part in path.parents:
        if part.exists():
            if not part.is_dir():
                raise KubetallyError(f"{option} {path}: {part} is a file, not a directory")
            break
    if path.exists():
        if not overwrite:
            raise KubetallyError(f"{path} already exists: choose another directory, or replace it with --overwrite")
        if not (path / MANIFEST).exists():
            raise KubetallyError(f"{path} exists and is not a kubetally dataset; refusing to replace it")
