"""Right-sizing from hourly summaries (usage_hourly) against the same right-sizing from every sample.

Ground truth: the simulator's samples. Figures that are exact in the summaries (data points, memory peak,
throttling, hours of history) must be equal; percentiles within the sketch's 0.5 %; final requests within
that 0.5 % plus one rounding step (a value 0.5 % away may round up to the next 5m/10m or MiB step).
"""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest

from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, history_from_dataset, recommendations
from kubetally.analysis.rightsizing.base import per_pod_quantile, usage_summary
from kubetally.analysis.rightsizing.history import KEYS, History
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.hourly import ALPHA, from_usage
from kubetally.simulate import ScenarioConfig, simulate

MIB = 2**20


@cache
def dataset() -> Dataset:
    ds = simulate(ScenarioConfig(days=3, step_seconds=60, extra_workloads=8))
    return ds.with_frames(usage_hourly=from_usage(ds.usage))


@cache
def histories() -> tuple[History, History]:
    ds = dataset()
    return history_from_dataset(ds, percentiles="exact"), history_from_dataset(ds)


def test_auto_uses_the_summaries_and_exact_the_samples() -> None:
    exact, hourly = histories()
    assert exact.hourly is None and hourly.hourly is not None
    only_hourly = dataset().with_frames(usage=dataset().usage.head(0))
    with pytest.raises(ConfigError, match="hourly summaries only"):
        history_from_dataset(only_hourly, percentiles="exact")
    with pytest.raises(ConfigError, match="no hourly summaries"):
        history_from_dataset(simulate(ScenarioConfig(days=1, step_seconds=600)), percentiles="summaries")


def test_exact_figures_are_equal() -> None:
    exact, hourly = (usage_summary(h).sort(list(KEYS)) for h in histories())
    assert exact.height == hourly.height > 30
    for column in (c.DATA_POINTS, c.MEMORY_PEAK_BYTES, c.HISTORY_HOURS, "sampled_pods"):
        assert exact[column].equals(hourly[column]), column
    thr = exact.join(hourly, on=list(KEYS), suffix="_h").filter(pl.col(c.CPU_THROTTLED_RATIO).is_not_null())
    assert thr.height > 0
    assert (thr[c.CPU_THROTTLED_RATIO] - thr[f"{c.CPU_THROTTLED_RATIO}_h"]).abs().max() < 1e-12  # type: ignore[operator]


@pytest.mark.parametrize("q", [0.95, 0.98, 0.8])
def test_per_pod_percentiles_within_the_bound(q: float) -> None:
    exact, hourly = (per_pod_quantile(h, c.CPU_USAGE_CORES, q) for h in histories())
    both = exact.join(hourly, on=list(KEYS), suffix="_h")
    assert both.height == exact.height > 30
    rel = ((both["_q_h"] - both["_q"]).abs() / both["_q"].clip(1e-9)).max()
    assert 0 < float(rel) <= ALPHA * (1 + 1e-9), rel  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tiered", "simple"])
def test_recommendations_within_the_bound(name: str) -> None:
    strategy = STRATEGIES[name]
    exact, hourly = (
        recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())
        for h in histories()
    )
    both = exact.join(hourly, on=list(KEYS), suffix="_h")
    assert both.height == exact.height == hourly.height > 30
    cpu = both.filter(pl.col(c.RECOMMENDED_CPU_REQUEST_CORES).is_not_null())
    assert cpu.height > 20
    step = pl.when(pl.col(c.RECOMMENDED_CPU_REQUEST_CORES) < 0.1).then(0.005).otherwise(0.01)
    off = cpu.filter(
        (pl.col(f"{c.RECOMMENDED_CPU_REQUEST_CORES}_h") - pl.col(c.RECOMMENDED_CPU_REQUEST_CORES)).abs()
        > pl.col(c.RECOMMENDED_CPU_REQUEST_CORES) * ALPHA + step + 1e-9
    )
    assert off.height == 0, off.select(*KEYS, c.RECOMMENDED_CPU_REQUEST_CORES, f"{c.RECOMMENDED_CPU_REQUEST_CORES}_h")
    mem = both.filter(pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).is_not_null())
    gap = (pl.col(f"{c.RECOMMENDED_MEMORY_REQUEST_BYTES}_h") - pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES)).abs()
    assert mem.filter(gap > pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES) * ALPHA + MIB).height == 0
    # the memory limit is sized on the peak, exact in the summaries
    assert both[c.RECOMMENDED_MEMORY_LIMIT_BYTES].equals(both[f"{c.RECOMMENDED_MEMORY_LIMIT_BYTES}_h"])
    assert both[c.REASON].equals(both[f"{c.REASON}_h"])
    if name == "simple":  # memory request = peak + 15 %: exact too
        assert both[c.RECOMMENDED_MEMORY_REQUEST_BYTES].equals(both[f"{c.RECOMMENDED_MEMORY_REQUEST_BYTES}_h"])
    same = (both[c.RECOMMENDED_CPU_REQUEST_CORES] == both[f"{c.RECOMMENDED_CPU_REQUEST_CORES}_h"]).sum()
    assert same >= 0.8 * cpu.height  # most land on the same rounding step


def test_daily_peaks_basis_is_exact_from_the_summaries() -> None:
    strategy = STRATEGIES["tiered"]
    settings = strategy.settings_model.model_validate({"tiers": {"standard": {"memory_request_basis": "daily-peaks"}}})
    exact, hourly = (
        recommendations(h, strategy=strategy, settings=settings, evidence=EvidenceSettings()) for h in histories()
    )
    assert exact[c.RECOMMENDED_MEMORY_REQUEST_BYTES].equals(hourly[c.RECOMMENDED_MEMORY_REQUEST_BYTES])


def test_sample_weighing_strategies_refuse_summaries() -> None:
    _, hourly = histories()
    for name in ("vpa", "vpa-source"):
        strategy = STRATEGIES[name]
        with pytest.raises(ConfigError, match="hourly summaries only"):
            recommendations(hourly, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())
