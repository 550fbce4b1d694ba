"""Collection from a real Prometheus: wall time, queries, samples, peak memory, against the server's own floor.

For each case: simulate, write the OpenMetrics exposition, backfill it with promtool, start
Prometheus on 127.0.0.1, then in a fresh subprocess run `kubetally.sources.prometheus.collect`
(peak RSS = that subprocess' VmHWM). The floor is measured in the same run: the time
Prometheus needs for `count_over_time` queries that touch every sample of the jobs the
collector reads, split so no query exceeds the 50 M-sample limit.

``--server victoria-metrics`` loads VictoriaMetrics instead, from the compact ``/api/v1/import`` JSON
lines of ``write_vm_jsonl`` (labels once per series, ~15x smaller than the text), which makes 14-day
histories of hundreds of millions of samples feasible on a small VM. Its floor is the same
``count_over_time`` per family, unsplit (the server is started with raised query limits).

Usage: .venv/bin/python bench/bench_prometheus.py [--case NAME] [--workloads N] [--nodes N] [--days D] [--step S]
       [--server prometheus|victoria-metrics] [--half]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

import servers  # noqa: E402
from kubetally.dataset import Dataset  # noqa: E402
from kubetally.simulate import ScenarioConfig, simulate  # noqa: E402
from kubetally.simulate.exposition import Stats, write_openmetrics, write_vm_jsonl  # noqa: E402

COLLECT = """
import json, sys, tempfile, time
from datetime import datetime
from pathlib import Path
from kubetally.dataset import save
from kubetally.sources.prometheus import Connection, Query, collect
url, end = sys.argv[1], datetime.fromisoformat(sys.argv[2])
window, step, points = (int(a) for a in sys.argv[3:6])
query = Query(end=end, window_seconds=window, step_seconds=step, cluster_name="auditflow-pi",
              max_points_per_series=points)
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    got = collect(Connection(url=url), query, spill_dir=Path(tmp) / "spill")
    save(got.dataset, Path(tmp) / "ds")
    t1 = time.perf_counter()
    counts = got.dataset.counts()
u = got.usage
# VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork into ru_maxrss across exec.
peak = [int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(json.dumps({"collect_s": t1 - t0, "queries": u.queries, "points": u.points, "server_samples": u.server_samples,
                  "query_s": u.seconds, "chunks": got.series_chunks, "usage_rows": counts["usage"],
                  "containers": counts["containers"], "peak_rss_mb": peak}))
"""
SAMPLE_LIMIT = 40_000_000
PREFIXES = ("container_", "kube_", "kubelet_", "node_", "pg_")


def floor(url: str, start: int, end: int, total_samples: int, limit: int = SAMPLE_LIMIT) -> tuple[float, int]:
    """Seconds for count_over_time over every sample of every family the collector reads; queries sent.

    One query per metric family (count_over_time drops the name, so families cannot share a query),
    split in time so no query touches more than SAMPLE_LIMIT samples.
    """
    names = httpx.get(f"{url}/api/v1/label/__name__/values", timeout=60).json()["data"]
    names = [n for n in names if n.startswith(PREFIXES)]
    parts = max(1, -(-total_samples // limit))
    span = (end - start) // parts
    elapsed, queries = 0.0, 0
    for name in names:
        for i in range(parts):
            at = end if i == parts - 1 else start + span * (i + 1)
            seconds = at - (start + span * i)
            t0 = time.perf_counter()
            response = httpx.post(
                f"{url}/api/v1/query",
                data={"query": f"sum(count_over_time({name}[{seconds}s]))", "time": str(at)},
                timeout=600,
            )
            elapsed += time.perf_counter() - t0
            queries += 1
            response.raise_for_status()
    return elapsed, queries


def server_process(marker: str) -> tuple[float, float]:
    """(CPU seconds so far, peak RSS MB) of the server started here, found by its data path in the command line."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                ticks = os.sysconf("SC_CLK_TCK")
                status = (proc / "status").read_text().splitlines()
                hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
                return (int(fields[11]) + int(fields[12])) / ticks, hwm / 1024
        except OSError:
            continue
    return float("nan"), float("nan")


def floor_one(url: str, start: int, end: int) -> tuple[float, float]:
    """VictoriaMetrics only: one query over every family at once (Prometheus refuses same-labelset results)."""
    selector = '{__name__=~"(' + "|".join(PREFIXES) + ').*"}'
    t0 = time.perf_counter()
    response = httpx.post(
        f"{url}/api/v1/query",
        data={"query": f"sum(count_over_time({selector}[{end - start}s]))", "time": str(end)},
        timeout=1800,
    )
    elapsed = time.perf_counter() - t0
    response.raise_for_status()
    return elapsed, float(response.json()["data"]["result"][0]["value"][1])


VM_ARGS = ("-search.maxQueryDuration=30m", "-search.maxSamplesPerQuery=100000000000")
"""VictoriaMetrics' defaults stop a query after 30 s or 1 G samples: a 14-day floor query can exceed both."""


@contextmanager
def loaded(server: str, ds: Dataset, work: Path, timings: dict[str, float]) -> Iterator[tuple[str, Stats]]:
    """Write the history, load it into ``server``, delete the file; yield (URL, exposition stats)."""
    t0 = time.perf_counter()
    vm = server == "victoria-metrics"
    path = work / ("history.jsonl" if vm else "history.om")
    with open(path, "wb") as out:
        stats = (write_vm_jsonl if vm else write_openmetrics)(ds, out, spool_dir=work)
    t1 = time.perf_counter()
    timings["exposition_s"] = round(t1 - t0, 1)
    timings["export_gb"] = round(path.stat().st_size / 1e9, 2)
    if vm:
        with servers.victoria_metrics(work / "vm", path, import_path="/api/v1/import", extra_args=VM_ARGS) as url:
            timings["load_s"] = round(time.perf_counter() - t1, 1)
            path.unlink()
            yield url, stats
        return
    servers.backfill(path, work / "tsdb")
    timings["load_s"] = round(time.perf_counter() - t1, 1)
    path.unlink()
    with servers.prometheus(work / "tsdb") as url:
        yield url, stats


def run(
    name: str,
    workloads: int,
    days: float,
    step: int,
    points: int,
    *,
    half: bool,
    collect_step: int = 0,
    nodes: int | None = None,
    server: str = "prometheus",
) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="kubetally-bench-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        config = ScenarioConfig(extra_workloads=workloads, days=days, step_seconds=step, nodes=nodes)
        ds = simulate(config, spill_dir=work / "spill")
        timings: dict[str, float] = {"simulate_s": round(time.perf_counter() - t0, 1)}
        start, end = int(ds.info.start.timestamp()), int(ds.info.end.timestamp())
        limit = 1 << 62 if server == "victoria-metrics" else SAMPLE_LIMIT
        with loaded(server, ds, work, timings) as (url, stats):
            print(f"loaded {stats.samples:,} samples, {stats.series:,} series: {timings}", file=sys.stderr)
            floor_s, floor_queries = floor(url, start, end, stats.samples, limit)
            marker = str(work / ("vm" if server == "victoria-metrics" else "tsdb"))
            cpu_before, _ = server_process(marker)
            args = [url, ds.info.end.isoformat(), str(end - start), str(collect_step or step), str(points)]
            out = subprocess.run([sys.executable, "-c", COLLECT, *args], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            result = json.loads(out.stdout)
            cpu_after, server_hwm = server_process(marker)
            result["server_cpu_s"] = round(cpu_after - cpu_before, 1)
            result["server_peak_mb_so_far"] = round(server_hwm)
            if server == "victoria-metrics":
                one_s, counted = floor_one(url, start, end)
                result["floor_one_query_s"], result["floor_one_query_samples"] = round(one_s, 2), counted
            floor_again, _ = floor(url, start, end, stats.samples, limit)
            if half:  # the same collection over half the window: peak memory should not halve
                args[2] = str((end - start) // 2)
                out = subprocess.run(
                    [sys.executable, "-c", COLLECT, *args], capture_output=True, text=True, check=False
                )
                if out.returncode != 0:
                    raise RuntimeError(out.stderr[-2000:])
                halved = json.loads(out.stdout)
                result["half_window"] = {k: halved[k] for k in ("collect_s", "queries", "chunks", "peak_rss_mb")}
        return {
            "case": name, "server": server, "workloads": workloads, "nodes": ds.nodes.height, "days": days,
            "step": step, "collect_step": collect_step or step, "samples": stats.samples, "series": stats.series,
            **timings,
            "floor_s": round(min(floor_s, floor_again), 2), "floor_queries": floor_queries, **result,
            "ratio_to_floor": round(result["collect_s"] / min(floor_s, floor_again), 2),
        }  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="auditflow")
    parser.add_argument("--workloads", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=None, help="node count (default: the simulator's)")
    parser.add_argument("--server", choices=("prometheus", "victoria-metrics"), default="prometheus")
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--points", type=int, default=2880, help="max points per series per query (chunk size)")
    parser.add_argument("--half", action="store_true", help="also collect half the window (memory vs window)")
    parser.add_argument(
        "--collect-step",
        type=int,
        default=0,
        help="collect at this step (default: the simulated step = scrape interval)",
    )
    args = parser.parse_args()
    result = run(
        args.case,
        args.workloads,
        args.days,
        args.step,
        args.points,
        half=args.half,
        collect_step=args.collect_step,
        nodes=args.nodes,
        server=args.server,
    )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
