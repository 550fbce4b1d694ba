"""Backtest metrics on hand-made replays, static vs rolling, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, SimpleSettings
from kubetally.analysis.rightsizing.tiered import TieredSettings, TierPolicy
from kubetally.model import columns as c

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIB = 2**20
HOUR = 3600


def replay_frame(
    cpu: list[float], mem: list[float | None], *, cpu_request: float = 1.0, memory: int = 200, owner: str = "vm-1"
) -> pl.DataFrame:
    n = len(cpu)
    return pl.DataFrame(
        {
            c.CLUSTER: ["t"] * n,
            c.NAMESPACE: ["t"] * n,
            c.OWNER_KIND: ["Deployment"] * n,
            c.OWNER_NAME: [owner] * n,
            c.CONTAINER: ["main"] * n,
            c.POD: [owner] * n,
            c.TIMESTAMP: [T0 + timedelta(hours=i) for i in range(n)],
            c.CPU_USAGE_CORES: cpu,
            c.MEMORY_WORKING_SET_BYTES: [None if m is None else m * MIB for m in mem],
            c.CPU_REQUEST_CORES: [cpu_request] * n,
            c.CPU_LIMIT_CORES: [cpu_request] * n,
            c.MEMORY_REQUEST_BYTES: [memory * MIB] * n,
            c.MEMORY_LIMIT_BYTES: [memory * MIB] * n,
        },
        schema=bt.REPLAY_SCHEMA,
    )


def test_metrics_of_the_operators_sizes_by_hand() -> None:
    # 24 training hours (not scored), then 6 scored hours:
    # CPU 0.5 1.5 0.2 0.2 0.5 0.5 vs request 1.0; memory 100 300 300 - 300 100 (Mi) vs request=limit 200.
    train = [0.5] * 24
    frame = replay_frame([*train, 0.5, 1.5, 0.2, 0.2, 0.5, 0.5], [100.0] * 24 + [100, 300, 300, None, 300, 100])
    settings = bt.BacktestSettings(train_days=1, min_points=0)
    s = bt.replay(
        frame, strategy=None, settings=None, evidence=EvidenceSettings(), backtest=settings, step_seconds=HOUR
    )
    row = s.summary.row(0, named=True)
    assert row[bt.ENTITIES] == 1
    # slack: (0.5 + 0 + 0.8 + 0.8 + 0.5 + 0.5) / 6 = 3.1 / 6
    assert row[bt.CPU_SLACK] == pytest.approx(3.1 / 6)
    assert row[bt.CPU_OVER_REQUEST] == pytest.approx(1 / 6)
    # memory slack over the 5 samples with memory: (100 + 0 + 0 + 0 + 100) / (5 x 200)
    assert row[bt.MEMORY_SLACK] == pytest.approx(200 / 1000)
    # runs above the limit: 300 300 (missing sample skipped) 300 -> one run; per 1000 h of memory data (5 h)
    assert row[bt.OOM_EVENTS] == 1
    assert row[bt.OOM_PER_1000H] == pytest.approx(1 / 5 * 1000)
    assert row[bt.HIT] == 1.0
    assert row[bt.CPU_SAVING] == 0 and row[bt.MEMORY_SAVING] == 0 and row[bt.MEMORY_LIMIT_SAVING] == 0
    assert row[bt.SCORED_HOURS] == 6


def test_pooled_and_mean_over_entities_differ() -> None:
    a = replay_frame([0.5] * 30, [100.0] * 30, owner="a")  # slack 0.5, no OOM
    b = replay_frame([0.9] * 30, [100.0] * 30, cpu_request=10.0, owner="b")  # slack 9.1/10
    settings = bt.BacktestSettings(train_days=1, min_points=0)
    s = bt.replay(
        pl.concat([a, b]),
        strategy=None,
        settings=None,
        evidence=EvidenceSettings(),
        backtest=settings,
        step_seconds=HOUR,
    )
    row = s.summary.row(0, named=True)
    assert row[bt.CPU_SLACK] == pytest.approx((0.5 + 9.1) / 11)
    assert row[f"mean_{bt.CPU_SLACK}"] == pytest.approx((0.5 + 0.91) / 2)
    assert s.per_entity.height == 2


def spiky(days: int) -> pl.DataFrame:
    """Flat 100Mi for two days of training, then a daily 1-hour spike to 300Mi."""
    cpu, mem = [], []
    for d in range(days):
        for h in range(24):
            cpu.append(0.2)
            mem.append(300.0 if d >= 2 and h == 12 else 100.0)
    return replay_frame(cpu, mem, memory=1024)


def test_static_keeps_failing_while_rolling_learns_from_would_be_ooms() -> None:
    frame = spiky(8)
    strategy = STRATEGIES["simple"]
    settings = SimpleSettings(points_required=24)
    ev = EvidenceSettings()
    static = bt.replay(
        frame,
        strategy=strategy,
        settings=settings,
        evidence=ev,
        backtest=bt.BacktestSettings(train_days=2, min_points=0),
        step_seconds=HOUR,
    )
    rolling = bt.replay(
        frame,
        strategy=strategy,
        settings=settings,
        evidence=ev,
        backtest=bt.BacktestSettings(mode="rolling", train_days=2, window_days=2, min_points=0),
        step_seconds=HOUR,
    )
    # static: limit = 100Mi x 1.15 all along -> one would-be OOM on each of the 6 scored days
    assert static.summary[bt.OOM_EVENTS][0] == 6
    # rolling: the first spike is seen, then the trailing window holds it -> no more
    assert rolling.summary[bt.OOM_EVENTS][0] == 1
    # savings against 1 core / 1024Mi: CPU 0.2 -> 1 - 0.2 / 1 = 0.8
    assert static.summary[bt.CPU_SAVING][0] == pytest.approx(0.8)
    # the memory limit came down from 1024Mi to 115Mi on every scored sample
    assert static.summary[bt.MEMORY_LIMIT_SAVING][0] == pytest.approx(1 - 115 / 1024)


def test_the_protocols_entity_rule_needs_points_in_all_four_parts() -> None:
    # train 1 day (24 hourly samples), need 20 samples in each of: training, training memory,
    # evaluation, evaluation memory.
    full = replay_frame([0.1] * 48, [100.0] * 48, owner="full")  # 24 / 24 / 24 / 24: scored
    no_eval_memory = replay_frame([0.1] * 48, [100.0] * 24 + [None] * 24, owner="b")  # 24 / 24 / 24 / 0
    thin_training_memory = replay_frame([0.1] * 48, [None] * 5 + [100.0] * 43, owner="c")  # 24 / 19 / 24 / 24
    short_eval = replay_frame([0.1] * 43, [100.0] * 43, owner="d")  # 24 / 24 / 19 / 19
    s = bt.replay(
        pl.concat([full, no_eval_memory, thin_training_memory, short_eval]),
        strategy=None,
        settings=None,
        evidence=EvidenceSettings(),
        backtest=bt.BacktestSettings(train_days=1, min_points=20),
        step_seconds=HOUR,
    )
    assert s.per_entity[c.OWNER_NAME].to_list() == ["full"]
    assert bt.BacktestSettings().min_points == 864  # 3 days of 5-minute samples


def test_nothing_scored_is_unknown_not_nan() -> None:
    frame = replay_frame([0.1] * 30, [None] * 30)
    s = bt.replay(
        frame,
        strategy=None,
        settings=None,
        evidence=EvidenceSettings(),
        backtest=bt.BacktestSettings(train_days=1, min_points=10),
        step_seconds=HOUR,
    )
    assert s.summary[bt.ENTITIES][0] == 0
    assert s.summary[bt.CPU_SLACK][0] is None  # unknown, not NaN


def test_a_time_gap_over_an_hour_ends_an_oom_run() -> None:
    # scored hours 24..31, memory 300Mi over a 200Mi limit at hours 24, 25, 28, 29, 30 and 31;
    # hours 26 and 27 are absent (a 3 h gap from 25 to 28): two runs. Hour 30 has no memory
    # sample: that neither starts nor breaks a run.
    frame = replay_frame([0.1] * 32, [100.0] * 24 + [300, 300, 100, 100, 300, 300, None, 300])
    frame = frame.filter(~pl.col(c.TIMESTAMP).is_in([T0 + timedelta(hours=h) for h in (26, 27)]))
    s = bt.replay(
        frame,
        strategy=None,
        settings=None,
        evidence=EvidenceSettings(),
        backtest=bt.BacktestSettings(train_days=1, min_points=0),
        step_seconds=HOUR,
    )
    assert s.summary[bt.OOM_EVENTS][0] == 2
    longer = bt.BacktestSettings(train_days=1, min_points=0, oom_run_gap_hours=4)
    s = bt.replay(frame, strategy=None, settings=None, evidence=EvidenceSettings(), backtest=longer, step_seconds=HOUR)
    assert s.summary[bt.OOM_EVENTS][0] == 1


def test_rolling_lets_the_memory_request_go_down_after_the_near_limit_rule_fired() -> None:
    # request = limit = 200Mi; working set 50Mi, one hour at 190Mi on day 1 (95% of the limit: the
    # near-limit rule fires on day 2's recommendation), then 50Mi. Tier: request p95 + 0, limit peak x 1.2.
    cpu, mem = [], []
    for d in range(8):
        for h in range(24):
            cpu.append(0.2)
            mem.append(190.0 if (d, h) == (1, 12) else 50.0)
    frame = replay_frame(cpu, mem, memory=200)
    policy = TierPolicy(
        memory_request_headroom=0,
        memory_limit_headroom=0.2,
        memory_limit_min_bump_mib=0,
        memory_limit_max_cut=1,
        min_data_points=24,
    )
    s = bt.replay(
        frame,
        strategy=STRATEGIES["tiered"],
        settings=TieredSettings(tiers={"standard": policy}),
        evidence=EvidenceSettings(),
        backtest=bt.BacktestSettings(mode="rolling", train_days=2, window_days=2, min_points=0),
        step_seconds=HOUR,
    )
    # the request is the p95 (50Mi) on every scored day, the day the rule fires included: the rule
    # raises only the limit. Holding the request at 200Mi that day would give 1 - (200 + 5 x 50) / 1200.
    assert s.summary[bt.MEMORY_SAVING][0] == pytest.approx(1 - 50 / 200)
    # limits: day 2 bumped by the rule to max(200 + 100, 200 x 1.2) = 300Mi (the policy alone: 228Mi),
    # day 3 190 x 1.2 = 228Mi (the spike is still in the window, 190/300 is not near), days 4-7 50 x 1.2 = 60Mi
    assert s.summary[bt.MEMORY_LIMIT_SAVING][0] == pytest.approx(1 - (300 + 228 + 4 * 60) / (6 * 200))
    assert s.summary[bt.OOM_EVENTS][0] == 0
