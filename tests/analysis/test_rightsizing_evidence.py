"""Evidence is never ignored: OOM kills and CPU throttling override every strategy; memory near its limit
overrides those that apply kubetally's near-limit rule (tiered; KRR and VPA have no such rule, so their
strategies apply it only with ``memory_near_limit_rule``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from rightsizing_handmade import MIB, T0, history, info, one, samples

from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, recommendations
from kubetally.analysis.rightsizing.tiered import TieredSettings, TierPolicy
from kubetally.model import columns as c

EV = EvidenceSettings()
N = 25 * 60  # 25 hours of 1-minute samples: enough for every strategy


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_oom_killed_memory_is_raised_never_lowered(name: str) -> None:
    # Uses ~100Mi almost always, but was OOM-killed at its 256Mi limit (the working set reached 250Mi).
    mem = [100 * MIB] * (N - 1) + [250 * MIB]
    h = history(
        [samples("web-a", [0.05] * N, mem)],
        [info(cpu_request=0.1, memory_request=256 * MIB, memory_limit=256 * MIB)],
        ooms=[("web", T0 + timedelta(hours=20), 256 * MIB)],
    )
    strategy = STRATEGIES[name]
    settings = strategy.settings_model()
    rec = one(recommendations(h, strategy=strategy, settings=settings, evidence=EV))
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] >= 256 * MIB
    # limit >= max(limit at kill, peak) bumped: max(256Mi + 100Mi, 256Mi x 1.2) = 356Mi
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] >= 356 * MIB
    assert rec[c.MEMORY_STATUS] == "under-provisioned"
    assert rec[c.STATUS] == "under-provisioned"
    assert "1 OOM kill(s)" in rec[c.EVIDENCE]
    near_limit_rule = getattr(settings, "memory_near_limit_rule", True)
    assert ("memory peak 98% of its limit" in rec[c.EVIDENCE]) == near_limit_rule


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_throttled_cpu_limit_is_removed_and_request_not_lowered(name: str) -> None:
    h = history(
        [samples("web-a", [0.05] * N, [100 * MIB] * N, throttled=[0.3] * N)],
        [info(cpu_request=0.2, cpu_limit=0.2)],
    )
    strategy = STRATEGIES[name]
    rec = one(recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EV))
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] is None
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] >= 0.2
    assert rec[c.CPU_STATUS] == "under-provisioned"
    assert rec[c.CPU_THROTTLED_RATIO] == pytest.approx(0.3)
    assert "CPU throttled in 30% of periods" in rec[c.EVIDENCE]


def test_raise_limit_action() -> None:
    h = history(
        [samples("web-a", [0.05] * N, [100 * MIB] * N, throttled=[0.3] * N)], [info(cpu_request=0.2, cpu_limit=0.2)]
    )
    strategy = STRATEGIES["simple"]
    ev = EvidenceSettings(cpu_throttling_action="raise-limit")
    rec = one(recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=ev))
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] == pytest.approx(0.4)


def test_evidence_acts_even_without_enough_history() -> None:
    # 30 minutes of data (no strategy recommends) but an OOM kill: memory is still raised.
    h = history(
        [samples("web-a", [0.05] * 30, [250 * MIB] * 30)],
        [info(memory_request=128 * MIB, memory_limit=256 * MIB)],
        ooms=[("web", T0 + timedelta(minutes=20), 256 * MIB)],
    )
    rec = one(
        recommendations(h, strategy=STRATEGIES["tiered"], settings=STRATEGIES["tiered"].settings_model(), evidence=EV)
    )
    assert rec[c.MEMORY_STATUS] == "under-provisioned"
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] >= 356 * MIB
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 128 * MIB
    assert rec[c.CPU_STATUS] == "no-recommendation"


def test_memory_near_its_limit_raises_the_limit_but_does_not_hold_the_request() -> None:
    # ~100Mi almost always, one peak at 250Mi of its 256Mi limit (98%), request 256Mi, no OOM kill.
    # tiered (standard): request = p95 x 1.15 = 115Mi (was held at 256Mi: in a rolling replay the
    # request then never went down again); limit = max(256Mi x 1.2, 256Mi + 100Mi, peak x 2) = 500Mi.
    mem = [100 * MIB] * (N - 1) + [250 * MIB]
    h = history([samples("web-a", [0.05] * N, mem)], [info(memory_request=256 * MIB, memory_limit=256 * MIB)])
    strategy = STRATEGIES["tiered"]
    rec = one(recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EV))
    assert "memory peak 98% of its limit" in rec[c.EVIDENCE]
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 115 * MIB
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 500 * MIB


def test_a_kill_in_the_window_bumps_the_limit_it_was_killed_at_not_todays() -> None:
    # Killed at 256Mi; an earlier bump already raised today's limit to 600Mi. The limit must stay
    # max(proposal, 256Mi + 100Mi) = tiered's peak x 2 = 500Mi, not 600Mi x 1.2 (that compounds daily).
    mem = [100 * MIB] * (N - 1) + [250 * MIB]
    h = history(
        [samples("web-a", [0.05] * N, mem)],
        [info(memory_request=256 * MIB, memory_limit=600 * MIB)],
        ooms=[("web", T0 + timedelta(hours=20), 256 * MIB)],
    )
    strategy = STRATEGIES["tiered"]
    unbounded = TieredSettings(tiers={"standard": TierPolicy(cpu_request_percentile=0.85, memory_limit_max_cut=1.0)})
    rec = one(recommendations(h, strategy=strategy, settings=unbounded, evidence=EV))
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 500 * MIB
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 256 * MIB
    # the default policy lowers a limit by at most 1% at a time: 600Mi x 0.99 = 594Mi (still not 720Mi)
    rec = one(recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EV))
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 594 * MIB


def _limits_over_days(policy: TierPolicy, days: int) -> list[int]:
    """The memory limit recommended each day for a steady 50Mi working set, each recommendation
    applied before the next (as a rolling replay does)."""
    strategy = STRATEGIES["tiered"]
    settings = TieredSettings.model_construct(default_tier="standard", tiers={"standard": policy})
    limit, out = 512 * MIB, []
    for _ in range(days):
        h = history([samples("web-a", [0.05] * N, [50 * MIB] * N)], [info(memory_limit=limit)])
        rec = one(recommendations(h, strategy=strategy, settings=settings, evidence=EV))
        limit = rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES]
        out.append(limit // MIB)
    return out


def test_a_limit_headroom_inside_the_near_limit_rule_oscillates_and_is_refused() -> None:
    # limit = 50Mi x 1.05 = 53Mi (request p95 + 0 = 50Mi; no minimum bump; cut at once): 50/53 = 94% of
    # the limit, so the next day the near-limit rule raises it to 53Mi + 100Mi = 153Mi, and the day after
    # the policy cuts it back to 53Mi. Built without validation to show why the policy model refuses it.
    unchecked = TierPolicy.model_construct(
        **{
            **TierPolicy().model_dump(),
            "memory_limit_headroom": 0.05,
            "memory_limit_min_bump_mib": 0,
            "memory_limit_max_cut": 1.0,
            "memory_request_headroom": 0.0,
        }
    )
    assert _limits_over_days(unchecked, 4) == [53, 153, 53, 153]
    with pytest.raises(ValidationError, match=r"memory_limit_headroom 0\.05 .*oscillates\); use more than 0\.111"):
        TierPolicy.model_validate(unchecked.model_dump())
    # just outside the rule (50/56 = 89% < 90%) the limit settles at once
    steady = TierPolicy.model_validate({**unchecked.model_dump(), "memory_limit_headroom": 0.12})
    assert _limits_over_days(steady, 4) == [56, 56, 56, 56]
