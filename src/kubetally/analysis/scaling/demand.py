"""Total demand per workload: the sum of CPU usage across its pods at every step.

Per-pod utilization was measured at the replica count of the time; replaying it
at another count would be wrong. The total (what all pods did together) is what
an autoscaler would have had to serve, whatever the number of pods.
"""

from __future__ import annotations

import polars as pl

from kubetally.model import columns as c
from kubetally.model.labels import workload_labels as resolved_workload_labels

WORKLOAD_KEY = (c.NAMESPACE, c.KIND, c.NAME)


def workload_demand(usage: pl.LazyFrame, containers: pl.DataFrame) -> pl.DataFrame:
    """(namespace, kind, name, timestamp, cpu_usage_cores, cpu_throttled_ratio): CPU summed over the
    workload's regular containers (init containers excluded) and the highest throttled ratio of any
    of them (null without CPU limits), sorted by workload and time."""
    owners = (
        containers.filter(~pl.col(c.INIT_CONTAINER))
        .select(
            c.NAMESPACE,
            c.POD,
            c.CONTAINER,
            pl.col(c.OWNER_KIND).alias(c.KIND),
            pl.col(c.OWNER_NAME).alias(c.NAME),
        )
        .unique()
    )
    return (
        usage.select(c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP, c.CPU_USAGE_CORES, c.CPU_THROTTLED_RATIO)
        .join(owners.lazy(), on=[c.NAMESPACE, c.POD, c.CONTAINER], how="inner")
        .group_by(*WORKLOAD_KEY, c.TIMESTAMP)
        .agg(pl.col(c.CPU_USAGE_CORES).fill_nan(None).sum(), pl.col(c.CPU_THROTTLED_RATIO).fill_nan(None).max())
        .sort(*WORKLOAD_KEY, c.TIMESTAMP)
        .collect()
    )


def workload_labels(labels: pl.DataFrame, containers: pl.DataFrame, key: str) -> pl.DataFrame:
    """(namespace, kind, name, value) of label ``key`` for workloads that have it, by the one precedence
    rule (:mod:`kubetally.model.labels`: the current pod's label, else the controller's, else the
    namespace's)."""
    return (
        resolved_workload_labels(containers, labels, [key])
        .select(c.NAMESPACE, pl.col(c.OWNER_KIND).alias(c.KIND), pl.col(c.OWNER_NAME).alias(c.NAME), c.VALUE)
        .unique(subset=list(WORKLOAD_KEY), keep="first", maintain_order=True)
    )


def pod_requests(containers: pl.DataFrame) -> pl.DataFrame:
    """(namespace, kind, name, cpu_request_cores, memory_request_bytes) per pod of the latest pod.

    Sums the regular containers of the most recently started pod; null when any
    container lacks the request (an HPA on CPU needs every container's request).
    """
    latest = (
        containers.filter(~pl.col(c.INIT_CONTAINER))
        .sort(c.START_TIME)
        .group_by(c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, maintain_order=True)
        .agg(pl.col(c.POD).last())
    )
    rows = containers.filter(~pl.col(c.INIT_CONTAINER)).join(
        latest, on=[c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.POD], how="semi"
    )
    return (
        rows.group_by(c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME)
        .agg(
            pl.when(pl.col(c.CPU_REQUEST_CORES).is_null().any())
            .then(None)
            .otherwise(pl.col(c.CPU_REQUEST_CORES).sum())
            .alias(c.CPU_REQUEST_CORES),
            pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0).sum().alias(c.MEMORY_REQUEST_BYTES),
            pl.col(c.CONTAINER).sort().alias(c.CONTAINER),
        )
        .rename({c.OWNER_KIND: c.KIND, c.OWNER_NAME: c.NAME})
    )
