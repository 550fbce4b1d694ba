"""HPA what-if: the controller on a hand-made demand curve with a hand-worked answer, and AuditFlow."""

from __future__ import annotations

import kubernetes_validate
import numpy as np
import polars as pl
import pytest

from kubetally.analysis.rightsizing import DEFAULT_STRATEGY, STRATEGIES, EvidenceSettings, history_from_frames
from kubetally.analysis.rightsizing import recommendations as rightsizing_recommendations
from kubetally.analysis.scaling import HpaSettings, UnitPrices, hpa_manifest, hpa_row, hpa_whatif, simulate_hpa
from kubetally.model import columns as c
from kubetally.model import schema

# 40 one-minute steps: busy (1.0 core) for 10, quiet (0.25) for 20, busy for 10.
DEMAND = np.array([1.0] * 10 + [0.25] * 20 + [1.0] * 10)


def test_controller_on_hand_made_curve() -> None:
    replicas = simulate_hpa(
        DEMAND,
        step_seconds=60,
        request_cores=0.5,
        min_replicas=1,
        max_replicas=4,
        target_percent=50,
        initial_replicas=4,
    )
    # Hand-worked: at step 10 the recommendation drops to ceil(4 x 0.125 / 0.5) = 1, but the 300 s window
    # (5 recommendations) still holds a 4 until step 14, so 1 replica runs from step 15. At step 30 one pod
    # sees 1.0 / 0.5 = 200 % against 50 %: ceil(1 x 4) = 4 at once, from step 31.
    assert replicas.tolist() == [4] * 15 + [1] * 16 + [4] * 9


def test_tolerance_and_bounds() -> None:
    # ratio 1.05 is within the 10 % tolerance: no change; 1.2 scales 2 -> ceil(2.4) = 3; max caps at 3.
    demand = np.array([1.05, 1.05, 1.2, 5.0])
    replicas = simulate_hpa(
        demand,
        step_seconds=60,
        request_cores=1.0,
        min_replicas=2,
        max_replicas=3,
        target_percent=50,
        initial_replicas=2,
    )
    assert replicas.tolist() == [2, 2, 2, 3]


def test_whatif_row_on_hand_made_curve() -> None:
    row = hpa_row(
        DEMAND,
        step_seconds=60,
        fixed_replicas=4,
        request_cores=0.5,
        memory_bytes=2**30,
        critical=False,
        settings=HpaSettings(targets=(50,), max_risk_ratio=0.05, min_saved_ratio=0.1),
        cpu_per_core_hour=0.04,
        memory_per_gib_hour=0.005,
    )
    # fixed: 4 x 40 min = 160 replica-min = 2.6667 h; HPA: 15x4 + 16x1 + 9x4 = 112 replica-min = 1.8667 h.
    assert row[c.FIXED_REPLICA_HOURS] == pytest.approx(160 / 60)
    assert row[c.HPA_REPLICA_HOURS] == pytest.approx(112 / 60)
    assert row[c.REPLICA_HOURS_SAVED] == pytest.approx(0.8)
    assert row[c.SAVED_RATIO] == pytest.approx(0.3)
    # a pod-hour costs 0.5 x 0.04 + 1 GiB x 0.005 = 0.025: saved 0.8 x 0.025 = 0.02 in 40 min, x 730 h / (2/3) h a month
    assert row[c.COST_SAVED] == pytest.approx(0.02)
    assert row[c.MONTHLY_COST_SAVED] == pytest.approx(0.02 * 730 * 1.5)
    # only step 30 (one pod at 200 % of its request) is over the request: 1 of 40 steps
    assert row[c.RISK_RATIO] == pytest.approx(1 / 40)
    assert row[c.FIXED_RISK_RATIO] == 0.0
    assert (row[c.HPA_MIN], row[c.HPA_MAX], row[c.HPA_TARGET_PERCENT]) == (1, 4, 50)  # max: ceil(1.0 / 0.25)
    assert row[c.STATUS] == "recommended"


def test_highest_target_within_risk_is_chosen() -> None:
    settings = HpaSettings(targets=(50, 100), max_risk_ratio=0.0)
    common = {"step_seconds": 60, "fixed_replicas": 4, "request_cores": 0.5, "memory_bytes": 0}
    prices = {"cpu_per_core_hour": 1.0, "memory_per_gib_hour": 0.0}
    # Not critical (min 1): at both targets the quiet phase drops to 1 pod and the step-30 spike puts it at
    # 200 % of its request, so no target is within risk 0: the lowest is reported as risky.
    row = hpa_row(DEMAND, critical=False, settings=settings, **common, **prices)
    assert (row[c.HPA_TARGET_PERCENT], row[c.STATUS], row[c.RISK_RATIO]) == (50, "risky", pytest.approx(1 / 40))
    # Critical (min 2): at 100 % max = ceil(1.0 / 0.5) = 2 = min, so 2 pods always run at <= 100 %: chosen.
    row = hpa_row(DEMAND, critical=True, settings=settings, **common, **prices)
    assert (row[c.HPA_TARGET_PERCENT], row[c.HPA_MIN], row[c.HPA_MAX], row[c.RISK_RATIO]) == (100, 2, 2, 0.0)
    assert row[c.SAVED_RATIO] == pytest.approx(0.5)


def test_hpa_manifest_is_valid_kubernetes() -> None:
    doc = hpa_manifest("auditflow", "Deployment", "audit-log-analysis", min_replicas=1, max_replicas=3, target=80)
    kubernetes_validate.validate(doc, "1.32", strict=True)
    assert doc["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}


@pytest.mark.slow
def test_auditflow_daily_cycle_service_shows_a_saving() -> None:
    from kubetally.simulate import ScenarioConfig, simulate
    from kubetally.simulate.answer_key import PLANTED, Problem

    ds = simulate(ScenarioConfig(days=7, step_seconds=300))
    history = history_from_frames(
        containers=ds.containers,
        usage=ds.usage,
        terminations=ds.table(schema.TERMINATIONS),
        workloads=ds.workloads,
        labels=ds.labels,
        step_seconds=ds.info.step_seconds,
    )
    strategy = STRATEGIES[DEFAULT_STRATEGY]
    recs = rightsizing_recommendations(
        history, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings()
    )
    frame = hpa_whatif(
        usage=ds.usage,
        containers=ds.containers,
        workloads=ds.workloads,
        labels=ds.labels,
        step_seconds=ds.info.step_seconds,
        settings=HpaSettings(),
        prices=UnitPrices(cpu_per_core_hour=0.03, memory_per_gib_hour=0.004),
        recommendations=recs,
    )
    cycle = next(p for p in PLANTED if p.problem == Problem.DAILY_CYCLE)
    row = frame.filter(pl.col(c.NAME) == cycle.name).row(0, named=True)
    assert row[c.STATUS] == "recommended"
    assert row[c.REPLICA_HOURS_SAVED] > 0 and row[c.MONTHLY_COST_SAVED] > 0
    assert row[c.HPA_MIN] == 1 and row[c.HPA_MAX] >= 2
    assert "CPU-throttled" in row[c.REASON]  # its measured demand is capped by the too-low limit
    assert frame.filter(pl.col(c.NAME) == "legacy-webhook")[c.STATUS].item() == "scaled-to-zero"
