"""A Dataset as OpenMetrics text, the way a kube-prometheus-stack Prometheus stores a k3s cluster.

:func:`write_openmetrics` is a pure function of the Dataset and :class:`ExpositionOptions`:
it never looks at simulator internals, so any Dataset (simulated, collected, hand-made)
can be turned into the series cAdvisor, kube-state-metrics v2, the kubelet,
node-exporter and postgres_exporter would have produced, ready for
``promtool tsdb create-blocks-from openmetrics --max-block-duration=336h`` or
VictoriaMetrics' ``/api/v1/import/prometheus``.

Conventions (documented in ``docs/exposition.md``):

* the sample of the step starting at ``ts`` is stamped ``ts + step`` (scraped at the
  end of the step), in whole seconds; counters also get a 0 at the first ``ts``, so
  ``rate(x[step])`` at ``ts + step`` is exactly the Dataset's rate;
* counters restart at 0 under a new container id after a termination (from the
  ``terminations`` frame), from the first step starting after it;
* info-like gauges (KSM) are sampled at every step end while the object exists;
* the text is streamed: families are spooled to temp files batch by batch and
  copied to ``out`` in 1 MiB chunks.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.exposition import _cadvisor, _hosts, _ids, _ksm_cluster, _ksm_pods
from kubetally.simulate.exposition._grid import Grid
from kubetally.simulate.exposition._text import Format, Spool, Stats, T

__all__ = ["ExpositionOptions", "Stats", "write_openmetrics", "write_vm_jsonl"]


class ExpositionOptions(BaseModel):
    """How the simulated monitoring stack is set up (each option is a real-world variant)."""

    model_config = ConfigDict(frozen=True)

    label_allowlist: bool = Field(
        True,
        description="Emit kube_*_labels (KSM --metric-labels-allowlist set); False is the KSM >= 2.10 default.",
    )
    container_label_lost: bool = Field(
        False, description="k3s cAdvisor lost the runtime: only pod-level cgroup series, no container/pause series."
    )
    docker_runtime: bool = Field(False, description='dockershim: the pause series has container="POD".')
    cluster_label: str | None = Field(
        None, description="Add this label with the Dataset's cluster name to every series (central Prometheus)."
    )
    kubelet_job: str = Field("kubelet", description="job label of the kubelet/cAdvisor scrape.")
    ksm_job: str = Field("kube-state-metrics", description="job label of kube-state-metrics.")
    node_exporter_job: str = Field("node-exporter", description="job label of node-exporter.")
    monitoring_namespace: str = Field("monitoring", description="Namespace of the monitoring stack (KSM pollution).")
    kubelet_resource_endpoint: bool = Field(
        False,
        description="Also scrape the kubelet's /metrics/resource under the kubelet job (kube-prometheus-stack "
        "kubelet.serviceMonitor.resource): container CPU and working set twice, metrics_path=/metrics/resource.",
    )
    host_network_namespaces: tuple[str, ...] = Field(
        (),
        description='Pods of these namespaces run with hostNetwork (node agents): kube_pod_info{host_network="true"} '
        "and their sandbox network series are the node's interfaces (the node's whole traffic).",
    )
    ksm_version: str = Field(
        "2.13",
        pattern=r"^2\.\d{1,2}$",
        description="kube-state-metrics version emitted: >= 2.16 kube_persistentvolume_info "
        "has reclaim_policy, >= 2.14 kube_endpoint_address{ready} replaces kube_endpoint_address_available, < 2.12 no "
        "last_terminated_timestamp, < 2.8 no kube_pod_status_qos_class, <= 2.7 a pod without owner has owner_kind "
        '"<none>".',
    )
    batch_pods: int = Field(200, ge=1, le=100_000, description="Pods per batch: bounds memory while streaming.")


def _node_ips(nodes: pl.DataFrame) -> dict[tuple[str, str], str]:
    ips: dict[tuple[str, str], str] = {}
    for ci, cluster in enumerate(sorted(set(nodes.get_column(c.CLUSTER).to_list()))):
        names = sorted(nodes.filter(pl.col(c.CLUSTER) == cluster).get_column(c.NODE).to_list())
        for ni, node in enumerate(names):
            ips[(cluster, node)] = _ids.node_ip(ci, ni)
    return ips


def _epoch_seconds(ts: datetime) -> int:
    return int(ts.timestamp())


def write_openmetrics(
    dataset: Dataset,
    out: IO[str] | IO[bytes],
    options: ExpositionOptions | None = None,
    *,
    spool_dir: Path | None = None,
) -> Stats:
    """Write ``dataset`` as OpenMetrics text to ``out`` (text or binary file object); return counts."""
    return _write(dataset, out, options, spool_dir, "openmetrics")


def write_vm_jsonl(
    dataset: Dataset,
    out: IO[str] | IO[bytes],
    options: ExpositionOptions | None = None,
    *,
    spool_dir: Path | None = None,
) -> Stats:
    """The same series and samples as :func:`write_openmetrics`, as VictoriaMetrics ``/api/v1/import`` JSON lines.

    One line per series and pod batch (``{"metric": {...}, "values": [...], "timestamps": [ms...]}``): labels
    are written once per series instead of once per sample, so a long history is ~10x smaller than the
    text and VictoriaMetrics ingests it without a text parser (used by ``bench/bench_prometheus.py``).
    """
    return _write(dataset, out, options, spool_dir, "vm-jsonl")


def _write(
    dataset: Dataset,
    out: IO[str] | IO[bytes],
    options: ExpositionOptions | None,
    spool_dir: Path | None,
    fmt: Format,
) -> Stats:
    opts = options or ExpositionOptions()
    info = dataset.info
    step = info.step_seconds
    grid = Grid(_epoch_seconds(info.start), step, info.steps)
    targets = _ids.Targets(
        monitoring_namespace=opts.monitoring_namespace,
        kubelet_job=opts.kubelet_job,
        ksm_job=opts.ksm_job,
        node_exporter_job=opts.node_exporter_job,
    )
    node_ips = _node_ips(dataset.nodes)
    node_network = None
    if opts.host_network_namespaces:
        node_network = (
            dataset.node_usage.select(
                c.CLUSTER, c.NODE, pl.col(c.TIMESTAMP).dt.epoch("s").alias(T),
                c.NETWORK_RECEIVE_BYTES_PER_SECOND, c.NETWORK_TRANSMIT_BYTES_PER_SECOND,
            )
            .collect()
        )  # fmt: skip
    cad = _cadvisor.CadvisorContext(
        step, opts.container_label_lost, opts.docker_runtime, targets, node_ips, opts.cluster_label,
        resource_endpoint=opts.kubelet_resource_endpoint, host_network_namespaces=opts.host_network_namespaces,
        node_network=node_network,
    )  # fmt: skip
    major, minor = opts.ksm_version.split(".")
    ksm = _ksm_pods.KsmContext(
        grid,
        targets,
        node_ips,
        opts.cluster_label,
        opts.label_allowlist,
        opts.host_network_namespaces,
        (int(major), int(minor)),
    )
    hosts = _hosts.HostContext(grid, targets, node_ips, opts.cluster_label)

    containers = dataset.containers
    terms = dataset.table(schema.TERMINATIONS).sort(c.TIMESTAMP)
    since = pl.col(c.TIMESTAMP).dt.epoch("us") - grid.start * 1_000_000
    step_us = step * 1_000_000
    bound = ((since + step_us - 1) // step_us) * step + grid.start  # integer ceil: no float rounding
    terms = terms.with_columns(bound.alias("_b"), (pl.col(c.TIMESTAMP).dt.epoch("us") / 1e6).alias("_when"))
    term_map: dict[tuple[str, str, str, str], list[tuple[float, int, str]]] = {}
    for row in terms.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.POD], row[c.CONTAINER])
        term_map.setdefault(key, []).append((row["_when"], row["_b"], row[c.REASON]))
    bounds_all = terms.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, "_b")
    pod_labels: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for row in dataset.labels.filter(pl.col(c.OBJECT_KIND) == "Pod").iter_rows(named=True):
        pod_labels.setdefault((row[c.CLUSTER], row[c.NAMESPACE], row[c.NAME]), []).append((row[c.KEY], row[c.VALUE]))
    mounts_frame = dataset.table(schema.VOLUME_MOUNTS)
    mounts: dict[tuple[str, str, str], list[str]] = {}
    for row in mounts_frame.iter_rows(named=True):
        mounts.setdefault((row[c.CLUSTER], row[c.NAMESPACE], row[c.POD]), []).append(row[c.PVC])

    pod_keys = [c.CLUSTER, c.NAMESPACE, c.POD]
    pods = (
        containers.group_by(pod_keys, maintain_order=True)
        .agg(pl.col(c.POD_UID).first(), pl.col(c.NODE).first(), pl.col(c.QOS_CLASS).first())
        .sort(pod_keys)
    )
    usage = dataset.usage
    network = dataset.series(schema.POD_NETWORK)
    spool = Spool(spool_dir, fmt)
    try:
        for offset in range(0, pods.height, opts.batch_pods):
            batch = pods.slice(offset, opts.batch_pods)
            keys = batch.select(pod_keys)
            bc = containers.join(keys, on=pod_keys, how="semi")
            bu = (
                usage.join(keys.lazy(), on=pod_keys, how="semi")
                .with_columns(pl.col(c.TIMESTAMP).dt.epoch("s").alias(T))
                .collect()
            )
            bn = (
                network.join(keys.lazy(), on=pod_keys, how="semi")
                .with_columns(pl.col(c.TIMESTAMP).dt.epoch("s").alias(T))
                .collect()
            )
            bb = bounds_all.join(keys, on=pod_keys, how="semi")
            _cadvisor.write_batch(spool, cad, batch, bc, bu, bn, bb)
            _ksm_pods.write_batch(spool, ksm, bc, term_map, pod_labels, mounts)
            logs = dataset.series(schema.LOG_USAGE).join(keys.lazy(), on=pod_keys, how="semi").collect()
            _hosts.write_logs(spool, hosts, containers=bc, log_usage=logs)
        _ksm_cluster.write(
            spool,
            ksm,
            workloads=dataset.workloads,
            containers=containers,
            nodes=dataset.nodes,
            labels=dataset.labels,
            volumes=dataset.table(schema.VOLUMES),
            objects=dataset.table(schema.OBJECTS),
        )
        _hosts.write_kubelet(
            spool,
            hosts,
            volumes=dataset.table(schema.VOLUMES),
            mounts=mounts_frame,
            containers=containers,
            volume_usage=dataset.series(schema.VOLUME_USAGE).collect(),
        )
        _hosts.write_node_exporter(spool, hosts, nodes=dataset.nodes, node_usage=dataset.node_usage)
        _hosts.write_postgres(spool, hosts, database_usage=dataset.series(schema.DATABASE_USAGE), containers=containers)
        return spool.finish(out)
    finally:
        spool.close()
