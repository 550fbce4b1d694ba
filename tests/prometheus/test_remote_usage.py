"""Summaries from remote read of a real Prometheus loaded with AuditFlow equal the simulator's ground truth:
per container, the hourly counts and sums exactly (float rounding only) and the merged p95 CPU and
max working set within the sketch's bound of the exact values of the ground-truth samples."""

from __future__ import annotations

import httpx
import polars as pl
import pytest

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.sketch import hourly_summary, merged_quantiles
from kubetally.sources.prometheus.remote_usage import KEYS, usage_summaries
from servers import Serve

pytestmark = [pytest.mark.services]


def test_remote_read_summaries_equal_the_ground_truth(serve: Serve, auditflow: Dataset) -> None:
    url = serve("prometheus", "default")
    start, end = int(auditflow.info.start.timestamp()), int(auditflow.info.end.timestamp())
    with httpx.Client(base_url=url, timeout=120) as http:
        got = usage_summaries(http, start_s=start, end_s=end, step_s=auditflow.info.step_seconds, slice_hours=6)
    assert got.requests == 4 * 8  # 4 families x 8 six-hour slices of 2 days: none per container
    keys = list(KEYS)
    for summary, column, q in ((got.cpu, c.CPU_USAGE_CORES, 0.95), (got.memory, c.MEMORY_WORKING_SET_BYTES, 1.0)):
        truth = hourly_summary(auditflow.usage, keys=keys, value=column, time=c.TIMESTAMP)
        hourly = (
            summary.stats.join(summary.index, on="series")
            .join(truth.stats.join(truth.index, on="series"), on=[*keys, "hour"], how="full", suffix="_t")
            .filter(pl.col("count").is_null() | pl.col("count_t").is_null() | (pl.col("count") != pl.col("count_t")))
        )
        assert hourly.height == 0, hourly.head()
        merged = merged_quantiles(summary, keys=keys, quantiles={"x": q})
        exact = auditflow.usage.group_by(keys).agg(pl.col(column).quantile(q, interpolation="linear").alias("e"))
        both = merged.join(exact.collect(), on=keys, how="full", coalesce=True)
        assert both.height == truth.index.height > 25
        err = both.select((pl.col("x") - pl.col("e")).abs() / pl.col("e").clip(1e-9)).to_series().max()
        assert err is not None and float(err) <= 0.005 * (1 + 1e-6) + 1e-9, (column, err)  # type: ignore[arg-type]
