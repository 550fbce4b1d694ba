"""Record: sample metrics-server (``metrics.k8s.io``, pods and nodes) into a dataset directory, for clusters
without Prometheus. Resumable (a killed recorder continues where it stopped); Ctrl-C or SIGTERM stops and keeps
what was recorded."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

from pydantic import Field, model_validator

from kubetally.app.base import Progress, Request, cli, like, no_progress
from kubetally.app.source import SourceRequest, kube_connection
from kubetally.app.targets import check_directory
from kubetally.model.duration import Seconds
from kubetally.outputs.written import DatasetWritten


class RecordRequest(Request):
    """Sample metrics.k8s.io (pods and nodes) into a dataset, resumable; Ctrl-C stops and keeps what it has."""

    out: Path = Field(
        description="Recording directory: a dataset every command reads (-d DIR); an existing recording is continued.",
        json_schema_extra=cli(metavar="DIR"),
    )
    kubeconfig: Path | None = like(SourceRequest, "kubeconfig", description="kubeconfig of the cluster.",
                                   metavar="FILE")  # fmt: skip
    context: str | None = like(SourceRequest, "context", metavar="NAME")
    in_cluster: bool = like(
        SourceRequest, "in_cluster", description="Use the pod's service account (kubetally runs in the cluster)."
    )
    every: Seconds = Field(
        30,
        ge=1,
        description="Sampling interval (metrics-server scrapes every 15-60 s).",
        json_schema_extra=cli(metavar="DURATION", show_default="30s"),
    )
    keep: Seconds = Field(
        14 * 86400,
        ge=60,
        description="Window kept on disk; older samples are deleted (rotation).",
        json_schema_extra=cli(metavar="DURATION", show_default="14d"),
    )
    duration: Seconds | None = Field(
        None,
        ge=1,
        description="Stop after this long (default: until Ctrl-C or SIGTERM).",
        json_schema_extra=cli(flag="--for", metavar="DURATION"),
    )
    samples: int | None = Field(None, ge=1, description="Stop after this many samples.")
    objects_every: Seconds = Field(
        600,
        ge=1,
        description="How often pods and other objects are listed again.",
        json_schema_extra=cli(metavar="DURATION", show_default="10m"),
    )
    flush_every: int = Field(10, ge=1, description="Write the dataset frames every N samples.")
    cluster_name: str = Field("default", description="Cluster name in the dataset.")

    @model_validator(mode="after")
    def _a_cluster(self) -> RecordRequest:
        if self.context is not None and self.kubeconfig is None:
            raise ValueError("--context needs --kubeconfig")
        if self.kubeconfig is None and not self.in_cluster:
            raise ValueError("record needs a cluster: --kubeconfig FILE [--context NAME] or --in-cluster")
        if self.kubeconfig is not None and self.in_cluster:
            raise ValueError("give one Kubernetes source: --kubeconfig or --in-cluster, not 2")
        check_directory("--out", self.out)
        return self


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def record(request: RecordRequest, progress: Progress = no_progress) -> DatasetWritten:
    """Sample until ``--for``/``--samples`` or a stop signal; what the recording holds now."""
    from kubetally.sources.kubernetes.record import Recorder

    settings = kube_connection(request)
    assert settings is not None  # the request names a cluster
    recorder = Recorder(
        directory=request.out,
        settings=settings,
        cluster_name=request.cluster_name,
        every=request.every,
        keep_seconds=request.keep,
        objects_every=request.objects_every,
        flush_every=request.flush_every,
    )
    recorder.open()
    until = time.time() + request.duration if request.duration else None
    stopped: tuple[str, ...] = ()
    progress(f"recording metrics-server every {request.every} s into {request.out}")
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        recorder.run(progress=progress, until=until, ticks=request.samples)
    except KeyboardInterrupt:
        stopped = ("[yellow]stopped[/]: kept what was recorded",)
    finally:
        signal.signal(signal.SIGTERM, previous)
    dataset = recorder.dataset()
    if dataset is None:
        return DatasetWritten(path=None, messages=(*stopped, f"{request.out}: no sample recorded yet"))
    counts, info = dataset.counts(), dataset.info
    line = (
        f"{request.out}: {recorder.samples} samples this run; dataset {info.start:%Y-%m-%d %H:%M:%S} .. "
        f"{info.end:%Y-%m-%d %H:%M:%S} UTC, {counts['usage']:,} usage rows, {counts['containers']} containers, "
        f"{counts['node_usage']:,} node rows"
    )
    return DatasetWritten(
        path=request.out, counts=counts, start=info.start, end=info.end, notes=info.notes, messages=(*stopped, line)
    )
