"""``simple``: compatible with Robusta KRR's default ``simple`` strategy.

KRR (robusta-dev/krr, ``strategies/simple.py``): CPU request = the highest of the per-pod
95th percentiles of CPU usage (Prometheus ``quantile_over_time``, linear interpolation), no
CPU limit; memory request = memory limit = the highest working set of any pod x (1 + 15%);
no recommendation under 100 data points, nor for CPU when an HPA targets CPU. KRR then
rounds CPU up to 1m and memory up to 1 MiB (``robusta_krr/core/runner.py``, ``_round_value``)
and applies floors of 10m and 100Mi; with ``rounding=krr`` this strategy does exactly that,
otherwise values are rounded to people-values. Like KRR it does not look at the memory limit:
kubetally's memory-near-limit rule is off unless ``memory_near_limit_rule`` is set.
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
    MIB,
    NOTE,
    PROPOSAL_SCHEMA,
    StrategySettings,
    per_pod_quantile,
)
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.model import columns as c


class SimpleSettings(StrategySettings):
    """KRR ``simple`` defaults."""

    cpu_percentile: float = Field(95, ge=1, le=100, description="Percentile of per-pod CPU usage used as CPU request.")
    memory_buffer_percentage: float = Field(
        15, ge=0, le=200, description="Added to the highest working set for memory request and limit, in percent."
    )
    points_required: int = Field(100, ge=1, le=1_000_000, description="Data points needed for a recommendation.")
    allow_hpa: bool = Field(False, description="Recommend CPU even when an HPA scales on CPU.")
    cpu_min_millicores: int = Field(10, ge=1, le=100_000, description="Lowest CPU request recommended, millicores.")
    memory_min_mib: int = Field(100, ge=1, le=1_000_000, description="Lowest memory recommended, MiB.")
    rounding: Literal["people", "krr"] = Field(
        "people", description="people: 5m/10m and Mi steps; krr: up to 1m and 1 MiB exactly as KRR does."
    )
    memory_near_limit_rule: bool = Field(
        False, description="Also apply kubetally's memory-near-limit evidence rule (KRR has none)."
    )


class SimpleStrategy:
    name: ClassVar[str] = "simple"
    settings_model: ClassVar[type[StrategySettings]] = SimpleSettings

    def statistics(self, history: History, settings: StrategySettings) -> pl.DataFrame:
        """KEYS + ``_cpu``, the busiest pod's CPU percentile, when it is not the summary's p95 (no rows
        otherwise)."""
        assert isinstance(settings, SimpleSettings)
        if settings.cpu_percentile == 95:
            return pl.DataFrame(schema={**{k: pl.String() for k in KEYS}, "_cpu": pl.Float64()})
        return per_pod_quantile(history, c.CPU_USAGE_CORES, settings.cpu_percentile / 100).rename({"_q": "_cpu"})

    def propose(
        self, history: History, summary: pl.DataFrame, stats: pl.DataFrame, settings: StrategySettings
    ) -> pl.DataFrame:
        assert isinstance(settings, SimpleSettings)
        s = settings
        keys = list(KEYS)
        # The summary's per-pod p95 is fixed at 95; statistics() has another percentile.
        if s.cpu_percentile != 95:
            summary = summary.join(stats.select(*keys, "_cpu"), on=keys, how="left").with_columns(
                pl.col("_cpu").alias(c.CPU_USAGE_P95_CORES)
            )
        frame = history.info.select([*keys, c.HPA_TARGET_CPU_UTILIZATION]).join(summary, on=keys, how="left")
        points = pl.col(c.DATA_POINTS).fill_null(0)
        short = pl.format("not enough data: {} data points of {} required", points, pl.lit(s.points_required))
        cpu_raw = pl.col(c.CPU_USAGE_P95_CORES)
        mem_raw = pl.col(c.MEMORY_PEAK_BYTES) * (1 + s.memory_buffer_percentage / 100)
        if s.rounding == "krr":
            # KRR's runner: ceil to 1m and to 1 MiB; we round to 1e-9 first so that float noise
            # (p95 x 1000 = 74.00000000000001) does not add a millicore.
            cpu_raw = ((cpu_raw * 1000).round(9).ceil() / 1000).round(3)
            mem_raw = (mem_raw / MIB).round(9).ceil() * MIB
        cpu = pl.max_horizontal(cpu_raw, pl.lit(s.cpu_min_millicores / 1000))
        mem = pl.max_horizontal(mem_raw, pl.lit(float(s.memory_min_mib * MIB)))
        hpa = pl.col(c.HPA_TARGET_CPU_UTILIZATION).is_not_null() & pl.lit(not s.allow_hpa)
        enough = points >= s.points_required
        out = frame.select(
            *keys,
            pl.when(enough & ~hpa).then(cpu).alias(CPU_REQUEST),
            pl.lit(None, pl.Float64).alias(CPU_LIMIT),
            pl.when(enough & pl.col(c.MEMORY_PEAK_BYTES).is_not_null()).then(mem).alias(MEMORY_REQUEST),
            pl.when(enough & pl.col(c.MEMORY_PEAK_BYTES).is_not_null()).then(mem).alias(MEMORY_LIMIT),
            pl.when(~enough)
            .then(short)
            .when(hpa)
            .then(pl.lit("an HPA scales this workload on CPU (allow_hpa is off)"))
            .alias(CPU_NONE),
            pl.when(~enough)
            .then(short)
            .when(pl.col(c.MEMORY_PEAK_BYTES).is_null())
            .then(pl.lit("no memory samples"))
            .alias(MEMORY_NONE),
            pl.format(
                "KRR simple: CPU p{} of the busiest pod, memory peak +{}%",
                pl.lit(f"{s.cpu_percentile:g}"),
                pl.lit(f"{s.memory_buffer_percentage:g}"),
            ).alias(NOTE),
        )
        return out.select([pl.col(k).cast(t) for k, t in PROPOSAL_SCHEMA.items()])
