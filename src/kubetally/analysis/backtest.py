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
savings = 1 - sum(recommended request) / sum(current request) over all scored samples; memory limit
saving likewise for the memory limit (samples where both limits are set: how far limits came down);
CPU-over-limit share (a throttling proxy) where a CPU limit is recommended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.analysis import backtest_windows as bw
from kubetally.analysis.backtest_windows import OOM_REACTIVE, WINDOW_STATISTICS, Windows
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
MEMORY_LIMIT_SAVING = "memory_limit_saving"
CPU_OVER_LIMIT = "cpu_over_limit_share"
SCORED_HOURS = "scored_hours"
METRICS = (
    CPU_SLACK,
    CPU_OVER_REQUEST,
    MEMORY_SLACK,
    OOM_PER_1000H,
    HIT,
    CPU_SAVING,
    MEMORY_SAVING,
    CPU_OVER_LIMIT,
    MEMORY_LIMIT_SAVING,
)

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
    batch_entities: int = Field(
        64, ge=1, le=1_000_000, description="Entities replayed at a time (memory follows the batch)."
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
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    strategy: Strategy | None,
    settings: StrategySettings | None,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step_seconds: int,
) -> BacktestResult:
    """Score ``strategy`` (None = the operators' own sizes) on ``frame`` (REPLAY_SCHEMA)."""
    return replay_many(
        frame,
        {CURRENT if strategy is None else strategy.name: (strategy, settings)},
        evidence=evidence,
        backtest=backtest,
        step_seconds=step_seconds,
    )[0]


Candidate = tuple[Strategy | None, StrategySettings | None]

_E = "_e"
"""Replay-internal integer id of an entity (a workload container), in key order."""


def replay_many(
    frame: pl.DataFrame | pl.LazyFrame,
    strategies: dict[str, Candidate],
    *,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step_seconds: int,
    on_batch: Callable[[int, int], None] | None = None,
    window_statistics: Literal["arrays", "samples"] = "arrays",
) -> list[BacktestResult]:
    """Score each of ``strategies`` (name -> (strategy, settings); None = the operators' own sizes).

    Streams: the entities are replayed ``backtest.batch_entities`` at a time (each batch's samples are
    collected from ``frame``, lazily when it is a LazyFrame, e.g. a Parquet scan), every strategy is
    scored on the batch, and only per-entity sums are kept between batches, so memory follows the
    batch, not the whole replay. ``on_batch(done, total)`` reports progress after each batch.
    ``window_statistics``: how a rolling replay computes each day's statistics: from the batch's arrays
    (:mod:`kubetally.analysis.backtest_windows`, the same numbers) or by recounting the window's samples
    with the strategies' own passes (any strategy; the reference the arrays are tested against)."""
    keys = list(KEYS)
    arrays = window_statistics == "arrays"
    # a NaN usage value is no sample (as a missing one)
    lf = frame.lazy().select(
        pl.col(k).cast(t).fill_nan(None) if t == pl.Float64() else pl.col(k).cast(t) for k, t in REPLAY_SCHEMA.items()
    )
    eligible = _eligible(lf, backtest)
    size = backtest.batch_entities
    batches = [eligible.slice(i, size) for i in range(0, eligible.height, size)]
    sums: dict[str, list[pl.DataFrame]] = {name: [] for name in strategies}
    # rolling strategies with window statistics replay all batches in lockstep (one recommendation a
    # day for every entity at once); the others batch by batch
    lockstep: dict[str, tuple[Strategy, StrategySettings]] = {
        name: (strategy, settings)
        for name, (strategy, settings) in strategies.items()
        if arrays
        and backtest.mode == "rolling"
        and strategy is not None
        and settings is not None
        and strategy.name in WINDOW_STATISTICS
    }
    stepped: list[_Lockstep] = []
    for done, batch in enumerate(batches, start=1):
        data = (
            lf.filter(pl.col(c.OWNER_NAME).is_in(batch.get_column(c.OWNER_NAME).unique().implode()))
            .join(batch.lazy(), on=keys, how="inner")
            .collect(engine="streaming")
        )
        prepared = _prepare(data, backtest)
        del data  # the batch's samples are held once, sorted, from here on
        for name, (strategy, settings) in strategies.items():
            if name not in lockstep:
                per_e = _replay_batch(prepared, batch, strategy, settings, evidence, backtest, step_seconds, arrays)
                sums[name].append(batch.join(per_e, on=_E, how="inner").drop(_E))
        if lockstep:
            stepped.append(_Lockstep.of(prepared, batch, lockstep, backtest, step_seconds))
        del prepared
        if on_batch is not None:
            on_batch(done, len(batches))
    if lockstep:
        recs = _replay_lockstep(stepped, lockstep, evidence, backtest, step_seconds)
        for name in lockstep:
            for i, part in enumerate(stepped):
                rec = recs[name].filter(pl.col("_b") == i).drop("_b")
                applied = part.scored.join(rec, on=[_E, "_p"], how="left", maintain_order="left")
                sums[name].append(part.entities.join(_entity_sums(applied), on=_E, how="inner").drop(_E))
    results = []
    for name in strategies:
        parts = sums[name]
        per_entity_sums = pl.concat(parts) if parts else _empty_sums()
        per_entity, summary = _ratios(per_entity_sums, step_seconds)
        results.append(BacktestResult(name, summary.with_columns(pl.lit(name).alias("strategy")), per_entity))
    return results


def _eligible(lf: pl.LazyFrame, backtest: BacktestSettings) -> pl.DataFrame:
    """The entities the protocol scores (enough samples in each of the four parts), in key order,
    numbered ``_e``. One streaming pass over the key, time and memory columns."""
    keys = list(KEYS)
    ts = pl.col(c.TIMESTAMP)
    mem = pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null()
    need = backtest.min_points
    # training = the first train_days of each entity: a first pass finds each entity's start
    starts = lf.group_by(keys).agg(ts.min().alias("_t0")).collect(engine="streaming")
    train = ts < pl.col("_t0") + pl.duration(seconds=backtest.train_days * 86400)
    return (
        lf.select(*keys, c.TIMESTAMP, c.MEMORY_WORKING_SET_BYTES)
        .join(starts.lazy(), on=keys, how="inner")
        .group_by(keys)
        .agg(
            train.sum().alias("_tr"),
            (train & mem).sum().alias("_tr_mem"),
            (~train).sum().alias("_ev"),
            (~train & mem).sum().alias("_ev_mem"),
        )
        .filter(pl.min_horizontal("_tr", "_tr_mem", "_ev", "_ev_mem") >= need)
        .select(keys)
        .collect(engine="streaming")
        .sort(keys)
        .with_row_index(_E)
    )


@dataclass(frozen=True)
class _Batch:
    """One batch of entities, prepared once for all strategies: every sample sorted by entity and
    time, with its training flag, refresh period ``_p`` and gap segment ``_seg``."""

    data: pl.DataFrame

    @cached_property
    def windows(self) -> Windows:
        """The samples as arrays for the rolling replay's daily statistics (built once, for every strategy)."""
        return Windows(self.data)

    def scored(self, *columns: str) -> pl.DataFrame:
        """The evaluation samples: ``columns`` and what scoring reads (the rest is not copied)."""
        return self.data.filter(~pl.col("_train")).select(_E, "_seg", "_p", *_SCORING, *columns)


_SCORING = (
    c.CPU_USAGE_CORES,
    c.MEMORY_WORKING_SET_BYTES,
    c.CPU_REQUEST_CORES,
    c.MEMORY_REQUEST_BYTES,
    c.MEMORY_LIMIT_BYTES,
)


def _prepare(data: pl.DataFrame, backtest: BacktestSettings) -> _Batch:
    ts = pl.col(c.TIMESTAMP)
    gap = (ts.diff().dt.total_microseconds() > int(backtest.oom_run_gap_hours * 3600 * 1_000_000)).fill_null(False)
    t0 = ts.min().over(_E)
    return _Batch(
        data.sort(_E, c.TIMESTAMP).with_columns(
            gap.cum_sum().over(_E).cast(pl.UInt32).alias("_seg"),
            (ts < t0 + pl.duration(seconds=backtest.train_days * 86400)).alias("_train"),
            _period(t0, backtest.refresh_hours * 3600).cast(pl.Int32).alias("_p"),
        )
    )


def _replay_batch(
    batch: _Batch,
    entities: pl.DataFrame,
    strategy: Strategy | None,
    settings: StrategySettings | None,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step_seconds: int,
    arrays: bool,
) -> pl.DataFrame:
    """Per-entity sums (by ``_e``) of one batch of eligible entities."""
    if strategy is None:
        applied = batch.scored(c.CPU_LIMIT_CORES).with_columns(*(pl.col(col).alias(rec) for col, rec in _REC.items()))
    elif backtest.mode == "static":
        train = batch.data.filter(pl.col("_train"))
        hist = _history(train, _current_from(train), _empty_ooms(), step_seconds)
        rec = _recommend(hist, strategy, settings, evidence).join(entities, on=list(KEYS), how="inner").drop(KEYS)
        del train, hist
        applied = batch.scored().join(rec, on=_E, how="left", maintain_order="left")
    else:
        rec = _rolling(batch, entities, strategy, settings, evidence, backtest, step_seconds, arrays)
        applied = batch.scored().join(rec, on=[_E, "_p"], how="left", maintain_order="left")
    return _entity_sums(applied)


def _empty_ooms() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **{k: pl.String() for k in KEYS},
            c.TIMESTAMP: pl.Datetime("us", "UTC"),
            c.MEMORY_LIMIT_BYTES: pl.Int64(),
        }
    )


def _rolling(
    batch: _Batch,
    entities: pl.DataFrame,
    strategy: Strategy,
    settings: StrategySettings | None,
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step: int,
    arrays: bool,
) -> pl.DataFrame:
    """The recommendation applied on each refresh period: ``_e``, ``_p`` and the recommended columns.
    ``arrays``: compute each day's statistics from the batch's arrays (:mod:`backtest_windows`) for the
    strategies that have them; otherwise each day's window is recounted from samples."""
    keys = list(KEYS)
    data = batch.data
    first = int(backtest.train_days * 86400 // (backtest.refresh_hours * 3600))
    window = max(1, int(backtest.window_days * 86400 // (backtest.refresh_hours * 3600)))
    has_samples = set(data.get_column("_p").unique().to_list())
    scored_periods = set(data.filter(~pl.col("_train")).get_column("_p").unique().to_list())
    last = max(scored_periods, default=0)
    ooms = _empty_ooms()
    current = _current_from(data.filter(pl.col("_p") < first))
    recs: list[pl.DataFrame] = []
    by_arrays = arrays and strategy.name in WINDOW_STATISTICS and settings is not None
    windows = batch.windows if by_arrays else None
    for period in range(first, last + 1):
        if period not in scored_periods or not any(p in has_samples for p in range(period - window, period)):
            continue
        if windows is not None and settings is not None:
            rec = _recommend_from_windows(
                windows, period, window, entities, current, ooms, strategy, settings, evidence, step
            )
        else:
            train = data.filter(pl.col("_p").is_between(period - window, period, closed="left"))
            rec = _recommend(_history(train, current, ooms, step), strategy, settings, evidence)
        recs.append(
            rec.join(entities, on=keys, how="inner").drop(keys).with_columns(pl.lit(period, pl.Int64).alias("_p"))
        )
        # what was applied becomes "current"; would-be OOM kills become recorded OOM kills
        current = _applied(current, rec, keys)
        day = (
            data.filter(~pl.col("_train") & (pl.col("_p") == period))
            .select(_E, "_seg", "_p", c.TIMESTAMP, c.MEMORY_WORKING_SET_BYTES)
            .join(recs[-1], on=[_E, "_p"], how="left", maintain_order="left")
        )
        kills = (
            _run_starts(day, by=[_E])
            .filter(pl.col("_run_start"))
            .join(entities, on=_E, how="inner")
            .select(*keys, c.TIMESTAMP, pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).alias(c.MEMORY_LIMIT_BYTES))
        )
        ooms = pl.concat([ooms, kills]).filter(
            pl.col(c.TIMESTAMP) >= day.select(pl.col(c.TIMESTAMP).min()).item() - pl.duration(days=backtest.window_days)
        )
    schema = {_E: pl.UInt32(), **{r: pl.Float64() for r in _REC.values()}, "_p": pl.Int32()}
    if not recs:
        return pl.DataFrame(schema=schema)
    return pl.concat(recs, how="diagonal_relaxed").select([pl.col(k).cast(t) for k, t in schema.items()])


@dataclass(frozen=True)
class _Lockstep:
    """One batch's part of a lockstep rolling replay, computed once from its samples: the periods it is
    re-recommended on, the operators' sizes at the end of training, each period's usage summary and
    strategy statistics (``_e`` + columns), what OOM-reactive statistics need to redo them, and the
    scored samples (for the kills of each day and the final sums)."""

    entities: pl.DataFrame
    scored: pl.DataFrame
    days: dict[int, pl.DataFrame]
    active: frozenset[int]
    current: pl.DataFrame
    summaries: dict[int, pl.DataFrame]
    stats: dict[str, dict[int, pl.DataFrame]]
    peaks: dict[str, dict[int, dict[int, bw.Peaks]]]
    newest: dict[int, int | None]

    @staticmethod
    def of(
        batch: _Batch,
        entities: pl.DataFrame,
        strategies: dict[str, tuple[Strategy, StrategySettings]],
        backtest: BacktestSettings,
        step: int,
    ) -> _Lockstep:
        data = batch.data
        first = int(backtest.train_days * 86400 // (backtest.refresh_hours * 3600))
        window = max(1, int(backtest.window_days * 86400 // (backtest.refresh_hours * 3600)))
        has_samples = set(data.get_column("_p").unique().to_list())
        scored_periods = set(data.filter(~pl.col("_train")).get_column("_p").unique().to_list())
        last = max(scored_periods, default=0)
        active = frozenset(
            p
            for p in range(first, last + 1)
            if p in scored_periods and any(q in has_samples for q in range(p - window, p))
        )
        current = _current_from(data.filter(pl.col("_p") < first))
        with_e = entities.select(*KEYS, pl.col(_E).cast(pl.UInt32))
        info = _history(pl.DataFrame(schema=_SAMPLES_SCHEMA), current, _empty_ooms(), step).info.join(
            with_e, on=list(KEYS), how="inner"
        )
        no_kills = _empty_ooms().with_columns(pl.lit(None, pl.UInt32).alias(_E))
        windows = batch.windows
        summaries: dict[int, pl.DataFrame] = {}
        stats: dict[str, dict[int, pl.DataFrame]] = {name: {} for name in strategies}
        peaks: dict[str, dict[int, dict[int, bw.Peaks]]] = {name: {} for name in strategies}
        newest: dict[int, int | None] = {}
        for p in sorted(active):
            day = windows.windows(p, window)
            newest[p] = windows.newest(day)
            summaries[p] = windows.summary(p, window, step)
            for name, (strategy, settings) in strategies.items():
                kept: dict[int, bw.Peaks] | None = {} if strategy.name in OOM_REACTIVE else None
                context = bw.Context(info=info, ooms=no_kills, newest=newest[p], peaks=kept)
                stats[name][p] = WINDOW_STATISTICS[strategy.name](windows, day, context, settings)
                if kept is not None:
                    peaks[name][p] = kept
        scored = batch.scored(c.TIMESTAMP)
        days = {
            int(k[0]): v
            for k, v in scored.select(_E, "_seg", "_p", c.TIMESTAMP, c.MEMORY_WORKING_SET_BYTES)
            .partition_by("_p", as_dict=True)
            .items()
            if k[0] in active
        }
        return _Lockstep(entities, scored.drop(c.TIMESTAMP), days, active, current, summaries, stats, peaks, newest)


def _replay_lockstep(
    parts: list[_Lockstep],
    strategies: dict[str, tuple[Strategy, StrategySettings]],
    evidence: EvidenceSettings,
    backtest: BacktestSettings,
    step: int,
) -> dict[str, pl.DataFrame]:
    """Per strategy: the recommendation applied on each refresh period (``_e``, ``_p``, batch ``_b``,
    recommended columns), every batch's entities recommended together each day; what each batch
    would have done alone (its periods, the kills it keeps) is kept batch by batch."""
    keys = list(KEYS)
    entities = pl.concat(
        [
            p.entities.select(*keys, pl.col(_E).cast(pl.UInt32), pl.lit(i, pl.Int64).alias("_b"))
            for i, p in enumerate(parts)
        ]
    )
    periods = sorted(set().union(*(p.active for p in parts)))
    out: dict[str, pl.DataFrame] = {}
    for name, (strategy, settings) in strategies.items():
        current = pl.concat([p.current.with_columns(pl.lit(i, pl.Int64).alias("_b")) for i, p in enumerate(parts)])
        ooms = _empty_ooms().with_columns(pl.lit(None, pl.Int64).alias("_b"))
        recs: list[pl.DataFrame] = []
        for period in periods:
            act = [i for i, p in enumerate(parts) if period in p.active]
            cur = current.filter(pl.col("_b").is_in(act))
            history = _history(pl.DataFrame(schema=_SAMPLES_SCHEMA), cur.drop("_b"), ooms.drop("_b"), step)
            stats = pl.concat([parts[i].stats[name][period] for i in act])
            if strategy.name in OOM_REACTIVE and ooms.height:
                redo = OOM_REACTIVE[strategy.name]
                info = history.info.join(entities, on=keys, how="inner")
                with_e = ooms.join(entities.drop("_b"), on=keys, how="inner")
                redone = [
                    redo(
                        parts[i].peaks[name][period],
                        bw.Context(
                            info=info.filter(pl.col("_b") == i),
                            ooms=with_e.filter(pl.col("_b") == i),
                            newest=parts[i].newest[period],
                        ),
                        settings,
                    )
                    for i in act
                    if with_e.filter(pl.col("_b") == i).height
                ]
                if redone:
                    stats = stats.update(pl.concat(redone), on=_E, how="left", include_nulls=True)
            summary = entities.join(pl.concat([parts[i].summaries[period] for i in act]), on=_E, how="inner")
            stats_k = entities.join(stats, on=_E, how="inner")
            rec = recommendations(
                history,
                strategy=strategy,
                settings=settings,
                evidence=evidence,
                summary=summary.drop(_E, "_b"),
                stats=stats_k.drop(_E, "_b"),
            ).select(*keys, *_REC.values())
            recs.append(
                rec.join(entities, on=keys, how="inner").drop(keys).with_columns(pl.lit(period, pl.Int64).alias("_p"))
            )
            # what was applied becomes "current"; would-be OOM kills become recorded OOM kills
            updated = _applied(cur, rec, keys, keep=("_b",))
            current = pl.concat([current.filter(~pl.col("_b").is_in(act)), updated])
            days = [parts[i].days[period].with_columns(pl.lit(i, pl.Int64).alias("_b")) for i in act]
            day = pl.concat(days).join(recs[-1].drop("_b"), on=[_E, "_p"], how="left", maintain_order="left")
            kills = (
                _run_starts(day, by=[_E])
                .filter(pl.col("_run_start"))
                .join(entities.drop("_b"), on=_E, how="inner")
                .select(
                    *keys,
                    c.TIMESTAMP,
                    pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).alias(c.MEMORY_LIMIT_BYTES),
                    "_b",
                )
            )
            # each batch keeps the kills of its trailing window, counted from its day's first sample
            cuts = pl.DataFrame(
                {"_b": act, "_cut": [d.get_column(c.TIMESTAMP).min() for d in days]},
                schema={"_b": pl.Int64(), "_cut": pl.Datetime("us", "UTC")},
            )
            ooms = (
                pl.concat([ooms, kills])
                .join(cuts, on="_b", how="left", maintain_order="left")
                .filter(
                    pl.col("_cut").is_null()
                    | (pl.col(c.TIMESTAMP) >= pl.col("_cut") - pl.duration(days=backtest.window_days))
                )
                .drop("_cut")
            )
        schema = {_E: pl.UInt32(), **{r: pl.Float64() for r in _REC.values()}, "_p": pl.Int32(), "_b": pl.Int64()}
        out[name] = (
            pl.concat(recs, how="diagonal_relaxed").select([pl.col(k).cast(t) for k, t in schema.items()])
            if recs
            else pl.DataFrame(schema=schema)
        )
    return out


def _recommend_from_windows(
    windows: Windows,
    period: int,
    width: int,
    entities: pl.DataFrame,
    current: pl.DataFrame,
    ooms: pl.DataFrame,
    strategy: Strategy,
    settings: StrategySettings,
    evidence: EvidenceSettings,
    step: int,
) -> pl.DataFrame:
    """:func:`_recommend` on the window ``[period - width, period)``, its usage summary and the
    strategy's statistics computed from the batch's arrays instead of recounting samples."""
    keys = list(KEYS)
    day = windows.windows(period, width)
    history = _history(pl.DataFrame(schema=_SAMPLES_SCHEMA), current, ooms, step)
    with_keys = entities.select(*keys, pl.col(_E).cast(pl.UInt32))
    context = bw.Context(
        info=history.info.join(with_keys, on=keys, how="inner"),
        ooms=ooms.join(with_keys, on=keys, how="inner"),
        newest=windows.newest(day),
    )
    summary = with_keys.join(windows.summary(period, width, step), on=_E, how="inner").drop(_E)
    statistic = WINDOW_STATISTICS[strategy.name](windows, day, context, settings)
    stats = with_keys.join(statistic, on=_E, how="inner").drop(_E)
    rec = recommendations(
        history, strategy=strategy, settings=settings, evidence=evidence, summary=summary, stats=stats
    )
    return rec.select(*KEYS, *_REC.values())


_SAMPLES_SCHEMA: dict[str, pl.DataType] = {
    k: t
    for k, t in REPLAY_SCHEMA.items()
    if k in (*KEYS, c.POD, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES)
}


def _run_starts(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The samples with memory data of ``frame`` (sorted by ``by`` and time), each flagged
    ``_run_start`` if it starts a run of consecutive samples above the recommended memory limit
    (a sample without memory data neither starts nor breaks a run; a time gap of more than
    ``oom_run_gap_hours`` between samples, i.e. a new ``_seg``, ends a run)."""
    over = (pl.col(c.MEMORY_WORKING_SET_BYTES) > pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES)).fill_null(False)
    same = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in [*by, "_seg"]).fill_null(False)
    with_mem = frame.filter(pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null()).with_columns(over.alias("_over"))
    continues = pl.col("_over").shift(1, fill_value=False) & same
    return with_mem.with_columns((pl.col("_over") & ~continues).alias("_run_start"))


_SUM_COLUMNS = (
    "_cs",
    "_creq",
    "_cover_n",
    "_ms",
    "_mreq_sum",
    "_cur_creq",
    "_cur_mreq",
    "_rec_mreq",
    "_cur_mlim",
    "_rec_mlim",
    "_n_mem",
    "_climit_n",
    "_n",
    OOM_EVENTS,
)


def _empty_sums() -> pl.DataFrame:
    return pl.DataFrame(schema={**{k: pl.String() for k in KEYS}, **{col: pl.Float64() for col in _SUM_COLUMNS}})


def _entity_sums(applied: pl.DataFrame) -> pl.DataFrame:
    """Per entity (``_e``): the additive sums every metric is a ratio of (so batches can be pooled
    later). ``applied`` is sorted by entity and time."""
    req = pl.col(c.RECOMMENDED_CPU_REQUEST_CORES)
    use = pl.col(c.CPU_USAGE_CORES)
    mem = pl.col(c.MEMORY_WORKING_SET_BYTES)
    mreq = pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).cast(pl.Float64)
    mlim = pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).cast(pl.Float64)
    both_limits = pl.col(c.MEMORY_LIMIT_BYTES).is_not_null() & mlim.is_not_null()
    runs = _run_starts(applied, by=[_E]).group_by(_E).agg(pl.col("_run_start").sum().alias(OOM_EVENTS))
    sums = [
        (req - use).clip(lower_bound=0).sum().alias("_cs"),
        req.sum().alias("_creq"),
        (use > req).sum().alias("_cover_n"),
        pl.when(mem.is_not_null()).then((mreq - mem).clip(lower_bound=0)).sum().alias("_ms"),
        pl.when(mem.is_not_null()).then(mreq).sum().alias("_mreq_sum"),
        pl.col(c.CPU_REQUEST_CORES).sum().alias("_cur_creq"),
        pl.col(c.MEMORY_REQUEST_BYTES).cast(pl.Float64).sum().alias("_cur_mreq"),
        mreq.sum().alias("_rec_mreq"),
        pl.when(both_limits).then(pl.col(c.MEMORY_LIMIT_BYTES)).cast(pl.Float64).sum().alias("_cur_mlim"),
        pl.when(both_limits).then(mlim).sum().alias("_rec_mlim"),
        mem.count().alias("_n_mem"),
        (use > pl.col(c.RECOMMENDED_CPU_LIMIT_CORES)).fill_null(False).sum().alias("_climit_n"),
        pl.len().alias("_n"),
    ]
    return (
        applied.group_by(_E)
        .agg(sums)
        .join(runs, on=_E, how="left")
        .with_columns(pl.col(OOM_EVENTS).fill_null(0))
        .select(_E, *(pl.col(col).cast(pl.Float64) for col in _SUM_COLUMNS))
    )


def _ratios_of(frame: pl.DataFrame, step: int) -> pl.DataFrame:
    def ratio(num: str, den: str | pl.Expr) -> pl.Expr:
        d = pl.col(den) if isinstance(den, str) else den
        return pl.when(d > 0).then(pl.col(num) / d)

    mem_hours = pl.col("_n_mem") * step / 3600
    return frame.with_columns(
        ratio("_cs", "_creq").alias(CPU_SLACK),
        ratio("_cover_n", "_n").alias(CPU_OVER_REQUEST),
        ratio("_ms", "_mreq_sum").alias(MEMORY_SLACK),
        (ratio(OOM_EVENTS, mem_hours) * 1000).alias(OOM_PER_1000H),
        (pl.col(OOM_EVENTS) > 0).cast(pl.Float64).alias(HIT),
        (1 - ratio("_creq", "_cur_creq")).alias(CPU_SAVING),
        (1 - ratio("_rec_mreq", "_cur_mreq")).alias(MEMORY_SAVING),
        (1 - ratio("_rec_mlim", "_cur_mlim")).alias(MEMORY_LIMIT_SAVING),
        ratio("_climit_n", "_n").alias(CPU_OVER_LIMIT),
        (pl.col("_n") * step / 3600).alias(SCORED_HOURS),
    )


def _ratios(sums: pl.DataFrame, step: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per-entity metrics, one-row summary: pooled metrics and their means over entities)."""
    keys = list(KEYS)
    per_entity = _ratios_of(sums.with_columns(pl.col(OOM_EVENTS).cast(pl.Int64)), step)
    pooled = _ratios_of(sums.select(pl.col(col).sum() for col in _SUM_COLUMNS), step).with_columns(
        pl.col(OOM_EVENTS).cast(pl.Int64),
        pl.lit(per_entity.height).alias(ENTITIES),
        pl.lit(per_entity.select(pl.col(HIT).mean()).item()).alias(HIT),
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


def _applied(current: pl.DataFrame, rec: pl.DataFrame, keys: list[str], keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """``current`` after applying ``rec`` (joined on ``keys``): recommended requests where there is one
    (else the current request), recommended limits as they are (no limit stays no limit); what was applied
    becomes "current" for the next day. ``keep``: more columns of ``current`` to carry."""
    return current.join(rec, on=keys, how="left").select(
        *keys,
        pl.coalesce(c.RECOMMENDED_CPU_REQUEST_CORES, c.CURRENT_CPU_REQUEST_CORES).alias(c.CURRENT_CPU_REQUEST_CORES),
        pl.col(c.RECOMMENDED_CPU_LIMIT_CORES).alias(c.CURRENT_CPU_LIMIT_CORES),
        pl.coalesce(c.RECOMMENDED_MEMORY_REQUEST_BYTES, c.CURRENT_MEMORY_REQUEST_BYTES).alias(
            c.CURRENT_MEMORY_REQUEST_BYTES
        ),
        pl.col(c.RECOMMENDED_MEMORY_LIMIT_BYTES).alias(c.CURRENT_MEMORY_LIMIT_BYTES),
        *keep,
    )
