"""Shared percentile and histogram math (kubetally.model.stats), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from kubetally.model.stats import (
    CPU_BUCKETS,
    MEMORY_BUCKETS,
    ExponentialBuckets,
    decay_weight_expr,
    histogram_percentiles,
    percentile,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4, 5], 0.5, 3.0),
        ([1, 2, 3, 4, 5], 0.95, 4.8),  # rank 0.95 * 4 = 3.8 -> 4 + 0.8 * (5 - 4)
        ([10, 20], 0.95, 19.5),  # rank 0.95 -> 10 + 0.95 * 10
        ([7], 0.99, 7.0),
        ([3, 1, 2], 0.0, 1.0),
        ([3, 1, 2], 1.0, 3.0),
    ],
)
def test_percentile_interpolates_linearly_like_prometheus(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_vpa_cpu_buckets_by_hand() -> None:
    # bucket i starts at 0.01 * (1.05**i - 1) / 0.05
    assert CPU_BUCKETS.bucket_start(0) == 0
    assert CPU_BUCKETS.bucket_start(1) == pytest.approx(0.01)
    assert CPU_BUCKETS.bucket_start(2) == pytest.approx(0.0205)
    assert CPU_BUCKETS.bucket_of(0.005) == 0
    assert CPU_BUCKETS.bucket_of(0.015) == 1
    # 0.1 core: log(0.1 * 0.05 / 0.01 + 1) / log(1.05) = log(1.5) / log(1.05) = 8.31 -> bucket 8
    assert CPU_BUCKETS.bucket_of(0.1) == 8
    # 1000 cores: the last (open) bucket
    assert CPU_BUCKETS.bucket_of(5000.0) == CPU_BUCKETS.num_buckets - 1
    assert MEMORY_BUCKETS.bucket_of(400e6) == 22  # log(3) / log(1.05) = 22.5


def test_bucket_expr_matches_bucket_of() -> None:
    values = [0.0, 0.009, 0.01, 0.1, 0.5, 1.0, 3.7, 999.0, 2000.0]
    got = pl.DataFrame({"v": values}).select(CPU_BUCKETS.bucket_expr(pl.col("v")).alias("b"))["b"].to_list()
    assert got == [CPU_BUCKETS.bucket_of(v) for v in values]


def test_bad_bucket_options() -> None:
    with pytest.raises(ValueError):
        ExponentialBuckets(first_bucket_size=0.01, ratio=1.0, max_value=10)


def test_histogram_percentile_returns_the_end_of_the_bucket() -> None:
    # 8 samples at 0.1 core (bucket 8) and 2 at 1.0 core (bucket 36), equal weights.
    frame = pl.DataFrame({"k": ["a"] * 10, "v": [0.1] * 8 + [1.0] * 2, "w": [1.0] * 10})
    out = histogram_percentiles(
        frame, keys=["k"], value="v", weight="w", buckets=CPU_BUCKETS, quantiles={"p50": 0.5, "p80": 0.8, "p90": 0.9}
    ).row(0, named=True)
    end8 = 0.01 * (1.05**9 - 1) / 0.05
    end36 = 0.01 * (1.05**37 - 1) / 0.05
    assert out["total_weight"] == pytest.approx(10)
    assert out["p50"] == pytest.approx(end8)
    assert out["p80"] == pytest.approx(end8)  # cumulative 8 >= 0.8 * 10
    assert out["p90"] == pytest.approx(end36)


def test_weights_move_the_percentile() -> None:
    # Same values, but the two big samples weigh 0.25 each: total 8.5, 0.9 * 8.5 = 7.65 <= 8 -> bucket 8.
    frame = pl.DataFrame({"k": ["a"] * 10, "v": [0.1] * 8 + [1.0] * 2, "w": [1.0] * 8 + [0.25] * 2})
    out = histogram_percentiles(frame, keys=["k"], value="v", weight="w", buckets=CPU_BUCKETS, quantiles={"p90": 0.9})
    assert out["p90"][0] == pytest.approx(0.01 * (1.05**9 - 1) / 0.05)


def test_decay_halves_per_half_life() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pl.DataFrame({"ts": [t, t + timedelta(hours=24), t + timedelta(hours=48)]})
    w = frame.select(decay_weight_expr(pl.col("ts"), pl.col("ts").max(), 86400).alias("w"))["w"].to_list()
    assert w == pytest.approx([0.25, 0.5, 1.0])


def test_exact_quantiles_stream_in_two_passes_and_match_by_hand() -> None:
    from kubetally.model.stats import exact_quantiles

    frame = pl.DataFrame(
        {
            "k": ["a"] * 5 + ["b"] * 2 + ["c"] * 4,
            "v": [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 20.0, 0.0, 0.0, 0.0, 7.0],
        }
    )
    out = exact_quantiles(frame.lazy(), keys=["k"], value="v", quantiles={"p95": 0.95, "p50": 0.5}).sort("k")
    assert out["n"].to_list() == [5, 2, 4]
    # a: rank 3.8 -> 4 + 0.8 = 4.8; b: 10 + 0.95 x 10 = 19.5; c: rank 2.85 -> 0 + 0.85 x 7 = 5.95
    assert out["p95"].to_list() == pytest.approx([4.8, 19.5, 5.95])
    assert out["p50"].to_list() == pytest.approx([3.0, 15.0, 0.0])


def test_exact_quantiles_with_a_quantile_per_group() -> None:
    from kubetally.model.stats import exact_quantiles

    frame = pl.DataFrame({"k": ["a"] * 5 + ["b"] * 5, "v": [1.0, 2.0, 3.0, 4.0, 5.0] * 2})
    qs = pl.DataFrame({"k": ["a", "b"], "q": [0.0, 1.0]})
    out = exact_quantiles(frame.lazy(), keys=["k"], value="v", quantiles={"x": qs}).sort("k")
    assert out["x"].to_list() == [1.0, 5.0]
