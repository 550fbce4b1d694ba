"""The first look at a cluster: per node and per workload, declared versus used.

Percentiles are over every sample of every pod of the workload in the window
(nearest-rank), so a workload with two replicas has twice the samples.
"""

from __future__ import annotations

import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import columns as c

CPU_P95 = "cpu_p95_cores"
CPU_MAX = "cpu_max_cores"
MEMORY_P95 = "memory_p95_bytes"
MEMORY_MAX = "memory_max_bytes"
CPU_REQUESTED = "cpu_requested_cores"
MEMORY_REQUESTED = "memory_requested_bytes"
CPU_USED_MEAN = "cpu_used_mean_cores"
MEMORY_USED_MEAN = "memory_used_mean_bytes"
PODS = "pods"


def _running_at_end(ds: Dataset) -> pl.Expr:
    return pl.col(c.END_TIME).is_null() | (pl.col(c.END_TIME) >= ds.info.end)


def node_summary(ds: Dataset) -> pl.DataFrame:
    """Per node: allocatable, requested by pods running at the window's end, and mean used."""
    requested = (
        ds.containers.filter(_running_at_end(ds) & ~pl.col(c.INIT_CONTAINER))
        .group_by(c.CLUSTER, c.NODE)
        .agg(
            pl.col(c.CPU_REQUEST_CORES).fill_null(0).sum().alias(CPU_REQUESTED),
            pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0).sum().alias(MEMORY_REQUESTED),
            pl.col(c.POD).n_unique().alias(PODS),
        )
    )
    used = (
        ds.node_usage.group_by(c.CLUSTER, c.NODE)
        .agg(
            pl.col(c.CPU_USAGE_CORES).mean().alias(CPU_USED_MEAN),
            pl.col(c.MEMORY_USED_BYTES).mean().alias(MEMORY_USED_MEAN),
        )
        .collect()
    )
    return (
        ds.nodes.select(c.CLUSTER, c.NODE, c.CPU_ALLOCATABLE_CORES, c.MEMORY_ALLOCATABLE_BYTES)
        .join(requested, on=[c.CLUSTER, c.NODE], how="left")
        .join(used, on=[c.CLUSTER, c.NODE], how="left")
        .with_columns(pl.col(CPU_REQUESTED, MEMORY_REQUESTED, PODS).fill_null(0))
        .sort(c.CLUSTER, c.NODE)
    )


def workload_summary(ds: Dataset) -> pl.DataFrame:
    """Per workload container: the request per pod against p95 and max usage per pod.

    Requests are those of the pods running at the window's end (the current
    spec); workloads without running pods (scaled to 0, finished jobs) keep their
    last pod's values.
    """
    keys = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER]
    spec = (
        ds.containers.filter(~pl.col(c.INIT_CONTAINER))
        .sort(c.START_TIME)
        .group_by(keys)
        .agg(
            pl.col(c.CPU_REQUEST_CORES).last(),
            pl.col(c.CPU_LIMIT_CORES).last(),
            pl.col(c.MEMORY_REQUEST_BYTES).last(),
            pl.col(c.MEMORY_LIMIT_BYTES).last(),
            pl.col(c.POD).filter(_running_at_end(ds)).n_unique().alias(PODS),
        )
    )
    owners = ds.containers.lazy().select(c.CLUSTER, c.NAMESPACE, c.POD, c.OWNER_KIND, c.OWNER_NAME).unique()
    usage = (
        ds.usage.join(owners, on=[c.CLUSTER, c.NAMESPACE, c.POD], how="inner")
        .group_by(keys)
        .agg(
            pl.col(c.CPU_USAGE_CORES).quantile(0.95, interpolation="nearest").alias(CPU_P95),
            pl.col(c.CPU_USAGE_CORES).max().alias(CPU_MAX),
            pl.col(c.MEMORY_WORKING_SET_BYTES).quantile(0.95, interpolation="nearest").alias(MEMORY_P95),
            pl.col(c.MEMORY_WORKING_SET_BYTES).max().alias(MEMORY_MAX),
        )
        .collect(engine="streaming")
    )
    return spec.join(usage, on=keys, how="left").sort(keys)
