"""`kubetally collect`: read a cluster into a Dataset.

From Prometheus (or VictoriaMetrics, Thanos, Mimir): the history; from the Kubernetes API (``--kubeconfig``,
``--in-cluster``) or ``kubectl get -o json|yaml`` dumps (``--kube-dump``): the objects at one point in time.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kubetally.app import prometheus as promsettings
from kubetally.cli import kubeopts
from kubetally.cli import legacy as app
from kubetally.cli.options import check_dataset_target
from kubetally.dataset import Dataset, load, save
from kubetally.errors import ConfigError
from kubetally.sources.kubernetes.settings import KubeConnection
from kubetally.sources.prometheus import collect
from kubetally.sources.prometheus.settings import redact_url

_E = promsettings.ENV


@app.command("collect")
def collect_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Dataset directory to write.")],
    prometheus: Annotated[str | None, typer.Option("--prometheus", help="Base URL of the Prometheus HTTP API.")] = None,
    kube_dump: Annotated[
        list[Path] | None,
        typer.Option(
            "--kube-dump",
            help="`kubectl get <kinds> -A -o json|yaml` output: a file or a directory of them (repeatable); "
            "objects at one point in time, no usage.",
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="kubeconfig of the cluster: its objects read from the API server now (read-only)."),
    ] = None,
    context: Annotated[str | None, typer.Option(help="Context of --kubeconfig (default: its current-context).")] = None,
    in_cluster: Annotated[
        bool, typer.Option(help="Read the API server with the pod's service account (kubetally runs in the cluster).")
    ] = False,
    page_size: Annotated[int, typer.Option(help="Objects per API list page (limit/continue).", min=1)] = 500,
    window: Annotated[str, typer.Option(help="History to read (e.g. 14d, 48h).", envvar=_E["window"])] = "14d",
    step: Annotated[str, typer.Option(help="Step of every series (e.g. 1m, 5m).", envvar=_E["step"])] = "1m",
    end: Annotated[
        datetime | None, typer.Option(help="End of the window, UTC (default: now, aligned to the step).")
    ] = None,
    cluster_label: Annotated[
        str | None, typer.Option(help="Label naming the cluster on a central server (e.g. cluster).")
    ] = None,
    cluster_name: Annotated[str, typer.Option(help="Cluster name when there is no cluster label.")] = "default",
    cluster: Annotated[
        list[str] | None, typer.Option(help="Only this cluster (repeatable; needs --cluster-label).")
    ] = None,
    kubelet_job: Annotated[
        str,
        typer.Option(help="Regex of the kubelet/cAdvisor job (k3s PushProx: k3s-server).", envvar=_E["kubelet_job"]),
    ] = "kubelet",
    kubelet_metrics_path: Annotated[
        str,
        typer.Option(
            help="Regex of the metrics_path label of the kubelet's cAdvisor scrape (other paths, e.g. "
            "/metrics/resource, are left out).",
            envvar=_E["kubelet_metrics_path"],
        ),
    ] = "/metrics/cadvisor",
    ksm_job: Annotated[str, typer.Option(help="Regex of the kube-state-metrics job.", envvar=_E["ksm_job"])] = (
        "kube-state-metrics"
    ),
    node_exporter_job: Annotated[str, typer.Option(help="Regex of the node-exporter job.")] = "node-exporter",
    postgres_job: Annotated[str, typer.Option(help="Regex of the postgres_exporter job.")] = ".*postgres.*",
    rate_window: Annotated[str | None, typer.Option(help="Range of increase()/rate() (default: the step).")] = None,
    bearer_token_file: Annotated[
        str | None, typer.Option(help=f"File holding a bearer token (or ${_E['token']}).", envvar=_E["token_file"])
    ] = None,
    basic_auth_user: Annotated[str | None, typer.Option(help="Basic-auth user.", envvar=_E["user"])] = None,
    basic_auth_password_file: Annotated[
        str | None, typer.Option(help=f"File holding the basic-auth password (or ${_E['password']}).")
    ] = None,
    header: Annotated[list[str] | None, typer.Option(help="Extra header 'Name: value' (repeatable).")] = None,
    ca_file: Annotated[str | None, typer.Option(help="CA bundle (PEM) for TLS.", envvar=_E["ca_file"])] = None,
    insecure: Annotated[bool, typer.Option(help="Skip TLS certificate verification.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP request.", min=1)] = 60.0,
    retries: Annotated[int, typer.Option(help="Retries on 429/5xx/network errors.", min=0, max=20)] = 4,
    concurrency: Annotated[int, typer.Option(help="Queries in flight at once.", min=1, max=32)] = 2,
    max_points: Annotated[
        int, typer.Option(help="Points per series per query (time-chunk size).", min=10, max=11_000)
    ] = 2880,
    labels_from: Annotated[
        Path | None,
        typer.Option(
            help="`kubectl get pods,deployments,...,nodes,namespaces -A -o json` dump: labels when KSM has none."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUTPUT if it is an existing dataset.")] = False,
) -> None:
    """Read a cluster into a dataset: its history from Prometheus, or its objects from the API or kubectl dumps."""
    check_dataset_target("--output", output, overwrite=overwrite)
    live = kubeopts.connection(
        kubeconfig=kubeconfig, context=context, in_cluster=in_cluster, page_size=page_size, timeout=timeout
    )
    if [prometheus is not None, bool(kube_dump), live is not None].count(True) != 1:
        raise ConfigError(
            "give one source: --prometheus URL (history), --kubeconfig FILE / --in-cluster (objects, now) "
            "or --kube-dump FILE|DIR (objects); several together are not supported yet"
        )
    if kube_dump:
        _collect_dump(kube_dump, output, cluster_name=cluster_name, overwrite=overwrite)
        return
    if live is not None:
        _collect_api(live, output, cluster_name=cluster_name, overwrite=overwrite)
        return
    assert prometheus is not None
    if labels_from is not None and not labels_from.is_file():
        raise ConfigError(f"--labels-from {labels_from}: no such file")
    console = Console(stderr=True)
    conn = promsettings.connection(
        prometheus,
        token_file=bearer_token_file,
        user=basic_auth_user,
        password_file=basic_auth_password_file,
        headers=header,
        ca_file=ca_file,
        insecure=insecure,
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
    )
    q = promsettings.query(
        window=window,
        step=step,
        end=end,
        cluster_label=cluster_label,
        cluster_name=cluster_name,
        clusters=cluster,
        kubelet_job=kubelet_job,
        kubelet_metrics_path=kubelet_metrics_path,
        ksm_job=ksm_job,
        node_exporter_job=node_exporter_job,
        postgres_job=postgres_job,
        rate_window=rate_window,
        max_points=max_points,
    )
    started = time.monotonic()
    spill = output.with_name(f".{output.name}.spill")
    spill.mkdir(parents=True, exist_ok=True)
    try:
        with console.status(f"collecting from {redact_url(conn.url)}") as status:
            result = collect(conn, q, progress=status.update, spill_dir=spill, labels_from=labels_from)
            status.update("saving")
            save(result.dataset, output, overwrite=overwrite)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    dataset = load(output)  # the saved copy: the spill files are gone
    u = result.usage
    counts = dataset.counts()
    info = dataset.info
    console.print(
        f"wrote {output}: {counts['containers']} containers, {counts['usage']:,} usage rows, "
        f"{counts['nodes']} nodes, {info.start:%Y-%m-%d %H:%M} .. {info.end:%Y-%m-%d %H:%M} UTC"
    )
    console.print(
        f"{u.queries} queries ({u.retries} retries), {u.points:,} points returned, "
        f"{u.server_samples:,} samples read by the server, {time.monotonic() - started:.1f} s"
    )
    for note in info.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _collect_dump(paths: list[Path], output: Path, *, cluster_name: str, overwrite: bool) -> None:
    from kubetally.sources.kubernetes import dataset_from_dump

    dataset = dataset_from_dump(paths, cluster_name=cluster_name)
    _save_objects(dataset, output, overwrite=overwrite)


def _collect_api(settings: KubeConnection, output: Path, *, cluster_name: str, overwrite: bool) -> None:
    from kubetally.sources.kubernetes import dataset_from_api

    with Console(stderr=True).status("reading the API server") as status:
        dataset = dataset_from_api(settings, cluster_name=cluster_name, progress=status.update)
    _save_objects(dataset, output, overwrite=overwrite)


def _save_objects(dataset: Dataset, output: Path, *, overwrite: bool) -> None:
    console = Console(stderr=True)
    save(dataset, output, overwrite=overwrite)
    counts = dataset.counts()
    console.print(
        f"wrote {output}: {counts['objects']} objects, {counts['containers']} containers, "
        f"{counts['workloads']} workloads, {counts['nodes']} nodes, {counts['volumes']} volumes, "
        f"{counts['references']} references, as of {dataset.info.end:%Y-%m-%d %H:%M} UTC"
    )
    for note in dataset.info.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
