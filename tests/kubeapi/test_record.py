"""`kubetally record`: metrics-server samples from the test server's metrics.k8s.io into a dataset.

Known answers: the simulator's usage (the server serves sample k of the ground truth as PodMetrics and
NodeMetrics on tick k), and for the kill test the server's own count of metric requests.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from kubeapi.resources import Resource
from kubeapi.server import KubeAPIServer
from kubetally.dataset import Dataset, load
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.k8s import metrics_at
from kubetally.simulate.scenario import CLUSTER
from kubetally.sources.kubernetes import KubeConnection
from kubetally.sources.kubernetes.record import Recorder

Objs = list[dict[str, object]]
STEP = 300
ENV = {**os.environ, "COLUMNS": "200"}


class Clock:
    """Virtual time: sleeping advances it (the recorder's ``now``/``sleep``)."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def truth_feed(truth: Dataset, clock: Clock, *, stale: str | None = None):  # type: ignore[no-untyped-def]
    """Serves, at virtual time t, the truth sample of the step ending at t, stamped t (as metrics-server)."""
    first: dict[str, str] = {}

    def feed(res: Resource) -> list[dict[str, object]]:
        at = datetime.fromtimestamp(clock.t, UTC) - timedelta(seconds=STEP)
        pods, nodes = metrics_at(truth, at)
        stamp = datetime.fromtimestamp(clock.t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        items = pods if res.kind == "PodMetrics" else nodes
        for item in items:
            name = item["metadata"]["name"]  # type: ignore[index]
            item["timestamp"] = first.setdefault(name, stamp) if name == stale else stamp
        return items

    return feed


def test_recorded_usage_equals_the_samples_served(truth_objects: Objs, truth: Dataset, tmp_path: Path) -> None:
    clock = Clock(truth.info.start + timedelta(seconds=STEP))
    stale = "postgresql-0"
    with KubeAPIServer(truth_objects) as api:
        api.set_metrics(truth_feed(truth, clock, stale=stale))
        settings = KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc"))
        rec = Recorder(tmp_path / "rec", settings, CLUSTER, every=STEP, keep_seconds=86400, flush_every=3,
                       now=clock.now, sleep=clock.sleep)  # fmt: skip
        rec.open()
        rec.run(ticks=6)
    got = load(tmp_path / "rec")
    end = truth.info.start + timedelta(seconds=6 * STEP)
    window = pl.col(c.TIMESTAMP) < end
    key = [c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP]
    expected = truth.usage.filter(window).collect()
    # postgresql-0's metrics timestamp never moves after the first tick: only that first sample is kept
    first = (pl.col(c.POD) != stale) | (pl.col(c.TIMESTAMP) == truth.info.start)
    expected = expected.filter(first).select(*key, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES).sort(key)
    usage = got.usage.collect().sort(key)
    assert usage.select(key).equals(expected.select(key))
    assert (usage[c.CPU_USAGE_CORES] - expected[c.CPU_USAGE_CORES]).abs().max() <= 5e-10  # nanocores
    assert (usage[c.MEMORY_WORKING_SET_BYTES] - expected[c.MEMORY_WORKING_SET_BYTES]).abs().max() <= 512  # Ki
    assert usage[c.MEMORY_RSS_BYTES].null_count() == usage.height  # unknown, not zero
    nodes = got.node_usage.collect()
    assert nodes.height == truth.node_usage.filter(window).collect().height
    assert (got.info.start, got.info.end, got.info.step_seconds) == (truth.info.start, end, STEP)
    assert got.collected(schema.CONTAINERS).height == truth.collected(schema.CONTAINERS).height
    assert any("metrics-server" in n for n in got.info.notes)


def test_rotation_keeps_the_window_and_ended_pods_end(truth_objects: Objs, truth: Dataset, tmp_path: Path) -> None:
    every = 6 * 3600
    clock = Clock(datetime(2026, 12, 1, tzinfo=UTC))
    with KubeAPIServer(truth_objects) as api:
        api.set_metrics(lambda res: metrics_at(truth, truth.info.start)[res.kind == "NodeMetrics"])
        settings = KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc"))
        rec = Recorder(tmp_path / "rec", settings, CLUSTER, every=every, keep_seconds=86400, objects_every=every,
                       now=clock.now, sleep=clock.sleep)  # fmt: skip
        rec.open()
        rec.run(ticks=4)  # 12/01 00:00, 06:00, 12:00, 18:00
        ended = clock.t
        httpx.delete(f"{api.url}/api/v1/namespaces/auditflow/pods/postgresql-0").raise_for_status()
        rec.run(ticks=8)  # 12/02 00:00 .. 12/03 18:00
    files = sorted(p.name for p in (tmp_path / "rec" / ".record").glob("samples-*"))
    assert files == ["samples-2026-12-02.jsonl", "samples-2026-12-03.jsonl"]  # whole days older than 1 d deleted
    got = load(tmp_path / "rec")
    assert got.info.end == datetime(2026, 12, 3, 18, tzinfo=UTC)
    assert got.info.start == got.info.end - timedelta(days=1)
    # deleted after 12/01 18:00 (last seen then): forgotten once older than the window
    assert got.collected(schema.CONTAINERS).filter(pl.col(c.POD) == "postgresql-0").height == 0
    assert ended < got.info.start.timestamp()


def test_a_pod_that_ends_gets_its_end_time(truth_objects: Objs, truth: Dataset, tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, tzinfo=UTC))
    with KubeAPIServer(truth_objects) as api:
        api.set_metrics(lambda res: metrics_at(truth, truth.info.start)[res.kind == "NodeMetrics"])
        settings = KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc"))
        rec = Recorder(tmp_path / "rec", settings, CLUSTER, every=60, keep_seconds=86400, objects_every=60,
                       now=clock.now, sleep=clock.sleep)  # fmt: skip
        rec.open()
        rec.run(ticks=2)
        httpx.delete(f"{api.url}/api/v1/namespaces/auditflow/pods/postgresql-0").raise_for_status()
        rec.run(ticks=2)
    containers = load(tmp_path / "rec").collected(schema.CONTAINERS)
    ends = containers.filter(pl.col(c.POD) == "postgresql-0").get_column(c.END_TIME).unique().to_list()
    assert ends == [datetime(2026, 12, 1, 0, 1, tzinfo=UTC)]  # last listed at the 2nd tick
    assert containers.filter(pl.col(c.POD) != "postgresql-0").get_column(c.END_TIME).null_count() > 0


def test_no_metrics_server_is_one_line(truth_objects: Objs, tmp_path: Path) -> None:
    with KubeAPIServer(truth_objects, forbidden=["pods"]) as api:  # also metrics.k8s.io pods
        rec = Recorder(tmp_path / "rec", KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc")), CLUSTER,
                       every=1, keep_seconds=3600)  # fmt: skip
        rec.open()
        with pytest.raises(SourceError, match=r"metrics.k8s.io not readable \(RBAC 403\)"):
            rec.run(ticks=1)


def _lines(directory: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted((directory / ".record").glob("samples-*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return out


def test_sigkill_loses_at_most_the_sample_in_flight_and_duplicates_none(
    truth_objects: Objs, truth: Dataset, tmp_path: Path
) -> None:
    times = truth.usage.select(c.TIMESTAMP).unique().sort(c.TIMESTAMP).collect().get_column(c.TIMESTAMP).to_list()
    served: list[int] = []

    def feed(res: Resource) -> list[dict[str, object]]:
        """Sample k (distinct truth values) on the k-th pod request; nodes follow their pod request."""
        if res.kind == "PodMetrics":
            served.append(len(served))
        pods, nodes = metrics_at(truth, times[served[-1] if served else 0])
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        items = pods if res.kind == "PodMetrics" else nodes
        for item in items:
            item["timestamp"] = stamp
        return items

    cpu_of_sample = {
        row[0]: i
        for i, t in enumerate(times[:200])
        for row in truth.usage.filter((pl.col(c.TIMESTAMP) == t) & (pl.col(c.POD) == "postgresql-0"))
        .select(c.CPU_USAGE_CORES).collect().rows()
    }  # fmt: skip
    rng = random.Random(10)
    out = tmp_path / "rec"
    with KubeAPIServer(truth_objects) as api:
        api.set_metrics(feed)
        config = api.write_kubeconfig(tmp_path / "kc")
        args = [sys.executable, "-m", "kubetally", "record", "--kubeconfig", str(config), "--out", str(out),
                "--every", "1s", "--flush-every", "2", "--cluster-name", CLUSTER]  # fmt: skip
        kills = 3
        for _ in range(kills):
            before = len(_lines(out)) if out.exists() else 0
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
            deadline = time.monotonic() + 120
            while (len(_lines(out)) if (out / ".record").exists() else 0) < before + 2:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(rng.uniform(0, 1.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        final = subprocess.run([*args, "--samples", "3"], capture_output=True, text=True, timeout=180, check=False,
                               env=ENV)  # fmt: skip
        assert final.returncode == 0, final.stderr
    lines = _lines(out)
    ticks = [str(line["t"]) for line in lines]
    assert ticks == sorted(set(ticks))  # strictly increasing: no tick twice
    samples = []
    for line in lines:
        cpu = [p[3] for p in line["pods"] if p[1] == "postgresql-0"]  # type: ignore[attr-defined, index]
        samples.append(min(cpu_of_sample, key=lambda v: abs(v - cpu[0])) if cpu else None)
    indexes = [cpu_of_sample[v] for v in samples if v is not None]
    assert len(indexes) == len(set(indexes))  # no sample recorded twice
    print(f"{len(served)} samples served, {len(lines)} recorded, {kills} kills")
    assert len(served) - len(lines) <= kills  # at most the one in flight per kill
    got = load(out)
    usage = got.usage.collect()
    assert usage.height == usage.unique(subset=list(schema.USAGE.key)).height
    assert got.info.end == datetime.fromisoformat(ticks[-1])
    assert "samples this run" in final.stderr
