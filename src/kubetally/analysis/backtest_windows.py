"""The rolling backtest's daily statistics from per-entity arrays (pure).

A rolling replay re-recommends every day from the trailing 14-day window. Recounting the window's
samples with the strategies' own frame passes (``Strategy.statistics``) every day costs 14× the
samples, in many small polars queries. Here one batch's samples are laid out once as numpy arrays
sorted by pod and time, so each day's window of a pod is a contiguous slice (its bounds found by
binary search on the refresh period), and every statistic reads only that slice:

- exact percentiles: the two order statistics of the slice (``np.partition``, linear time) and the
  same linear interpolation as :func:`kubetally.model.stats.exact_quantiles` (rank ``q·(n-1)``);
- VPA histograms: each sample's bucket and weight, weights summed per bucket (``np.bincount``),
  the first bucket whose cumulative weight reaches ``q·total`` — as
  :func:`kubetally.model.stats.histogram_percentiles`;
- counts, peaks and spans as :func:`kubetally.analysis.rightsizing.usage_summary`.

The frames returned are the ones ``usage_summary`` and ``Strategy.statistics`` return for the
window's samples, value for value (``tests/analysis/test_backtest_windows.py`` replays with both).
Strategies without an entry in :data:`WINDOW_STATISTICS` are recounted from samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from kubetally.analysis.rightsizing import (
    KEYS,
    SimpleSettings,
    StrategySettings,
    TieredSettings,
    VpaSettings,
    VpaSourceSettings,
)
from kubetally.analysis.rightsizing.base import MIB
from kubetally.analysis.rightsizing.tiered import _per_policy, _with_policy
from kubetally.model import columns as c
from kubetally.model.stats import CPU_BUCKETS, MEMORY_BUCKETS, ExponentialBuckets

E = "_e"
"""The replay's integer entity id (as in :mod:`kubetally.analysis.backtest`)."""

_DAY_US = 86_400 * 1_000_000


def quantile(values: np.ndarray, q: float) -> float | None:
    """:func:`kubetally.model.stats.exact_quantiles` of ``values`` (NaN-free): linear interpolation
    between the order statistics at ``floor(q·(n-1))`` and the next."""
    n = values.size
    if n == 0:
        return None
    r = q * (n - 1)
    lo = math.floor(r)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, [lo, hi] if hi != lo else lo)
    x_lo, x_hi = float(part[lo]), float(part[hi])
    return x_lo + (r - lo) * (x_hi - x_lo)


def _buckets_of(buckets: ExponentialBuckets, x: np.ndarray) -> np.ndarray:
    """:meth:`ExponentialBuckets.bucket_expr`, vectorised in numpy."""
    raw = np.floor(np.log(x * (buckets.ratio - 1) / buckets.first_bucket_size + 1) / math.log(buckets.ratio))
    clipped = np.clip(raw, 0, buckets.num_buckets - 1)
    return np.where(x < buckets.first_bucket_size, 0, clipped).astype(np.int64)


def _bucket_start(buckets: ExponentialBuckets, bucket: int) -> float:
    return buckets.first_bucket_size * (buckets.ratio ** float(bucket) - 1) / (buckets.ratio - 1)


def histogram_quantiles(
    bucket: np.ndarray, weight: np.ndarray, buckets: ExponentialBuckets, qs: tuple[float, ...]
) -> list[float | None]:
    """:func:`kubetally.model.stats.histogram_percentiles` of one group: per ``q`` the end of the
    first bucket whose cumulative weight reaches ``q·total`` (the start of the last bucket)."""
    if bucket.size == 0:
        return [None] * len(qs)
    cum = np.cumsum(np.bincount(bucket, weights=weight, minlength=buckets.num_buckets))
    total = float(cum[-1])
    if not total > 0:
        return [None] * len(qs)
    last = buckets.num_buckets - 1
    out: list[float | None] = []
    for q in qs:
        b = int(np.argmax(cum >= total * q - 1e-12 * total))
        out.append(_bucket_start(buckets, b + 1 if b < last else b))
    return out


def _decay(t: np.ndarray, reference: int, half_life_seconds: float) -> np.ndarray:
    """:func:`kubetally.model.stats.decay_weight_expr` of microsecond timestamps."""
    age = (t - reference).astype(np.float64) / 1e6
    return np.power(2.0, age / half_life_seconds)


@dataclass(frozen=True)
class Window:
    """One entity's samples in one day's trailing window: a slice of the arrays per pod."""

    entity: int
    slices: list[slice]
    arrays: Windows

    def cpu(self, s: slice) -> np.ndarray:
        v = self.arrays.cpu[s]
        return v[~np.isnan(v)]

    def mem(self, s: slice) -> np.ndarray:
        v = self.arrays.mem[s]
        return v[~np.isnan(v)]


class Windows:
    """A batch's samples (``_e``, pod, timestamp, CPU, memory, refresh period ``_p``) as arrays sorted
    by entity, pod and time."""

    def __init__(self, data: pl.DataFrame) -> None:
        ordered = (
            data.select(
                E,
                c.POD,
                pl.col(c.TIMESTAMP).dt.epoch("us").alias("_t"),
                pl.col(c.CPU_USAGE_CORES).fill_null(float("nan")),
                pl.col(c.MEMORY_WORKING_SET_BYTES).fill_null(float("nan")),
                "_p",
            )
            .sort(E, c.POD, "_t")
            .with_columns(
                ((pl.col(E) != pl.col(E).shift(1)) | (pl.col(c.POD) != pl.col(c.POD).shift(1)))
                .fill_null(True)
                .alias("_new_pod")
            )
        )
        self.t = ordered.get_column("_t").to_numpy()
        self.cpu = ordered.get_column(c.CPU_USAGE_CORES).to_numpy()
        self.mem = ordered.get_column(c.MEMORY_WORKING_SET_BYTES).to_numpy()
        period = ordered.get_column("_p").to_numpy()
        entity = ordered.get_column(E).to_numpy()
        starts = np.flatnonzero(ordered.get_column("_new_pod").to_numpy())
        ends = np.append(starts[1:], len(ordered))
        self.periods = int(period.max()) + 2 if len(ordered) else 1
        grid = np.arange(self.periods)
        # bounds[g][k] = index of the pod's first sample of period >= k
        self._bounds = [s + np.searchsorted(period[s:e], grid, side="left") for s, e in zip(starts, ends, strict=True)]
        pod_entity = entity[starts]
        self.entities: list[int] = []
        self._pods: list[list[int]] = []
        for g, e in enumerate(pod_entity.tolist()):
            if not self.entities or self.entities[-1] != e:
                self.entities.append(int(e))
                self._pods.append([])
            self._pods[-1].append(g)

    def windows(self, period: int, width: int) -> list[Window]:
        """Each entity's samples with refresh period in ``[period - width, period)`` (entities without
        any are left out)."""
        lo, hi = min(max(period - width, 0), self.periods - 1), min(max(period, 0), self.periods - 1)
        out = []
        for e, pods in zip(self.entities, self._pods, strict=True):
            slices = [slice(int(self._bounds[g][lo]), int(self._bounds[g][hi])) for g in pods]
            slices = [s for s in slices if s.stop > s.start]
            if slices:
                out.append(Window(e, slices, self))
        return out

    def newest(self, windows: list[Window]) -> int | None:
        """The newest timestamp of all ``windows`` (µs)."""
        ends = [int(self.t[s.stop - 1]) for w in windows for s in w.slices]
        return max(ends) if ends else None


def summary(windows: list[Window], step_seconds: int) -> pl.DataFrame:
    """``_e`` + the columns of :func:`kubetally.analysis.rightsizing.usage_summary`."""
    rows: dict[str, list[object]] = {
        E: [],
        c.DATA_POINTS: [],
        c.MEMORY_PEAK_BYTES: [],
        c.HISTORY_HOURS: [],
        "sampled_pods": [],
        c.CPU_USAGE_P95_CORES: [],
    }
    for w in windows:
        t = w.arrays.t
        points, peak, p95 = 0, None, None
        for s in w.slices:
            cpu = w.cpu(s)
            points += cpu.size
            mem = w.mem(s)
            if mem.size:
                top = float(mem.max())
                peak = top if peak is None else max(peak, top)
            q = quantile(cpu, 0.95)
            if q is not None:
                p95 = q if p95 is None else max(p95, q)
        t0 = min(int(t[s.start]) for s in w.slices)
        t1 = max(int(t[s.stop - 1]) for s in w.slices)
        rows[E].append(w.entity)
        rows[c.DATA_POINTS].append(points)
        rows[c.MEMORY_PEAK_BYTES].append(peak)
        rows[c.HISTORY_HOURS].append(float(int((t1 - t0) / 1_000_000) + step_seconds) / 3600)
        rows["sampled_pods"].append(len(w.slices))
        rows[c.CPU_USAGE_P95_CORES].append(p95)
    return pl.DataFrame(
        rows,
        schema={
            E: pl.UInt32(),
            c.DATA_POINTS: pl.Int64(),
            c.MEMORY_PEAK_BYTES: pl.Float64(),
            c.HISTORY_HOURS: pl.Float64(),
            "sampled_pods": pl.UInt32(),
            c.CPU_USAGE_P95_CORES: pl.Float64(),
        },
    ).with_columns(pl.lit(None, pl.Float64).alias(c.CPU_THROTTLED_RATIO))


@dataclass(frozen=True)
class Context:
    """What a window statistic may read besides the samples: the entities' keys and current values
    (``info``, with ``_e``), the recorded OOM kills (with ``_e``), the newest sample of the batch's
    window."""

    info: pl.DataFrame
    ooms: pl.DataFrame
    newest: int | None


def _max(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _per_entity(info: pl.DataFrame, column: str) -> dict[int, float]:
    return dict(zip(info.get_column(E).to_list(), info.get_column(column).to_list(), strict=True))


def _tiered(windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, TieredSettings)
    info = _with_policy(ctx.info, settings).with_columns(
        _per_policy(settings, "cpu_request_percentile").alias("_q_cpu"),
        _per_policy(settings, "memory_request_percentile").alias("_q_mem"),
        pl.col("_policy")
        .replace_strict({n: t.memory_request_basis == "daily-peaks" for n, t in settings.tiers.items()})
        .cast(pl.Boolean)
        .alias("_peaks"),
    )
    q_cpu, q_mem, peaks = (_per_entity(info, col) for col in ("_q_cpu", "_q_mem", "_peaks"))
    rows: dict[str, list[object]] = {E: [], "_cpu": [], "_mem": []}
    for w in windows:
        rows[E].append(w.entity)
        rows["_cpu"].append(_max([quantile(w.cpu(s), q_cpu[w.entity]) for s in w.slices]))
        if peaks[w.entity]:
            parts = []
            for s in w.slices:
                days = w.arrays.t[s] // _DAY_US
                first = np.flatnonzero(np.diff(days, prepend=days[0] - 1))
                parts.append(np.fmax.reduceat(w.arrays.mem[s], first))
            values = np.concatenate(parts)
            rows["_mem"].append(quantile(values[~np.isnan(values)], q_mem[w.entity]))
        else:
            rows["_mem"].append(quantile(np.concatenate([w.mem(s) for s in w.slices]), q_mem[w.entity]))
    return pl.DataFrame(rows, schema={E: pl.UInt32(), "_cpu": pl.Float64(), "_mem": pl.Float64()})


def _simple(windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, SimpleSettings)
    schema = {E: pl.UInt32(), "_cpu": pl.Float64()}
    if settings.cpu_percentile == 95:
        return pl.DataFrame(schema=schema)
    q = settings.cpu_percentile / 100
    rows = [(w.entity, _max([quantile(w.cpu(s), q) for s in w.slices])) for w in windows]
    return pl.DataFrame(rows, schema=schema, orient="row").filter(pl.col("_cpu").is_not_null())


def _window_peaks(w: Window, s: slice, recent: np.ndarray | None, window_us: int) -> tuple[np.ndarray, np.ndarray]:
    """(window start index from the pod's first memory sample, peak) per aggregation window."""
    t, mem = w.arrays.t[s], w.arrays.mem[s]
    keep = ~np.isnan(mem) if recent is None else ~np.isnan(mem) & recent
    t, mem = t[keep], mem[keep]
    if t.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    first = int(t[0])
    index = (t - first) // window_us
    starts = np.flatnonzero(np.diff(index, prepend=index[0] - 1))
    return index[starts] * window_us + first, np.maximum.reduceat(mem, starts)


def _vpa(windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, VpaSettings)
    s = settings
    q = (s.target_percentile,)
    history_us = int(s.history_days * 86400) * 1_000_000
    window_us = int(s.memory_aggregation_hours * 3600 * 1_000_000)
    rows: dict[str, list[object]] = {E: [], "_cpu": [], "_mem": []}
    for w in windows:
        newest = max(int(w.arrays.t[sl.stop - 1]) for sl in w.slices)
        buckets, weights, peaks = [], [], []
        for sl in w.slices:
            t = w.arrays.t[sl]
            recent = t > newest - history_us
            cpu = w.arrays.cpu[sl]
            ok = recent & ~np.isnan(cpu)
            buckets.append(_buckets_of(CPU_BUCKETS, cpu[ok]))
            weights.append(_decay(t[ok], newest, s.cpu_half_life_hours * 3600))
            peaks.append(_window_peaks(w, sl, recent, window_us)[1])
        rows[E].append(w.entity)
        rows["_cpu"].append(histogram_quantiles(np.concatenate(buckets), np.concatenate(weights), CPU_BUCKETS, q)[0])
        mem = np.concatenate(peaks)
        rows["_mem"].append(histogram_quantiles(_buckets_of(MEMORY_BUCKETS, mem), np.ones(mem.size), MEMORY_BUCKETS, q)[0])
    return pl.DataFrame(rows, schema={E: pl.UInt32(), "_cpu": pl.Float64(), "_mem": pl.Float64()})


def _vpa_source(windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, VpaSourceSettings)
    s = settings
    qs = (s.lower_bound_percentile, s.target_percentile, s.upper_bound_percentile)
    names = ("lower", "target", "upper")
    half_life = s.half_life_hours * 3600
    window_us = int(s.memory_aggregation_hours * 3600 * 1_000_000)
    reference = ctx.newest if ctx.newest is not None else 0
    requests = _per_entity(ctx.info, c.CURRENT_MEMORY_REQUEST_BYTES)
    kills: dict[int, list[tuple[int, float | None]]] = {}
    for e, ts, limit in ctx.ooms.select(E, pl.col(c.TIMESTAMP).dt.epoch("us"), c.MEMORY_LIMIT_BYTES).iter_rows():
        kills.setdefault(e, []).append((ts, None if limit is None else float(limit)))
    rows: dict[str, list[object]] = {E: [], **{f"cpu_{n}": [] for n in names}, **{f"mem_{n}": [] for n in names}}
    for w in windows:
        cpu = np.concatenate([w.arrays.cpu[sl] for sl in w.slices])
        t = np.concatenate([w.arrays.t[sl] for sl in w.slices])
        ok = ~np.isnan(cpu)
        cpu_q = histogram_quantiles(_buckets_of(CPU_BUCKETS, cpu[ok]), _decay(t[ok], reference, half_life), CPU_BUCKETS, qs)
        ends_all, peaks_all = [], []
        request = requests.get(w.entity)
        for sl in w.slices:
            starts, peaks = _window_peaks(w, sl, None, window_us)
            ends = starts + window_us
            for i, end in enumerate(ends.tolist()):
                bumped = []
                for ts, limit in kills.get(w.entity, ()):
                    if end - window_us <= ts < end:
                        used = max(v for v in (None if request is None else float(request), float(peaks[i]), limit) if v is not None)
                        bumped.append(max(used + s.oom_min_bump_mib * MIB, used * s.oom_bump_ratio))
                if bumped:
                    peaks[i] = max(float(peaks[i]), max(bumped))
            ends_all.append(ends)
            peaks_all.append(peaks)
        mem = np.concatenate(peaks_all)
        mem_q = histogram_quantiles(
            _buckets_of(MEMORY_BUCKETS, mem), _decay(np.concatenate(ends_all), reference, half_life), MEMORY_BUCKETS, qs
        )
        rows[E].append(w.entity)
        for n, v in zip(names, cpu_q, strict=True):
            rows[f"cpu_{n}"].append(v)
        for n, v in zip(names, mem_q, strict=True):
            rows[f"mem_{n}"].append(v)
    return pl.DataFrame(rows, schema={E: pl.UInt32(), **dict.fromkeys(list(rows)[1:], pl.Float64())})


WindowStatistic = Callable[[list[Window], Context, StrategySettings], pl.DataFrame]

WINDOW_STATISTICS: dict[str, WindowStatistic] = {
    "tiered": _tiered,
    "simple": _simple,
    "vpa": _vpa,
    "vpa-source": _vpa_source,
}
"""Strategy name -> its ``statistics`` from a day's windows (``_e`` + the same columns)."""

__all__ = ["KEYS", "WINDOW_STATISTICS", "Context", "Window", "Windows", "histogram_quantiles", "quantile", "summary"]
