"""Backtest: replay usage history to score right-sizing strategies.

The replay streams: every strategy is scored in one pass over the entities, a batch of
``--batch-entities`` at a time (``kubetally.analysis.backtest.replay_many``), so memory follows
the batch, not the trace.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, StrategySettings
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.rightsize import build_settings
from kubetally.app.source import OPENERS, Opened, SourceRequest, open_source
from kubetally.errors import ConfigError
from kubetally.outputs.backtest import BacktestReport

ALL = (bt.CURRENT, *STRATEGIES)


class BacktestRequest(SourceRequest):
    """Replay history: recommend from the first TRAIN_DAYS (static) or every day from the trailing window
    (rolling), then measure slack, CPU over request, would-be OOM kills and savings on the rest."""

    trace: Path | None = Field(
        None,
        description="A public trace file (Bitbrains GWA-T-12 or Google 2011 CSV, gzip ok).",
        json_schema_extra=cli(metavar="FILE"),
    )
    strategy: tuple[str, ...] = Field(
        (),
        description=f"Strategies to score (repeatable): {', '.join(ALL)}. Default: all.",
        json_schema_extra=cli(short="-s"),
    )
    mode: Literal["static", "rolling"] = like(bt.BacktestSettings, "mode")
    train_days: float | None = Field(
        None,
        ge=0.01,
        le=365,
        description="Days from each entity's start used to train (default: 14 for a trace, half a dataset's window).",
    )
    window_days: float = like(bt.BacktestSettings, "window_days")
    min_points: int = like(
        bt.BacktestSettings,
        "min_points",
        description="Skip entities with fewer samples (or memory samples) in training or in evaluation "
        "(864 = 3 days of 5-minute samples).",
    )
    batch_entities: int = like(bt.BacktestSettings, "batch_entities")
    set_values: tuple[str, ...] = Field(
        (),
        description="Strategy setting STRATEGY.FIELD=VALUE (repeatable).",
        json_schema_extra=cli(flag="--set", metavar="STRATEGY.FIELD=VALUE"),
    )
    policy: Path | None = Field(
        None, description="Tier policy YAML for the tiered strategy.", json_schema_extra=cli(metavar="FILE")
    )
    output: Literal["table", "json", "csv", "yaml"] = Field("table", json_schema_extra=cli(short="-o"))

    @model_validator(mode="after")
    def _exactly_one_source(self) -> BacktestRequest:
        given = [name for name in (*OPENERS, "trace") if getattr(self, name) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"give exactly one data source: --trace, {', '.join(f'--{n}' for n in OPENERS)}")
        return self

    @field_validator("strategy")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in ALL:
                raise ValueError(f"unknown strategy {name!r}; choose {', '.join(ALL)}")
        return value


def _settings(request: BacktestRequest, strategies: list[str]) -> dict[str, StrategySettings | None]:
    per: dict[str, list[str]] = {name: [] for name in strategies}
    for item in request.set_values:
        name, dot, rest = item.partition(".")
        if not dot or name not in STRATEGIES:
            raise ConfigError(f"--set {item!r}: expected STRATEGY.FIELD=VALUE, STRATEGY one of {', '.join(STRATEGIES)}")
        if name not in strategies:
            raise ConfigError(f"--set {item!r}: the {name} strategy is not scored in this run (add -s {name})")
        per[name].append(rest)
    if request.policy is not None and "tiered" not in strategies:
        raise ConfigError("--policy is for the tiered strategy, which is not scored in this run (add -s tiered)")
    return {
        name: None
        if name == bt.CURRENT
        else build_settings(name, per[name], request.policy if name == "tiered" else None)
        for name in strategies
    }


def backtest(
    request: BacktestRequest, opened: Opened | None = None, progress: Progress = no_progress
) -> BacktestReport:
    strategies = list(dict.fromkeys(request.strategy or ALL))
    settings = _settings(request, strategies)
    train_days = request.train_days
    started = time.perf_counter()
    notes: list[str] = []
    # deleted at the end, or when the object goes (an error)
    scratch = tempfile.TemporaryDirectory(prefix="kubetally-trace-")
    frame: pl.DataFrame | pl.LazyFrame
    if request.trace is not None:
        from kubetally.sources.traces import TRACE_STEP_SECONDS, scan_trace

        progress(f"reading {request.trace.name}...")
        # streamed to a Parquet scratch file and scanned batch by batch: the trace is never held whole
        frame = scan_trace(request.trace, Path(scratch.name))
        step = TRACE_STEP_SECONDS
        samples = frame.select(pl.len()).collect().item()
        source = f"{request.trace.name}: {samples:,} samples loaded in {time.perf_counter() - started:.1f} s"
    else:
        opened = opened or open_source(request, progress)
        data = opened.dataset
        notes += opened.notes
        frame = bt.replay_frame(containers=data.containers, usage=data.usage)
        step = data.info.step_seconds
        source = f"{data.info.source}: {frame.height:,} samples"
        days = data.info.window.total_seconds() / 86400
        if train_days is None:
            train_days = round(days / 2, 2)
            if train_days <= 0:
                raise ConfigError(f"the dataset has {days:g} days: too short to train on one part and score the rest")
        elif request.mode == "static" and train_days >= days:
            raise ConfigError(
                f"--train-days {train_days:g} leaves nothing to score: the dataset has {days:g} days; "
                "train on fewer days than that"
            )
    train_days = 14.0 if train_days is None else train_days
    settings_bt = bt.BacktestSettings(
        mode=request.mode,
        train_days=train_days,
        window_days=request.window_days,
        min_points=request.min_points,
        batch_entities=request.batch_entities,
    )
    scoring = time.perf_counter()
    results = bt.replay_many(
        frame,
        {name: (None if name == bt.CURRENT else STRATEGIES[name], chosen) for name, chosen in settings.items()},
        evidence=EvidenceSettings(),
        backtest=settings_bt,
        step_seconds=step,
        on_batch=lambda done, total: progress(f"replaying {len(settings)} strategies: batch {done}/{total}"),
    )
    del frame
    scratch.cleanup()
    summaries = [r.summary for r in results]
    if all(int(s.get_column(bt.ENTITIES)[0]) == 0 for s in summaries):
        raise ConfigError(
            f"nothing to score: no container has --min-points {request.min_points} samples and memory samples "
            f"both in its first --train-days {train_days:g} days and after them"
        )
    notes += [source, f"{len(settings)} strategies scored in {time.perf_counter() - scoring:.1f} s"]
    summary = pl.concat(summaries, how="diagonal_relaxed").select("strategy", pl.exclude("strategy"))
    title = f"Backtest ({request.mode}, train {train_days:g} d" + (
        f", window {request.window_days:g} d)" if request.mode == "rolling" else ")"
    )
    return BacktestReport(summary=summary, title=title, notes=tuple(notes))
