"""The input of every right-sizing strategy: usage samples keyed by workload container,
plus what is known about each workload container now (current resources, tier, HPA, OOM kills).

Built once from Dataset frames (:func:`history_from_frames`) or directly by the backtest
(:class:`History` is plain frames, so a replay can slice it by time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import polars as pl

from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
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
    ``hourly``: when set, the usage as hourly summaries (KEYS + pod + the columns of the Dataset's
    ``usage_hourly`` frame): percentiles are then merged from them (within
    :data:`kubetally.model.hourly.ALPHA`) and ``samples`` is not read.
    """

    samples: pl.LazyFrame
    info: pl.DataFrame
    ooms: pl.DataFrame
    step_seconds: int
    hourly: pl.LazyFrame | None = None

    def rows(self, metric: str) -> pl.LazyFrame:
        """The hourly summary rows of one usage column (``hourly`` must be set)."""
        if self.hourly is None:
            raise ValueError("this history has no hourly summaries")
        return self.hourly.filter(pl.col(c.METRIC) == metric)

    def between(self, start: datetime | None, end: datetime | None) -> History:
        """The history restricted to ``start <= timestamp < end`` (OOM kills too)."""
        cond = pl.lit(True)
        if start is not None:
            cond = cond & (pl.col(c.TIMESTAMP) >= start)
        if end is not None:
            cond = cond & (pl.col(c.TIMESTAMP) < end)
        hours = pl.lit(True)
        if start is not None:
            hours = hours & (pl.col(c.FIRST) >= start)
        if end is not None:
            hours = hours & (pl.col(c.LAST) < end)
        hourly = None if self.hourly is None else self.hourly.filter(hours)  # whole hours only
        return replace(self, samples=self.samples.filter(cond), ooms=self.ooms.filter(cond), hourly=hourly)


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
    usage_hourly: pl.LazyFrame | None = None,
) -> History:
    """Join Dataset frames into a :class:`History` (init containers are left out). With ``usage_hourly``
    the history reads its summaries instead of the samples of ``usage``."""
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
    hourly = None
    if usage_hourly is not None:
        hourly = usage_hourly.join(pod_owner.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER], how="inner")
        hourly = hourly.select(*KEYS, c.POD, pl.exclude(*KEYS, c.POD))
    return History(
        samples=samples,
        info=info.select([pl.col(k).cast(t) for k, t in INFO_SCHEMA.items()]),
        ooms=ooms.select([pl.col(k).cast(t) for k, t in OOM_SCHEMA.items()]),
        step_seconds=step_seconds,
        hourly=hourly,
    )


def _tiers(labels: pl.DataFrame, app: pl.DataFrame) -> pl.DataFrame:
    """finops_tier per workload, by the one precedence rule (:mod:`kubetally.model.labels`)."""
    return workload_label_values(app, labels, [TIER_LABEL]).rename({TIER_LABEL: c.TIER})


def history_from_dataset(dataset: Dataset, *, percentiles: Percentiles = "auto") -> History:
    """:func:`history_from_frames` over a whole Dataset. ``percentiles``: ``exact`` reads every usage
    sample; ``summaries`` merges the hourly summaries (usage_hourly); ``auto`` uses the summaries when
    the dataset has them. A choice the dataset cannot give is a ConfigError saying why."""
    has_hourly = _has_rows(dataset.usage_hourly)
    if percentiles == "summaries" and not has_hourly:
        raise ConfigError("this dataset has no hourly summaries (usage_hourly): use exact percentiles")
    if percentiles == "exact" and has_hourly and not _has_rows(dataset.usage):
        raise ConfigError(
            "exact percentiles need every usage sample, and this dataset holds hourly summaries only "
            "(read it without remote read to keep every sample)"
        )
    use_hourly = has_hourly and percentiles != "exact"
    return history_from_frames(
        containers=dataset.containers,
        usage=dataset.usage,
        terminations=dataset.table(schema.TERMINATIONS),
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
        usage_hourly=dataset.usage_hourly if use_hourly else None,
    )


Percentiles = Literal["auto", "exact", "summaries"]
"""Where right-sizing reads its percentiles from (see :func:`history_from_dataset`)."""


def _has_rows(frame: pl.LazyFrame) -> bool:
    return frame.head(1).collect().height > 0
