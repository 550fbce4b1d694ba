"""Hourly summaries and merged percentiles: hand-worked values and the stated error bound against the
raw samples (simulator and the real Bitbrains trace)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubetally.model import columns as c
from kubetally.model.schema import TIME
from kubetally.model.sketch import ZERO_BUCKET, LogBuckets, hourly_summary, merged_quantiles
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.sources.traces import bitbrains_replay

BITBRAINS = Path(__file__).parents[2] / "testdata" / "traces" / "bitbrains-rnd-vm001-150.csv.gz"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = (c.NAMESPACE, c.POD, c.CONTAINER)


def frame(values: list[float], minutes: list[int], pod: str = "p") -> pl.LazyFrame:
    return pl.DataFrame(
        {
            c.NAMESPACE: "ns",
            c.POD: pod,
            c.CONTAINER: "c",
            c.TIMESTAMP: [T0 + timedelta(minutes=m) for m in minutes],
            "v": values,
        },
        schema_overrides={c.TIMESTAMP: TIME},
    ).lazy()


def test_buckets_by_hand() -> None:
    b = LogBuckets(alpha=0.01)
    gamma = 1.01 / 0.99
    assert b.gamma == pytest.approx(gamma)
    assert b.index(1.0) == 0  # (gamma**-1, 1]
    assert b.index(1.02) == 1  # 1.02 <= gamma = 1.020202...
    assert b.index(1.0203) == 2
    assert b.index(0.0) == ZERO_BUCKET and b.index(1e-12) == ZERO_BUCKET
    assert b.representative(0) == pytest.approx(2 / (gamma + 1))  # 0.990
    assert b.representative(1) == pytest.approx(2 * gamma / (gamma + 1))  # 1.010: within 1 % of (1, 1.0202]
    assert b.representative(ZERO_BUCKET) == 0.0


def test_merged_percentiles_by_hand() -> None:
    # Two hours: 0, 1, 2 at minutes 0-2 and 3, 4, 10 at minutes 60-62. n = 6.
    s = hourly_summary(frame([0, 1, 2, 3, 4, 10], [0, 1, 2, 60, 61, 62]), keys=KEYS, value="v", time=c.TIMESTAMP)
    assert s.stats.get_column("count").to_list() == [3, 3]
    assert s.stats.get_column("sum").to_list() == [3.0, 17.0]
    assert s.stats.get_column("max").to_list() == [2.0, 10.0]
    got = merged_quantiles(s, keys=KEYS, quantiles={"p0": 0.0, "p50": 0.5, "p80": 0.8, "p100": 1.0}).row(0, named=True)
    assert got["n"] == 6 and got["min"] == 0.0 and got["max"] == 10.0
    assert got["p0"] == 0.0 and got["p100"] == 10.0  # the exact extremes
    # p50: rank 2.5 -> halfway between 2 and 3 = 2.5; p80: rank 4 = 4 exactly (the 5th value).
    assert got["p50"] == pytest.approx(2.5, rel=0.005)
    assert got["p80"] == pytest.approx(4.0, rel=0.005)
    # only the first hour: 0, 1, 2 -> p50 = 1
    first = merged_quantiles(s, keys=KEYS, quantiles={"p50": 0.5}, hours=pl.col("hour") == T0)
    assert first.row(0, named=True)["n"] == 3
    assert first.row(0, named=True)["p50"] == pytest.approx(1.0, rel=0.005)


def test_nulls_nans_and_bad_arguments() -> None:
    s = hourly_summary(frame([1.0, float("nan"), 2.0], [0, 1, 2]), keys=KEYS, value="v", time=c.TIMESTAMP)
    assert s.stats.get_column("count").to_list() == [2]
    with pytest.raises(ValueError, match="within"):
        merged_quantiles(s, keys=KEYS, quantiles={"x": 1.5})
    with pytest.raises(ValueError, match="not keys"):
        merged_quantiles(s, keys=["node"], quantiles={"x": 0.5})
    with pytest.raises(ValueError, match="alpha"):
        LogBuckets(alpha=0.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-6, max_value=1e12), min_size=1, max_size=300),
    st.sampled_from([0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0]),
)
def test_error_bound_on_any_positive_values(values: list[float], q: float) -> None:
    s = hourly_summary(frame(values, list(range(len(values)))), keys=KEYS, value="v", time=c.TIMESTAMP)
    got = merged_quantiles(s, keys=KEYS, quantiles={"x": q}).row(0, named=True)["x"]
    exact = float(np.quantile(np.array(values), q))
    assert abs(got - exact) <= s.buckets.alpha * exact * (1 + 1e-9)


def errors(samples: pl.LazyFrame, keys: list[str], value: str, q: float) -> tuple[int, float, float]:
    """(groups, max relative error, max absolute error where the exact value is at most zero_below)."""
    s = hourly_summary(samples, keys=keys, value=value, time=c.TIMESTAMP)
    got = merged_quantiles(s, keys=keys, quantiles={"est": q})
    exact = (
        samples.filter(pl.col(value).is_not_null() & ~pl.col(value).is_nan())
        .group_by(keys)
        .agg(pl.col(value).quantile(q, interpolation="linear").alias("exact"))
        .collect()
    )
    both = got.join(exact, on=keys)
    assert both.height == got.height == exact.height
    zero = s.buckets.zero_below
    pos = both.filter(pl.col("exact") > zero)
    rel = ((pos["est"] - pos["exact"]).abs() / pos["exact"]).max()
    tiny = both.filter(pl.col("exact") <= zero)
    absolute = (tiny["est"] - tiny["exact"]).abs().max() if tiny.height else 0.0
    return both.height, float(rel or 0.0), float(absolute or 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("q", [0.95, 0.99, 0.5])
def test_error_bound_on_the_simulator(q: float) -> None:
    ds = simulate(ScenarioConfig(days=2, step_seconds=60, extra_workloads=10))
    usage = ds.usage
    for value in (c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES):
        groups, rel, absolute = errors(usage, [c.NAMESPACE, c.POD, c.CONTAINER], value, q)
        assert groups > 50
        assert rel <= 0.005 * (1 + 1e-9) and absolute <= 1e-9, (value, rel, absolute)


def test_error_bound_on_the_bitbrains_trace() -> None:
    trace = bitbrains_replay(BITBRAINS).lazy()
    keys = [c.OWNER_NAME]
    for value in (c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES):
        groups, rel, absolute = errors(trace, keys, value, 0.95)
        assert groups == 150
        assert rel <= 0.005 * (1 + 1e-9) and absolute <= 1e-9, (value, rel, absolute)
        assert rel > 0.0  # the sketch is approximate: a zero error would mean the test compares nothing
    assert math.isfinite(rel)
