"""`kubetally record`: sample metrics-server into a dataset directory (clusters without Prometheus)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from kubetally.cli import kubeopts
from kubetally.cli import legacy as app
from kubetally.errors import ConfigError
from kubetally.sources.prometheus.settings import parse_duration


def _seconds(option: str, text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command("record")
def record_command(
    out: Annotated[Path, typer.Option("--out", help="Recording directory: a dataset every command reads (-d DIR).")],
    kubeconfig: Annotated[Path | None, typer.Option(help="kubeconfig of the cluster.")] = None,
    context: Annotated[str | None, typer.Option(help="Context of --kubeconfig (default: its current-context).")] = None,
    in_cluster: Annotated[bool, typer.Option(help="Use the pod's service account (running in the cluster).")] = False,
    every: Annotated[str, typer.Option(help="Sampling interval (metrics-server scrapes every 15-60 s).")] = "30s",
    keep: Annotated[str, typer.Option(help="Window kept on disk; older samples are deleted (rotation).")] = "14d",
    duration: Annotated[
        str | None, typer.Option("--for", help="Stop after this long (default: until Ctrl-C or SIGTERM).")
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Stop after this many samples.", min=1)] = None,
    objects_every: Annotated[str, typer.Option(help="How often pods and other objects are listed again.")] = "10m",
    flush_every: Annotated[int, typer.Option(help="Write the dataset frames every N samples.", min=1)] = 10,
    cluster_name: Annotated[str, typer.Option(help="Cluster name in the dataset.")] = "default",
) -> None:
    """Sample metrics.k8s.io (pods and nodes) into a dataset, resumable; Ctrl-C stops and keeps what it has."""
    from kubetally.sources.kubernetes.record import Recorder

    settings = kubeopts.connection(kubeconfig=kubeconfig, context=context, in_cluster=in_cluster)
    if settings is None:
        raise ConfigError("record needs a cluster: --kubeconfig FILE [--context NAME] or --in-cluster")
    step = _seconds("--every", every)
    recorder = Recorder(
        directory=out,
        settings=settings,
        cluster_name=cluster_name,
        every=step,
        keep_seconds=_seconds("--keep", keep),
        objects_every=_seconds("--objects-every", objects_every),
        flush_every=flush_every,
    )
    recorder.open()
    until = time.time() + _seconds("--for", duration) if duration else None
    console = Console(stderr=True)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with console.status(f"recording metrics-server every {step} s into {out}") as status:
            recorder.run(progress=status.update, until=until, ticks=samples)
    except KeyboardInterrupt:
        console.print("[yellow]stopped[/]: kept what was recorded")
    finally:
        signal.signal(signal.SIGTERM, previous)
    dataset = recorder.dataset()
    if dataset is None:
        console.print(f"{out}: no sample recorded yet")
        return
    counts = dataset.counts()
    info = dataset.info
    console.print(
        f"{out}: {recorder.samples} samples this run; dataset {info.start:%Y-%m-%d %H:%M:%S} .. "
        f"{info.end:%Y-%m-%d %H:%M:%S} UTC, {counts['usage']:,} usage rows, {counts['containers']} containers, "
        f"{counts['node_usage']:,} node rows"
    )
    for note in info.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
