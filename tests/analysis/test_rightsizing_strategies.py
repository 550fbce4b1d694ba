"""Each strategy on hand-worked histories: KRR's numbers, the VPA recommender's histogram maths,
tier policies, and the "no recommendation" reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rightsizing_handmade import MIB, T0, history, info, one, samples

from kubetally.analysis.rightsizing import (
    EvidenceSettings,
    SimpleSettings,
    SimpleStrategy,
    TieredSettings,
    TieredStrategy,
    TierPolicy,
    VpaSettings,
    VpaSourceSettings,
    VpaSourceStrategy,
    VpaStrategy,
    recommendations,
)
from kubetally.model import columns as c
from kubetally.model.recommendation import RECOMMENDATIONS

EV = EvidenceSettings()


def krr_case() -> tuple[list[float], list[float]]:
    # pod a: CPU 1m..60m, memory up to 300,000,000 bytes; pod b: 20m flat, 200 MB.
    cpu_a = [i / 1000 for i in range(1, 61)]
    mem_a = [200e6] * 59 + [300e6]
    return cpu_a, mem_a


def test_simple_reproduces_krr_by_hand() -> None:
    cpu_a, mem_a = krr_case()
    h = history(
        [samples("web-a", cpu_a, mem_a), samples("web-b", [0.02] * 60, [200e6] * 60)],
        [info(cpu_request=0.5, memory_request=512 * MIB, memory_limit=512 * MIB)],
    )
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(rounding="krr"), evidence=EV))
    # KRR: max over pods of p95 -> pod a: rank 0.95 * 59 = 56.05 -> 57m + 0.05 * 1m = 57.05m; ceil to 1m = 58m
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.058)
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] is None  # KRR sets no CPU limit
    # memory: 300,000,000 x 1.15 = 345,000,000 B = 329.02 MiB -> ceil to 1 MiB = 330 MiB; request = limit
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 330 * MIB
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 330 * MIB
    assert rec[c.DATA_POINTS] == 120
    assert rec[c.STATUS] == "over-provisioned"
    assert rec[c.CPU_USAGE_P95_CORES] == pytest.approx(0.05705)


def test_simple_krr_rounding_ignores_float_noise() -> None:
    # 29 samples at 70m and 2 at 80m: rank 0.95 x 30 = 28.5 -> 70m + 0.5 x 10m; in floating point
    # 0.07 + 0.5 x 0.01 = 0.07500000000000001, whose ceiling in millicores would be 76m. KRR gets 75m.
    h = history([samples("web-a", [0.07] * 29 + [0.08] * 2, [100.5 * MIB] * 31)], [info(cpu_request=0.5)])
    settings = SimpleSettings(rounding="krr", points_required=10)
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=settings, evidence=EV))
    assert rec[c.CPU_USAGE_P95_CORES] == 0.07500000000000001
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == 0.075
    # memory: 100.5 MiB x 1.15 = 115.575 MiB -> up to the next whole MiB, as current KRR does
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 116 * MIB


def test_vpa_documented_target_by_hand() -> None:
    # Ten days, one sample an hour: CPU 0.1 core flat; memory 100 MB except 900 MB at noon of days 0 and 1
    # (older than the 8-day history: ignored) and 400 MB at noon of day 2 (the oldest day read).
    cpu, mem = [], []
    for day in range(10):
        for hour in range(24):
            cpu.append(0.1)
            mem.append(900e6 if day < 2 and hour == 12 else 400e6 if day == 2 and hour == 12 else 100e6)
    frame = samples("web-a", cpu, mem, step=timedelta(hours=1))
    h = history([frame], [info(cpu_request=1.0, cpu_limit=2.0, memory_request=512 * MIB, memory_limit=1024 * MIB)])
    rec = one(recommendations(h, strategy=VpaStrategy(), settings=VpaSettings(rounding="none"), evidence=EV))
    # CPU: every sample in bucket 8 ([0.1003, 0.1103) cores): target = its end x 1.15, unrounded
    end8 = 0.01 * (1.05**9 - 1) / 0.05
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(end8 * 1.15)
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] == pytest.approx(2 * end8 * 1.15)
    # memory: 8 daily peaks, weight 1 each: 400 MB once, 100 MB seven times. 7/8 = 87.5% < 90%, so P90 is
    # the end of 400 MB's bucket 22. (VPA's code decays peaks: the 400 MB day would weigh 2^-7 and P90 = 100 MB.)
    end22 = 1e7 * (1.05**23 - 1) / 0.05
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == int(end22 * 1.15)
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == int(2 * end22 * 1.15)
    source = one(
        recommendations(h, strategy=VpaSourceStrategy(), settings=VpaSourceSettings(rounding="exact"), evidence=EV)
    )
    end5 = 1e7 * (1.05**6 - 1) / 0.05  # 100 MB is in bucket 5 of the memory histogram
    assert source[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == pytest.approx(250 * MIB)  # max(end5 x 1.15, floor)
    assert end5 * 1.15 < 250 * MIB


def test_reference_strategies_skip_the_near_limit_rule() -> None:
    # peak 300 MB against a 256Mi limit: kubetally's rule would keep memory at >= the current request;
    # KRR and VPA do not look at the limit, and neither do their strategies unless asked.
    h = history(
        [samples("web-a", [0.1] * 120, [300e6] * 120)], [info(memory_request=256 * MIB, memory_limit=256 * MIB)]
    )
    plain = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(rounding="krr"), evidence=EV))
    assert plain[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 330 * MIB  # 345e6 B -> 330 MiB, no bump
    assert plain[c.EVIDENCE] == ""
    ruled = one(
        recommendations(
            h,
            strategy=SimpleStrategy(),
            settings=SimpleSettings(rounding="krr", memory_near_limit_rule=True),
            evidence=EV,
        )
    )
    # bumped: max(peak + 100Mi, peak x 1.2) with peak = max(limit, peak) = 300e6 -> 404,857,600 B
    assert ruled[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 300_000_000 + 100 * MIB
    assert "of its limit" in ruled[c.EVIDENCE]


def test_simple_people_rounding() -> None:
    cpu_a, mem_a = krr_case()
    h = history(
        [samples("web-a", cpu_a, mem_a), samples("web-b", [0.02] * 60, [200e6] * 60)],
        [info(cpu_request=0.5)],
    )
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(), evidence=EV))
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.060)  # 57.05m -> next 5m step
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 330 * MIB  # 345e6 B = 329.02 Mi -> 330 Mi
    # savings per workload: (current - recommended) x 2 replicas
    assert rec[c.CPU_SAVING_CORES] == pytest.approx((0.5 - 0.06) * 2)
    assert rec[c.MEMORY_SAVING_BYTES] == (512 - 330) * MIB * 2


def test_simple_floors() -> None:
    h = history([samples("web-a", [0.001] * 120, [10e6] * 120)], [info()])
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(rounding="krr"), evidence=EV))
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.010)
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 100 * MIB


def test_simple_needs_100_points_and_says_how_many() -> None:
    h = history([samples("web-a", [0.1] * 99, [100e6] * 99)], [info(cpu_request=1.0, memory_request=64 * MIB)])
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(), evidence=EV))
    assert rec[c.STATUS] == "no-recommendation"
    assert rec[c.REASON] == "not enough data: 99 data points of 100 required"
    # nothing judged, nothing changes
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == 1.0
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 64 * MIB


def test_simple_skips_cpu_under_an_hpa() -> None:
    h = history([samples("web-a", [0.1] * 120, [100e6] * 120)], [info(cpu_request=1.0, hpa_cpu=70.0)])
    rec = one(recommendations(h, strategy=SimpleStrategy(), settings=SimpleSettings(), evidence=EV))
    assert rec[c.CPU_STATUS] == "no-recommendation"
    assert "HPA" in rec[c.REASON]
    assert rec[c.MEMORY_STATUS] != "no-recommendation"


def test_vpa_source_histograms_by_hand() -> None:
    # CPU: 8 samples at 0.1 core then 2 at 1.0 core, one minute apart (decay over 9 minutes is < 0.5%).
    # Memory: day 1 peak 200 MB, day 2 peak 400 MB -> two peaks weighing 0.5 and 1 (24 h half-life).
    day = timedelta(days=1)
    cpu = samples("web-a", [0.1] * 8 + [1.0] * 2, [200e6] * 10)
    day2 = samples("web-a", [0.1] * 10, [400e6] * 10, start=T0 + day)
    h = history([cpu, day2], [info(cpu_request=1.0, cpu_limit=2.0, memory_request=512 * MIB, memory_limit=1024 * MIB)])
    rec = one(
        recommendations(h, strategy=VpaSourceStrategy(), settings=VpaSourceSettings(rounding="exact"), evidence=EV)
    )
    # CPU: 18 samples at 0.1 (bucket 8) and 2 at 1.0 (bucket 36); P90 threshold 0.9 x total.
    # The 1.0-core samples are a day older (weight ~0.5 each), so bucket 8 holds > 90%: target = end of bucket 8.
    # 0.01 x (1.05^9 - 1) / 0.05 = 0.110266 cores; + 15% = 126.806m, truncated to whole millicores as VPA does.
    end8 = 0.01 * (1.05**9 - 1) / 0.05
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.126)
    assert end8 * 1.15 == pytest.approx(0.126806, abs=1e-6)
    # limit keeps the current limit/request ratio (2)
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] == pytest.approx(2 * rec[c.RECOMMENDED_CPU_REQUEST_CORES], abs=2e-3)
    # Memory: P90 of {200 MB: 0.5, 400 MB: 1.0} -> 400 MB's bucket 22, end = start(23); + 15%
    end22 = 1e7 * (1.05**23 - 1) / 0.05
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == pytest.approx(end22 * 1.15, abs=1)
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == pytest.approx(2 * end22 * 1.15, abs=2)


def test_vpa_source_oom_bump_and_floor() -> None:
    # one day, peak 400 MB, an OOM kill with a 300 MB limit: used = max(request 256Mi, peak, limit) = 400 MB,
    # the window's peak becomes max(400 MB + 100Mi, 400 MB x 1.2) = 504,857,600 -> bucket 25, end = start(26)
    frame = samples("web-a", [0.001] * 10, [400e6] * 10)
    h = history(
        [frame],
        [info(cpu_request=0.001, memory_request=256 * MIB, memory_limit=None)],
        ooms=[("web", T0 + timedelta(minutes=5), 300_000_000)],
    )
    rec = one(
        recommendations(h, strategy=VpaSourceStrategy(), settings=VpaSourceSettings(rounding="exact"), evidence=EV)
    )
    end25 = 1e7 * (1.05**26 - 1) / 0.05
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == pytest.approx(end25 * 1.15, abs=1)
    # CPU floor: 25m per pod, one container
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.025)
    assert rec[c.OOM_KILLS] == 1
    assert "1 OOM kill(s)" in rec[c.EVIDENCE]


def test_vpa_source_floor_is_split_over_containers() -> None:
    frame = samples("web-a", [0.001] * 10, [1e6] * 10)
    h = history([frame], [info(containers_per_pod=2, memory_limit=None)])
    rec = one(
        recommendations(h, strategy=VpaSourceStrategy(), settings=VpaSourceSettings(rounding="exact"), evidence=EV)
    )
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.012)  # 12.5m truncated to 12m, as VPA does
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 125 * MIB


def tiered_history(hours: float, *, tier: str | None = "standard", kind: str = "Deployment") -> tuple:
    n = int(hours * 60)
    cpu = [0.1 + 0.1 * (i % 10) / 9 for i in range(n)]  # 0.1 .. 0.2 cycling
    mem = [100 * MIB] * (n - 1) + [200 * MIB]
    return history([samples("web-a", cpu, mem, kind=kind)], [info(cpu_request=1.0, tier=tier, kind=kind)])


def test_tiered_standard_by_hand() -> None:
    h = tiered_history(25)
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=TieredSettings(), evidence=EV))
    # standard: CPU p98 of 1500 samples, 150 each of 0.1 + 0.1 k / 9 (k = 0..9): rank 0.98 x 1499 = 1469.02
    # -> samples 1469 and 1470 are both k=9: 0.2 -> 200m; no limit
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.2)
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] is None
    # memory request p95 of working set (100Mi) x 1.15 = 115Mi; limit = peak 200Mi x 2 = 400Mi, but at
    # most 1% below the current 512Mi: 506.88Mi -> 507Mi
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 115 * MIB
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 507 * MIB
    assert rec[c.TIER] == "standard"
    assert rec[c.STATUS] == "over-provisioned"


def test_tiered_memory_limit_comes_down_step_by_step() -> None:
    h = tiered_history(25)  # current limit 512Mi, peak 200Mi: the proposal is 2 x 200Mi = 400Mi
    policy = TieredSettings(tiers={"standard": TierPolicy(memory_limit_max_cut=0.1)})
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=policy, evidence=EV))
    # at most 10% below the current limit: 512Mi x 0.9 = 460.8Mi, up to the next MiB
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == 461 * MIB
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 115 * MIB  # the request is not held up
    free = TieredSettings(tiers={"standard": TierPolicy(memory_limit_max_cut=1.0)})
    assert (
        one(recommendations(h, strategy=TieredStrategy(), settings=free, evidence=EV))[c.RECOMMENDED_MEMORY_LIMIT_BYTES]
        == 400 * MIB
    )


def test_tiered_memory_request_on_daily_peaks() -> None:
    # 25 h from midnight: day 1 peaks at 100Mi, day 2 (one hour) at 200Mi.
    h = tiered_history(25)
    policy = TieredSettings(tiers={"standard": TierPolicy(memory_request_basis="daily-peaks")})
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=policy, evidence=EV))
    # p95 of the peaks [100, 200] = 100 + 0.95 x 100 = 195Mi, + 15% = 224.25Mi -> 225Mi
    assert rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 225 * MIB


def test_tiered_guaranteed_tier_sets_limits_to_requests() -> None:
    h = tiered_history(25, tier="gold")
    policy = TieredSettings(default_tier="gold", tiers={"gold": TierPolicy(guaranteed=True, memory_limit_max_cut=1)})
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=policy, evidence=EV))
    assert rec[c.RECOMMENDED_CPU_LIMIT_CORES] == rec[c.RECOMMENDED_CPU_REQUEST_CORES]
    assert rec[c.RECOMMENDED_MEMORY_LIMIT_BYTES] == rec[c.RECOMMENDED_MEMORY_REQUEST_BYTES] == 400 * MIB


def test_tiered_unknown_tier_uses_the_default() -> None:
    h = tiered_history(25, tier="platinum")
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=TieredSettings(), evidence=EV))
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("hours", "tier", "kind", "reason"),
    [
        (3, "standard", "Deployment", "not enough history: 3.0 h of 24.0 h required (standard tier)"),
        (3, "critical", "Deployment", "not enough history: 3.0 h of 3.0 d required (critical tier)"),
        (0.5, "batch", "Job", "job too short: its pods ran 30 min in the window, 6.0 h needed"),
    ],
)
def test_tiered_short_history_reasons(hours: float, tier: str, kind: str, reason: str) -> None:
    h = tiered_history(hours, tier=tier, kind=kind)
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=TieredSettings(), evidence=EV))
    assert rec[c.STATUS] == "no-recommendation"
    assert rec[c.REASON] == reason
    assert rec[c.HISTORY_HOURS] == pytest.approx(hours)


def test_tiered_hpa_keeps_cpu() -> None:
    n = 25 * 60
    h = history([samples("web-a", [0.1] * n, [100 * MIB] * n)], [info(cpu_request=1.0, hpa_cpu=80.0)])
    rec = one(recommendations(h, strategy=TieredStrategy(), settings=TieredSettings(), evidence=EV))
    assert rec[c.CPU_STATUS] == "no-recommendation"
    assert rec[c.RECOMMENDED_CPU_REQUEST_CORES] == 1.0
    assert "HPA" in rec[c.REASON]
    assert rec[c.MEMORY_STATUS] == "over-provisioned"


def test_container_without_samples_has_a_reason() -> None:
    h = history([samples("web-a", [0.1] * 200, [100e6] * 200)], [info(), info(owner="idle")])
    recs = recommendations(h, strategy=TieredStrategy(), settings=TieredSettings(), evidence=EV)
    assert one(recs, owner="idle")[c.REASON] == "no usage samples"
    assert recs.columns == RECOMMENDATIONS.names
    assert recs.schema == RECOMMENDATIONS.schema
