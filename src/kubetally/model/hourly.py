"""The Dataset's ``usage_hourly`` frame: hourly summaries (:mod:`kubetally.model.sketch`) of container usage.

One row per container, usage column (``metric``) and hour. Percentiles over any window are merges of
the rows (:func:`kubetally.model.sketch.flat_quantiles`), within ``ALPHA`` (0.5 %, relative) of the
exact percentile of the step samples; count, sum, min, max, first and last are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from kubetally.model import columns as c
from kubetally.model.schema import USAGE_HOURLY
from kubetally.model.sketch import DEFAULT_ALPHA, Summary, flat, hourly_summary

ALPHA = DEFAULT_ALPHA
"""Relative accuracy of every percentile merged from usage_hourly (the frame's buckets are fixed to it)."""
KEYS = (c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER)
METRICS = (c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES, c.CPU_THROTTLED_RATIO)
"""The usage columns summarised."""


def from_summary(summary: Summary, metric: str, *, cluster: str = "") -> pl.DataFrame:
    """usage_hourly rows of one usage column from a :class:`Summary` keyed by (namespace, pod, container)
    and, when the summary has no cluster key, ``cluster``."""
    rows = flat(summary)
    if c.CLUSTER not in rows.columns:
        rows = rows.with_columns(pl.lit(cluster).alias(c.CLUSTER))
    return rows.with_columns(pl.lit(metric).alias(c.METRIC)).select(USAGE_HOURLY.names)


def from_usage(usage: pl.LazyFrame, metrics: Sequence[str] = METRICS) -> pl.DataFrame:
    """usage_hourly from the per-step usage frame (streaming passes; memory grows with the rows made)."""
    parts = [from_summary(hourly_summary(usage, keys=KEYS, value=m, time=c.TIMESTAMP), m) for m in metrics]
    return pl.concat(parts).sort(list(USAGE_HOURLY.key))
