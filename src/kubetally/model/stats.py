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


def _fine_bucket(value: pl.Expr, sub_buckets: int) -> pl.Expr:
    """A monotone bucket of a non-negative value: ``sub_buckets`` buckets per power of two (0 and
    below share the lowest bucket)."""
    return pl.when(value > 0).then((value.log(2) * sub_buckets).floor()).otherwise(pl.lit(-(2.0**40))).cast(pl.Int64)


def exact_quantiles(
    samples: pl.LazyFrame,
    *,
    keys: Sequence[str],
    value: str,
    quantiles: dict[str, float | pl.DataFrame],
    sub_buckets: int = 64,
) -> pl.DataFrame:
    """Exact :func:`percentile` per group (linear interpolation), computed in two streaming passes
    so memory does not grow with the number of samples.

    Pass 1 counts the samples of each group in fine, monotone buckets (``sub_buckets`` per power of
    two); that locates the bucket holding each needed rank. Pass 2 collects only the samples of
    those buckets and reads the exact order statistics from them. Returns ``keys``, ``n`` (non-null
    samples) and one column per ``quantiles`` entry (name -> q). ``q`` is a number, or a frame with
    some of ``keys`` and a ``q`` column to use a different quantile per group (groups it does not
    list get null). Groups without samples are absent.
    """
    keys = list(keys)
    v = pl.col(value)
    clean = samples.filter(v.is_not_null() & ~v.is_nan()).with_columns(_fine_bucket(v, sub_buckets).alias("_b"))
    hist = (
        clean.group_by(*keys, "_b")
        .agg(pl.len().cast(pl.Int64).alias("_cnt"), v.min().alias("_min"))
        .collect(engine="streaming")
        .sort(*keys, "_b")
        .with_columns(pl.col("_cnt").cum_sum().over(keys).alias("_cum"), pl.col("_cnt").sum().over(keys).alias("n"))
        .with_columns((pl.col("_cum") - pl.col("_cnt")).alias("_before"))
    )
    if hist.height == 0:
        return pl.DataFrame(
            schema={
                **{k: samples.collect_schema()[k] for k in keys},
                "n": pl.Int64,
                **dict.fromkeys(quantiles, pl.Float64),
            }
        )
    groups = hist.group_by(keys, maintain_order=True).agg(pl.col("n").first())
    located: list[pl.DataFrame] = []
    for name, q in quantiles.items():
        if isinstance(q, pl.DataFrame):
            with_q = groups.join(q, on=[k for k in q.columns if k != "q"], how="inner")
        elif 0.0 <= q <= 1.0:
            with_q = groups.with_columns(pl.lit(q, dtype=pl.Float64).alias("q"))
        else:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        rank = (
            with_q.with_columns((pl.col("q") * (pl.col("n") - 1)).alias("_r"))
            .drop("q")
            .with_columns(pl.col("_r").floor().cast(pl.Int64).alias("_lo"))
            .with_columns(
                pl.min_horizontal(pl.col("_lo") + 1, pl.col("n") - 1).alias("_hi"),
                (pl.col("_r") - pl.col("_lo")).alias("_frac"),
            )
        )
        for end in ("_lo", "_hi"):
            found = (
                hist.join(rank.select(*keys, end), on=keys)
                .filter((pl.col("_before") <= pl.col(end)) & (pl.col(end) < pl.col("_cum")))
                .select(
                    *keys,
                    pl.col("_b").alias(f"_b{end}"),
                    (pl.col(end) - pl.col("_before")).alias(f"_pos{end}"),
                    pl.col("_min").alias(f"_min{end}"),
                )
            )
            rank = rank.join(found, on=keys, how="left")
        located.append(rank.with_columns(pl.lit(name).alias("_q")))
    targets = pl.concat(located)
    needed = pl.concat(
        [targets.select(*keys, pl.col("_b_lo").alias("_b")), targets.select(*keys, pl.col("_b_hi").alias("_b"))]
    ).unique()
    values = (
        clean.join(needed.lazy(), on=[*keys, "_b"], how="semi")
        .group_by(*keys, "_b")
        .agg(v.sort().alias("_vals"))
        .collect(engine="streaming")
    )
    lo_vals = values.rename({"_b": "_b_lo", "_vals": "_vals_lo"})
    hi_vals = values.rename({"_b": "_b_hi", "_vals": "_vals_hi"})
    picked = (
        targets.join(lo_vals, on=[*keys, "_b_lo"], how="left")
        .join(hi_vals, on=[*keys, "_b_hi"], how="left")
        .with_columns(
            pl.col("_vals_lo").list.get(pl.col("_pos_lo")).alias("_x_lo"),
            pl.col("_vals_hi").list.get(pl.col("_pos_hi")).alias("_x_hi"),
        )
        .with_columns((pl.col("_x_lo") + pl.col("_frac") * (pl.col("_x_hi") - pl.col("_x_lo"))).alias("_x"))
    )
    out = groups
    for name in quantiles:
        out = out.join(picked.filter(pl.col("_q") == name).select(*keys, pl.col("_x").alias(name)), on=keys, how="left")
    return out
