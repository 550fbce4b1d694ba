"""Turn a plan into a Dataset: the simulator's ground truth.

Series are generated pod by pod in batches. With ``spill_dir`` each batch is
written to Parquet as soon as it is made, so memory stays bounded by the batch
size however many workloads or days are simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from kubetally.dataset import Dataset, DatasetInfo
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.config import ScenarioConfig
from kubetally.simulate.inventory import Plan, PodPlan, plan
from kubetally.simulate.objects import inventory_frames
from kubetally.simulate.scenario import CLUSTER
from kubetally.simulate.series import PodSeries, pod_series

SOURCE = "simulator:auditflow"
BATCH_ROWS = 1_000_000
"""Usage rows generated before a batch is turned into frames (and spilled): bounds memory."""

Progress = Callable[[int, int], None]
"""Called with (pods done, pods in all) while series are generated."""


@dataclass
class _SeriesSink:
    """Collects series frames in memory, or spills them to Parquet part files."""

    spill_dir: Path | None
    parts: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        if self.spill_dir is None:
            self.parts.setdefault(name, []).append(frame)
            return
        n = self.counts.get(name, 0)
        directory = self.spill_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(directory / f"part-{n:05d}.parquet", compression="zstd", statistics=False)
        self.counts[name] = n + 1

    def frame(self, spec: schema.FrameSpec) -> pl.LazyFrame:
        if self.spill_dir is not None and self.counts.get(spec.name):
            return pl.scan_parquet(self.spill_dir / spec.name / "*.parquet")
        parts = self.parts.get(spec.name)
        if not parts:
            return schema.empty(spec).lazy()
        return pl.concat(parts, rechunk=False).lazy()


def _timestamps(axis: np.ndarray, index: np.ndarray) -> pl.Series:
    return pl.Series(c.TIMESTAMP, axis[index] * 1_000_000).cast(pl.Datetime("us", "UTC"))


def _batch_frames(batch: list[PodSeries], axis: np.ndarray) -> Iterator[tuple[str, pl.DataFrame]]:
    keys: list[tuple[str, str, str]] = []
    idx: list[np.ndarray] = []
    key_of: list[np.ndarray] = []
    cols: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            c.CPU_USAGE_CORES,
            c.MEMORY_WORKING_SET_BYTES,
            c.MEMORY_RSS_BYTES,
            c.FS_READ_BYTES_PER_SECOND,
            c.FS_WRITE_BYTES_PER_SECOND,
            c.CPU_THROTTLED_RATIO,
            c.LOG_BYTES,
        )
    }
    net_idx, net_pod, rx, tx = [], [], [], []
    pods: list[tuple[str, str]] = []
    for ps in batch:
        n = len(ps.network_rx)
        steps = np.arange(ps.first, ps.first + n)
        pods.append((ps.pod.workload.namespace, ps.pod.name))
        net_idx.append(steps)
        net_pod.append(np.full(n, len(pods) - 1))
        rx.append(ps.network_rx)
        tx.append(ps.network_tx)
        for cs in ps.containers:
            keys.append((ps.pod.workload.namespace, ps.pod.name, cs.spec.name))
            idx.append(steps)
            key_of.append(np.full(n, len(keys) - 1))
            cols[c.CPU_USAGE_CORES].append(cs.cpu)
            cols[c.MEMORY_WORKING_SET_BYTES].append(cs.working_set)
            cols[c.MEMORY_RSS_BYTES].append(cs.rss)
            cols[c.FS_READ_BYTES_PER_SECOND].append(cs.fs_read)
            cols[c.FS_WRITE_BYTES_PER_SECOND].append(cs.fs_write)
            cols[c.CPU_THROTTLED_RATIO].append(cs.throttled if cs.throttled is not None else np.full(n, np.nan))
            cols[c.LOG_BYTES].append(cs.log_bytes)
    if not keys:
        return
    key_frame = pl.DataFrame(
        {
            "_key": np.arange(len(keys)),
            c.CLUSTER: [CLUSTER] * len(keys),
            c.NAMESPACE: [k[0] for k in keys],
            c.POD: [k[1] for k in keys],
            c.CONTAINER: [k[2] for k in keys],
        }
    )
    step_index = np.concatenate(idx)
    values = {name: np.concatenate(parts) for name, parts in cols.items()}
    rows = pl.DataFrame({"_key": np.concatenate(key_of), c.TIMESTAMP: _timestamps(axis, step_index), **values})
    rows = rows.with_columns(pl.col(c.CPU_THROTTLED_RATIO).fill_nan(None))
    joined = rows.join(key_frame, on="_key", how="left")
    yield schema.USAGE.name, joined.select(schema.USAGE.names)
    yield schema.LOG_USAGE.name, joined.select(schema.LOG_USAGE.names)

    pod_frame = pl.DataFrame(
        {
            "_pod": np.arange(len(pods)),
            c.CLUSTER: [CLUSTER] * len(pods),
            c.NAMESPACE: [p[0] for p in pods],
            c.POD: [p[1] for p in pods],
        }
    )
    net = pl.DataFrame(
        {
            "_pod": np.concatenate(net_pod),
            c.TIMESTAMP: _timestamps(axis, np.concatenate(net_idx)),
            c.NETWORK_RECEIVE_BYTES_PER_SECOND: np.concatenate(rx),
            c.NETWORK_TRANSMIT_BYTES_PER_SECOND: np.concatenate(tx),
        }
    ).join(pod_frame, on="_pod", how="left")
    yield schema.POD_NETWORK.name, net.select(schema.POD_NETWORK.names)


def simulate(config: ScenarioConfig, *, spill_dir: Path | None = None, progress: Progress | None = None) -> Dataset:
    """Simulate the AuditFlow cluster and return its ground-truth Dataset.

    Deterministic: the same config gives the same frames. ``spill_dir`` (which must
    exist and stay until the dataset is saved) bounds memory for large runs.
    """
    layout = plan(config)
    step = config.step_seconds
    axis = np.arange(layout.start, layout.end, step, dtype=np.int64)
    node_index = {n.name: i for i, n in enumerate(layout.nodes)}
    node_cpu = np.zeros((len(layout.nodes), len(axis)))
    node_mem = np.zeros((len(layout.nodes), len(axis)))
    node_net = np.zeros((len(layout.nodes), len(axis)))
    sink = _SeriesSink(spill_dir)
    generated: list[PodSeries] = []
    batch: list[PodSeries] = []
    batch_rows = 0
    for done, pod in enumerate(layout.pods, start=1):
        series = pod_series(pod, axis, step, config.seed, layout.start)
        if series is not None:
            span = slice(series.first, series.first + len(series.network_rx))
            row = node_index[pod.node]
            for cs in series.containers:
                node_cpu[row, span] += cs.cpu
                node_mem[row, span] += cs.working_set
            node_net[row, span] += series.network_rx
            batch.append(series)
            batch_rows += len(series.network_rx) * len(series.containers)
        if batch_rows >= BATCH_ROWS or done == len(layout.pods):
            for name, frame in _batch_frames(batch, axis):
                sink.add(name, frame)
            generated.extend(_light(s) for s in batch)
            batch, batch_rows = [], 0
        if progress is not None and (done % 64 == 0 or done == len(layout.pods)):
            progress(done, len(layout.pods))

    tables = inventory_frames(layout, generated, axis)
    node_usage = _node_usage(layout, axis, node_cpu, node_mem, node_net)
    info = DatasetInfo(
        source=SOURCE,
        start=datetime.fromtimestamp(layout.start, UTC),
        end=datetime.fromtimestamp(layout.end, UTC),
        step_seconds=step,
    )
    return Dataset.create(
        info,
        **tables,
        usage=sink.frame(schema.USAGE),
        pod_network=sink.frame(schema.POD_NETWORK),
        log_usage=sink.frame(schema.LOG_USAGE),
        node_usage=node_usage,
    )


def _light(series: PodSeries) -> PodSeries:
    """Keep what inventory needs (terminations, first step), drop the big arrays."""
    empty = np.empty(0)
    for cs in series.containers:
        cs.cpu = cs.working_set = cs.rss = cs.fs_read = cs.fs_write = cs.log_bytes = empty
        cs.throttled = None
    return PodSeries(series.pod, series.first, series.containers, empty, empty)


def _node_usage(layout: Plan, axis: np.ndarray, cpu: np.ndarray, mem: np.ndarray, net: np.ndarray) -> pl.DataFrame:
    frames = []
    for i, node in enumerate(layout.nodes):
        rng = np.random.default_rng([layout.config.seed, 3, i])
        noise = rng.normal(1.0, 0.03, size=len(axis))
        frames.append(
            pl.DataFrame(
                {
                    c.CLUSTER: CLUSTER,
                    c.NODE: node.name,
                    c.TIMESTAMP: _timestamps(axis, np.arange(len(axis))),
                    c.CPU_USAGE_CORES: np.minimum(cpu[i] + node.system_cpu_cores * noise, node.cpu_cores),
                    c.MEMORY_USED_BYTES: mem[i] + node.system_memory_bytes * noise,
                    c.NETWORK_RECEIVE_BYTES_PER_SECOND: net[i] + 2_000 * noise,
                    c.NETWORK_TRANSMIT_BYTES_PER_SECOND: net[i] * 0.7 + 1_500 * noise,
                }
            )
        )
    return pl.concat(frames)


__all__ = ["SOURCE", "PodPlan", "simulate"]
