"""`kubetally backtest`: replay usage history to score right-sizing strategies.

Thin: load a dataset (--demo / --dataset) or a public trace file (--trace), build each
strategy's settings once, call ``kubetally.analysis.backtest.replay``, render the table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from pydantic import ValidationError

from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, StrategySettings
from kubetally.app.rightsize import build_settings
from kubetally.cli import legacy as app
from kubetally.cli.options import DatasetOpt, DemoOpt, OutputFormatOpt, PrometheusOpt, open_dataset, stderr
from kubetally.errors import ConfigError
from kubetally.outputs.backtest import backtest_table
from kubetally.outputs.formats import FORMATS, render
from kubetally.outputs.terminal import console

ALL = (bt.CURRENT, *STRATEGIES)


def _settings(strategies: list[str], assignments: list[str], policy: Path | None) -> dict[str, StrategySettings | None]:
    per: dict[str, list[str]] = {name: [] for name in strategies}
    for item in assignments:
        name, dot, rest = item.partition(".")
        if not dot or name not in STRATEGIES:
            raise ConfigError(f"--set {item!r}: expected STRATEGY.FIELD=VALUE, STRATEGY one of {', '.join(STRATEGIES)}")
        if name not in strategies:
            raise ConfigError(f"--set {item!r}: the {name} strategy is not scored in this run (add -s {name})")
        per.setdefault(name, []).append(rest)
    if policy is not None and "tiered" not in strategies:
        raise ConfigError("--policy is for the tiered strategy, which is not scored in this run (add -s tiered)")
    out: dict[str, StrategySettings | None] = {}
    for name in strategies:
        if name == bt.CURRENT:
            out[name] = None
        elif name not in STRATEGIES:
            raise ConfigError(f"unknown strategy {name!r}; choose {', '.join(ALL)}")
        else:
            out[name] = build_settings(name, per.get(name, []), policy if name == "tiered" else None)
    return out


@app.command("backtest")
def backtest_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    trace: Annotated[
        Path | None,
        typer.Option("--trace", help="A public trace file (Bitbrains GWA-T-12 or Google 2011 CSV, gzip ok)."),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", "-s", help=f"Strategies to score (repeatable): {', '.join(ALL)}. Default: all."),
    ] = None,
    mode: Annotated[str, typer.Option(help="static (train once) or rolling (re-train every day).")] = "static",
    train_days: Annotated[
        float | None,
        typer.Option(
            help="Days from each entity's start used to train (default: 14 for a trace, half a dataset's window).",
            min=0.01,
        ),
    ] = None,
    window_days: Annotated[float, typer.Option(help="Rolling: trailing window re-trained on, days.", min=0.01)] = 14,
    min_points: Annotated[
        int,
        typer.Option(
            help="Skip entities with fewer samples (or memory samples) in training or in evaluation "
            "(864 = 3 days of 5-minute samples).",
            min=0,
        ),
    ] = 864,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Strategy setting STRATEGY.FIELD=VALUE (repeatable).")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Tier policy YAML for the tiered strategy.")] = None,
    output: OutputFormatOpt = "table",
) -> None:
    """Replay history: recommend from the first TRAIN_DAYS (static) or every day from the trailing window
    (rolling), then measure slack, CPU over request, would-be OOM kills and savings on the rest."""
    if mode not in ("static", "rolling"):
        raise ConfigError(f"--mode must be static or rolling, not {mode!r}")
    if output != "table" and output not in FORMATS:
        raise ConfigError(f"unknown output format {output!r}; choose table, {', '.join(FORMATS)}")
    settings = _settings(list(strategy or ALL), set_ or [], policy)
    if trace is not None:
        if demo or dataset is not None or prometheus is not None:
            raise ConfigError("give one data source: --trace, --demo, --dataset or --prometheus")
        from kubetally.sources.traces import TRACE_STEP_SECONDS, load_trace

        started = time.perf_counter()
        frame = load_trace(trace)
        step = TRACE_STEP_SECONDS
        source = f"{trace.name}: {frame.height:,} samples loaded in {time.perf_counter() - started:.1f} s"
    else:
        data = open_dataset(demo=demo, dataset=dataset, prometheus=prometheus)
        frame = bt.replay_frame(containers=data.containers, usage=data.usage)
        step = data.info.step_seconds
        source = f"{data.info.source}: {frame.height:,} samples"
        days = data.info.window.total_seconds() / 86400
        if train_days is None:
            train_days = round(days / 2, 2)
            if train_days <= 0:
                raise ConfigError(f"the dataset has {days:g} days: too short to train on one part and score the rest")
        elif mode == "static" and train_days >= days:
            raise ConfigError(
                f"--train-days {train_days:g} leaves nothing to score: the dataset has {days:g} days; "
                "train on fewer days than that"
            )
    stderr.print(source)
    train_days = 14.0 if train_days is None else train_days
    try:
        backtest = bt.BacktestSettings(
            mode="static" if mode == "static" else "rolling",
            train_days=train_days,
            window_days=window_days,
            min_points=min_points,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        option = "--" + "-".join(str(part) for part in error["loc"]).replace("_", "-")
        raise ConfigError(f"{option} {error.get('input')}: {error['msg']}") from None
    results = []
    for name, chosen in settings.items():
        started = time.perf_counter()
        result = bt.replay(
            frame,
            strategy=None if name == bt.CURRENT else STRATEGIES[name],
            settings=chosen,
            evidence=EvidenceSettings(),
            backtest=backtest,
            step_seconds=step,
        )
        stderr.print(f"{name}: scored in {time.perf_counter() - started:.1f} s")
        results.append(result.summary)
    if all(int(result.get_column(bt.ENTITIES)[0]) == 0 for result in results):
        raise ConfigError(
            f"nothing to score: no container has --min-points {min_points} samples and memory samples both in "
            f"its first --train-days {train_days:g} days and after them"
        )
    summary = pl.concat(results, how="diagonal_relaxed").select("strategy", pl.exclude("strategy"))
    if output == "table":
        title = f"Backtest ({mode}, train {train_days:g} d" + (
            f", window {window_days:g} d)" if mode == "rolling" else ")"
        )
        console().print(backtest_table(summary, title=title))
    else:
        typer.echo(render(summary, output), nl=False)
