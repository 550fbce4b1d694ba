"""``vpa-source``: what the Kubernetes VPA recommender's Go code does.

From ``kubernetes/autoscaler`` (vertical-pod-autoscaler/pkg/recommender):

- CPU usage samples go into an exponential histogram (10m first bucket, +5% per bucket) weighted
  by ``max(CPU request, 0.1 core)`` (constant per container here, so it cancels) and decayed with
  a 24 h half-life;
- memory goes in as one peak per container per 24 h aggregation window (weight 1, decayed,
  stamped at the window end); an OOM kill in the window counts as a peak of
  ``max(used + 100Mi, used x 1.2)`` with ``used = max(request, window peak, limit at the kill)``;
- target = P90, lower bound = P50, upper bound = P95, each +15% safety margin; the upper bound is
  scaled by ``1 + 1/confidence`` and the lower by ``(1 + 0.001/confidence)^-2`` where
  confidence = min(days of history, samples / 1440);
- per-pod floors of 25m and 250Mi are split evenly over the pod's containers;
- a current limit keeps its ratio to the request (controlledValues RequestsAndLimits); no limit
  stays no limit;
- ``rounding=exact``: CPU truncated to whole millicores and memory to whole bytes, as the Go code's
  integer conversions do.

The documented target (``vpa``) differs: 8 days of history, memory peaks not decayed, no floors.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    MIB,
    NOTE,
    PROPOSAL_SCHEMA,
    StrategySettings,
)
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.model import columns as c
from kubetally.model.stats import CPU_BUCKETS, MEMORY_BUCKETS, decay_weight_expr, histogram_percentiles

DAY = 86_400


class VpaSourceSettings(StrategySettings):
    """VPA recommender (Go code) defaults."""

    target_percentile: float = Field(0.9, gt=0, le=1, description="Histogram percentile used as the target request.")
    lower_bound_percentile: float = Field(0.5, gt=0, le=1, description="Percentile for the lower bound.")
    upper_bound_percentile: float = Field(0.95, gt=0, le=1, description="Percentile for the upper bound.")
    safety_margin: float = Field(0.15, ge=0, le=2, description="Fraction added to every estimate.")
    half_life_hours: float = Field(24, gt=0, le=24 * 365, description="Half-life of sample weights, hours.")
    memory_aggregation_hours: float = Field(24, gt=0, le=24 * 30, description="Memory peak window, hours.")
    pod_min_cpu_millicores: int = Field(25, ge=0, le=100_000, description="Per-pod CPU floor, split over containers.")
    pod_min_memory_mib: int = Field(250, ge=0, le=1_000_000, description="Per-pod memory floor, MiB, split likewise.")
    oom_bump_ratio: float = Field(1.2, ge=1, le=4, description="An OOM kill counts as a peak of used x this ...")
    oom_min_bump_mib: int = Field(100, ge=0, le=65536, description="... or used + this many MiB, whichever is more.")
    rounding: Literal["people", "exact"] = Field(
        "people", description="people: 5m/10m and Mi steps; exact: truncated to 1m and 1 byte as the VPA code does."
    )
    memory_near_limit_rule: bool = Field(
        False, description="Also apply kubetally's memory-near-limit evidence rule (VPA has none)."
    )
    min_history_hours: float = Field(
        0, ge=0, le=24 * 365, description="History needed before recommending (VPA itself needs none)."
    )


class VpaSourceStrategy:
    name: ClassVar[str] = "vpa-source"
    needs_samples: ClassVar[bool] = True
    """It weighs every sample by its age: hourly summaries cannot stand in."""
    settings_model: ClassVar[type[StrategySettings]] = VpaSourceSettings

    def statistics(self, history: History, settings: StrategySettings) -> pl.DataFrame:
        """KEYS + ``cpu_lower|target|upper`` and ``mem_lower|target|upper``: the percentiles of the
        decayed CPU histogram and of the decayed memory-peak histogram (OOM kills bumped in)."""
        assert isinstance(settings, VpaSourceSettings)
        s = settings
        keys = list(KEYS)
        half_life = s.half_life_hours * 3600
        quantiles = {
            "lower": s.lower_bound_percentile,
            "target": s.target_percentile,
            "upper": s.upper_bound_percentile,
        }
        samples = history.samples
        # Percentiles depend only on weight ratios within a key, so one reference instant for all keys
        # (the newest sample) gives the same result as VPA's per-container reference, and streams.
        newest = history.samples.select(pl.col(c.TIMESTAMP).max()).collect(engine="streaming").item()
        if newest is None:
            newest = datetime(1970, 1, 1, tzinfo=UTC)
        reference = pl.lit(newest, dtype=pl.Datetime("us", "UTC"))
        # VPA weighs a CPU sample by max(request, 0.1 core) x decay. The request is the container's
        # current one, the same for all its samples, so it scales all weights of a key alike and
        # cancels out of every percentile: decay alone gives the same result.
        cpu_samples = samples.filter(pl.col(c.CPU_USAGE_CORES).is_not_null()).with_columns(
            decay_weight_expr(pl.col(c.TIMESTAMP), reference, half_life).alias("_w")
        )
        cpu = histogram_percentiles(
            cpu_samples, keys=keys, value=c.CPU_USAGE_CORES, weight="_w", buckets=CPU_BUCKETS, quantiles=quantiles
        ).rename({q: f"cpu_{q}" for q in quantiles})
        peaks = self._memory_peaks(history, samples, s)
        peaks = peaks.with_columns(decay_weight_expr(pl.col("_window_end"), reference, half_life).alias("_w"))
        mem = histogram_percentiles(
            peaks, keys=keys, value="_peak", weight="_w", buckets=MEMORY_BUCKETS, quantiles=quantiles
        ).rename({q: f"mem_{q}" for q in quantiles})
        return (
            history.info.select(keys)
            .join(cpu.drop("total_weight"), on=keys, how="left")
            .join(mem.drop("total_weight"), on=keys, how="left")
        )

    def propose(
        self, history: History, summary: pl.DataFrame, stats: pl.DataFrame, settings: StrategySettings
    ) -> pl.DataFrame:
        assert isinstance(settings, VpaSourceSettings)
        s = settings
        keys = list(KEYS)
        frame = (
            history.info.select(
                *keys,
                "containers_per_pod",
                c.CURRENT_CPU_REQUEST_CORES,
                c.CURRENT_CPU_LIMIT_CORES,
                c.CURRENT_MEMORY_REQUEST_BYTES,
                c.CURRENT_MEMORY_LIMIT_BYTES,
            )
            .join(summary, on=keys, how="left")
            .join(stats, on=keys, how="left")
        )
        n_containers = pl.col("containers_per_pod").fill_null(1).clip(1)
        cpu_floor = s.pod_min_cpu_millicores / 1000 / n_containers
        mem_floor = s.pod_min_memory_mib * MIB / n_containers
        margin = 1 + s.safety_margin
        # confidence = min(lifespan in days, samples / (60 * 24)) as in VPA (which assumes 1-minute samples)
        confidence = pl.min_horizontal(
            pl.col(c.HISTORY_HOURS).fill_null(0) / 24, pl.col(c.DATA_POINTS).fill_null(0) / 1440
        )
        cpu_target = pl.max_horizontal(pl.col("cpu_target") * margin, cpu_floor)
        mem_target = pl.max_horizontal(pl.col("mem_target") * margin, mem_floor)
        cpu_upper = pl.col("cpu_upper") * margin * (1 + 1 / confidence)
        cpu_lower = pl.col("cpu_lower") * margin * (1 + 0.001 / confidence).pow(-2)
        short = pl.col(c.HISTORY_HOURS).fill_null(0) < s.min_history_hours
        no_data = pl.col(c.DATA_POINTS).fill_null(0) == 0
        reason = (
            pl.when(no_data)
            .then(pl.lit("no usage samples"))
            .when(short)
            .then(
                pl.format(
                    "not enough history: {} h of {} h required",
                    pl.col(c.HISTORY_HOURS).fill_null(0).round(1),
                    pl.lit(s.min_history_hours),
                )
            )
        )
        ratio_cpu = pl.col(c.CURRENT_CPU_LIMIT_CORES) / pl.col(c.CURRENT_CPU_REQUEST_CORES)
        ratio_mem = pl.col(c.CURRENT_MEMORY_LIMIT_BYTES) / pl.col(c.CURRENT_MEMORY_REQUEST_BYTES)
        ok = ~no_data & ~short
        out = frame.select(
            *keys,
            pl.when(ok).then(cpu_target).alias(CPU_REQUEST),
            pl.when(ok).then(cpu_target * ratio_cpu).alias(CPU_LIMIT),
            pl.when(ok & pl.col("mem_target").is_not_null()).then(mem_target).alias(MEMORY_REQUEST),
            pl.when(ok & pl.col("mem_target").is_not_null())
            .then(pl.when(ratio_mem.is_not_null()).then(mem_target * ratio_mem).otherwise(None))
            .alias(MEMORY_LIMIT),
            reason.alias(CPU_NONE),
            pl.when(ok & pl.col("mem_target").is_null())
            .then(pl.lit("no memory samples"))
            .otherwise(reason)
            .alias(MEMORY_NONE),
            pl.format(
                "VPA (code) target P{}+{}%; CPU bounds {}m-{}m (confidence {} d)",
                pl.lit(f"{s.target_percentile * 100:g}"),
                pl.lit(f"{s.safety_margin * 100:g}"),
                (cpu_lower * 1000).round(0),
                (cpu_upper * 1000).round(0),
                confidence.round(1),
            ).alias(NOTE),
        )
        # A request without a current limit gets no limit; keep only ratios that exist.
        out = out.with_columns(
            pl.when(pl.col(CPU_LIMIT).is_finite()).then(pl.col(CPU_LIMIT)).alias(CPU_LIMIT),
            pl.when(pl.col(MEMORY_LIMIT).is_finite()).then(pl.col(MEMORY_LIMIT)).alias(MEMORY_LIMIT),
        )
        return out.select([pl.col(k).cast(t) for k, t in PROPOSAL_SCHEMA.items()])

    @staticmethod
    def _memory_peaks(history: History, samples: pl.LazyFrame, s: VpaSourceSettings) -> pl.LazyFrame:
        # (samples: history.samples; the request needed for the OOM bump is joined on the small result)
        """One peak per pod container per aggregation window, OOM kills bumped in."""
        keys = list(KEYS)
        window = int(s.memory_aggregation_hours * 3600 * 1_000_000)
        with_memory = samples.filter(pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null())
        firsts = (
            with_memory.group_by(*keys, c.POD)
            .agg(pl.col(c.TIMESTAMP).min().cast(pl.Int64).alias("_first"))
            .collect(engine="streaming")
        )
        # Window index in integer microseconds (streams); the window end is rebuilt on the small result.
        index = ((pl.col(c.TIMESTAMP).cast(pl.Int64) - pl.col("_first")) // window).alias("_w")
        peaks = (
            with_memory.join(firsts.lazy(), on=[*keys, c.POD], how="inner")
            .with_columns(index)
            .group_by(*keys, c.POD, "_w")
            .agg(pl.col(c.MEMORY_WORKING_SET_BYTES).max().alias("_peak"))
            .collect(engine="streaming")
            .join(firsts, on=[*keys, c.POD], how="left")
            .with_columns(
                ((pl.col("_w") + 1) * window + pl.col("_first")).cast(pl.Datetime("us", "UTC")).alias("_window_end")
            )
            .join(history.info.select(*keys, pl.col(c.CURRENT_MEMORY_REQUEST_BYTES).alias("_req")), on=keys, how="left")
            .lazy()
        )
        if history.ooms.height == 0:
            return peaks.select(*keys, "_window_end", "_peak")
        # An OOM kill falls in the window of the same key ending after it; bump that window's peak.
        ooms = history.ooms.lazy().select(
            *keys, pl.col(c.TIMESTAMP).alias("_oom_ts"), pl.col(c.MEMORY_LIMIT_BYTES).alias("_lim")
        )
        bumped = (
            peaks.join(ooms, on=keys, how="inner")
            .filter(
                (pl.col("_oom_ts") < pl.col("_window_end"))
                & (pl.col("_oom_ts") >= pl.col("_window_end") - pl.duration(microseconds=window))
            )
            .with_columns(
                pl.max_horizontal(pl.col("_req").cast(pl.Float64), "_peak", pl.col("_lim").cast(pl.Float64)).alias(
                    "_used"
                )
            )
            .with_columns(
                pl.max_horizontal(pl.col("_used") + s.oom_min_bump_mib * MIB, pl.col("_used") * s.oom_bump_ratio).alias(
                    "_oom_peak"
                )
            )
            .group_by(*keys, c.POD, "_window_end")
            .agg(pl.col("_oom_peak").max())
        )
        return peaks.join(bumped, on=[*keys, c.POD, "_window_end"], how="left").select(
            *keys, "_window_end", pl.max_horizontal("_peak", "_oom_peak").alias("_peak")
        )
