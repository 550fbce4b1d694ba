"""The input of every right-sizing strategy: usage samples keyed by workload container,
plus what is known about each workload container now (current resources, tier, HPA, OOM kills).

Built once from Dataset frames (:func:`history_from_frames`) or directly by the backtest
(:class:`History` is plain frames, so a replay can slice it by time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.labels import workload_label_values

KEYS: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER)
"""One recommendation per workload container."""

TIER_LABEL = "finops_tier"


@dataclass(frozen=True)
class History:
    """Usage history of workload containers.

    ``samples``: KEYS + pod, timestamp, cpu_usage_cores, memory_working_set_bytes (null = missing),
    cpu_throttled_ratio (null = no limit / no data).
    ``info``: one row per KEYS with current_* resources, tier, replicas, hpa_target_cpu_utilization,
    containers_per_pod and pods.
    ``ooms``: KEYS + timestamp + memory_limit_bytes of every OOM kill.
    """

    samples: pl.LazyFrame
    info: pl.DataFrame
    ooms: pl.DataFrame
    step_seconds: int

    def between(self, start: datetime | None, end: datetime | None) -> History:
        """The history restricted to ``start <= timestamp < end`` (OOM kills too)."""
        cond = pl.lit(True)
        if start is not None:
            cond = cond & (pl.col(c.TIMESTAMP) >= start)
        if end is not None:
            cond = cond & (pl.col(c.TIMESTAMP) < end)
        return replace(self, samples=self.samples.filter(cond), ooms=self.ooms.filter(cond))


INFO_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.String() for k in KEYS},
    c.CURRENT_CPU_REQUEST_CORES: pl.Float64(),
    c.CURRENT_CPU_LIMIT_CORES: pl.Float64(),
    c.CURRENT_MEMORY_REQUEST_BYTES: pl.Int64(),
    c.CURRENT_MEMORY_LIMIT_BYTES: pl.Int64(),
    c.TIER: pl.String(),
    c.REPLICAS: pl.Int64(),
    c.HPA_TARGET_CPU_UTILIZATION: pl.Float64(),
    "containers_per_pod": pl.Int64(),
    c.PODS: pl.Int64(),
}
OOM_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.String() for k in KEYS},
    c.TIMESTAMP: pl.Datetime("us", "UTC"),
    c.MEMORY_LIMIT_BYTES: pl.Int64(),
}


def history_from_frames(
    *,
    containers: pl.DataFrame,
    usage: pl.LazyFrame,
    terminations: pl.DataFrame,
    workloads: pl.DataFrame,
    labels: pl.DataFrame,
    step_seconds: int,
) -> History:
    """Join Dataset frames into a :class:`History` (init containers are left out)."""
    app = containers.filter(~pl.col(c.INIT_CONTAINER))
    pod_owner = app.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.OWNER_KIND, c.OWNER_NAME).unique(
        [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    )
    samples = usage.join(pod_owner.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER], how="inner").select(
        *KEYS,
        c.POD,
        c.TIMESTAMP,
        c.CPU_USAGE_CORES,
        c.MEMORY_WORKING_SET_BYTES,
        c.CPU_THROTTLED_RATIO,
    )
    latest = (
        app.sort(c.START_TIME)
        .group_by(list(KEYS))
        .agg(
            pl.col(c.CPU_REQUEST_CORES).last().alias(c.CURRENT_CPU_REQUEST_CORES),
            pl.col(c.CPU_LIMIT_CORES).last().alias(c.CURRENT_CPU_LIMIT_CORES),
            pl.col(c.MEMORY_REQUEST_BYTES).last().alias(c.CURRENT_MEMORY_REQUEST_BYTES),
            pl.col(c.MEMORY_LIMIT_BYTES).last().alias(c.CURRENT_MEMORY_LIMIT_BYTES),
            pl.col(c.POD).n_unique().alias(c.PODS),
        )
    )
    per_pod = (
        app.group_by(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.POD)
        .agg(pl.len().alias("containers_per_pod"))
        .group_by(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME)
        .agg(pl.col("containers_per_pod").max())
    )
    wl = workloads.select(
        c.CLUSTER,
        c.NAMESPACE,
        pl.col(c.KIND).alias(c.OWNER_KIND),
        pl.col(c.NAME).alias(c.OWNER_NAME),
        pl.col(c.DESIRED_REPLICAS).alias(c.REPLICAS),
        c.HPA_TARGET_CPU_UTILIZATION,
    )
    info = (
        latest.join(per_pod, on=[c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME], how="left")
        .join(wl, on=[c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME], how="left")
        .join(_tiers(labels, app), on=[c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME], how="left")
    )
    ooms = (
        terminations.filter(pl.col(c.REASON) == "OOMKilled")
        .join(pod_owner, on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER], how="inner")
        .select(*KEYS, c.TIMESTAMP, c.MEMORY_LIMIT_BYTES)
    )
    return History(
        samples=samples,
        info=info.select([pl.col(k).cast(t) for k, t in INFO_SCHEMA.items()]),
        ooms=ooms.select([pl.col(k).cast(t) for k, t in OOM_SCHEMA.items()]),
        step_seconds=step_seconds,
    )


def _tiers(labels: pl.DataFrame, app: pl.DataFrame) -> pl.DataFrame:
    """finops_tier per workload, by the one precedence rule (:mod:`kubetally.model.labels`)."""
    return workload_label_values(app, labels, [TIER_LABEL]).rename({TIER_LABEL: c.TIER})


def history_from_dataset(dataset: Dataset) -> History:
    """:func:`history_from_frames` over a whole Dataset."""
    return history_from_frames(
        containers=dataset.containers,
        usage=dataset.usage,
        terminations=dataset.table(schema.TERMINATIONS),
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
    )
