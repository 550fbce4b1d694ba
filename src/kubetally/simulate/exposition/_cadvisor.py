"""cAdvisor series (kubelet ``/metrics/cadvisor``) for a batch of pods.

Three kinds of series per pod, as a containerd k3s node has them: the container
series (``container``, ``image``, ``name`` = container id, ``id`` = cgroup path),
the pod-level cgroup series (no container/image/name) and the pod sandbox
("pause") series, the only one carrying network counters. Counters are the
cumulative sums of the Dataset's rates × step; a container's counters restart at
0 under a new id/name after each termination (the step after it). Every sample of
step ``ts`` is stamped ``ts + step`` (scraped at the end of the step); counters
also have a 0 sample at the start of their first step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from kubetally.model import columns as c
from kubetally.simulate.exposition import _ids
from kubetally.simulate.exposition._text import SERIES, Family, Spool, T, V, render_labels

CPU = Family("container_cpu_usage_seconds", "counter", "Cumulative cpu time consumed in seconds.")
WSS = Family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.")
RSS = Family("container_memory_rss", "gauge", "Size of RSS in bytes.")
FS_R = Family("container_fs_reads_bytes", "counter", "Cumulative count of bytes read")
FS_W = Family("container_fs_writes_bytes", "counter", "Cumulative count of bytes written")
NET_RX = Family("container_network_receive_bytes", "counter", "Cumulative count of bytes received")
NET_TX = Family("container_network_transmit_bytes", "counter", "Cumulative count of bytes transmitted")
CFS_P = Family("container_cpu_cfs_periods", "counter", "Number of elapsed enforcement period intervals.")
CFS_T = Family("container_cpu_cfs_throttled_periods", "counter", "Number of throttled period intervals.")
FAMILIES = (CPU, WSS, RSS, FS_R, FS_W, NET_RX, NET_TX, CFS_P, CFS_T)

CFS_PERIODS_PER_SECOND = 10.0
"""The default CFS period is 100 ms; a busy container sees 10 periods a second."""
DEVICE = "/dev/mmcblk0"
"""The Raspberry Pi's SD card: the block device of container filesystem I/O."""

KEY = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
POD_KEY = [c.CLUSTER, c.NAMESPACE, c.POD]
SEG = "_seg"


@dataclass(frozen=True)
class CadvisorContext:
    step: int
    lost_container_label: bool
    docker_runtime: bool
    targets: _ids.Targets
    node_ips: dict[tuple[str, str], str]
    cluster_label: str | None
    resource_endpoint: bool = False
    """Also the kubelet's ``/metrics/resource``: the same CPU and working-set names, per container, no id."""
    host_network_namespaces: tuple[str, ...] = ()
    """Pods of these namespaces share the node's network namespace: their sandbox counts the node's traffic."""
    node_network: pl.DataFrame | None = None
    """cluster, node, T, rx, tx of node_usage (for hostNetwork sandboxes)."""


def _counter(frame: pl.DataFrame, label: str, rate: str, step: int) -> pl.DataFrame:
    """Cumulative counter samples at ``t + step`` plus a 0 at the first ``t`` of each series."""
    body = frame.select(
        pl.col(label).alias(SERIES),
        (pl.col(T) + step).alias(T),
        (pl.col(rate).fill_null(0.0) * step).cum_sum().over(label).alias(V),
    )
    start = (
        frame.group_by(label).agg(pl.col(T).min()).select(pl.col(label).alias(SERIES), pl.col(T), pl.lit(0.0).alias(V))
    )
    return pl.concat([start, body])


def _gauge(frame: pl.DataFrame, label: str, value: str, step: int) -> pl.DataFrame:
    return frame.select(pl.col(label).alias(SERIES), (pl.col(T) + step).alias(T), pl.col(value).alias(V)).drop_nulls(V)


def _extra(ctx: CadvisorContext, cluster: str) -> dict[str, str]:
    return {ctx.cluster_label: cluster} if ctx.cluster_label else {}


def _targets(ctx: CadvisorContext, cluster: str, node: str) -> dict[str, str]:
    return ctx.targets.kubelet(node, ctx.node_ips.get((cluster, node), "10.0.0.1"), "/metrics/cadvisor")


def _merge(own: dict[str, str], ctx: CadvisorContext, cluster: str, node: str) -> dict[str, str]:
    return _ids.with_targets(own, _targets(ctx, cluster, node), _extra(ctx, cluster))


def write_batch(
    spool: Spool,
    ctx: CadvisorContext,
    pods: pl.DataFrame,
    containers: pl.DataFrame,
    usage: pl.DataFrame,
    network: pl.DataFrame,
    bounds: pl.DataFrame,
) -> None:
    """Write the cAdvisor series of one batch.

    ``pods``: cluster, namespace, pod, pod_uid, node, qos_class. ``containers``: KEY + image,
    cpu_limit_cores. ``usage``/``network``: Dataset rows with T (epoch seconds).
    ``bounds``: KEY + ``_b`` (epoch second of the first step after a termination).
    """
    step = ctx.step
    pod_meta = {(r[c.CLUSTER], r[c.NAMESPACE], r[c.POD]): r for r in pods.iter_rows(named=True)}
    u = usage.sort(T)
    if bounds.height:
        b = bounds.sort("_b").with_columns(pl.int_range(1, pl.len() + 1).over(KEY).alias(SEG))
        u = u.join_asof(b, left_on=T, right_on="_b", by=KEY, strategy="backward", check_sortedness=False).with_columns(
            pl.col(SEG).fill_null(0)
        )
    else:
        u = u.with_columns(pl.lit(0).alias(SEG))
    u = u.sort([*KEY, SEG, T])

    # Pod-level cgroup series: sums over the pod's containers; they never reset.
    pod_rows = (
        u.group_by([*POD_KEY, T])
        .agg(
            pl.col(c.CPU_USAGE_CORES).sum(),
            pl.col(c.MEMORY_WORKING_SET_BYTES).sum(),
            pl.col(c.MEMORY_RSS_BYTES).sum(),
            pl.col(c.FS_READ_BYTES_PER_SECOND).sum(),
            pl.col(c.FS_WRITE_BYTES_PER_SECOND).sum(),
        )
        .sort([*POD_KEY, T])
    )
    pod_labels: dict[tuple[str, str, str], tuple[str, str]] = {}
    for key, pm in pod_meta.items():
        cluster, namespace, pod = key
        own = {"id": _ids.pod_cgroup(pm[c.POD_UID], pm[c.QOS_CLASS]), "namespace": namespace, "pod": pod}
        base = _merge(own, ctx, cluster, pm[c.NODE])
        pod_labels[key] = (render_labels({**base, "cpu": "total"}), render_labels(base))
    pod_rows = _attach(pod_rows, POD_KEY, pod_labels, ("_l_cpu", "_l_base"))
    pod_fs = _attach(pod_rows, POD_KEY, {k: (render_labels_device(v[1]),) for k, v in pod_labels.items()}, ("_l_fs",))
    spool.write(CPU, _counter(pod_rows, "_l_cpu", c.CPU_USAGE_CORES, step))
    spool.write(WSS, _gauge(pod_rows, "_l_base", c.MEMORY_WORKING_SET_BYTES, step))
    spool.write(RSS, _gauge(pod_rows, "_l_base", c.MEMORY_RSS_BYTES, step))
    spool.write(FS_R, _counter(pod_fs, "_l_fs", c.FS_READ_BYTES_PER_SECOND, step))
    spool.write(FS_W, _counter(pod_fs, "_l_fs", c.FS_WRITE_BYTES_PER_SECOND, step))
    if ctx.lost_container_label:
        return  # cAdvisor lost the runtime: only the pod-level cgroups are left.

    # Container series: one per (container, restart segment), with its own id/name.
    cmetas = {(r[c.CLUSTER], r[c.NAMESPACE], r[c.POD], r[c.CONTAINER]): r for r in containers.iter_rows(named=True)}
    seg_labels: dict[tuple[str, str, str, str, int], tuple[str, str, str]] = {}
    for key4 in u.select([*KEY, SEG]).unique().iter_rows():
        cluster, namespace, pod, container, seg = key4
        pmeta = pod_meta.get((cluster, namespace, pod))
        cmeta = cmetas.get((cluster, namespace, pod, container))
        if pmeta is None:
            continue
        cid = _ids.container_id(pmeta[c.POD_UID], container, seg)
        own = {
            "container": container,
            "id": f"{_ids.pod_cgroup(pmeta[c.POD_UID], pmeta[c.QOS_CLASS])}/{cid}",
            "image": cmeta[c.IMAGE] if cmeta else "",
            "name": cid,
            "namespace": namespace,
            "pod": pod,
        }
        base = _merge(own, ctx, cluster, pmeta[c.NODE])
        seg_labels[key4] = (
            render_labels({**base, "cpu": "total"}),
            render_labels(base),
            render_labels({**base, "device": DEVICE}),
        )
    u = _attach(u, [*KEY, SEG], seg_labels, ("_l_cpu", "_l_base", "_l_fs"))
    spool.write(CPU, _counter(u, "_l_cpu", c.CPU_USAGE_CORES, step))
    spool.write(WSS, _gauge(u, "_l_base", c.MEMORY_WORKING_SET_BYTES, step))
    spool.write(RSS, _gauge(u, "_l_base", c.MEMORY_RSS_BYTES, step))
    spool.write(FS_R, _counter(u, "_l_fs", c.FS_READ_BYTES_PER_SECOND, step))
    spool.write(FS_W, _counter(u, "_l_fs", c.FS_WRITE_BYTES_PER_SECOND, step))

    if ctx.resource_endpoint:
        # kubelet /metrics/resource: one series per container (its counter survives restarts), no id/image/name.
        res_labels: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        for cluster, namespace, pod, container in u.select(KEY).unique().iter_rows():
            pmeta = pod_meta.get((cluster, namespace, pod))
            if pmeta is None:
                continue
            own = {"container": container, "namespace": namespace, "pod": pod}
            node = pmeta[c.NODE]
            targets = ctx.targets.kubelet(node, ctx.node_ips.get((cluster, node), "10.0.0.1"), "/metrics/resource")
            base = _ids.with_targets(own, targets, _extra(ctx, cluster))
            res_labels[(cluster, namespace, pod, container)] = (render_labels(base),) * 2
        r = _attach(u.drop("_l_cpu", "_l_base", "_l_fs"), KEY, res_labels, ("_l_rcpu", "_l_rwss"))
        spool.write(CPU, _counter(r, "_l_rcpu", c.CPU_USAGE_CORES, step))
        spool.write(WSS, _gauge(r, "_l_rwss", c.MEMORY_WORKING_SET_BYTES, step))

    # CFS counters exist only where the cgroup has a quota, i.e. a CPU limit.
    limited = containers.filter(pl.col(c.CPU_LIMIT_CORES).is_not_null()).select(KEY)
    lim = u.join(limited, on=KEY, how="semi", maintain_order="left")
    if lim.height:
        lim = lim.with_columns(
            pl.lit(CFS_PERIODS_PER_SECOND).alias("_periods"),
            (pl.col(c.CPU_THROTTLED_RATIO).fill_null(0.0) * CFS_PERIODS_PER_SECOND).alias("_throttled"),
        )
        spool.write(CFS_P, _counter(lim, "_l_base", "_periods", step))
        spool.write(CFS_T, _counter(lim, "_l_base", "_throttled", step))

    # The sandbox ("pause") container: network lives here, never on app containers.
    sandbox: dict[tuple[str, str, str], tuple[str, str]] = {}
    for key, pmeta in pod_meta.items():
        cluster, namespace, pod = key
        sid = _ids.sandbox_id(pmeta[c.POD_UID])
        own = {
            "container": "POD" if ctx.docker_runtime else "",
            "id": f"{_ids.pod_cgroup(pmeta[c.POD_UID], pmeta[c.QOS_CLASS])}/{sid}",
            "image": _ids.PAUSE_IMAGE_DOCKER if ctx.docker_runtime else _ids.PAUSE_IMAGE_CONTAINERD,
            "name": sid,
            "namespace": namespace,
            "pod": pod,
        }
        base = _merge(own, ctx, cluster, pmeta[c.NODE])
        sandbox[key] = (render_labels({**base, "interface": "eth0"}), render_labels({**base, "cpu": "total"}))
    host = [k for k in pod_meta if k[1] in ctx.host_network_namespaces]
    if host and ctx.node_network is not None:
        # hostNetwork: the sandbox's interfaces are the node's, so it reports the node's whole traffic
        nodes = pl.DataFrame(
            {c.CLUSTER: [k[0] for k in host], c.NAMESPACE: [k[1] for k in host], c.POD: [k[2] for k in host],
             c.NODE: [pod_meta[k][c.NODE] for k in host]},
            schema={c.CLUSTER: pl.String, c.NAMESPACE: pl.String, c.POD: pl.String, c.NODE: pl.String},
        )  # fmt: skip
        on_host = network.join(nodes, on=POD_KEY).select(*POD_KEY, c.NODE, c.TIMESTAMP, T)
        on_host = on_host.join(ctx.node_network, on=[c.CLUSTER, c.NODE, T]).drop(c.NODE)
        network = pl.concat([network.join(nodes, on=POD_KEY, how="anti"), on_host.select(network.columns)])
    net = _attach(network.sort([*POD_KEY, T]), POD_KEY, sandbox, ("_l_net", "_l_cpu"))
    spool.write(NET_RX, _counter(net, "_l_net", c.NETWORK_RECEIVE_BYTES_PER_SECOND, step))
    spool.write(NET_TX, _counter(net, "_l_net", c.NETWORK_TRANSMIT_BYTES_PER_SECOND, step))
    spool.write(CPU, _counter(net.with_columns(pl.lit(0.0).alias("_zero")), "_l_cpu", "_zero", step))


def render_labels_device(base: str) -> str:
    return f'{base},device="{DEVICE}"'


def _attach(
    frame: pl.DataFrame,
    key: list[str],
    labels: Mapping[Any, tuple[str, ...]],
    names: tuple[str, ...],
) -> pl.DataFrame:
    """Join rendered label strings (one column per name) onto ``frame`` by ``key``."""
    if not labels:
        return frame.clear().with_columns([pl.lit("").alias(n) for n in names])
    keys = list(labels)
    table: dict[str, list[object]] = {k: [row[i] for row in keys] for i, k in enumerate(key)}
    for i, name in enumerate(names):
        table[name] = [labels[row][i] for row in keys]
    lookup = pl.DataFrame(table).cast({k: frame.schema[k] for k in key})
    return frame.join(lookup, on=key, how="inner", maintain_order="left")
