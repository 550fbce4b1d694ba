"""Generate one pod's usage series: daily and weekly cycles, bursts, leaks, throttling, OOM kills.

Everything is vectorised over time with numpy; the only loop is over a
container's restarts (few per pod).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from kubetally.simulate.inventory import DAY, PodPlan
from kubetally.simulate.scenario import MI, ContainerSpec, Load

TIME_ZONE = ZoneInfo("Europe/Berlin")
"""The cluster's users live in Europe/Berlin: cycles follow their day, daylight saving time included."""
LOG_MAX_FILE_BYTES = 10 * MI
LOG_MAX_FILES = 5
"""kubelet defaults containerLogMaxSize=10Mi, containerLogMaxFiles=5: on-disk logs are capped."""


@dataclass
class ContainerSeries:
    spec: ContainerSpec
    cpu: np.ndarray
    working_set: np.ndarray
    rss: np.ndarray
    fs_read: np.ndarray
    fs_write: np.ndarray
    throttled: np.ndarray | None
    log_bytes: np.ndarray
    terminations: list[tuple[int, str]] = field(default_factory=list)
    """(unix seconds, reason) of every termination inside the window."""


@dataclass
class PodSeries:
    pod: PodPlan
    first: int
    """Index of the pod's first step in the window's time axis."""
    containers: list[ContainerSeries]
    network_rx: np.ndarray
    network_tx: np.ndarray


@cache
def _utc_offset(hour: int) -> int:
    offset = datetime.fromtimestamp(hour * 3600, TIME_ZONE).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def local_seconds(ts: np.ndarray) -> np.ndarray:
    """Unix seconds shifted to Europe/Berlin wall-clock time (its transitions fall on whole UTC hours)."""
    hours, index = np.unique(ts // 3600, return_inverse=True)
    offsets = np.fromiter((_utc_offset(int(h)) for h in hours), dtype=np.int64, count=len(hours))
    return np.asarray(ts + offsets[index])


def day_shape(ts: np.ndarray) -> np.ndarray:
    """0 at 03:00 local, 1 at 15:00 local: when people use the platform."""
    hours = (local_seconds(ts) % DAY) / 3600.0
    return 0.5 - 0.5 * np.cos(2 * np.pi * (hours - 3.0) / 24.0)


def is_weekend(ts: np.ndarray) -> np.ndarray:
    weekday = (local_seconds(ts) // DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return np.asarray(weekday >= 5)


def office_hours(ts: np.ndarray) -> np.ndarray:
    hours = (local_seconds(ts) % DAY) / 3600.0
    return np.asarray((hours >= 7.0) & (hours < 20.0) & ~is_weekend(ts))


def activity(load: Load, ts: np.ndarray, rng: np.random.Generator, step: int) -> np.ndarray:
    """The relative demand level (mean ~1) over time."""
    level = (1.0 - load.daily) + load.daily * 2.0 * day_shape(ts)
    level = np.where(is_weekend(ts), level * load.weekend, level)
    if load.night_off:
        level = np.where(office_hours(ts), 1.0, 0.02)
    if load.bursts_per_day > 0 and len(ts):
        span_days = len(ts) * step / DAY
        for _ in range(int(rng.poisson(load.bursts_per_day * span_days))):
            at = int(rng.integers(0, len(ts)))
            length = max(1, int(rng.uniform(5, 30) * 60 // step))
            level[at : at + length] *= load.burst
    noise = rng.lognormal(0.0, load.noise, size=len(ts)) if load.noise > 0 else 1.0
    return np.asarray(level * noise)


def _memory(load: Load, ts: np.ndarray, origin: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    base = load.memory * scale * (1.0 + load.memory_daily * (2.0 * day_shape(ts) - 1.0))
    growth = load.memory_growth_per_day * np.maximum(ts - origin, 0) / DAY
    return np.asarray(base + growth) * rng.normal(1.0, 0.01, size=len(ts))


def container_series(
    pod: PodPlan, spec: ContainerSpec, ts: np.ndarray, *, step: int, rng: np.random.Generator, error_at: int | None
) -> ContainerSeries:
    load = spec.load
    demand = load.cpu * pod.scale * activity(load, ts, rng, step)
    throttled: np.ndarray | None = None
    cpu = demand
    if spec.cpu_limit is not None:
        pressure = demand / spec.cpu_limit
        throttled = np.clip((pressure - 0.6) / 0.8, 0.0, 1.0)
        cpu = np.minimum(demand, spec.cpu_limit)

    # Memory with restarts: a leak grows until the limit is hit (OOMKilled) or an error restarts it.
    working_set = np.empty(len(ts))
    terminations: list[tuple[int, str]] = []
    origin = float(pod.start)
    i = 0
    while i < len(ts):
        segment = _memory(load, ts[i:], origin, pod.scale, rng)
        stop = len(segment)
        reason = ""
        if spec.memory_limit is not None:
            over = np.flatnonzero(segment >= spec.memory_limit)
            if len(over):
                stop, reason = int(over[0]) + 1, "OOMKilled"
                segment[over[0]] = spec.memory_limit
        if error_at is not None and i <= error_at < i + stop:
            stop, reason = error_at - i + 1, "Error"
            error_at = None
        working_set[i : i + stop] = segment[:stop]
        if not reason:
            break
        terminations.append((int(ts[i + stop - 1]) + step // 2, reason))
        origin = float(ts[i + stop - 1]) + step
        i += stop

    fs_write = load.fs_write_bytes_per_second * (0.3 + 0.7 * demand / max(load.cpu, 1e-9)) * pod.scale
    log_rate = load.log_bytes_per_second * (0.2 + 0.8 * demand / max(load.cpu, 1e-9))
    written = load.log_bytes_per_second * max(ts[0] - pod.start, 0) if len(ts) else 0.0
    total = written + np.cumsum(log_rate * step)
    cap = LOG_MAX_FILE_BYTES * LOG_MAX_FILES
    on_disk = np.where(total < cap, total, cap - LOG_MAX_FILE_BYTES + np.mod(total, LOG_MAX_FILE_BYTES))
    return ContainerSeries(
        spec=spec,
        cpu=cpu,
        working_set=working_set,
        rss=working_set * rng.uniform(0.78, 0.88),
        fs_read=fs_write * 0.3,
        fs_write=fs_write,
        throttled=throttled,
        log_bytes=np.floor(on_disk),
        terminations=terminations,
    )


def pod_series(pod: PodPlan, axis: np.ndarray, step: int, seed: int, window_start: int) -> PodSeries | None:
    """Series of every app container of ``pod`` over the steps it was alive, or None."""
    alive_from = max(pod.start, int(axis[0])) if len(axis) else pod.start
    first = int(np.searchsorted(axis, alive_from))
    last = len(axis) if pod.end is None else int(np.searchsorted(axis, pod.end))
    if last <= first:
        return None
    ts = axis[first:last]
    rng = np.random.default_rng([seed, 2, pod.index])
    error_at = None
    if pod.workload.error_restart_day is not None:
        at = int(np.searchsorted(ts, window_start + pod.workload.error_restart_day * DAY))
        error_at = at if at < len(ts) else None
    containers = [
        container_series(pod, spec, ts, step=step, rng=rng, error_at=error_at if n == 0 else None)
        for n, spec in enumerate(c for c in pod.workload.containers if not c.init)
    ]
    rate = sum(c.cpu * c.spec.load.network_bytes_per_core_second for c in containers)
    rx = np.asarray(rate, dtype=float) * np.ones(len(ts))
    return PodSeries(pod, first, containers, rx, rx * 0.7)
