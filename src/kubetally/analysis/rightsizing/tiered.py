"""``tiered`` (the default): a policy per ``finops_tier`` label, from a YAML policy file.

Each tier sizes requests from percentiles of recent usage and sets limits apart from requests:
the memory limit covers the highest working set seen with headroom (that is what decides OOM
kills), while the memory request follows a lower percentile (that is what decides cost). A
``critical`` tier may ask for Guaranteed QoS (limits = requests, sized on the peak). Evidence
(OOM kills, memory near the limit, throttling) is applied on top by the engine for every tier.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    EvidenceSettings,
    StrategySettings,
    daily_peaks,
    hours,
    per_pod_quantile,
    quantiles,
)
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.model import columns as c
from kubetally.model.stats import exact_quantiles


class TierPolicy(BaseModel):
    """How one tier is sized."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_request_percentile: float = Field(0.98, gt=0, le=1, description="Per-pod CPU usage percentile (busiest pod).")
    cpu_request_headroom: float = Field(0.0, ge=0, le=5, description="Fraction added to the CPU request.")
    cpu_limit: Literal["none", "multiple", "request"] = Field(
        "none", description="none: no CPU limit; multiple: request x cpu_limit_multiple; request: = request."
    )
    cpu_limit_multiple: float = Field(2.0, ge=1, le=100, description="CPU limit / request when cpu_limit=multiple.")
    memory_request_percentile: float = Field(
        0.95, gt=0, le=1, description="Working-set percentile (all samples) used for the memory request."
    )
    memory_request_basis: Literal["samples", "daily-peaks"] = Field(
        "samples",
        description="Percentile of every working-set sample, or of each pod's peak per day (VPA's documented way).",
    )
    memory_request_headroom: float = Field(0.15, ge=0, le=5, description="Fraction added to the memory request.")
    memory_limit_headroom: float = Field(
        1.0, ge=0, le=10, description="Memory limit = highest working set x (1 + this), at least the request."
    )
    memory_limit_min_bump_mib: int = Field(
        100, ge=0, le=65536, description="... and at least highest working set + this many MiB."
    )
    memory_limit_max_cut: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Largest fraction a memory limit may fall below the current limit in one recommendation "
        "(1 = no bound): limits come down step by step, so a raised limit decays instead of dropping.",
    )
    guaranteed: bool = Field(False, description="Guaranteed QoS: requests = limits (memory sized on the limit).")
    cpu_min_millicores: int = Field(10, ge=1, le=100_000, description="Lowest CPU request, millicores.")
    memory_min_mib: int = Field(32, ge=1, le=1_000_000, description="Lowest memory request, MiB.")
    min_history_hours: float = Field(24, ge=0, le=24 * 365, description="History needed before recommending, hours.")
    min_data_points: int = Field(100, ge=1, le=10_000_000, description="Usage samples needed (all pods).")

    @model_validator(mode="after")
    def _limit_clear_of_the_near_limit_rule(self) -> TierPolicy:
        # A limit of peak x (1 + headroom) with 1 / (1 + headroom) >= the memory-near-limit ratio is "near
        # its limit" by construction: the next recommendation bumps it (+100Mi / x1.2), the one after
        # cuts it back (a 55Mi <-> 155Mi oscillation in a rolling replay). Refused where it is declared.
        ratio = float(EvidenceSettings.model_fields["memory_near_limit_ratio"].default)
        least = 1 / ratio - 1
        if self.memory_limit_headroom <= least:
            raise ValueError(
                f"memory_limit_headroom {self.memory_limit_headroom:g} puts the limit within {ratio:.0%} of the "
                f"highest working set, where the memory-near-limit rule raises it on the next recommendation "
                f"and the one after cuts it back (the limit oscillates); use more than {least:.3f}"
            )
        return self


def _default_tiers() -> dict[str, TierPolicy]:
    return {
        "critical": TierPolicy(
            cpu_request_percentile=0.99,
            cpu_request_headroom=0.2,
            memory_request_percentile=1.0,
            memory_request_headroom=0.3,
            memory_limit_headroom=0.6,
            min_history_hours=72,
        ),
        "standard": TierPolicy(),
        "batch": TierPolicy(
            cpu_request_percentile=0.8,
            memory_request_percentile=0.9,
            memory_request_headroom=0.1,
            memory_limit_headroom=0.5,
            memory_limit_max_cut=1.0,
            min_history_hours=6,
        ),
        "dev": TierPolicy(
            cpu_request_percentile=0.8,
            memory_request_percentile=0.9,
            memory_request_headroom=0.1,
            memory_limit_headroom=0.5,
            memory_limit_max_cut=1.0,
            min_history_hours=6,
        ),
    }


class TieredSettings(StrategySettings):
    """The tier policy file (YAML: ``default_tier`` and ``tiers: {name: TierPolicy}``)."""

    default_tier: str = Field("standard", description="Tier for workloads without (or with an unknown) finops_tier.")
    tiers: dict[str, TierPolicy] = Field(default_factory=_default_tiers, description="Policy per finops_tier value.")

    @model_validator(mode="after")
    def _default_exists(self) -> TieredSettings:
        if self.default_tier not in self.tiers:
            raise ValueError(f"default_tier {self.default_tier!r} is not one of the tiers ({', '.join(self.tiers)})")
        return self

    @classmethod
    def from_mapping(cls, data: Any) -> TieredSettings:
        """From a parsed YAML document; tiers given partially are filled from the standard tier defaults."""
        return cls.model_validate(data)


class TieredStrategy:
    name: ClassVar[str] = "tiered"
    settings_model: ClassVar[type[StrategySettings]] = TieredSettings

    def statistics(self, history: History, settings: StrategySettings) -> pl.DataFrame:
        """KEYS + ``_cpu`` (the busiest pod's CPU percentile) and ``_mem`` (the working-set percentile of
        all samples, or of each pod's daily peaks), each at the quantile of the container's tier."""
        assert isinstance(settings, TieredSettings)
        keys = list(KEYS)
        info = _with_policy(history.info, settings)
        q_cpu = info.select(*keys, _per_policy(settings, "cpu_request_percentile").alias("q"))
        q_mem = info.select(*keys, _per_policy(settings, "memory_request_percentile").alias("q"))
        # One streaming pass for all tiers: each workload container's quantiles come from its tier.
        cpu_q = per_pod_quantile(history, c.CPU_USAGE_CORES, q_cpu).rename({"_q": "_cpu"})
        basis = info.select(*keys, _daily_peaks_basis(settings))
        parts: list[pl.DataFrame] = []
        samples_q = q_mem.join(basis.filter(~pl.col("_peaks")).select(keys), on=keys)
        if samples_q.height:
            got = quantiles(history, c.MEMORY_WORKING_SET_BYTES, keys, samples_q)
            parts.append(got.join(samples_q.select(keys), on=keys, how="semi"))
        peaks_q = q_mem.join(basis.filter(pl.col("_peaks")).select(keys), on=keys)
        if peaks_q.height:
            parts.append(
                exact_quantiles(
                    daily_peaks(history), keys=keys, value=c.MEMORY_WORKING_SET_BYTES, quantiles={"_q": peaks_q}
                )
            )
        mem_q = (
            pl.concat([p.select(*keys, pl.col("_q").alias("_mem")) for p in parts])
            if parts
            else pl.DataFrame(schema={**{k: pl.String() for k in keys}, "_mem": pl.Float64()})
        )
        return info.select(keys).join(cpu_q, on=keys, how="left").join(mem_q, on=keys, how="left")

    def propose(
        self, history: History, summary: pl.DataFrame, stats: pl.DataFrame, settings: StrategySettings
    ) -> pl.DataFrame:
        assert isinstance(settings, TieredSettings)
        keys = list(KEYS)
        info = _with_policy(history.info, settings)
        frame = (
            info.select(*keys, "_policy", c.HPA_TARGET_CPU_UTILIZATION, c.CURRENT_MEMORY_LIMIT_BYTES)
            .join(summary, on=keys, how="left")
            .join(stats.select(*keys, "_cpu", "_mem"), on=keys, how="left")
        )
        parts = [
            _propose_tier(frame.filter(pl.col("_policy") == name), name, policy)
            for name, policy in settings.tiers.items()
        ]
        return pl.concat(parts).select([pl.col(k).cast(t) for k, t in PROPOSAL_SCHEMA.items()])


def _with_policy(info: pl.DataFrame, settings: TieredSettings) -> pl.DataFrame:
    """``info`` + ``_policy``: the tier each workload container is sized by."""
    return info.with_columns(
        pl.when(pl.col(c.TIER).is_in(list(settings.tiers)))
        .then(pl.col(c.TIER))
        .otherwise(pl.lit(settings.default_tier))
        .alias("_policy")
    )


def _per_policy(settings: TieredSettings, field: str) -> pl.Expr:
    """A policy field of each row's ``_policy`` tier (Float64)."""
    return pl.col("_policy").replace_strict(
        {n: float(getattr(t, field)) for n, t in settings.tiers.items()}, return_dtype=pl.Float64
    )


def _daily_peaks_basis(settings: TieredSettings) -> pl.Expr:
    """``_peaks``: whether the row's tier sizes memory on daily peaks."""
    return (
        pl.col("_policy")
        .replace_strict({n: t.memory_request_basis == "daily-peaks" for n, t in settings.tiers.items()})
        .cast(pl.Boolean)
        .alias("_peaks")
    )


def _propose_tier(frame: pl.DataFrame, name: str, p: TierPolicy) -> pl.DataFrame:
    """The tier's proposal from ``frame`` (its members: summary + ``_cpu`` and ``_mem`` quantiles)."""
    keys = list(KEYS)
    hpa = pl.col(c.HPA_TARGET_CPU_UTILIZATION).is_not_null()
    points = pl.col(c.DATA_POINTS).fill_null(0)
    span = pl.col(c.HISTORY_HOURS).fill_null(0)
    enough = (points >= p.min_data_points) & (span >= p.min_history_hours)
    is_job = pl.col(c.OWNER_KIND).is_in(["Job", "CronJob"])
    span_text = span.map_elements(hours, return_dtype=pl.String)
    short = (
        pl.when(points == 0)
        .then(pl.lit("no usage samples"))
        .when(is_job & (span < p.min_history_hours))
        .then(
            pl.format(
                "job too short: its pods ran {} in the window, {} needed", span_text, pl.lit(hours(p.min_history_hours))
            )
        )
        .when(span < p.min_history_hours)
        .then(
            pl.format(
                "not enough history: {} of {} required ({} tier)",
                span_text,
                pl.lit(hours(p.min_history_hours)),
                pl.lit(name),
            )
        )
        .otherwise(pl.format("not enough data: {} data points of {} required", points, pl.lit(p.min_data_points)))
    )
    cpu = pl.max_horizontal(pl.col("_cpu") * (1 + p.cpu_request_headroom), pl.lit(p.cpu_min_millicores / 1000))
    peak = pl.col(c.MEMORY_PEAK_BYTES)
    mem_limit = pl.max_horizontal(peak * (1 + p.memory_limit_headroom), peak + p.memory_limit_min_bump_mib * MIB)
    if p.memory_limit_max_cut < 1:
        floor = pl.col(c.CURRENT_MEMORY_LIMIT_BYTES).cast(pl.Float64) * (1 - p.memory_limit_max_cut)
        mem_limit = pl.max_horizontal(mem_limit, floor)
    mem_req = pl.max_horizontal(pl.col("_mem") * (1 + p.memory_request_headroom), pl.lit(float(p.memory_min_mib * MIB)))
    if p.guaranteed:
        mem_req = mem_limit
        cpu_limit: pl.Expr = cpu
    elif p.cpu_limit == "multiple":
        cpu_limit = cpu * p.cpu_limit_multiple
    elif p.cpu_limit == "request":
        cpu_limit = cpu
    else:
        cpu_limit = pl.lit(None, pl.Float64)
    has_mem = peak.is_not_null()
    return frame.select(
        *keys,
        pl.when(enough & ~hpa).then(cpu).alias(CPU_REQUEST),
        pl.when(enough & ~hpa).then(cpu_limit).alias(CPU_LIMIT),
        pl.when(enough & has_mem).then(mem_req).alias(MEMORY_REQUEST),
        pl.when(enough & has_mem).then(pl.max_horizontal(mem_limit, mem_req)).alias(MEMORY_LIMIT),
        pl.when(~enough)
        .then(short)
        .when(hpa)
        .then(pl.lit("an HPA scales this workload on CPU utilisation of the request; size CPU with the HPA"))
        .alias(CPU_NONE),
        pl.when(~enough).then(short).when(~has_mem).then(pl.lit("no memory samples")).alias(MEMORY_NONE),
        pl.lit(
            f"tier {name}: CPU p{p.cpu_request_percentile * 100:g}+{p.cpu_request_headroom * 100:g}%, "
            f"memory p{p.memory_request_percentile * 100:g}+{p.memory_request_headroom * 100:g}%, "
            f"limit peak+{p.memory_limit_headroom * 100:g}%"
            + (
                f", at most {p.memory_limit_max_cut * 100:g}% below the current limit"
                if p.memory_limit_max_cut < 1
                else ""
            )
            + (", Guaranteed" if p.guaranteed else "")
        ).alias(NOTE),
    )
