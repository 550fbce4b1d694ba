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

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    return float(buckets.first_bucket_size * (buckets.ratio ** float(bucket) - 1) / (buckets.ratio - 1))


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
        # cum never decreases: the first bucket with cum >= threshold
        b = min(int(np.searchsorted(cum, total * q - 1e-12 * total, side="left")), last)
        out.append(_bucket_start(buckets, b + 1 if b < last else b))
    return out


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate`` without the copy for one part (one pod)."""
    if len(parts) == 1:
        return parts[0]
    joined: np.ndarray = np.concatenate(parts)
    return joined


def _decay(t: np.ndarray, reference: int, half_life_seconds: float) -> np.ndarray:
    """:func:`kubetally.model.stats.decay_weight_expr` of microsecond timestamps."""
    age = (t - reference).astype(np.float64) / 1e6
    return np.power(2.0, age / half_life_seconds)


@dataclass(frozen=True)
class Window:
    """One entity's samples in one day's trailing window: per pod, a slice of each track of the
    arrays (``slices``: every sample; ``cpu``: samples with CPU usage; ``mem``: with a working set)."""

    entity: int
    slices: list[slice]
    cpu: list[slice]
    mem: list[slice]


@dataclass(frozen=True)
class _Track:
    """Samples sorted by entity, pod and time: timestamps (µs), values, and per pod the index of its
    first sample of each refresh period."""

    t: np.ndarray
    values: np.ndarray
    bounds: list[np.ndarray]

    @staticmethod
    def of(frame: pl.DataFrame, value: str | None, pods: pl.DataFrame, periods: int) -> _Track:
        """``frame``: ``_g`` (pod number), ``_t``, ``_p`` and ``value``, sorted by ``_g`` and ``_t``."""
        t = frame.get_column("_t").to_numpy()
        values = frame.get_column(value).to_numpy() if value else np.empty(0)
        period = frame.get_column("_p").to_numpy()
        pod = frame.get_column("_g").to_numpy()
        grid = np.arange(periods)
        edges = np.searchsorted(pod, np.arange(pods.height + 1), side="left")
        bounds = [int(lo) + np.searchsorted(period[lo:hi], grid, side="left") for lo, hi in itertools.pairwise(edges)]
        return _Track(t, values, bounds)


class Windows:
    """A batch's samples (``_e``, pod, timestamp, CPU, memory, refresh period ``_p``) as arrays sorted
    by entity, pod and time: one track of every sample, one of the CPU samples, one of the memory
    samples (nulls dropped), so a day's window of a pod is one contiguous slice of each."""

    def __init__(self, data: pl.DataFrame) -> None:
        ordered = data.select(
            E,
            c.POD,
            pl.col(c.TIMESTAMP).dt.epoch("us").alias("_t"),
            c.CPU_USAGE_CORES,
            c.MEMORY_WORKING_SET_BYTES,
            "_p",
        ).sort(E, c.POD, "_t")
        pods = ordered.select(E, c.POD).unique(maintain_order=True).with_row_index("_g")
        ordered = ordered.join(pods, on=[E, c.POD], how="left", maintain_order="left")
        self.periods = int(ordered.get_column("_p").cast(pl.Int64).fill_null(0).max() or 0) + 2  # type: ignore[arg-type]
        self.all = _Track.of(ordered, None, pods, self.periods)
        cpu = ordered.filter(pl.col(c.CPU_USAGE_CORES).is_not_null())
        self.cpu = _Track.of(cpu, c.CPU_USAGE_CORES, pods, self.periods)
        self.cpu_buckets = _buckets_of(CPU_BUCKETS, self.cpu.values)
        self.mem = _Track.of(
            ordered.filter(pl.col(c.MEMORY_WORKING_SET_BYTES).is_not_null()),
            c.MEMORY_WORKING_SET_BYTES,
            pods,
            self.periods,
        )
        self.entities: list[int] = []
        self._pods: list[list[int]] = []
        for g, e in enumerate(pods.get_column(E).to_list()):
            if not self.entities or self.entities[-1] != e:
                self.entities.append(int(e))
                self._pods.append([])
            self._pods[-1].append(g)
        self._whole_seconds = bool((self.cpu.t % 1_000_000 == 0).all())
        self._tables: dict[float, np.ndarray] = {}
        self._windows_of: dict[tuple[int, int], list[Window]] = {}
        self._summaries: dict[tuple[int, int, int], pl.DataFrame] = {}

    def windows(self, period: int, width: int) -> list[Window]:
        """Each entity's samples with refresh period in ``[period - width, period)`` (entities without
        any are left out)."""
        key = (period, width)
        if key not in self._windows_of:
            self._windows_of[key] = self._windows(period, width)
        return self._windows_of[key]

    def summary(self, period: int, width: int, step_seconds: int) -> pl.DataFrame:
        """:func:`summary` of the window (computed once for all strategies)."""
        key = (period, width, step_seconds)
        if key not in self._summaries:
            self._summaries[key] = summary(self, self.windows(period, width), step_seconds)
        return self._summaries[key]

    def _windows(self, period: int, width: int) -> list[Window]:
        lo, hi = min(max(period - width, 0), self.periods - 1), min(max(period, 0), self.periods - 1)

        def cut(track: _Track, g: int) -> slice:
            return slice(int(track.bounds[g][lo]), int(track.bounds[g][hi]))

        out = []
        for e, pods in zip(self.entities, self._pods, strict=True):
            kept = [g for g in pods if self.all.bounds[g][hi] > self.all.bounds[g][lo]]
            if kept:
                out.append(
                    Window(
                        e,
                        [cut(self.all, g) for g in kept],
                        [cut(self.cpu, g) for g in kept],
                        [cut(self.mem, g) for g in kept],
                    )
                )
        return out

    def decay(self, t: np.ndarray, reference: int, half_life_seconds: float) -> np.ndarray:
        """:func:`_decay` of CPU sample times; when every timestamp is a whole second (as in the traces)
        the weights are read from a table of :func:`_decay` of each age in seconds (the same numbers,
        one power per distinct age instead of one per sample and day)."""
        if not self._whole_seconds or reference % 1_000_000:
            return _decay(t, reference, half_life_seconds)
        ages = (reference - t) // 1_000_000
        if ages.size == 0 or ages.min() < 0:
            return _decay(t, reference, half_life_seconds)
        table = self._tables.get(half_life_seconds)
        need = int(ages.max()) + 1
        if table is None or table.size < need:
            size = max(need, 2 * (0 if table is None else table.size))
            table = _decay(-np.arange(size, dtype=np.int64) * 1_000_000, 0, half_life_seconds)
            self._tables[half_life_seconds] = table
        weights: np.ndarray = table[ages]
        return weights

    def newest(self, windows: list[Window]) -> int | None:
        """The newest timestamp of all ``windows`` (µs)."""
        ends = [int(self.all.t[s.stop - 1]) for w in windows for s in w.slices]
        return max(ends) if ends else None


def summary(arrays: Windows, windows: list[Window], step_seconds: int) -> pl.DataFrame:
    """``_e`` + the columns of :func:`kubetally.analysis.rightsizing.usage_summary`."""
    rows: dict[str, list[object]] = {
        E: [],
        c.DATA_POINTS: [],
        c.MEMORY_PEAK_BYTES: [],
        c.HISTORY_HOURS: [],
        "sampled_pods": [],
        c.CPU_USAGE_P95_CORES: [],
    }
    t, cpu, mem = arrays.all.t, arrays.cpu.values, arrays.mem.values
    for w in windows:
        peaks = [float(mem[s].max()) for s in w.mem if s.stop > s.start]
        t0 = min(int(t[s.start]) for s in w.slices)
        t1 = max(int(t[s.stop - 1]) for s in w.slices)
        rows[E].append(w.entity)
        rows[c.DATA_POINTS].append(sum(s.stop - s.start for s in w.cpu))
        rows[c.MEMORY_PEAK_BYTES].append(max(peaks) if peaks else None)
        rows[c.HISTORY_HOURS].append(float(int((t1 - t0) / 1_000_000) + step_seconds) / 3600)
        rows["sampled_pods"].append(len(w.slices))
        rows[c.CPU_USAGE_P95_CORES].append(_max([quantile(cpu[s], 0.95) for s in w.cpu]))
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
    peaks: dict[int, Peaks] | None = None
    """When given, statistics that react to OOM kills keep here what they need to redo it."""


def _max(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _per_entity(info: pl.DataFrame, column: str) -> dict[int, Any]:
    return dict(zip(info.get_column(E).to_list(), info.get_column(column).to_list(), strict=True))


def _tiered(arrays: Windows, windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
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
    cpu, mem, t_mem = arrays.cpu.values, arrays.mem.values, arrays.mem.t
    rows: dict[str, list[object]] = {E: [], "_cpu": [], "_mem": []}
    for w in windows:
        qc, qm = float(q_cpu[w.entity]), float(q_mem[w.entity])
        rows[E].append(w.entity)
        rows["_cpu"].append(_max([quantile(cpu[s], qc) for s in w.cpu]))
        if peaks[w.entity]:
            # each pod's highest working set per UTC day (days without memory samples have none)
            parts = []
            for s in w.mem:
                if s.stop > s.start:
                    days = t_mem[s] // _DAY_US
                    parts.append(np.maximum.reduceat(mem[s], np.flatnonzero(np.diff(days, prepend=days[0] - 1))))
            rows["_mem"].append(quantile(_join(parts), qm) if parts else None)
        else:
            rows["_mem"].append(quantile(_join([mem[s] for s in w.mem]), qm))
    return pl.DataFrame(rows, schema={E: pl.UInt32(), "_cpu": pl.Float64(), "_mem": pl.Float64()})


def _simple(arrays: Windows, windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, SimpleSettings)
    schema = {E: pl.UInt32(), "_cpu": pl.Float64()}
    if settings.cpu_percentile == 95:
        return pl.DataFrame(schema=schema)
    q = settings.cpu_percentile / 100
    rows = [(w.entity, _max([quantile(arrays.cpu.values[s], q) for s in w.cpu])) for w in windows]
    return pl.DataFrame(rows, schema=schema, orient="row").filter(pl.col("_cpu").is_not_null())


def _window_peaks(t: np.ndarray, mem: np.ndarray, window_us: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, peak) of each aggregation window counted from the pod's first memory sample."""
    if t.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    first = int(t[0])
    index = (t - first) // window_us
    starts = np.flatnonzero(np.diff(index, prepend=index[0] - 1))
    return index[starts] * window_us + first, np.maximum.reduceat(mem, starts)


def _vpa(arrays: Windows, windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, VpaSettings)
    s = settings
    q = (s.target_percentile,)
    history_us = int(s.history_days * 86400) * 1_000_000
    window_us = int(s.memory_aggregation_hours * 3600 * 1_000_000)
    cpu_t, mem_t, mem = arrays.cpu.t, arrays.mem.t, arrays.mem.values
    rows: dict[str, list[object]] = {E: [], "_cpu": [], "_mem": []}
    for w in windows:
        newest = max(int(arrays.all.t[sl.stop - 1]) for sl in w.slices)
        cut = newest - history_us
        buckets, weights, peaks = [], [], []
        for sc, sm in zip(w.cpu, w.mem, strict=True):
            recent = slice(sc.start + int(np.searchsorted(cpu_t[sc], cut, side="right")), sc.stop)
            buckets.append(arrays.cpu_buckets[recent])
            weights.append(arrays.decay(cpu_t[recent], newest, s.cpu_half_life_hours * 3600))
            recent = slice(sm.start + int(np.searchsorted(mem_t[sm], cut, side="right")), sm.stop)
            peaks.append(_window_peaks(mem_t[recent], mem[recent], window_us)[1])
        rows[E].append(w.entity)
        rows["_cpu"].append(histogram_quantiles(_join(buckets), _join(weights), CPU_BUCKETS, q)[0])
        top = _join(peaks)
        rows["_mem"].append(
            histogram_quantiles(_buckets_of(MEMORY_BUCKETS, top), np.ones(top.size), MEMORY_BUCKETS, q)[0]
        )
    return pl.DataFrame(rows, schema={E: pl.UInt32(), "_cpu": pl.Float64(), "_mem": pl.Float64()})


Peaks = list[tuple[np.ndarray, np.ndarray]]
"""Per pod: (end, peak) of each memory aggregation window, as the OOM bump needs them."""


def _kills(ctx: Context) -> dict[int, list[tuple[int, float | None]]]:
    kills: dict[int, list[tuple[int, float | None]]] = {}
    for e, ts, limit in ctx.ooms.select(E, pl.col(c.TIMESTAMP).dt.epoch("us"), c.MEMORY_LIMIT_BYTES).iter_rows():
        kills.setdefault(e, []).append((ts, None if limit is None else float(limit)))
    return kills


def _vpa_source_memory(
    peaks: Peaks,
    kills: list[tuple[int, float | None]],
    request: float | None,
    s: VpaSourceSettings,
    reference: int,
) -> list[float | None]:
    """The decayed memory-peak histogram's percentiles, each OOM kill counted as a peak of
    ``max(used + bump, used x ratio)`` in its window (``used = max(request, peak, limit at the kill)``)."""
    window_us = int(s.memory_aggregation_hours * 3600 * 1_000_000)
    ends_all, peaks_all = [], []
    for ends, raw in peaks:
        top = raw
        if kills:
            top = raw.copy()
            for i, end in enumerate(ends.tolist()):
                bumped = []
                for ts, limit in kills:
                    if end - window_us <= ts < end:
                        used = max(float(v) for v in (request, top[i], limit) if v is not None)
                        bumped.append(max(used + s.oom_min_bump_mib * MIB, used * s.oom_bump_ratio))
                if bumped:
                    top[i] = max(float(top[i]), *bumped)
        ends_all.append(ends)
        peaks_all.append(top)
    values = _join(peaks_all) if peaks_all else np.empty(0)
    weights = _decay(_join(ends_all), reference, s.half_life_hours * 3600) if ends_all else np.empty(0)
    qs = (s.lower_bound_percentile, s.target_percentile, s.upper_bound_percentile)
    return histogram_quantiles(_buckets_of(MEMORY_BUCKETS, values), weights, MEMORY_BUCKETS, qs)


_BOUNDS = ("lower", "target", "upper")


def _vpa_source(arrays: Windows, windows: list[Window], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    assert isinstance(settings, VpaSourceSettings)
    s = settings
    qs = (s.lower_bound_percentile, s.target_percentile, s.upper_bound_percentile)
    half_life = s.half_life_hours * 3600
    window_us = int(s.memory_aggregation_hours * 3600 * 1_000_000)
    reference = ctx.newest if ctx.newest is not None else 0
    requests = _per_entity(ctx.info, c.CURRENT_MEMORY_REQUEST_BYTES)
    kills = _kills(ctx)
    cpu_t, mem_t, mem = arrays.cpu.t, arrays.mem.t, arrays.mem.values
    rows: dict[str, list[object]] = {E: [], **{f"cpu_{n}": [] for n in _BOUNDS}, **{f"mem_{n}": [] for n in _BOUNDS}}
    for w in windows:
        bucket = _join([arrays.cpu_buckets[sl] for sl in w.cpu])
        weight = arrays.decay(_join([cpu_t[sl] for sl in w.cpu]), reference, half_life)
        cpu_q = histogram_quantiles(bucket, weight, CPU_BUCKETS, qs)
        peaks: Peaks = []
        for sl in w.mem:
            starts, top = _window_peaks(mem_t[sl], mem[sl], window_us)
            peaks.append((starts + window_us, top))
        if ctx.peaks is not None:
            ctx.peaks[w.entity] = peaks
        request = requests.get(w.entity)
        mem_q = _vpa_source_memory(
            peaks,
            kills.get(w.entity, []),
            None if request is None else float(request),
            s,
            reference,
        )
        rows[E].append(w.entity)
        for n, v in zip(_BOUNDS, cpu_q, strict=True):
            rows[f"cpu_{n}"].append(v)
        for n, v in zip(_BOUNDS, mem_q, strict=True):
            rows[f"mem_{n}"].append(v)
    return pl.DataFrame(rows, schema={E: pl.UInt32(), **dict.fromkeys(list(rows)[1:], pl.Float64())})


def _vpa_source_rekilled(peaks: dict[int, Peaks], ctx: Context, settings: StrategySettings) -> pl.DataFrame:
    """``_e`` + ``mem_lower|target|upper`` of the entities with OOM kills in ``ctx.ooms``, from the peaks
    :func:`_vpa_source` kept (the CPU percentiles do not depend on kills)."""
    assert isinstance(settings, VpaSourceSettings)
    requests = _per_entity(ctx.info, c.CURRENT_MEMORY_REQUEST_BYTES)
    rows: dict[str, list[object]] = {E: [], **{f"mem_{n}": [] for n in _BOUNDS}}
    for e, kills in _kills(ctx).items():
        if e not in peaks:
            continue
        request = requests.get(e)
        mem_q = _vpa_source_memory(
            peaks[e],
            kills,
            None if request is None else float(request),
            settings,
            ctx.newest or 0,
        )
        rows[E].append(e)
        for n, v in zip(_BOUNDS, mem_q, strict=True):
            rows[f"mem_{n}"].append(v)
    return pl.DataFrame(rows, schema={E: pl.UInt32(), **dict.fromkeys(list(rows)[1:], pl.Float64())})


WindowStatistic = Callable[[Windows, list[Window], Context, StrategySettings], pl.DataFrame]

WINDOW_STATISTICS: dict[str, WindowStatistic] = {
    "tiered": _tiered,
    "simple": _simple,
    "vpa": _vpa,
    "vpa-source": _vpa_source,
}
"""Strategy name -> its ``statistics`` from a day's windows (``_e`` + the same columns)."""

OOM_REACTIVE: dict[str, Callable[[dict[int, Peaks], Context, StrategySettings], pl.DataFrame]] = {
    "vpa-source": _vpa_source_rekilled,
}
"""Strategies whose statistics change with the OOM kills recorded so far: name -> a function giving the
changed columns of the entities with kills, from what the statistic kept in ``Context.peaks``."""

__all__ = ["KEYS", "WINDOW_STATISTICS", "Context", "Window", "Windows", "histogram_quantiles", "quantile", "summary"]
