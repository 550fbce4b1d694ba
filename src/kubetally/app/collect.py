"""Collect: read a cluster into a dataset directory every command reads (``-d DIR``).

From Prometheus (or VictoriaMetrics, Thanos, Mimir): the history; from the Kubernetes API (``--kubeconfig``,
``--in-cluster``) or ``kubectl get -o json|yaml`` dumps (``--kube-dump``): the objects at one point in time; a
Kubernetes source beside ``--prometheus``: the objects from it over Prometheus' history, one dataset.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator

from kubetally.app import prometheus as promsettings
from kubetally.app.base import Progress, Request, cli, like, no_progress
from kubetally.app.source import SourceRequest, kube_connection, kube_sources
from kubetally.app.targets import check_dataset_target
from kubetally.dataset import Dataset, load, save
from kubetally.errors import ConfigError
from kubetally.model.duration import Seconds
from kubetally.model.promql import check_label_name
from kubetally.outputs.written import DatasetWritten
from kubetally.sources.kubernetes.settings import KubeConnection
from kubetally.sources.prometheus.settings import Connection, Query, redact_url

_E = promsettings.ENV


class CollectRequest(Request):
    """Read a cluster into a dataset: its history from Prometheus, its objects from the API server or kubectl
    dumps, or both (a Kubernetes source beside --prometheus: the objects from it, the history from Prometheus)."""

    out: Path = Field(
        description="Dataset directory to write (every command reads it with -d DIR).",
        json_schema_extra=cli(metavar="DIR", deprecated=("-o", "--output")),
    )
    prometheus: str | None = like(SourceRequest, "prometheus", description="Base URL of the Prometheus HTTP API "
                                  "(Prometheus, VictoriaMetrics, Thanos, Mimir).", metavar="URL")  # fmt: skip
    kube_dump: tuple[Path, ...] = like(SourceRequest, "kube_dump", metavar="FILE|DIR")
    kubeconfig: Path | None = like(SourceRequest, "kubeconfig", metavar="FILE")
    context: str | None = like(SourceRequest, "context", metavar="NAME")
    in_cluster: bool = like(SourceRequest, "in_cluster")
    page_size: int = like(KubeConnection, "page_size", description="Objects per API list page (limit/continue).")

    window: Seconds = like(
        Query, "window_seconds", description="History to read (e.g. 14d, 48h).", env=_E["window"],
        metavar="DURATION", show_default="14d",
    )  # fmt: skip
    step: Seconds = like(
        Query, "step_seconds", description="Step of every series (e.g. 1m, 5m).", env=_E["step"],
        metavar="DURATION", show_default="1m",
    )  # fmt: skip
    end: datetime | None = like(
        Query, "end", description="End of the window, UTC, e.g. 2026-11-02T00:00:00 (default: now, aligned to "
        "the step).", env=_E["end"], metavar="TIME",
    )  # fmt: skip
    cluster_label: str | None = like(Query, "cluster_label", env=_E["cluster_label"], metavar="LABEL")
    cluster_name: str = like(Query, "cluster_name")
    cluster: tuple[str, ...] = like(
        Query, "clusters", description="Only this cluster (repeatable; needs --cluster-label).", metavar="NAME"
    )
    kubelet_job: str = like(Query, "kubelet_job", env=_E["kubelet_job"], metavar="REGEX")
    kubelet_metrics_path: str = like(Query, "kubelet_metrics_path", env=_E["kubelet_metrics_path"], metavar="REGEX")
    ksm_job: str = like(Query, "ksm_job", env=_E["ksm_job"], metavar="REGEX")
    node_exporter_job: str = like(Query, "node_exporter_job", metavar="REGEX")
    postgres_job: str = like(Query, "postgres_job", metavar="REGEX")
    rate_window: Seconds | None = like(
        Query, "rate_window_seconds", description="Range of increase()/rate() (default: the step).",
        metavar="DURATION",
    )  # fmt: skip

    bearer_token_file: Path | None = Field(
        None,
        description=f"File holding a bearer token (or ${_E['token']}).",
        json_schema_extra=cli(env=_E["token_file"], metavar="FILE"),
    )
    basic_auth_user: str | None = Field(
        None, description="Basic-auth user.", json_schema_extra=cli(env=_E["user"], metavar="USER")
    )
    basic_auth_password_file: Path | None = Field(
        None,
        description=f"File holding the basic-auth password (or ${_E['password']}).",
        json_schema_extra=cli(metavar="FILE"),
    )
    header: tuple[str, ...] = Field(
        (), description="Extra header 'Name: value' (repeatable).", json_schema_extra=cli(metavar="HEADER")
    )
    ca_file: Path | None = like(Connection, "ca_file", env=_E["ca_file"], metavar="FILE")
    insecure: bool = like(Connection, "insecure")
    timeout: float = like(
        Connection, "timeout_seconds", description="Seconds per HTTP request (Prometheus and the API server)."
    )
    retries: int = like(Connection, "retries")
    concurrency: int = like(Connection, "concurrency")
    max_points: int = like(Query, "max_points_per_series", description="Points per series per query (time-chunk "
                           "size; Prometheus refuses > 11,000).")  # fmt: skip
    labels_from: Path | None = Field(
        None,
        description="`kubectl get pods,deployments,...,nodes,namespaces -A -o json` dump: labels when "
        "kube-state-metrics exports none.",
        json_schema_extra=cli(metavar="FILE"),
    )
    overwrite: bool = Field(False, description="Replace OUT if it is an existing dataset.")

    @field_validator("cluster_label")
    @classmethod
    def _label_name(cls, value: str | None) -> str | None:
        return None if not value else check_label_name(value)

    @model_validator(mode="after")
    def _sources_and_target(self) -> CollectRequest:
        kube = kube_sources(self)
        if self.prometheus is None and not kube:
            raise ValueError(
                "give a source: --prometheus URL (history), --kubeconfig FILE / --in-cluster (objects, now) or "
                "--kube-dump FILE|DIR (objects); a Kubernetes source may go with --prometheus"
            )
        if self.prometheus is None:
            prom_only = [f for f in ("labels_from", "cluster_label", "cluster") if getattr(self, f)]
            if prom_only:
                flag = "--" + prom_only[0].replace("_", "-")
                raise ValueError(f"{flag} is a Prometheus setting: give --prometheus URL too")
        if self.labels_from is not None and not self.labels_from.is_file():
            raise ValueError(f"--labels-from {self.labels_from}: no such file")
        if self.cluster and not self.cluster_label:
            raise ValueError("--cluster needs --cluster-label (the label that names the cluster)")
        check_dataset_target("--out", self.out, overwrite=self.overwrite)
        return self


def _connection(request: CollectRequest) -> Connection:
    assert request.prometheus is not None

    def text(path: Path | None) -> str | None:
        return None if path is None else str(path)

    return promsettings.connection(
        request.prometheus,
        token_file=text(request.bearer_token_file),
        user=request.basic_auth_user,
        password_file=text(request.basic_auth_password_file),
        headers=list(request.header),
        ca_file=text(request.ca_file),
        insecure=request.insecure,
        timeout=request.timeout,
        retries=request.retries,
        concurrency=request.concurrency,
    )


def _query(request: CollectRequest) -> Query:
    try:
        return Query(
            end=request.end,
            window_seconds=request.window,
            step_seconds=request.step,
            rate_window_seconds=request.rate_window,
            cluster_label=request.cluster_label,
            cluster_name=request.cluster_name,
            clusters=request.cluster,
            kubelet_job=request.kubelet_job,
            kubelet_metrics_path=request.kubelet_metrics_path,
            ksm_job=request.ksm_job,
            node_exporter_job=request.node_exporter_job,
            postgres_job=request.postgres_job,
            max_points_per_series=request.max_points,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"invalid Prometheus query settings: {error['msg']}") from None


def _objects(request: CollectRequest, progress: Progress) -> Dataset:
    from kubetally.sources.kubernetes import dataset_from_api, dataset_from_dump

    settings = kube_connection(request, page_size=request.page_size, timeout=request.timeout)
    if settings is None:
        progress("reading the kubectl dump...")
        return dataset_from_dump(request.kube_dump, cluster_name=request.cluster_name)
    progress("reading the API server...")
    return dataset_from_api(settings, cluster_name=request.cluster_name, progress=progress)


def _written(dataset: Dataset, out: Path, *, objects_only: bool, extra: tuple[str, ...] = ()) -> DatasetWritten:
    counts, info = dataset.counts(), dataset.info
    if objects_only:
        line = (
            f"wrote {out}: {counts['objects']} objects, {counts['containers']} containers, "
            f"{counts['workloads']} workloads, {counts['nodes']} nodes, {counts['volumes']} volumes, "
            f"{counts['references']} references, as of {info.end:%Y-%m-%d %H:%M} UTC"
        )
    else:
        line = (
            f"wrote {out}: {counts['containers']} containers, {counts['usage']:,} usage rows, "
            f"{counts['nodes']} nodes, {info.start:%Y-%m-%d %H:%M} .. {info.end:%Y-%m-%d %H:%M} UTC"
        )
    return DatasetWritten(
        path=out, counts=counts, start=info.start, end=info.end, notes=info.notes, messages=(line, *extra)
    )


def collect(request: CollectRequest, progress: Progress = no_progress) -> DatasetWritten:
    """Read the sources ``request`` names and save them as one dataset at ``request.out``."""
    from kubetally.sources.prometheus import collect as read_prometheus

    objects = _objects(request, progress) if kube_sources(request) else None
    if request.prometheus is None:
        assert objects is not None
        save(objects, request.out, overwrite=request.overwrite)
        return _written(objects, request.out, objects_only=True)
    conn, query = _connection(request), _query(request)
    started = time.monotonic()
    spill = request.out.with_name(f".{request.out.name}.spill")
    spill.mkdir(parents=True, exist_ok=True)
    try:
        progress(f"collecting from {redact_url(conn.url)}")
        result = read_prometheus(conn, query, progress=progress, spill_dir=spill, labels_from=request.labels_from)
        dataset = result.dataset
        if objects is not None:
            from kubetally.sources.combined import objects_with_history

            dataset = objects_with_history(objects, dataset)
        progress("saving")
        save(dataset, request.out, overwrite=request.overwrite)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    u = result.usage
    queries = (
        f"{u.queries} queries ({u.retries} retries), {u.points:,} points returned, "
        f"{u.server_samples:,} samples read by the server, {time.monotonic() - started:.1f} s"
    )
    return _written(load(request.out), request.out, objects_only=False, extra=(queries,))  # the saved copy
