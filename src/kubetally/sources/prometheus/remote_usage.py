"""Container CPU and working-set summaries straight from remote read: no PromQL, no JSON, no raw frame kept.

For each time slice (whole hours, so no hour is split between slices) four remote-read requests fetch every
cAdvisor sample of ``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes`` and the two
CFS period counters (throttled / all: the throttling ratio per step) for the whole cluster; the XOR chunks are
decoded (:mod:`.xor`), CPU becomes the rate between consecutive samples of a series (a counter reset counts
from zero, as Prometheus' ``rate`` does), and both go into hourly summaries (:mod:`kubetally.model.sketch`)
before the next slice is fetched. The request count is 4 per slice whatever the number of containers; memory
is bounded by one slice.

Each sample stands for the step that ends at it (``timestamp = t - step``), as the range-query path reads it;
several series of one container in one step (a restart under a new cgroup) are summed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import numpy as np
import polars as pl

from kubetally.model import columns as c
from kubetally.model.schema import TIME
from kubetally.model.sketch import HOUR, SERIES, LogBuckets, Summary, hourly_summary
from kubetally.sources.prometheus.remote_read import Matcher, Raw, read_chunks

KEYS = (c.NAMESPACE, c.POD, c.CONTAINER)
CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
THROTTLED = "container_cpu_cfs_throttled_periods_total"
PERIODS = "container_cpu_cfs_periods_total"


@dataclass(frozen=True)
class UsageSummaries:
    cpu: Summary
    memory: Summary
    throttled: Summary
    """Throttled CFS periods / CFS periods per step (containers with a CPU limit only)."""
    requests: int
    samples: int
    """Raw samples decoded (both families)."""
    bytes_read: int


def container_matchers(job: str = "kubelet") -> list[Matcher]:
    """cAdvisor container series, as the range-query path selects them (no pod cgroup, no pause container)."""
    return [Matcher("job", "=~", job), Matcher("container", "!~", "|POD"), Matcher("pod", "!=", ""),
            Matcher("id", "!=", "")]  # fmt: skip


def _frame(raw: Raw, value: np.ndarray, keep: np.ndarray, step_ms: int) -> pl.DataFrame:
    names = pl.DataFrame(
        {
            SERIES: np.arange(len(raw.labels), dtype=np.int64),
            **{k: [lab.get(k, "") for lab in raw.labels] for k in KEYS},
        }
    )
    samples = pl.DataFrame(
        {
            SERIES: raw.series[keep],
            c.TIMESTAMP: ((raw.t_ms[keep] // step_ms) * step_ms - step_ms) * 1000,
            "_v": value[keep],
        }
    ).with_columns(pl.col(c.TIMESTAMP).cast(TIME))
    return samples.join(names, on=SERIES).drop(SERIES)


def increases(raw: Raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counter increase since the previous sample, seconds since it, mask of samples that have one:
    not the first of their series). A decrease is a reset: the counter restarted from zero."""
    if raw.t_ms.size == 0:
        return np.empty(0), np.empty(0), np.zeros(0, dtype=bool)
    dv = np.diff(raw.value, prepend=raw.value[0])
    dv = np.where(dv < 0, raw.value, dv)
    dt = np.diff(raw.t_ms, prepend=raw.t_ms[0]) / 1000.0
    first = np.ones(raw.series.size, dtype=bool)
    first[1:] = raw.series[1:] != raw.series[:-1]
    return dv, dt, ~first & (dt > 0)


def cpu_rates(raw: Raw) -> tuple[np.ndarray, np.ndarray]:
    """(rate in cores per sample, mask of samples that have a rate: not the first of their series)."""
    dv, dt, keep = increases(raw)
    return np.divide(dv, dt, out=np.zeros_like(dv), where=keep), keep


def usage_summaries(
    http: httpx.Client,
    *,
    start_s: int,
    end_s: int,
    step_s: int,
    matchers: Sequence[Matcher] | None = None,
    slice_hours: int = 6,
    buckets: LogBuckets | None = None,
    progress: Callable[[str], None] | None = None,
) -> UsageSummaries:
    """Hourly CPU and working-set summaries per (namespace, pod, container) for the steps in [start, end)."""
    say = progress or (lambda _: None)
    selector = list(matchers if matchers is not None else container_matchers())
    slice_s = slice_hours * 3600
    margin_ms = 4 * step_s * 1000  # the sample before a slice's first step, for its rate
    parts: dict[str, list[Summary]] = {"cpu": [], "memory": [], "throttled": []}
    requests = samples = read = 0
    t = start_s
    while t < end_s:
        stop = min(end_s, (t // slice_s + 1) * slice_s)
        lo_ms, hi_ms = (t + step_s) * 1000, stop * 1000  # samples stand for the step ending at them
        for name, family in (("cpu", CPU), ("memory", MEMORY)):
            raw = read_chunks(http, [Matcher("__name__", "=", family), *selector], lo_ms - margin_ms, hi_ms)
            requests += 1
            samples += raw.t_ms.size
            read += raw.bytes_read
            if name == "cpu":
                value, keep = cpu_rates(raw)
            else:
                value, keep = raw.value, np.ones(raw.t_ms.size, dtype=bool)
            keep &= raw.t_ms >= lo_ms
            frame = _frame(raw, value, keep, step_s * 1000)
            summed = frame.lazy().group_by(*KEYS, c.TIMESTAMP).agg(pl.col("_v").sum())
            # summarised now: only the slice's hourly rows are kept
            parts[name].append(hourly_summary(summed, keys=KEYS, value="_v", time=c.TIMESTAMP, buckets=buckets))
            del raw, frame
        counted = []
        for family in (THROTTLED, PERIODS):
            raw = read_chunks(http, [Matcher("__name__", "=", family), *selector], lo_ms - margin_ms, hi_ms)
            requests += 1
            samples += raw.t_ms.size
            read += raw.bytes_read
            dv, _, keep = increases(raw)
            keep &= raw.t_ms >= lo_ms
            counted.append(_frame(raw, dv, keep, step_s * 1000).group_by(*KEYS, c.TIMESTAMP).agg(pl.col("_v").sum()))
        ratio = (
            counted[0]
            .join(counted[1], on=[*KEYS, c.TIMESTAMP], suffix="_periods")
            .filter(pl.col("_v_periods") > 0)
            .select(*KEYS, c.TIMESTAMP, (pl.col("_v") / pl.col("_v_periods")).alias("_v"))
        )
        parts["throttled"].append(
            hourly_summary(ratio.lazy(), keys=KEYS, value="_v", time=c.TIMESTAMP, buckets=buckets)
        )
        say(f"remote read: {stop - start_s} of {end_s - start_s} s")
        t = stop
    cpu, memory, throttled = (_merge(parts[name], buckets) for name in ("cpu", "memory", "throttled"))
    return UsageSummaries(cpu, memory, throttled, requests, samples, read)


def _merge(slices: list[Summary], buckets: LogBuckets | None) -> Summary:
    """One Summary from per-slice summaries (slices hold whole hours, so rows never collide)."""
    b = buckets or LogBuckets()
    if not slices:
        empty = pl.DataFrame({k: [] for k in KEYS}, schema=dict.fromkeys(KEYS, pl.String))
        return hourly_summary(empty.with_columns(pl.lit(None, TIME).alias("t"), pl.lit(0.0).alias("v")).lazy(),
                              keys=KEYS, value="v", time="t", buckets=b)  # fmt: skip
    index = pl.concat([s.index.select(KEYS) for s in slices]).unique().sort(KEYS)
    index = index.with_row_index(SERIES).with_columns(pl.col(SERIES).cast(pl.Int32)).select(*KEYS, SERIES)
    stats: list[pl.DataFrame] = []
    sketch: list[pl.DataFrame] = []
    for s in slices:
        remap = s.index.join(index, on=list(KEYS), suffix="_new").select(SERIES, f"{SERIES}_new")
        for out, frame in ((stats, s.stats), (sketch, s.sketch)):
            out.append(frame.join(remap, on=SERIES).drop(SERIES).rename({f"{SERIES}_new": SERIES}))
    order = [SERIES, HOUR]
    return Summary(
        KEYS,
        index,
        pl.concat(stats).select(SERIES, pl.exclude(SERIES)).sort(order),
        pl.concat(sketch).select(SERIES, pl.exclude(SERIES)),
        b,
    )
