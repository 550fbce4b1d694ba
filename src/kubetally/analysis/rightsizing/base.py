"""The strategy contract, the settings every strategy shares, and the usage summary they read.

A strategy turns a :class:`History` (+ its :func:`usage_summary`) into a *proposal*: one row per
workload container with raw (unrounded) ``cpu_request``, ``cpu_limit``, ``memory_request``,
``memory_limit`` and, where it cannot recommend, ``cpu_none`` / ``memory_none`` reasons. The engine
then applies evidence (OOM kills, memory near the limit, throttling), rounding and status.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.model import columns as c
from kubetally.model.sketch import flat_quantiles
from kubetally.model.stats import exact_quantiles

MIB = 2**20

# proposal columns (internal to the engine; the public frame is kubetally.model.recommendation)
CPU_REQUEST = "cpu_request"
CPU_LIMIT = "cpu_limit"
MEMORY_REQUEST = "memory_request"
MEMORY_LIMIT = "memory_limit"
CPU_NONE = "cpu_none"
MEMORY_NONE = "memory_none"
NOTE = "note"

PROPOSAL_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.String() for k in KEYS},
    CPU_REQUEST: pl.Float64(),
    CPU_LIMIT: pl.Float64(),
    MEMORY_REQUEST: pl.Float64(),
    MEMORY_LIMIT: pl.Float64(),
    CPU_NONE: pl.String(),
    MEMORY_NONE: pl.String(),
    NOTE: pl.String(),
}


class StrategySettings(BaseModel):
    """Fields every strategy has."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceSettings(BaseModel):
    """How evidence of trouble overrides a strategy (it is never ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_near_limit_ratio: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Peak working set / memory limit at or above which memory counts as near its limit.",
    )
    oom_bump_ratio: float = Field(
        1.2, ge=1, le=4, description="After an OOM kill or near-limit memory: limit >= this x."
    )
    oom_min_bump_mib: int = Field(100, ge=0, le=65536, description="... and limit >= peak + this many MiB.")
    cpu_throttling_threshold: float = Field(
        0.1, gt=0, le=1, description="Mean throttled CFS periods / periods above which the CPU limit is removed."
    )
    cpu_throttling_action: str = Field(
        "remove-limit", pattern="^(remove-limit|raise-limit)$", description="remove-limit or raise-limit (x2)."
    )
    ok_tolerance: float = Field(
        0.1, ge=0, le=1, description="Relative change of a request within which the status is 'ok'."
    )


class Strategy(Protocol):
    """A right-sizing strategy: a name, a settings model and one pure function."""

    name: ClassVar[str]
    settings_model: ClassVar[type[StrategySettings]]

    def statistics(self, history: History, settings: StrategySettings) -> pl.DataFrame:
        """KEYS + the strategy's own statistics of the usage samples (its percentiles: what costs a pass
        over the samples). The backtest's rolling replay computes the same frame per day from
        per-entity arrays (:mod:`kubetally.analysis.backtest_windows`) instead."""
        ...

    def propose(
        self, history: History, summary: pl.DataFrame, stats: pl.DataFrame, settings: StrategySettings
    ) -> pl.DataFrame:
        """Raw proposal per workload container (PROPOSAL_SCHEMA) from ``history.info`` (and
        ``history.ooms``), the :func:`usage_summary` and :meth:`statistics`; reads no samples."""
        ...


def quantiles(history: History, column: str, keys: list[str], q: float | pl.DataFrame) -> pl.DataFrame:
    """``keys`` + n + ``_q``: the ``q`` quantile of ``column`` per group, exact from the samples or, when
    the history has hourly summaries, merged from them (within :data:`kubetally.model.hourly.ALPHA`)."""
    if history.hourly is not None:
        return flat_quantiles(history.rows(column), keys=keys, quantiles={"_q": q}).drop(c.MIN, c.MAX)
    return exact_quantiles(history.samples, keys=keys, value=column, quantiles={"_q": q})


def per_pod_quantile(history: History, column: str, q: float | pl.DataFrame) -> pl.DataFrame:
    """KEYS + the highest per-pod ``q`` quantile of ``column`` (streaming); ``q`` may be a
    frame of KEYS + ``q`` (one quantile per workload container)."""
    keys = list(KEYS)
    per_pod = quantiles(history, column, [*keys, c.POD], q)
    return per_pod.group_by(keys).agg(pl.col("_q").max())


def daily_peaks(history: History) -> pl.LazyFrame:
    """Each pod's highest working set per UTC day (KEYS, pod, _day, memory_working_set_bytes): exact
    from the samples and from hourly summaries alike (a day's max is the max of its hours')."""
    day = pl.col(c.TIMESTAMP).dt.truncate("1d").alias("_day")
    if history.hourly is not None:
        rows = history.rows(c.MEMORY_WORKING_SET_BYTES)
        return rows.group_by(*KEYS, c.POD, pl.col(c.HOUR).dt.truncate("1d").alias("_day")).agg(
            pl.col(c.MAX).max().alias(c.MEMORY_WORKING_SET_BYTES)
        )
    return history.samples.group_by(*KEYS, c.POD, day).agg(pl.col(c.MEMORY_WORKING_SET_BYTES).max())


def usage_summary(history: History) -> pl.DataFrame:
    """Per workload container: data points, hours of history, highest per-pod p95 CPU, peak memory,
    mean throttling. Rows exist only for containers with samples. Streams: memory does not grow
    with the number of samples."""
    keys = list(KEYS)
    per_pod = _per_pod_hourly(history) if history.hourly is not None else (
        history.samples.group_by(*keys, c.POD)
        .agg(
            pl.col(c.CPU_USAGE_CORES).count().alias("_n"),
            pl.col(c.MEMORY_WORKING_SET_BYTES).max().alias("_mem"),
            pl.col(c.CPU_THROTTLED_RATIO).sum().alias("_thr_sum"),
            pl.col(c.CPU_THROTTLED_RATIO).count().alias("_thr_n"),
            pl.col(c.TIMESTAMP).min().alias("_t0"),
            pl.col(c.TIMESTAMP).max().alias("_t1"),
        )
        .collect(engine="streaming")
    )  # fmt: skip
    summary = (
        per_pod.group_by(keys)
        .agg(
            pl.col("_n").sum().cast(pl.Int64).alias(c.DATA_POINTS),
            pl.col("_mem").max().alias(c.MEMORY_PEAK_BYTES),
            pl.when(pl.col("_thr_n").sum() > 0)
            .then(pl.col("_thr_sum").sum() / pl.col("_thr_n").sum())
            .alias(c.CPU_THROTTLED_RATIO),
            pl.col("_t0").min().alias("_t0"),
            pl.col("_t1").max().alias("_t1"),
            pl.col(c.POD).n_unique().alias("sampled_pods"),
        )
        .with_columns(
            (((pl.col("_t1") - pl.col("_t0")).dt.total_seconds() + history.step_seconds).cast(pl.Float64) / 3600).alias(
                c.HISTORY_HOURS
            ),
        )
        .drop("_t0", "_t1")
    )
    p95 = per_pod_quantile(history, c.CPU_USAGE_CORES, 0.95).rename({"_q": c.CPU_USAGE_P95_CORES})
    return summary.join(p95, on=keys, how="left")


def _per_pod_hourly(history: History) -> pl.DataFrame:
    """:func:`usage_summary`'s per-pod figures from hourly summaries (all exact: counts, max, sums, times)."""
    assert history.hourly is not None
    metric = pl.col(c.METRIC)
    cpu, mem, thr = (metric == m for m in (c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES, c.CPU_THROTTLED_RATIO))
    return (
        history.hourly.group_by(*KEYS, c.POD)
        .agg(
            pl.col(c.COUNT).filter(cpu).sum().alias("_n"),
            pl.col(c.MAX).filter(mem).max().alias("_mem"),
            pl.col(c.SUM).filter(thr).sum().alias("_thr_sum"),
            pl.col(c.COUNT).filter(thr).sum().alias("_thr_n"),
            pl.col(c.FIRST).min().alias("_t0"),
            pl.col(c.LAST).max().alias("_t1"),
        )
        .collect(engine="streaming")
    )


def hours(value: float) -> str:
    """Hours as people say them: '45 min', '3.0 h', '2.5 d'."""
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"
