"""Backtest right-sizing strategies by replaying usage history (pure).

Input is a *replay frame* (:data:`REPLAY_SCHEMA`): usage samples of workload containers with the
operator's own size at each sample. Static mode recommends once from each entity's first
``train_days`` and holds it; rolling mode re-recommends every ``refresh_hours`` from the trailing
``window_days`` (as users run the tool), treating would-be OOM kills of the previous days as OOM
kills (a real cluster would have recorded them) and the previously applied values as current.

Metrics (each pooled over all scored samples and as the mean over entities):
CPU slack = sum(max(request - usage, 0)) / sum(request); memory slack likewise (samples with memory);
CPU-over-request share = fraction of samples with usage above the CPU request;
would-be OOM events per 1,000 container-hours = maximal runs of consecutive samples with memory above
the memory limit (missing memory samples are skipped), counted, per 1,000 hours of samples that have
memory data (a gap of more than ``oom_run_gap_hours`` ends a run); share of entities with at least one;
savings = 1 - sum(recommended request) / sum(current request) over all scored samples;
CPU-over-limit share (a throttling proxy) where a CPU limit is recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.analysis.rightsizing import (
    KEYS,
    EvidenceSettings,
    History,
    Strategy,
    StrategySettings,
    recommendations,
)
from kubetally.model import columns as c

CURRENT = "current"
"""Pseudo-strategy name: the operators' own sizes, unchanged."""

REPLAY_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.String() for k in KEYS},
    c.POD: pl.String(),
    c.TIMESTAMP: pl.Datetime("us", "UTC"),
    c.CPU_USAGE_CORES: pl.Float64(),
    c.MEMORY_WORKING_SET_BYTES: pl.Float64(),
    c.CPU_REQUEST_CORES: pl.Float64(),
    c.CPU_LIMIT_CORES: pl.Float64(),
    c.MEMORY_REQUEST_BYTES: pl.Int64(),
    c.MEMORY_LIMIT_BYTES: pl.Int64(),
}

# metric names (columns of the result frames)
ENTITIES = "entities"
CPU_SLACK = "cpu_slack"
CPU_OVER_REQUEST = "cpu_over_request_share"
MEMORY_SLACK = "memory_slack"
OOM_EVENTS = "oom_events"
OOM_PER_1000H = "oom_events_per_1000h"
HIT = "entities_hit_share"
CPU_SAVING = "cpu_saving"
MEMORY_SAVING = "memory_saving"
CPU_OVER_LIMIT = "cpu_over_limit_share"
SCORED_HOURS = "scored_hours"
METRICS = (CPU_SLACK, CPU_OVER_REQUEST, MEMORY_SLACK, OOM_PER_1000H, HIT, CPU_SAVING, MEMORY_SAVING, CPU_OVER_LIMIT)

_REC = {
    c.CPU_REQUEST_CORES: c.RECOMMENDED_CPU_REQUEST_CORES,
    c.CPU_LIMIT_CORES: c.RECOMMENDED_CPU_LIMIT_CORES,
    c.MEMORY_REQUEST_BYTES: c.RECOMMENDED_MEMORY_REQUEST_BYTES,
    c.MEMORY_LIMIT_BYTES: c.RECOMMENDED_MEMORY_LIMIT_BYTES,
}


class BacktestSettings(BaseModel):
    """How to replay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["static", "rolling"] = Field("static", description="static: train once; rolling: re-train daily.")
    train_days: float = Field(14, gt=0, le=365, description="Days from each entity's first sample used to train.")
    window_days: float = Field(14, gt=0, le=365, description="Rolling mode: trailing window re-trained on, days.")
    refresh_hours: float = Field(24, gt=0, le=24 * 30, description="Rolling mode: hours between re-recommendations.")
    min_points: int = Field(
        864,
        ge=0,
        le=10_000_000,
        description="Entities with fewer samples in training, in evaluation, or with memory in either, are not scored.",
    )
    oom_run_gap_hours: float = Field(
        1, gt=0, le=24 * 365, description="A would-be OOM run ends at a gap between samples longer than this."
    )


@dataclass(frozen=True)
class BacktestResult:
    """``summary``: one row, pooled and mean-over-entities metrics (``<metric>`` and ``mean_<metric>``).
    ``per_entity``: the metrics of every scored entity."""

    strategy: str
    summary: pl.DataFrame
    per_entity: pl.DataFrame


def _period(start: pl.Expr, seconds: float) -> pl.Expr:
    return ((pl.col(c.TIMESTAMP) - start).dt.total_microseconds() // int(seconds * 1_000_000)).cast(pl.Int64)


def _history(samples: pl.DataFrame, current: pl.DataFrame, ooms: pl.DataFrame, step: int) -> History:
    info = current.with_columns(
        pl.lit(None, pl.String).alias(c.TIER),
        pl.lit(1, pl.Int64).alias(c.REPLICAS),
        pl.lit(None, pl.Float64).alias(c.HPA_TARGET_CPU_UTILIZATION),
        pl.lit(1, pl.Int64).alias("containers_per_pod"),
        pl.lit(1, pl.Int64).alias(c.PODS),
    )
    return History(
        samples=samples.lazy().select(
            *KEYS,
            c.POD,
            c.TIMESTAMP,
            c.CPU_USAGE_CORES,
            c.MEMORY_WORKING_SET_BYTES,
            pl.lit(None, pl.Float64).alias(c.CPU_THROTTLED_RATIO),
        ),
        info=info,
        ooms=ooms,
        step_seconds=step,
    )


def _current_from(samples: pl.DataFrame) -> pl.DataFrame:
    """The operator's size at the end of ``samples`` (latest sample), renamed to current_*."""
    return (
        samples.sort(c.TIMESTAMP)
        .group_by(list(KEYS))
        .agg(
            pl.col(c.CPU_REQUEST_CORES).last().alias(c.CURRENT_CPU_REQUEST_CORES),
            pl.col(c.CPU_LIMIT_CORES).last().alias(c.CURRENT_CPU_LIMIT_CORES),
            pl.col(c.MEMORY_REQUEST_BYTES).last().alias(c.CURRENT_MEMORY_REQUEST_BYTES),
            pl.col(c.MEMORY_LIMIT_BYTES).last().alias(c.CURRENT_MEMORY_LIMIT_BYTES),
        )
    )


def _recommend(
    history: History, strategy: Strategy | None, settings: StrategySettings | None, evidence: EvidenceSettings
) -> pl.DataFrame:
    if strategy is None or settings is None:
        raise ValueError("a strategy and its settings are needed")
    rec = recommendations(history, strategy=strategy, settings=settings, evidence=evidence)
    return rec.select(*KEYS, *_REC.values())


def replay(
    frame: pl.DataFrame,
    *,
    strategy: Strategy | None,
    settings: StrategySettings | None,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step_seconds: int,
) -> BacktestResult:
    """Score ``strategy`` (None = the operators' own sizes) on ``frame`` (REPLAY_SCHEMA)."""
    keys = list(KEYS)
    data = frame.select([pl.col(k).cast(t) for k, t in REPLAY_SCHEMA.items()]).with_columns(
        pl.col(c.TIMESTAMP).min().over(keys).alias("_t0")
    )
    data = data.with_columns(
        (pl.col(c.TIMESTAMP) < pl.col("_t0") + pl.duration(seconds=backtest.train_days * 86400)).alias("_train")
    )
    train = data.filter(pl.col("_train"))
    mem = pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null()
    need = backtest.min_points
    eligible = (
        data.group_by(keys)
        .agg(
            pl.col("_train").sum().alias("_tr"),
            (pl.col("_train") & mem).sum().alias("_tr_mem"),
            (~pl.col("_train")).sum().alias("_ev"),
            (~pl.col("_train") & mem).sum().alias("_ev_mem"),
        )
        .filter(pl.min_horizontal("_tr", "_tr_mem", "_ev", "_ev_mem") >= need)
        .select(keys)
    )
    scored = data.filter(~pl.col("_train")).join(eligible, on=keys, how="semi")
    name = CURRENT if strategy is None else strategy.name
    if strategy is None:
        applied = scored.with_columns(*(pl.col(col).alias(rec) for col, rec in _REC.items()))
    elif backtest.mode == "static":
        hist = _history(train, _current_from(train), _empty_ooms(), step_seconds)
        rec = _recommend(hist, strategy, settings, evidence)
        applied = scored.join(rec, on=keys, how="left")
    else:
        applied = _rolling(data, scored, strategy, settings, evidence, backtest, step_seconds)
    per_entity, summary = _score(applied, step_seconds, gap_seconds=backtest.oom_run_gap_hours * 3600)
    return BacktestResult(name, summary.with_columns(pl.lit(name).alias("strategy")), per_entity)


def _empty_ooms() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **{k: pl.String() for k in KEYS},
            c.TIMESTAMP: pl.Datetime("us", "UTC"),
            c.MEMORY_LIMIT_BYTES: pl.Int64(),
        }
    )


def _rolling(
    data: pl.DataFrame,
    scored: pl.DataFrame,
    strategy: Strategy,
    settings: StrategySettings | None,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step: int,
) -> pl.DataFrame:
    keys = list(KEYS)
    refresh = backtest.refresh_hours * 3600
    data = data.with_columns(_period(pl.col("_t0"), refresh).alias("_p"))
    scored = scored.with_columns(_period(pl.col("_t0"), refresh).alias("_p"))
    first = int(backtest.train_days * 86400 // refresh)
    window = max(1, int(backtest.window_days * 86400 // refresh))
    last = int(scored.select(pl.col("_p").max()).item() or 0)
    ooms = _empty_ooms()
    current = _current_from(data.filter(pl.col("_p") < first))
    parts: list[pl.DataFrame] = []
    for period in range(first, last + 1):
        train = data.filter((pl.col("_p") >= period - window) & (pl.col("_p") < period))
        if train.height == 0:
            continue
        rec = _recommend(_history(train, current, ooms, step), strategy, settings, evidence)
        day = scored.filter(pl.col("_p") == period).join(rec, on=keys, how="left")
        parts.append(day)
        # what was applied becomes "current"; would-be OOM kills become recorded OOM kills
        current = current.join(rec, on=keys, how="left").select(
            *keys,
            pl.coalesce(c.RECOMMENDED_CPU_REQUEST_CORES, c.CURRENT_CPU_REQUEST_CORES).alias(
                c.CURRENT_CPU_REQUEST_CORES
            ),
            pl.col(c.RECOMMENDED_CPU_LIMIT_CORES).alias(c.CURRENT_CPU_LIMIT_CORES),
            pl.coalesce(c.RECOMMENDED_MEMORY_REQUEST_BYTES, c.CURRENT_MEMORY_REQUEST_BYTES).alias(
                c.CURRENT_MEMORY_REQUEST_BYTES
            ),
            pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).alias(c.CURRENT_MEMORY_LIMIT_BYTES),
        )
        kills = (
            _flag_runs(day.sort(*keys, c.TIMESTAMP), backtest.oom_run_gap_hours * 3600)
            .filter(pl.col("_run_start"))
            .select(*keys, c.TIMESTAMP, pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).alias(c.MEMORY_LIMIT_BYTES))
        )
        ooms = pl.concat([ooms, kills]).filter(
            pl.col(c.TIMESTAMP) >= day.select(pl.col(c.TIMESTAMP).min()).item() - pl.duration(days=backtest.window_days)
        )
    if not parts:
        return scored.with_columns(*(pl.lit(None, t).alias(rec) for rec, t in ((r, pl.Float64) for r in _REC.values())))
    return pl.concat(parts, how="diagonal_relaxed")


def _flag_runs(frame: pl.DataFrame, gap_seconds: float) -> pl.DataFrame:
    """Mark the first sample of every run of consecutive memory samples above the limit
    (``frame`` sorted by KEYS and time; a sample without memory data neither starts nor breaks a run;
    a time gap of more than ``gap_seconds`` between samples ends a run)."""
    keys = list(KEYS)
    over = (pl.col(c.MEMORY_WORKING_SET_BYTES) > pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES)).fill_null(False)
    gap = (pl.col(c.TIMESTAMP).diff().dt.total_microseconds() > int(gap_seconds * 1_000_000)).fill_null(False)
    with_mem = (
        frame.with_columns(gap.cum_sum().over(keys).alias("_segment"))
        .filter(pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null())
        .with_columns(over.alias("_over"))
    )
    same_segment = pl.col("_segment") == pl.col("_segment").shift(1).over(keys)
    continues = pl.col("_over").shift(1, fill_value=False).over(keys) & same_segment.fill_null(False)
    return with_mem.with_columns((pl.col("_over") & ~continues).alias("_run_start"))


def _score(applied: pl.DataFrame, step: int, *, gap_seconds: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    keys = list(KEYS)
    a = applied.sort(*keys, c.TIMESTAMP)
    req = pl.col(c.RECOMMENDED_CPU_REQUEST_CORES)
    use = pl.col(c.CPU_USAGE_CORES)
    mem = pl.col(c.MEMORY_WORKING_SET_BYTES)
    mreq = pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).cast(pl.Float64)
    a = a.with_columns(
        (req - use).clip(lower_bound=0).alias("_cslack"),
        (use > req).alias("_cover"),
        pl.when(mem.is_not_null()).then((mreq - mem).clip(lower_bound=0)).alias("_mslack"),
        pl.when(mem.is_not_null()).then(mreq).alias("_mreq"),
        (use > pl.col(c.RECOMMENDED_CPU_LIMIT_CORES)).fill_null(False).alias("_climit"),
    )
    runs = _flag_runs(a, gap_seconds).group_by(keys).agg(pl.col("_run_start").sum().alias(OOM_EVENTS))
    sums = [
        pl.col("_cslack").sum().alias("_cs"),
        req.sum().alias("_creq"),
        pl.col("_cover").sum().alias("_cover_n"),
        pl.col("_mslack").sum().alias("_ms"),
        pl.col("_mreq").sum().alias("_mreq_sum"),
        pl.col(c.CPU_REQUEST_CORES).sum().alias("_cur_creq"),
        pl.col(c.MEMORY_REQUEST_BYTES).cast(pl.Float64).sum().alias("_cur_mreq"),
        pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).cast(pl.Float64).sum().alias("_rec_mreq"),
        mem.count().alias("_n_mem"),
        pl.col("_climit").sum().alias("_climit_n"),
        pl.len().alias("_n"),
    ]

    def ratio(num: str, den: str | pl.Expr) -> pl.Expr:
        d = pl.col(den) if isinstance(den, str) else den
        return pl.when(d > 0).then(pl.col(num) / d)

    def ratios(frame: pl.DataFrame) -> pl.DataFrame:
        mem_hours = pl.col("_n_mem") * step / 3600
        return frame.with_columns(
            ratio("_cs", "_creq").alias(CPU_SLACK),
            ratio("_cover_n", "_n").alias(CPU_OVER_REQUEST),
            ratio("_ms", "_mreq_sum").alias(MEMORY_SLACK),
            (ratio(OOM_EVENTS, mem_hours) * 1000).alias(OOM_PER_1000H),
            (pl.col(OOM_EVENTS) > 0).cast(pl.Float64).alias(HIT),
            (1 - ratio("_creq", "_cur_creq")).alias(CPU_SAVING),
            (1 - ratio("_rec_mreq", "_cur_mreq")).alias(MEMORY_SAVING),
            ratio("_climit_n", "_n").alias(CPU_OVER_LIMIT),
            (pl.col("_n") * step / 3600).alias(SCORED_HOURS),
        )

    per_entity = ratios(
        a.group_by(keys).agg(sums).join(runs, on=keys, how="left").with_columns(pl.col(OOM_EVENTS).fill_null(0))
    )
    pooled = ratios(
        a.select(sums).with_columns(pl.lit(int(runs.select(pl.col(OOM_EVENTS).sum()).item() or 0)).alias(OOM_EVENTS))
    ).with_columns(
        pl.lit(per_entity.height).alias(ENTITIES), pl.lit(per_entity.select(pl.col(HIT).mean()).item()).alias(HIT)
    )
    means = per_entity.select(*(pl.col(m).fill_nan(None).mean().alias(f"mean_{m}") for m in METRICS))
    summary = pl.concat([pooled.select(ENTITIES, SCORED_HOURS, OOM_EVENTS, *METRICS), means], how="horizontal")
    return per_entity.select(*keys, SCORED_HOURS, OOM_EVENTS, *METRICS).sort(keys), summary


def replay_frame(*, containers: pl.DataFrame, usage: pl.LazyFrame) -> pl.DataFrame:
    """A replay frame from Dataset frames: each usage sample with its pod's declared resources."""
    app = containers.filter(~pl.col(c.INIT_CONTAINER)).unique([c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER])
    joined = usage.join(
        app.lazy().select(
            c.CLUSTER,
            c.NAMESPACE,
            c.POD,
            c.CONTAINER,
            c.OWNER_KIND,
            c.OWNER_NAME,
            c.CPU_REQUEST_CORES,
            c.CPU_LIMIT_CORES,
            c.MEMORY_REQUEST_BYTES,
            c.MEMORY_LIMIT_BYTES,
        ),
        on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER],
        how="inner",
    )
    return joined.select([pl.col(k).cast(t) for k, t in REPLAY_SCHEMA.items()]).collect()
