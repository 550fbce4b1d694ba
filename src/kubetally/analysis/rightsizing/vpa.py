"""``vpa``: the Kubernetes VPA recommender's *documented* target.

What the VPA documentation describes (kubernetes/autoscaler, vertical-pod-autoscaler: the
recommender README and FAQ; Apache-2.0, facts only), read over its default 8-day history:

- CPU: the 90th percentile of the usage samples in an exponential histogram (first bucket 10m,
  each bucket 5% wider), each sample weighted with a 24 h half-life; a percentile is the end of
  the first bucket whose cumulative weight reaches it;
- memory: the 90th percentile of the **peak working set of each 24 h window** (windows start at
  the pod's first sample of the history), each peak weighing the same, in the same kind of
  histogram (first bucket 10 MB);
- target = that percentile + 15% safety margin, for request; a current limit keeps its ratio to
  the request, no limit stays none.

No per-pod floors, no rounding with ``rounding=none``. This reproduces the VPA reference row of the
backtest exactly (docs/rightsizing.md). What the recommender's Go code does instead (decayed
memory peaks, floors, integer truncation, the whole history) is the ``vpa-source`` strategy.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from kubetally.analysis.rightsizing.base import (
    CPU_LIMIT,
    CPU_NONE,
    CPU_REQUEST,
    MEMORY_LIMIT,
    MEMORY_NONE,
    MEMORY_REQUEST,
    NOTE,
    PROPOSAL_SCHEMA,
    StrategySettings,
)
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.model import columns as c
from kubetally.model.stats import CPU_BUCKETS, MEMORY_BUCKETS, decay_weight_expr, histogram_percentiles


class VpaSettings(StrategySettings):
    """The documented VPA target."""

    target_percentile: float = Field(0.9, gt=0, le=1, description="Histogram percentile used as the target request.")
    safety_margin: float = Field(0.15, ge=0, le=2, description="Fraction added to the percentile.")
    history_days: float = Field(8, gt=0, le=365, description="Days of history read (VPA's default: 8).")
    cpu_half_life_hours: float = Field(24, gt=0, le=24 * 365, description="Half-life of CPU sample weights, hours.")
    memory_aggregation_hours: float = Field(24, gt=0, le=24 * 30, description="Memory peak window, hours.")
    rounding: Literal["people", "none"] = Field(
        "people", description="people: 5m/10m and Mi steps; none: the target as computed, unrounded."
    )
    memory_near_limit_rule: bool = Field(
        False, description="Also apply kubetally's memory-near-limit evidence rule (VPA has none)."
    )


class VpaStrategy:
    name: ClassVar[str] = "vpa"
    needs_samples: ClassVar[bool] = True
    """It weighs every sample by its age: hourly summaries cannot stand in."""
    settings_model: ClassVar[type[StrategySettings]] = VpaSettings

    def statistics(self, history: History, settings: StrategySettings) -> pl.DataFrame:
        """KEYS + ``_cpu`` and ``_mem``: the target percentiles of the CPU and daily-peak histograms."""
        assert isinstance(settings, VpaSettings)
        s = settings
        keys = list(KEYS)
        newest = (
            history.samples.group_by(keys).agg(pl.col(c.TIMESTAMP).max().alias("_newest")).collect(engine="streaming")
        )
        recent = history.samples.join(newest.lazy(), on=keys, how="inner").filter(
            pl.col(c.TIMESTAMP) > pl.col("_newest") - pl.duration(seconds=int(s.history_days * 86400))
        )
        cpu_samples = recent.filter(pl.col(c.CPU_USAGE_CORES).is_not_null()).with_columns(
            decay_weight_expr(pl.col(c.TIMESTAMP), pl.col("_newest"), s.cpu_half_life_hours * 3600).alias("_w")
        )
        q = {"target": s.target_percentile}
        cpu = histogram_percentiles(
            cpu_samples, keys=keys, value=c.CPU_USAGE_CORES, weight="_w", buckets=CPU_BUCKETS, quantiles=q
        ).select(*keys, pl.col("target").alias("_cpu"))
        window = int(s.memory_aggregation_hours * 3600 * 1_000_000)
        with_memory = recent.filter(pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null())
        first = pl.col(c.TIMESTAMP).cast(pl.Int64).min().over([*keys, c.POD])
        peaks = (
            with_memory.with_columns(((pl.col(c.TIMESTAMP).cast(pl.Int64) - first) // window).alias("_window"))
            .group_by(*keys, c.POD, "_window")
            .agg(pl.col(c.MEMORY_WORKING_SET_BYTES).max().alias("_peak"))
            .with_columns(pl.lit(1.0).alias("_w"))
        )
        mem = histogram_percentiles(
            peaks, keys=keys, value="_peak", weight="_w", buckets=MEMORY_BUCKETS, quantiles=q
        ).select(*keys, pl.col("target").alias("_mem"))
        return history.info.select(keys).join(cpu, on=keys, how="left").join(mem, on=keys, how="left")

    def propose(
        self, history: History, summary: pl.DataFrame, stats: pl.DataFrame, settings: StrategySettings
    ) -> pl.DataFrame:
        assert isinstance(settings, VpaSettings)
        s = settings
        keys = list(KEYS)
        frame = history.info.select(
            *keys,
            c.CURRENT_CPU_REQUEST_CORES,
            c.CURRENT_CPU_LIMIT_CORES,
            c.CURRENT_MEMORY_REQUEST_BYTES,
            c.CURRENT_MEMORY_LIMIT_BYTES,
        ).join(stats.select(*keys, "_cpu", "_mem"), on=keys, how="left")
        margin = 1 + s.safety_margin
        cpu_target = pl.col("_cpu") * margin
        mem_target = pl.col("_mem") * margin
        ratio_cpu = pl.col(c.CURRENT_CPU_LIMIT_CORES) / pl.col(c.CURRENT_CPU_REQUEST_CORES)
        ratio_mem = pl.col(c.CURRENT_MEMORY_LIMIT_BYTES) / pl.col(c.CURRENT_MEMORY_REQUEST_BYTES)
        out = frame.select(
            *keys,
            cpu_target.alias(CPU_REQUEST),
            (cpu_target * ratio_cpu).alias(CPU_LIMIT),
            mem_target.alias(MEMORY_REQUEST),
            (mem_target * ratio_mem).alias(MEMORY_LIMIT),
            pl.when(pl.col("_cpu").is_null()).then(pl.lit("no usage samples")).alias(CPU_NONE),
            pl.when(pl.col("_cpu").is_null())
            .then(pl.lit("no usage samples"))
            .when(pl.col("_mem").is_null())
            .then(pl.lit("no memory samples"))
            .alias(MEMORY_NONE),
            pl.lit(
                f"VPA target (documented): P{s.target_percentile * 100:g} of {s.history_days:g} d "
                f"+{s.safety_margin * 100:g}%, memory on daily peaks"
            ).alias(NOTE),
        )
        # A request without a current limit gets no limit; keep only ratios that exist.
        out = out.with_columns(
            pl.when(pl.col(CPU_LIMIT).is_finite()).then(pl.col(CPU_LIMIT)).alias(CPU_LIMIT),
            pl.when(pl.col(MEMORY_LIMIT).is_finite()).then(pl.col(MEMORY_LIMIT)).alias(MEMORY_LIMIT),
        )
        return out.select([pl.col(k).cast(t) for k, t in PROPOSAL_SCHEMA.items()])
