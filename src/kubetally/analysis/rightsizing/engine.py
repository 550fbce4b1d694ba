"""From a strategy's raw proposal to the public recommendation frame.

Applies, in order: evidence (never ignored), people-rounding, "unchanged when not judged",
status, change and savings. The result has exactly the columns of
:data:`kubetally.model.recommendation.RECOMMENDATIONS`.
"""

from __future__ import annotations

import polars as pl

from kubetally.analysis.rightsizing.base import (
    CPU_LIMIT,
    CPU_NONE,
    CPU_REQUEST,
    MEMORY_LIMIT,
    MEMORY_NONE,
    MEMORY_REQUEST,
    MIB,
    NOTE,
    EvidenceSettings,
    Strategy,
    StrategySettings,
    usage_summary,
)
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.recommendation import RECOMMENDATIONS, Status


def round_cpu_expr(cores: pl.Expr) -> pl.Expr:
    """Up to 5m steps below 100m, 10m steps from 100m."""
    milli = cores * 1000
    step = pl.when(milli < 100).then(5.0).otherwise(10.0)
    return (((milli - 1e-9) / step).ceil() * step / 1000).round(3)


def round_memory_expr(num_bytes: pl.Expr) -> pl.Expr:
    """Up to whole MiB."""
    return ((num_bytes - 1e-6) / MIB).ceil() * MIB


def _to_grid(x: pl.Expr) -> pl.Expr:
    """``x`` rounded to 1e-9 first, so float noise (74.00000000000001) does not cross a step."""
    return x.round(9)


def recommendations(
    history: History,
    *,
    strategy: Strategy,
    settings: StrategySettings,
    evidence: EvidenceSettings,
    summary: pl.DataFrame | None = None,
    stats: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Right-sizing recommendations, one row per workload container of ``history.info``.

    ``summary`` (:func:`usage_summary`) and ``stats`` (``strategy.statistics``) are computed from
    ``history.samples`` unless given (the rolling backtest computes them per day its own way)."""
    keys = list(KEYS)
    if history.hourly is not None and getattr(strategy, "needs_samples", False):
        raise ConfigError(
            f"strategy {strategy.name} reads every usage sample (its decaying histogram), and this history has "
            "hourly summaries only: use exact percentiles, or strategy tiered or simple"
        )
    summary = usage_summary(history) if summary is None else summary
    stats = strategy.statistics(history, settings) if stats is None else stats
    proposal = strategy.propose(history, summary, stats, settings)
    ooms = history.ooms.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias(c.OOM_KILLS),
        pl.col(c.MEMORY_LIMIT_BYTES).max().cast(pl.Float64).alias(_KILL_LIMIT),
    )
    f = (
        history.info.join(summary, on=keys, how="left")
        .join(proposal, on=keys, how="left")
        .join(ooms, on=keys, how="left")
        .with_columns(pl.col(c.OOM_KILLS).fill_null(0), pl.col(c.DATA_POINTS).fill_null(0))
        .with_columns(
            (pl.col(c.MEMORY_PEAK_BYTES) / pl.col(c.CURRENT_MEMORY_LIMIT_BYTES)).alias(c.MEMORY_PEAK_LIMIT_RATIO)
        )
    )
    f = _apply_evidence(f, evidence, near_limit_rule=getattr(settings, "memory_near_limit_rule", True))
    rounding = getattr(settings, "rounding", "people")
    if rounding == "exact":
        # the VPA recommender's integer conversions: whole millicores and bytes, truncated
        f = f.with_columns(
            (_to_grid(pl.col(CPU_REQUEST) * 1000).floor() / 1000).round(3),
            (_to_grid(pl.col(CPU_LIMIT) * 1000).floor() / 1000).round(3),
            _to_grid(pl.col(MEMORY_REQUEST)).floor(),
            _to_grid(pl.col(MEMORY_LIMIT)).floor(),
        )
    elif rounding == "people":
        f = f.with_columns(
            round_cpu_expr(pl.col(CPU_REQUEST)),
            round_cpu_expr(pl.col(CPU_LIMIT)),
            round_memory_expr(pl.col(MEMORY_REQUEST)),
            round_memory_expr(pl.col(MEMORY_LIMIT)),
        )
    f = f.with_columns(pl.max_horizontal(MEMORY_LIMIT, MEMORY_REQUEST).alias(MEMORY_LIMIT))
    return _finish(f, strategy.name, evidence.ok_tolerance)


_KILL_LIMIT = "_kill_limit"
"""Highest memory limit at which the container was OOM-killed in the history."""


def _bump(x: pl.Expr, ev: EvidenceSettings) -> pl.Expr:
    return pl.max_horizontal(x + ev.oom_min_bump_mib * MIB, x * ev.oom_bump_ratio)


def _apply_evidence(f: pl.DataFrame, ev: EvidenceSettings, *, near_limit_rule: bool) -> pl.DataFrame:
    cur_mem_req = pl.col(c.CURRENT_MEMORY_REQUEST_BYTES).cast(pl.Float64)
    cur_mem_lim = pl.col(c.CURRENT_MEMORY_LIMIT_BYTES).cast(pl.Float64)
    peak = pl.col(c.MEMORY_PEAK_BYTES)
    oom = pl.col(c.OOM_KILLS) > 0
    near = (pl.col(c.MEMORY_PEAK_LIMIT_RATIO).fill_null(0) >= ev.memory_near_limit_ratio) & pl.lit(near_limit_rule)
    pressure = oom | near
    # The limit is raised above what the evidence saw: the limit it was killed at (not today's limit,
    # which an earlier bump may already have raised: bumping that again would compound every day the
    # kill stays in the window), or the limit it came near, and the peak.
    seen_limit = pl.when(oom).then(pl.coalesce(_KILL_LIMIT, cur_mem_lim)).otherwise(cur_mem_lim)
    base = pl.max_horizontal(seen_limit, peak)
    base_no_limit = pl.max_horizontal(peak, cur_mem_req)
    no_limit_bump = pl.when(cur_mem_lim.is_null()).then(_bump(base_no_limit, ev))
    throttled = pl.col(c.CPU_THROTTLED_RATIO).fill_null(0) > ev.cpu_throttling_threshold
    cur_cpu_req = pl.col(c.CURRENT_CPU_REQUEST_CORES)
    cur_cpu_lim = pl.col(c.CURRENT_CPU_LIMIT_CORES)
    if ev.cpu_throttling_action == "remove-limit":
        throttled_limit: pl.Expr = pl.lit(None, pl.Float64)
    else:
        throttled_limit = pl.max_horizontal(pl.col(CPU_LIMIT), cur_cpu_lim * 2)
    f = f.with_columns(
        pressure.alias("_mem_pressure"),
        throttled.alias("_throttled"),
        # An OOM kill keeps the request from going down while the kill is in the history window;
        # memory near its limit only raises the limit (holding the request there would ratchet it:
        # in a rolling replay it could never go down again).
        pl.when(oom)
        .then(pl.max_horizontal(MEMORY_REQUEST, cur_mem_req, no_limit_bump))
        .when(near & cur_mem_lim.is_null())
        .then(pl.max_horizontal(MEMORY_REQUEST, _bump(base_no_limit, ev)))
        .otherwise(pl.col(MEMORY_REQUEST))
        .alias(MEMORY_REQUEST),
        pl.when(pressure & cur_mem_lim.is_not_null())
        .then(pl.max_horizontal(MEMORY_LIMIT, _bump(base, ev)))
        .otherwise(pl.col(MEMORY_LIMIT))
        .alias(MEMORY_LIMIT),
        pl.when(throttled)
        .then(pl.max_horizontal(CPU_REQUEST, cur_cpu_req))
        .otherwise(pl.col(CPU_REQUEST))
        .alias(CPU_REQUEST),
        pl.when(throttled).then(throttled_limit).otherwise(pl.col(CPU_LIMIT)).alias(CPU_LIMIT),
    )
    # Evidence turns "no recommendation" into one: memory pressure or throttling is enough to act on.
    f = f.with_columns(
        pl.when(pl.col("_mem_pressure") & pl.col(MEMORY_REQUEST).is_not_null())
        .then(None)
        .otherwise(pl.col(MEMORY_NONE))
        .alias(MEMORY_NONE),
        pl.when(pl.col("_throttled") & pl.col(CPU_REQUEST).is_not_null())
        .then(None)
        .otherwise(pl.col(CPU_NONE))
        .alias(CPU_NONE),
    )
    parts = [
        pl.when(oom).then(pl.format("{} OOM kill(s)", pl.col(c.OOM_KILLS))),
        pl.when(near).then(
            pl.format("memory peak {}% of its limit", (pl.col(c.MEMORY_PEAK_LIMIT_RATIO) * 100).round(0).cast(pl.Int64))
        ),
        pl.when(throttled).then(
            pl.format("CPU throttled in {}% of periods", (pl.col(c.CPU_THROTTLED_RATIO) * 100).round(0).cast(pl.Int64))
        ),
    ]
    return f.with_columns(pl.concat_str(parts, separator="; ", ignore_nulls=True).fill_null("").alias(c.EVIDENCE))


def _resource_status(
    none: str, rec: str, cur: str, rec_lim: str, cur_lim: str, pressure: pl.Expr, tol: float
) -> pl.Expr:
    r, k = pl.col(rec).cast(pl.Float64), pl.col(cur).cast(pl.Float64)
    raised_limit = pl.col(cur_lim).is_not_null() & (
        pl.col(rec_lim).is_null() | (pl.col(rec_lim).cast(pl.Float64) > pl.col(cur_lim).cast(pl.Float64))
    )
    return (
        pl.when(pl.col(none).is_not_null())
        .then(pl.lit(Status.NO_RECOMMENDATION.value))
        .when(pressure | k.is_null() | (r > k * (1 + tol)))
        .then(pl.lit(Status.UNDER_PROVISIONED.value))
        .when(r < k * (1 - tol))
        .then(pl.lit(Status.OVER_PROVISIONED.value))
        .when(raised_limit & pressure)
        .then(pl.lit(Status.UNDER_PROVISIONED.value))
        .otherwise(pl.lit(Status.OK.value))
    )


def _finish(f: pl.DataFrame, strategy: str, tol: float) -> pl.DataFrame:
    keep_cpu = pl.col(CPU_NONE).is_not_null()
    keep_mem = pl.col(MEMORY_NONE).is_not_null()
    f = f.with_columns(
        pl.when(keep_cpu)
        .then(pl.col(c.CURRENT_CPU_REQUEST_CORES))
        .otherwise(pl.col(CPU_REQUEST))
        .alias(c.RECOMMENDED_CPU_REQUEST_CORES),
        pl.when(keep_cpu)
        .then(pl.col(c.CURRENT_CPU_LIMIT_CORES))
        .otherwise(pl.col(CPU_LIMIT))
        .alias(c.RECOMMENDED_CPU_LIMIT_CORES),
        pl.when(keep_mem)
        .then(pl.col(c.CURRENT_MEMORY_REQUEST_BYTES))
        .otherwise(pl.col(MEMORY_REQUEST).cast(pl.Int64))
        .alias(c.RECOMMENDED_MEMORY_REQUEST_BYTES),
        pl.when(keep_mem)
        .then(pl.col(c.CURRENT_MEMORY_LIMIT_BYTES))
        .otherwise(pl.col(MEMORY_LIMIT).cast(pl.Int64))
        .alias(c.RECOMMENDED_MEMORY_LIMIT_BYTES),
    )
    f = f.with_columns(
        _resource_status(
            CPU_NONE,
            c.RECOMMENDED_CPU_REQUEST_CORES,
            c.CURRENT_CPU_REQUEST_CORES,
            c.RECOMMENDED_CPU_LIMIT_CORES,
            c.CURRENT_CPU_LIMIT_CORES,
            pl.col("_throttled"),
            tol,
        ).alias(c.CPU_STATUS),
        _resource_status(
            MEMORY_NONE,
            c.RECOMMENDED_MEMORY_REQUEST_BYTES,
            c.CURRENT_MEMORY_REQUEST_BYTES,
            c.RECOMMENDED_MEMORY_LIMIT_BYTES,
            c.CURRENT_MEMORY_LIMIT_BYTES,
            pl.col("_mem_pressure"),
            tol,
        ).alias(c.MEMORY_STATUS),
        (pl.col(c.RECOMMENDED_CPU_REQUEST_CORES) - pl.col(c.CURRENT_CPU_REQUEST_CORES)).alias(
            c.CPU_REQUEST_CHANGE_CORES
        ),
        (pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES) - pl.col(c.CURRENT_MEMORY_REQUEST_BYTES)).alias(
            c.MEMORY_REQUEST_CHANGE_BYTES
        ),
    )
    statuses = [pl.col(c.CPU_STATUS), pl.col(c.MEMORY_STATUS)]
    under, over, ok = Status.UNDER_PROVISIONED.value, Status.OVER_PROVISIONED.value, Status.OK.value
    f = f.with_columns(
        pl.when(pl.any_horizontal([s == under for s in statuses]))
        .then(pl.lit(under))
        .when(pl.any_horizontal([s == over for s in statuses]))
        .then(pl.lit(over))
        .when(pl.any_horizontal([s == ok for s in statuses]))
        .then(pl.lit(ok))
        .otherwise(pl.lit(Status.NO_RECOMMENDATION.value))
        .alias(c.STATUS),
        (-pl.col(c.CPU_REQUEST_CHANGE_CORES) * pl.col(c.REPLICAS)).alias(c.CPU_SAVING_CORES),
        (-pl.col(c.MEMORY_REQUEST_CHANGE_BYTES) * pl.col(c.REPLICAS)).alias(c.MEMORY_SAVING_BYTES),
        pl.lit(strategy).alias(c.STRATEGY),
        pl.col(c.PODS).fill_null(0),
    )
    reason = (
        pl.when(keep_cpu & keep_mem & (pl.col(CPU_NONE) == pl.col(MEMORY_NONE)))
        .then(pl.col(CPU_NONE))
        .otherwise(
            pl.concat_str(
                [
                    pl.when(~(keep_cpu & keep_mem)).then(pl.col(NOTE)),
                    pl.when(keep_cpu).then(pl.format("CPU: {}", pl.col(CPU_NONE))),
                    pl.when(keep_mem).then(pl.format("memory: {}", pl.col(MEMORY_NONE))),
                    pl.when(pl.col(c.EVIDENCE) != "").then(pl.format("evidence: {}", pl.col(c.EVIDENCE))),
                ],
                separator="; ",
                ignore_nulls=True,
            )
        )
        .fill_null("")
        .alias(c.REASON)
    )
    f = f.with_columns(reason, pl.col(c.HISTORY_HOURS).fill_null(0.0))
    return f.select([pl.col(col.name).cast(col.dtype) for col in RECOMMENDATIONS.columns]).sort(list(KEYS))
