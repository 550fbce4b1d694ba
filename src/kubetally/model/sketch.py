"""Hourly summaries of a usage column and percentiles as merges of them, with a stated error bound.

A summary of one value column (CPU cores, working-set bytes) holds, per series key and hour:

* ``stats``: count, sum, min and max of the hour's samples (exact, mergeable by sum/min/max);
* ``sketch``: the hour's samples counted in logarithmic buckets (the bucket mapping of DDSketch:
  Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with relative-error
  guarantees", VLDB 2019). Bucket ``i`` holds the values in ``(gamma**(i-1), gamma**i]`` with
  ``gamma = (1 + alpha) / (1 - alpha)``; its representative ``2 * gamma**i / (gamma + 1)`` is within
  ``alpha`` (relative) of every value in it. Merging hours is adding counts bucket by bucket.

A percentile over any set of hours (:func:`merged_quantiles`) uses the definition of
:func:`kubetally.model.stats.percentile` (linear interpolation between the order statistics at
rank ``q * (n - 1)``, numpy's and Prometheus' ``quantile_over_time``'s), with each of the two order
statistics replaced by its bucket's representative, clamped to the exact min and max. So the result
is within ``alpha`` (relative) of the exact percentile of the raw samples: both order statistics
are, and the interpolation is a convex combination. Values at or below ``zero_below`` (idle CPU) are
counted in one zero bucket whose representative is 0: for them the error is absolute, at most
``zero_below``. Rank 0 and rank n-1 are the exact min and max.

The sketch is a frame, not an object per series, so summaries of millions of samples are built
and merged by polars' streaming group-bys (the ``ddsketch`` library keeps one Python object per
series, too slow for that); the mapping is the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from kubetally.model import columns as c

HOUR = c.HOUR
"""The start of the hour a summary row covers (UTC)."""
COUNT = c.COUNT
SUM = c.SUM
MIN = c.MIN
MAX = c.MAX
FIRST = c.FIRST
"""Time of the hour's first sample (so a window's span is exact, not rounded to hours)."""
LAST = c.LAST
BUCKET = "bucket"
BUCKETS = c.BUCKETS
BUCKET_COUNTS = c.BUCKET_COUNTS
ZERO_BUCKET = -(2**31)
"""The bucket of values at or below ``zero_below`` (Int32's lowest value)."""
DEFAULT_ALPHA = 0.005
"""Relative accuracy of every summary percentile: half of the 1 % the analyses promise, so that
floating-point rounding at bucket edges never takes a result past it."""


@dataclass(frozen=True)
class LogBuckets:
    """The DDSketch logarithmic mapping with relative accuracy ``alpha``."""

    alpha: float = DEFAULT_ALPHA
    zero_below: float = 1e-9
    """Values at or below this (and every value <= 0) go to the zero bucket."""

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be within (0, 0.5), got {self.alpha}")
        if self.zero_below <= 0.0:
            raise ValueError(f"zero_below must be positive, got {self.zero_below}")

    @property
    def gamma(self) -> float:
        return (1.0 + self.alpha) / (1.0 - self.alpha)

    def index(self, value: float) -> int:
        """The bucket of one value (for hand-worked checks; :meth:`index_expr` is the vectorised form)."""
        if value <= self.zero_below:
            return ZERO_BUCKET
        return math.ceil(math.log(value) / math.log(self.gamma))

    def representative(self, bucket: int) -> float:
        if bucket == ZERO_BUCKET:
            return 0.0
        return 2.0 * self.gamma**bucket / (self.gamma + 1.0)

    def index_expr(self, value: pl.Expr) -> pl.Expr:
        ln_gamma = math.log(self.gamma)
        positive = (value.log() / ln_gamma).ceil().cast(pl.Int32)
        return pl.when(value > self.zero_below).then(positive).otherwise(pl.lit(ZERO_BUCKET, pl.Int32))

    def representative_expr(self, bucket: pl.Expr) -> pl.Expr:
        rep = 2.0 * pl.lit(self.gamma).pow(bucket.cast(pl.Float64)) / (self.gamma + 1.0)
        return pl.when(bucket == ZERO_BUCKET).then(pl.lit(0.0)).otherwise(rep)


SERIES = "series"
"""Integer id of a summarised series (a row of :attr:`Summary.index`)."""


@dataclass(frozen=True)
class Summary:
    """Hourly summaries of one value column. ``index``: the keys of every series and its integer
    ``series`` id; ``stats``: series, hour, count, sum, min, max, first, last; ``sketch``: series, hour, bucket,
    count. Integer ids keep the hourly rows small (no repeated key strings)."""

    keys: tuple[str, ...]
    index: pl.DataFrame
    stats: pl.DataFrame
    sketch: pl.DataFrame
    buckets: LogBuckets

    @property
    def rows(self) -> int:
        return self.stats.height + self.sketch.height


def hourly_summary(
    samples: pl.LazyFrame,
    *,
    keys: Sequence[str],
    value: str,
    time: str,
    buckets: LogBuckets | None = None,
) -> Summary:
    """Per ``keys`` and hour of ``time``: the exact stats and the bucket counts of ``value``.
    Null and NaN values are left out. Three streaming passes over ``samples`` (keys, stats, sketch)."""
    b = buckets or LogBuckets()
    keys = tuple(keys)
    v = pl.col(value)
    present = samples.filter(v.is_not_null() & ~v.is_nan())
    index = (
        present.select(keys)
        .unique()
        .collect(engine="streaming")
        .sort(keys)
        .with_row_index(SERIES)
        .select(*keys, pl.col(SERIES).cast(pl.Int32))
    )
    clean = present.join(index.lazy(), on=list(keys), how="inner").select(
        SERIES, pl.col(time).dt.truncate("1h").alias(HOUR), pl.col(time).alias("_t"), v.alias("_v")
    )
    stats = (
        clean.group_by(SERIES, HOUR)
        .agg(
            pl.len().cast(pl.Int64).alias(COUNT),
            pl.col("_v").sum().alias(SUM),
            pl.col("_v").min().alias(MIN),
            pl.col("_v").max().alias(MAX),
            pl.col("_t").min().alias(FIRST),
            pl.col("_t").max().alias(LAST),
        )
        .collect(engine="streaming")
        .sort(SERIES, HOUR)
    )
    sketch = (
        clean.select(SERIES, HOUR, b.index_expr(pl.col("_v")).alias(BUCKET))
        .group_by(SERIES, HOUR, BUCKET)
        .agg(pl.len().cast(pl.Int32).alias(COUNT))
        .collect(engine="streaming")
    )
    return Summary(keys, index, stats, sketch, b)


def merged_quantiles(
    summary: Summary,
    *,
    keys: Sequence[str],
    quantiles: dict[str, float],
    hours: pl.Expr | None = None,
) -> pl.DataFrame:
    """Percentiles per ``keys`` (a subset of the summary's keys) over the hours selected by ``hours``
    (a predicate on the ``hour`` column; all hours when None), merged from the hourly summaries.

    Returns ``keys``, ``n``, ``min``, ``max`` and one column per ``quantiles`` entry (name -> q), each
    within ``alpha`` of the exact linear-interpolation percentile of the raw samples (see the module).
    """
    keys = list(keys)
    unknown = [k for k in keys if k not in summary.keys]
    if unknown:
        raise ValueError(f"not keys of the summary: {', '.join(unknown)}")
    for name, q in quantiles.items():
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile {name} must be within [0, 1], got {q}")
    stats, sketch = summary.stats.lazy(), summary.sketch.lazy()
    if hours is not None:
        stats, sketch = stats.filter(hours), sketch.filter(hours)
    # merge per series first (integer keys), then per the requested keys when they are coarser
    stats = stats.group_by(SERIES).agg(
        pl.col(COUNT).sum().alias("n"), pl.col(MIN).min().alias(MIN), pl.col(MAX).max().alias(MAX)
    )
    sketch = sketch.group_by(SERIES, BUCKET).agg(pl.col(COUNT).sum().cast(pl.Int64))
    index = summary.index.lazy()
    groups = stats.join(index, on=SERIES).group_by(keys).agg(pl.col("n").sum(), pl.col(MIN).min(), pl.col(MAX).max())
    hist = sketch.join(index, on=SERIES).group_by(*keys, BUCKET).agg(pl.col(COUNT).sum())
    return _quantiles(groups.collect(), hist.collect(), keys, quantiles, summary.buckets)


def flat(summary: Summary) -> pl.DataFrame:
    """The summary as one row per series and hour: its keys, hour, count, sum, min, max, first, last,
    ``buckets`` (ascending bucket indices, List(Int32)) and ``bucket_counts`` (List(UInt32)): the form
    the Dataset keeps (frame ``usage_hourly``) and :func:`flat_quantiles` reads."""
    lists = (
        summary.sketch.sort(SERIES, HOUR, BUCKET)
        .group_by(SERIES, HOUR, maintain_order=True)
        .agg(pl.col(BUCKET).alias(BUCKETS), pl.col(COUNT).cast(pl.UInt32).alias(BUCKET_COUNTS))
    )
    return (
        summary.stats.join(lists, on=[SERIES, HOUR], how="left")
        .join(summary.index, on=SERIES)
        .select(*summary.keys, HOUR, COUNT, SUM, MIN, MAX, FIRST, LAST, BUCKETS, BUCKET_COUNTS)
    )


def flat_quantiles(
    rows: pl.LazyFrame,
    *,
    keys: Sequence[str],
    quantiles: dict[str, float | pl.DataFrame],
    buckets: LogBuckets | None = None,
) -> pl.DataFrame:
    """:func:`merged_quantiles` over rows of the :func:`flat` form (any hours, any series: filter
    ``rows`` first), grouped by ``keys``; streams, so memory grows with the groups, not the rows.

    A quantile is a number, or a frame of some of ``keys`` and ``q`` to use one quantile per group
    (groups it does not list get null), as :func:`kubetally.model.stats.exact_quantiles` takes."""
    keys = list(keys)
    groups = (
        rows.group_by(keys)
        .agg(pl.col(COUNT).sum().cast(pl.Int64).alias("n"), pl.col(MIN).min(), pl.col(MAX).max())
        .collect(engine="streaming")
    )
    hist = (
        rows.select(*keys, BUCKETS, BUCKET_COUNTS)
        .explode(BUCKETS, BUCKET_COUNTS)
        .filter(pl.col(BUCKET_COUNTS).is_not_null())
        .group_by(*keys, pl.col(BUCKETS).alias(BUCKET))
        .agg(pl.col(BUCKET_COUNTS).sum().cast(pl.Int64).alias(COUNT))
        .collect(engine="streaming")
    )
    return _quantiles(groups, hist, keys, quantiles, buckets or LogBuckets())


def _quantiles(
    groups: pl.DataFrame,
    hist: pl.DataFrame,
    keys: list[str],
    quantiles: Mapping[str, float | pl.DataFrame],
    buckets: LogBuckets,
) -> pl.DataFrame:
    """Per group (``groups``: keys, n, min, max; ``hist``: keys, bucket, count) the linear-interpolation
    percentiles with each order statistic read from its bucket (clamped to the exact min and max)."""
    table = (
        hist.sort(*keys, BUCKET)
        .with_columns(pl.col(COUNT).cum_sum().over(keys).alias("_cum"))
        .with_columns((pl.col("_cum") - pl.col(COUNT)).alias("_before"))
        .with_columns(buckets.representative_expr(pl.col(BUCKET)).alias("_rep"))
        .select(*keys, "_before", "_cum", "_rep")
    )
    out = groups
    if out.height == 0:
        return out.with_columns([pl.lit(None, pl.Float64).alias(name) for name in quantiles])
    for name, q in quantiles.items():
        if isinstance(q, pl.DataFrame):
            on = [k for k in q.columns if k != "q"]
            ranks = out.join(q.select(*on, pl.col("q").cast(pl.Float64).alias("_q")), on=on, how="left")
        else:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile {name} must be within [0, 1], got {q}")
            ranks = out.with_columns(pl.lit(float(q)).alias("_q"))
        ranks = ranks.select(*keys, "n", MIN, MAX, (pl.col("_q") * (pl.col("n") - 1)).alias("_r")).with_columns(
            pl.col("_r").floor().cast(pl.Int64).alias("_lo")
        )
        ranks = ranks.with_columns(
            pl.min_horizontal(pl.col("_lo") + 1, pl.col("n") - 1).alias("_hi"),
            (pl.col("_r") - pl.col("_lo")).alias("_frac"),
        )
        for end in ("_lo", "_hi"):
            at = (
                table.join(ranks.select(*keys, end), on=keys)
                .filter((pl.col("_before") <= pl.col(end)) & (pl.col(end) < pl.col("_cum")))
                .select(*keys, pl.col("_rep").alias(f"_x{end}"))
            )
            ranks = ranks.join(at, on=keys, how="left")
            x = pl.col(f"_x{end}").clip(pl.col(MIN), pl.col(MAX))
            exact = pl.when(pl.col(end) == 0).then(pl.col(MIN)).when(pl.col(end) == pl.col("n") - 1).then(pl.col(MAX))
            ranks = ranks.with_columns(exact.otherwise(x).alias(f"_x{end}"))
        value = pl.col("_x_lo") + pl.col("_frac") * (pl.col("_x_hi") - pl.col("_x_lo"))
        out = out.join(ranks.select(*keys, value.alias(name)), on=keys, how="left")
    return out
