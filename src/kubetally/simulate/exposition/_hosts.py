"""kubelet ``/metrics`` (volume stats, log bytes), node-exporter and postgres_exporter series."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from kubetally.model import columns as c
from kubetally.simulate.exposition import _ids
from kubetally.simulate.exposition._grid import Grid, Pieces
from kubetally.simulate.exposition._text import SERIES, Family, Spool, T, V, render_labels

VOL_USED = Family("kubelet_volume_stats_used_bytes", "gauge", "[ALPHA] Number of used bytes in the volume")
VOL_CAPACITY = Family("kubelet_volume_stats_capacity_bytes", "gauge", "[ALPHA] Capacity in bytes of the volume")
LOG_BYTES = Family(
    "kubelet_container_log_filesystem_used_bytes",
    "gauge",
    "[ALPHA] Bytes used by the container's logs on the filesystem.",
)
NODE_CPU = Family("node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode.")
MEM_TOTAL = Family("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.")
MEM_AVAILABLE = Family("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.")
NET_RX = Family("node_network_receive_bytes", "counter", "Network device statistic receive_bytes.")
NET_TX = Family("node_network_transmit_bytes", "counter", "Network device statistic transmit_bytes.")
UNAME = Family("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.")
PG_DB_SIZE = Family("pg_database_size_bytes", "gauge", "Disk space used by the database")
PG_TABLE_SIZE = Family("pg_stat_user_tables_table_size_bytes", "gauge", "Total disk space used by this table, in bytes")
PG_INDEX_SIZE = Family("pg_stat_user_tables_index_size_bytes", "gauge", "Total disk space used by this index, in bytes")
"""postgres_exporter v0.18+ (collector stat_user_tables): the table's size is their sum."""
PG_TABLE_ROWS = Family("pg_stat_user_tables_n_live_tup", "gauge", "Estimated number of live rows")
FAMILIES = (
    VOL_USED, VOL_CAPACITY, LOG_BYTES, NODE_CPU, MEM_TOTAL, MEM_AVAILABLE, NET_RX, NET_TX, UNAME,
    PG_DB_SIZE, PG_TABLE_SIZE, PG_INDEX_SIZE, PG_TABLE_ROWS,
)  # fmt: skip

USER_SHARE = 0.7
"""Busy CPU is split 70 % user / 30 % system across the node's CPUs."""
NO_VOLUME_STATS = frozenset({"local-path"})
"""Storage classes whose volume plugin reports no kubelet volume stats (k3s local-path is a hostPath)."""
MACHINE = {"arm64": "aarch64", "amd64": "x86_64"}


@dataclass(frozen=True)
class HostContext:
    grid: Grid
    targets: _ids.Targets
    node_ips: dict[tuple[str, str], str]
    cluster_label: str | None

    def merged(self, own: dict[str, str], cluster: str, targets: dict[str, str]) -> str:
        extra = {self.cluster_label: cluster} if self.cluster_label else {}
        return render_labels(_ids.with_targets(own, targets, extra))

    def kubelet(self, own: dict[str, str], cluster: str, node: str) -> str:
        ip = self.node_ips.get((cluster, node), "10.0.0.1")
        return self.merged(own, cluster, self.targets.kubelet(node, ip, "/metrics"))


def _stamp(frame: pl.DataFrame, step: int) -> pl.DataFrame:
    return frame.with_columns((pl.col(c.TIMESTAMP).dt.epoch("s") + step).alias(T))


def write_kubelet(
    spool: Spool,
    ctx: HostContext,
    *,
    volumes: pl.DataFrame,
    mounts: pl.DataFrame,
    containers: pl.DataFrame,
    volume_usage: pl.DataFrame,
) -> None:
    step = ctx.grid.step
    pod_node = containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.NODE, c.POD_UID).unique(
        [c.CLUSTER, c.NAMESPACE, c.POD]
    )
    claim_node = (
        mounts.join(pod_node, on=[c.CLUSTER, c.NAMESPACE, c.POD])
        .group_by(c.CLUSTER, c.NAMESPACE, c.PVC)
        .agg(pl.col(c.NODE).sort().first())
    )
    reporting = volumes.filter(~pl.col(c.STORAGE_CLASS).is_in(list(NO_VOLUME_STATS)) & (pl.col(c.PVC) != ""))
    used = (
        _stamp(volume_usage, step)
        .join(reporting.select(c.CLUSTER, c.NAMESPACE, c.PVC, c.CAPACITY_BYTES), on=[c.CLUSTER, c.NAMESPACE, c.PVC])
        .join(claim_node, on=[c.CLUSTER, c.NAMESPACE, c.PVC], how="left")
    )
    if used.height:
        keys = used.select(c.CLUSTER, c.NAMESPACE, c.PVC, c.NODE).unique()
        names = [
            ctx.kubelet({"namespace": ns, "persistentvolumeclaim": pvc}, cl, node or "")
            for cl, ns, pvc, node in keys.iter_rows()
        ]
        used = used.join(
            keys.with_columns(pl.Series(SERIES, names)),
            on=[c.CLUSTER, c.NAMESPACE, c.PVC, c.NODE],
            how="left",
            nulls_equal=True,
        )
        spool.write(VOL_USED, used.select(SERIES, T, pl.col(c.USED_BYTES).alias(V)))
        spool.write(VOL_CAPACITY, used.select(SERIES, T, pl.col(c.CAPACITY_BYTES).cast(pl.Float64).alias(V)))


def write_logs(spool: Spool, ctx: HostContext, *, containers: pl.DataFrame, log_usage: pl.DataFrame) -> None:
    """kubelet_container_log_filesystem_used_bytes of one batch of pods."""
    step = ctx.grid.step
    pod_node = containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.NODE, c.POD_UID).unique(
        [c.CLUSTER, c.NAMESPACE, c.POD]
    )
    logs = _stamp(log_usage, step).join(pod_node, on=[c.CLUSTER, c.NAMESPACE, c.POD])
    if logs.height:
        keys = logs.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.NODE, c.POD_UID).unique()
        names = [
            ctx.kubelet({"uid": uid, "namespace": ns, "pod": pod, "container": ctr}, cl, node)
            for cl, ns, pod, ctr, node, uid in keys.iter_rows()
        ]
        logs = logs.join(keys.with_columns(pl.Series(SERIES, names)), on=keys.columns)
        spool.write(LOG_BYTES, logs.select(SERIES, T, pl.col(c.LOG_BYTES).alias(V)))


def write_node_exporter(spool: Spool, ctx: HostContext, *, nodes: pl.DataFrame, node_usage: pl.LazyFrame) -> None:
    step = ctx.grid.step
    pieces = Pieces()
    spans: list[tuple[int, int]] = []
    for row in nodes.sort(c.CLUSTER, c.NODE).iter_rows(named=True):
        cluster, node = row[c.CLUSTER], row[c.NODE]
        ip = ctx.node_ips.get((cluster, node), "")
        targets = ctx.targets.node_exporter(node, ip)
        cores = max(1, math.ceil(row[c.CPU_CAPACITY_CORES]))
        spans.append((ctx.grid.start + step, ctx.grid.end))
        # the host's name is not always the node's (EKS names nodes by private DNS, hosts say ip-10-0-0-1): the
        # source must find the node through the exporter's target, not by uname
        hostname = f"ip-{ip.replace('.', '-')}" if ip else node
        uname = {"nodename": hostname, "machine": MACHINE.get(row[c.ARCH], row[c.ARCH]), "sysname": "Linux"}
        pieces.add(UNAME, len(spans) - 1, ctx.merged(uname, cluster, targets), 1)
        pieces.add(MEM_TOTAL, len(spans) - 1, ctx.merged({}, cluster, targets), row[c.MEMORY_CAPACITY_BYTES])
        usage = (
            node_usage.filter((pl.col(c.CLUSTER) == cluster) & (pl.col(c.NODE) == node))
            .sort(c.TIMESTAMP)
            .collect()
            .with_columns(pl.col(c.TIMESTAMP).dt.epoch("s").alias(T))
        )
        if usage.height == 0:
            continue
        base = ctx.merged({}, cluster, targets)
        spool.write(
            MEM_AVAILABLE,
            usage.select(
                pl.lit(base).alias(SERIES),
                (pl.col(T) + step).alias(T),
                (row[c.MEMORY_CAPACITY_BYTES] - pl.col(c.MEMORY_USED_BYTES)).alias(V),
            ),
        )
        for fam, col in ((NET_RX, c.NETWORK_RECEIVE_BYTES_PER_SECOND), (NET_TX, c.NETWORK_TRANSMIT_BYTES_PER_SECOND)):
            spool.write(fam, _cumulative(usage, ctx.merged({"device": "eth0"}, cluster, targets), pl.col(col), step))
        busy = pl.col(c.CPU_USAGE_CORES).clip(0.0, float(cores))
        parts = []
        for cpu in range(cores):
            for mode, rate in (
                ("idle", (cores - busy) / cores),
                ("system", busy * (1 - USER_SHARE) / cores),
                ("user", busy * USER_SHARE / cores),
            ):
                parts.append(
                    _cumulative(usage, ctx.merged({"cpu": str(cpu), "mode": mode}, cluster, targets), rate, step)
                )
        spool.write(NODE_CPU, pl.concat(parts))
    pieces.write(spool, ctx.grid, spans, (UNAME, MEM_TOTAL))


def _cumulative(usage: pl.DataFrame, labels: str, rate: pl.Expr, step: int) -> pl.DataFrame:
    body = usage.select(pl.lit(labels).alias(SERIES), (pl.col(T) + step).alias(T), (rate * step).cum_sum().alias(V))
    first = pl.DataFrame({SERIES: [labels], T: [int(usage.get_column(T)[0])], V: [0.0]}).cast(body.schema)
    return pl.concat([first, body])


def write_postgres(spool: Spool, ctx: HostContext, *, database_usage: pl.LazyFrame, containers: pl.DataFrame) -> None:
    step = ctx.grid.step
    rows = _stamp(database_usage.collect(), step)
    if rows.height == 0:
        return
    uids = containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.POD_UID).unique([c.CLUSTER, c.NAMESPACE, c.POD])
    keys = (
        rows.select(c.CLUSTER, c.NAMESPACE, c.POD, c.DATABASE, c.TABLE)
        .unique()
        .join(uids, on=[c.CLUSTER, c.NAMESPACE, c.POD], how="left")
    )
    names = []
    for cl, ns, pod, db, table, uid in keys.iter_rows():
        targets = ctx.targets.postgres(ns, pod, _ids.pod_ip(uid or pod))
        schema_name, _, relname = table.rpartition(".")
        own = (
            {"datname": db} if not table else {"datname": db, "schemaname": schema_name or "public", "relname": relname}
        )
        names.append(ctx.merged(own, cl, targets))
    rows = rows.join(
        keys.with_columns(pl.Series(SERIES, names)).drop(c.POD_UID),
        on=[c.CLUSTER, c.NAMESPACE, c.POD, c.DATABASE, c.TABLE],
    )
    dbs, tables = rows.filter(pl.col(c.TABLE) == ""), rows.filter(pl.col(c.TABLE) != "")
    spool.write(PG_DB_SIZE, dbs.select(SERIES, T, pl.col(c.SIZE_BYTES).alias(V)))
    index = (pl.col(c.SIZE_BYTES) / 8).floor()
    spool.write(PG_TABLE_SIZE, tables.select(SERIES, T, (pl.col(c.SIZE_BYTES) - index).alias(V)))
    spool.write(PG_INDEX_SIZE, tables.select(SERIES, T, index.alias(V)))
    spool.write(PG_TABLE_ROWS, tables.select(SERIES, T, pl.col(c.ROWS).alias(V)).drop_nulls(V))
