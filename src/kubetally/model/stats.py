"""Percentile and histogram math shared by analyses (right-sizing, backtests, scaling).

Two families:

* exact percentiles with linear interpolation between closest ranks — what
  numpy's default and Prometheus' ``quantile_over_time`` compute (rank
  ``q * (n - 1)``), so a KRR-compatible strategy gives KRR's numbers;
* the Kubernetes VPA recommender's exponential histograms with exponentially
  decaying sample weights (``k8s.io/autoscaler/vertical-pod-autoscaler/pkg/
  recommender/util``): bucket ``i`` starts at ``first * (ratio**i - 1) / (ratio - 1)``,
  and a percentile is the *end* of the first bucket whose cumulative weight reaches
  ``q * total`` (the start of the last bucket if it is the last one).

Everything here is vectorised over polars frames grouped by key columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation (numpy/Prometheus semantics)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    return float(np.quantile(array, q, method="linear"))


def percentile_expr(column: str, q: float) -> pl.Expr:
    """A polars aggregation computing :func:`percentile` of ``column``."""
    return pl.col(column).quantile(q, interpolation="linear")


@dataclass(frozen=True)
class ExponentialBuckets:
    """VPA-style exponential histogram buckets.

    ``first_bucket_size``: width of bucket 0 (which starts at 0); each next bucket
    is ``ratio`` times wider; the last bucket is open-ended and starts at or below
    ``max_value``.
    """

    first_bucket_size: float
    ratio: float
    max_value: float

    def __post_init__(self) -> None:
        if self.first_bucket_size <= 0 or self.ratio <= 1 or self.max_value <= self.first_bucket_size:
            raise ValueError("need first_bucket_size > 0, ratio > 1 and max_value > first_bucket_size")

    @property
    def num_buckets(self) -> int:
        return math.ceil(math.log(self.max_value * (self.ratio - 1) / self.first_bucket_size + 1, self.ratio)) + 1

    def bucket_start(self, bucket: int) -> float:
        return self.first_bucket_size * (self.ratio**bucket - 1) / (self.ratio - 1)

    def bucket_of(self, value: float) -> int:
        """The bucket holding ``value`` (values below the first bucket size go to bucket 0)."""
        if value < self.first_bucket_size:
            return 0
        bucket = int(math.log(value * (self.ratio - 1) / self.first_bucket_size + 1, self.ratio))
        return min(bucket, self.num_buckets - 1)

    def bucket_expr(self, expr: pl.Expr) -> pl.Expr:
        """Vectorised :meth:`bucket_of` (Int64)."""
        raw = ((expr * (self.ratio - 1) / self.first_bucket_size + 1).log(self.ratio)).floor()
        return (
            pl.when(expr < self.first_bucket_size).then(0).otherwise(raw.clip(0, self.num_buckets - 1)).cast(pl.Int64)
        )

    def bucket_start_expr(self, bucket: pl.Expr) -> pl.Expr:
        return self.first_bucket_size * (pl.lit(self.ratio).pow(bucket.cast(pl.Float64)) - 1) / (self.ratio - 1)


CPU_BUCKETS = ExponentialBuckets(first_bucket_size=0.01, ratio=1.05, max_value=1000.0)
"""VPA's CPU histogram: 10m first bucket, 5% growth, up to 1000 cores."""
MEMORY_BUCKETS = ExponentialBuckets(first_bucket_size=1e7, ratio=1.05, max_value=1e12)
"""VPA's memory histogram: 10 MB first bucket, 5% growth, up to 1 TB."""


def decay_weight_expr(timestamp: pl.Expr, reference: pl.Expr, half_life_seconds: float) -> pl.Expr:
    """``2 ** ((timestamp - reference) / half_life)``: a sample one half-life older weighs half.

    Only ratios of weights matter for percentiles, so ``reference`` can be any instant
    (the end of the window keeps the numbers small).
    """
    age = (timestamp - reference).dt.total_microseconds().cast(pl.Float64) / 1e6
    return pl.lit(2.0).pow(age / half_life_seconds)


def histogram_percentiles(
    samples: pl.LazyFrame | pl.DataFrame,
    *,
    keys: Sequence[str],
    value: str,
    weight: str,
    buckets: ExponentialBuckets,
    quantiles: dict[str, float],
) -> pl.DataFrame:
    """Weighted exponential-histogram percentiles per group, the VPA way.

    ``samples`` has ``keys``, a ``value`` and a ``weight`` column. Returns one row
    per group with ``keys``, ``total_weight`` and one column per ``quantiles`` entry
    (name -> q). Groups with zero total weight are dropped.
    """
    keys = list(keys)
    hist = (
        samples.lazy()
        .select(*keys, buckets.bucket_expr(pl.col(value)).alias("_bucket"), pl.col(weight).alias("_w"))
        .group_by(*keys, "_bucket")
        .agg(pl.col("_w").sum())
        .sort(*keys, "_bucket")
        .with_columns(pl.col("_w").cum_sum().over(keys).alias("_cum"), pl.col("_w").sum().over(keys).alias("_total"))
        .filter(pl.col("_total") > 0)
        .collect(engine="streaming")
    )
    last = buckets.num_buckets - 1
    out = hist.group_by(keys, maintain_order=True).agg(pl.col("_total").first().alias("total_weight"))
    for name, q in quantiles.items():
        chosen = (
            hist.filter(pl.col("_cum") >= pl.col("_total") * q - 1e-12 * pl.col("_total"))
            .group_by(keys, maintain_order=True)
            .agg(pl.col("_bucket").min().alias("_b"))
            .with_columns(
                pl.when(pl.col("_b") < last)
                .then(buckets.bucket_start_expr(pl.col("_b") + 1))
                .otherwise(buckets.bucket_start_expr(pl.col("_b")))
                .alias(name)
            )
            .drop("_b")
        )
        out = out.join(chosen, on=keys, how="left")
    return out
