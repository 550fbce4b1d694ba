"""Recording metrics-server (``metrics.k8s.io``) into a dataset directory, for clusters without Prometheus.

``DIR`` is an ordinary dataset (``manifest.json`` + Parquet frames: any command reads it with
``--dataset DIR``) with the recorder's own store beside the frames, in ``DIR/.record/``:

- ``samples-YYYY-MM-DD.jsonl``: one line per tick ``{"t": tick, "pods": [...], "nodes": [...]}``, appended
  and fsynced before the next tick. Ticks sit on a fixed grid (multiples of ``every`` since the epoch),
  so a restarted recorder resumes on the same grid and never records a tick twice; a line cut by a
  kill is truncated away on restart (only the sample in flight is lost).
- ``pods.json``: every pod seen in the kept window (the latest object of each, and when it was last
  seen), so pods that ended still have their containers, requests and owners; ``objects.json``: the
  other objects, as last listed. Both re-listed every ``objects_every`` seconds, written atomically.

A sample of a pod whose metrics ``timestamp`` did not move since the last tick is stale
(metrics-server had not scraped it again) and is not recorded: unknown, not repeated. Disk is
bounded by ``keep``: whole days of samples older than the window are deleted, pods not seen within
it forgotten. The dataset frames are rewritten every ``flush_every`` ticks and when recording stops.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from kubetally.dataset import Dataset, DatasetInfo, replace_frames
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.kubernetes.api import Kind, _Reader, _Unavailable, connect, list_objects
from kubetally.sources.kubernetes.objects import Cluster, cpu, memory, name_of, namespace_of
from kubetally.sources.kubernetes.settings import KubeConnection

STORE = ".record"
PODS = Kind("metrics.k8s.io/v1beta1", "pods", "PodMetrics", "pod usage")
NODES = Kind("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", "node usage")
NOTE = (
    "usage from metrics-server (metrics.k8s.io) sampled every {every} s: CPU is metrics-server's average over "
    "its window, memory the working set; no RSS, filesystem, throttling or network; node memory is the "
    "node's working set"
)
Progress = Callable[[str], None]


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Recorder:
    """One recording directory: resumes what is there, samples, rotates and writes the dataset."""

    directory: Path
    settings: KubeConnection
    cluster_name: str
    every: int
    keep_seconds: int
    objects_every: int = 600
    flush_every: int = 10
    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    server: str = ""
    samples: int = 0
    """Ticks recorded by this run."""
    _last_tick: int = 0
    _stamps: dict[tuple[str, str], str] = field(default_factory=dict)
    _pods: dict[str, Any] = field(default_factory=dict)
    _objects: dict[str, Any] = field(default_factory=dict)
    _listed_at: float = -math.inf

    @property
    def store(self) -> Path:
        return self.directory / STORE

    # -- resume --------------------------------------------------------------------------------
    def open(self) -> None:
        if self.directory.exists() and not (self.store.is_dir() or not any(self.directory.iterdir())):
            raise SourceError(f"{self.directory}: exists and is not a kubetally recording; choose another directory")
        self.store.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.store.glob("samples-*.jsonl")):
            _truncate_partial_line(path)
        last = self._read_lines(self._day_files()[-1:])
        if last:
            self._last_tick = int(datetime.fromisoformat(last[-1]["t"]).timestamp())
            for line in last[-20:]:  # the newest metrics timestamps (staleness), from the last ticks
                for ns, pod, _, _, _, stamp in line["pods"]:
                    self._stamps[(ns, pod)] = stamp
        for name in ("pods", "objects"):
            path = self.store / f"{name}.json"
            if path.is_file():
                setattr(self, f"_{name}", json.loads(path.read_text()))

    def _day_files(self) -> list[Path]:
        return sorted(self.store.glob("samples-*.jsonl"))

    @staticmethod
    def _read_lines(paths: Iterable[Path]) -> list[dict[str, Any]]:
        lines = []
        for path in paths:
            for raw in path.read_text().splitlines():
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return lines

    # -- sampling ------------------------------------------------------------------------------
    def next_tick(self) -> int:
        tick = math.ceil(self.now() / self.every) * self.every
        return max(tick, self._last_tick + self.every)

    def tick(self, reader: _Reader, at: int, progress: Progress) -> tuple[int, int]:
        """Sample once at tick ``at``: (pods, nodes) recorded."""
        if self.now() - self._listed_at >= self.objects_every:
            progress("listing objects")
            self._relist(at)
        try:
            pod_items = reader.get(PODS.path, {}).get("items") or []
            node_items = reader.get(NODES.path, {}).get("items") or []
        except _Unavailable as error:
            if error.status == 404:
                raise SourceError(
                    f"{self.server}: no metrics.k8s.io API (404): metrics-server is not installed "
                    "(k3s ships it; elsewhere install metrics-server)"
                ) from None
            raise SourceError(f"{self.server}: metrics.k8s.io not readable (RBAC 403): {error}") from None
        pods, nodes = [], []
        for item in pod_items:
            key = (namespace_of({"kind": "PodMetrics", **item}), name_of(item))
            stamp = str(item.get("timestamp") or "")
            if not stamp or self._stamps.get(key) == stamp:
                continue  # stale: metrics-server has not scraped this pod again since the last tick
            self._stamps[key] = stamp
            for ct in item.get("containers") or []:
                usage = ct.get("usage") or {}
                cores, ws = cpu(usage.get("cpu")), memory(usage.get("memory"))
                if cores is not None and ws is not None:
                    pods.append([key[0], key[1], str(ct.get("name", "")), cores, ws, stamp])
        for item in node_items:
            usage = item.get("usage") or {}
            cores, ws = cpu(usage.get("cpu")), memory(usage.get("memory"))
            if cores is not None and ws is not None:
                nodes.append([name_of(item), cores, ws, str(item.get("timestamp") or "")])
        when = datetime.fromtimestamp(at, UTC)
        line = json.dumps({"t": _iso(when), "pods": pods, "nodes": nodes}, separators=(",", ":"))
        with (self.store / f"samples-{when:%Y-%m-%d}.jsonl").open("a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._last_tick = at
        self.samples += 1
        return len({(p[0], p[1]) for p in pods}), len(nodes)

    def _relist(self, at: int) -> None:
        listing = list_objects(self.settings)
        seen = _iso(datetime.fromtimestamp(at, UTC))
        for obj in listing.objects:
            if obj["kind"] == "Pod":
                uid = str(obj["metadata"].get("uid") or f"{namespace_of(obj)}/{name_of(obj)}")
                self._pods[uid] = {"object": obj, "last_seen": seen}
        others = [o for o in listing.objects if o["kind"] != "Pod"]
        self._objects = {"objects": others, "listed": listing.listed, "notes": listing.notes}
        self._listed_at = self.now()
        _write_atomic(self.store / "objects.json", json.dumps(self._objects))
        _write_atomic(self.store / "pods.json", json.dumps(self._pods))

    # -- rotation and the dataset --------------------------------------------------------------
    def rotate(self) -> None:
        """Forget what is older than the window: whole day files, pods last seen before it."""
        oldest = datetime.fromtimestamp(self._last_tick - self.keep_seconds, UTC)
        for path in self._day_files():
            day = datetime.strptime(path.stem.removeprefix("samples-"), "%Y-%m-%d").replace(tzinfo=UTC)
            if day + timedelta(days=1) <= oldest:
                path.unlink()
        kept = {u: p for u, p in self._pods.items() if datetime.fromisoformat(p["last_seen"]) >= oldest}
        if len(kept) != len(self._pods):
            self._pods = kept
            _write_atomic(self.store / "pods.json", json.dumps(self._pods))

    def dataset(self) -> Dataset | None:
        """The dataset of what is recorded in the window; None before the first sample."""
        from kubetally.sources.kubernetes import inventory_frames

        lines = self._read_lines(self._day_files())
        oldest = self._last_tick - self.keep_seconds
        ticks = [(int(datetime.fromisoformat(line["t"]).timestamp()), line) for line in lines]
        ticks = [(t, line) for t, line in ticks if t > oldest]
        if not ticks:
            return None
        step = timedelta(seconds=self.every)
        usage = _frame(
            [[self.cluster_name, ns, pod, ct, datetime.fromtimestamp(t, UTC) - step, cores, ws]
             for t, line in ticks for ns, pod, ct, cores, ws, _ in line["pods"]],
            [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES],
            schema.USAGE,
        )  # fmt: skip
        node_usage = _frame(
            [[self.cluster_name, node, datetime.fromtimestamp(t, UTC) - step, cores, ws]
             for t, line in ticks for node, cores, ws, _ in line["nodes"]],
            [c.CLUSTER, c.NODE, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_USED_BYTES],
            schema.NODE_USAGE,
        )  # fmt: skip
        pods = [p["object"] for p in self._pods.values()]
        cluster = Cluster.of([*self._objects.get("objects", []), *pods], listed=self._objects.get("listed", []))
        frames = inventory_frames(cluster, self.cluster_name)
        last = datetime.fromtimestamp(ticks[-1][0], UTC)
        gone = {(namespace_of(p["object"]), name_of(p["object"])): datetime.fromisoformat(p["last_seen"])
                for p in self._pods.values() if datetime.fromisoformat(p["last_seen"]) < last}  # fmt: skip
        if gone:  # a pod no longer listed ended (at the latest) when it was last seen
            ends = pl.DataFrame(
                {c.NAMESPACE: [k[0] for k in gone], c.POD: [k[1] for k in gone], "gone": list(gone.values())},
                schema={c.NAMESPACE: pl.String, c.POD: pl.String, "gone": schema.CONTAINERS.schema[c.END_TIME]},
            )
            containers = frames[schema.CONTAINERS.name].join(ends, on=[c.NAMESPACE, c.POD], how="left")
            frames[schema.CONTAINERS.name] = containers.with_columns(
                pl.coalesce(c.END_TIME, "gone").alias(c.END_TIME)
            ).drop("gone")
        info = DatasetInfo(
            source=f"metrics-server:{self.server}",
            start=datetime.fromtimestamp(ticks[0][0], UTC) - step,
            end=last,
            step_seconds=self.every,
            notes=(*self._objects.get("notes", []), NOTE.format(every=self.every)),
        )
        return Dataset.create(info, **frames, usage=usage, node_usage=node_usage)

    def flush(self) -> Dataset | None:
        self.rotate()
        dataset = self.dataset()
        if dataset is not None:
            replace_frames(dataset, self.directory)
        return dataset

    # -- the loop ------------------------------------------------------------------------------
    def run(self, *, progress: Progress = lambda _: None, until: float | None = None, ticks: int | None = None) -> None:
        """Sample every ``every`` seconds until ``until`` (epoch seconds), ``ticks`` samples, or Ctrl-C.

        Ctrl-C (KeyboardInterrupt) or SIGTERM stop it cleanly: what was recorded is kept and written.
        """
        client, self.server, _ = connect(self.settings)
        try:
            with client:
                reader = _Reader(client, self.settings, self.server)
                done = 0
                while ticks is None or done < ticks:
                    at = self.next_tick()
                    if until is not None and at > until:
                        break
                    wait = at - self.now()
                    if wait > 0:
                        progress(f"{self.samples} samples; next at {datetime.fromtimestamp(at, UTC):%H:%M:%S} UTC")
                        self.sleep(wait)
                    n_pods, n_nodes = self.tick(reader, at, progress)
                    done += 1
                    progress(f"sample {self.samples} at {datetime.fromtimestamp(at, UTC):%H:%M:%S} UTC: "
                             f"{n_pods} pods, {n_nodes} nodes")  # fmt: skip
                    if self.samples % self.flush_every == 0:
                        progress("writing the dataset")
                        self.flush()
        finally:
            self.flush()


def _frame(rows: list[list[Any]], names: list[str], spec: schema.FrameSpec) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=names, orient="row") if rows else pl.DataFrame(schema=names)
    missing = [col for col in spec.names if col not in names]
    frame = frame.with_columns([pl.lit(None).alias(col) for col in missing])
    frame = frame.select([pl.col(col.name).cast(col.dtype) for col in spec.columns])
    return frame.unique(subset=list(spec.key), keep="last", maintain_order=True)


def _truncate_partial_line(path: Path) -> None:
    """Drop a last line a kill cut short (no newline), so the next append starts a line of its own."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
