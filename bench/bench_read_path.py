"""The read path on a real Prometheus: today's JSON range queries against remote read + hourly summaries.

One run, one server: simulate the cluster, write its OpenMetrics exposition in time slices and backfill
each with promtool (so the text of a long history never sits on disk whole), start Prometheus 2.42 on
127.0.0.1, then measure, each case in a fresh subprocess (peak RSS = its VmHWM; server CPU = Prometheus'
utime + stime during the case, from /proc):

* ``floor``: ``sum(count_over_time(f[window]))`` for the two families right-sizing reads (cAdvisor CPU and
  working set): the server touching every sample once and returning nothing (best of 2);
* ``json``: the CPU and working-set range queries of today's collector (``series.usage_texts``, its
  chunking, 2 in flight), every point decoded from JSON into frames and kept (as ``collect`` spills them);
* ``remote``: :func:`kubetally.sources.prometheus.remote_usage.usage_summaries` (remote read of raw XOR
  chunks, hourly summaries) and each container's p95 CPU and max working set merged from them;
* ``collect`` (with ``--collect``): the whole ``collect`` as a user runs it today (19 families, inventory).

Also printed: the largest relative error of the remote-read p95 / max against the simulator's exact values.

Usage: .venv/bin/python bench/bench_read_path.py [--workloads N] [--days D] [--step S] [--slice-hours H] [--collect]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import polars as pl  # noqa: E402
from bench_prometheus import server_process  # noqa: E402

import servers  # noqa: E402
from kubetally.dataset import Dataset, load, save  # noqa: E402
from kubetally.model import columns as c  # noqa: E402
from kubetally.simulate import ScenarioConfig, simulate  # noqa: E402
from kubetally.simulate.exposition import write_openmetrics  # noqa: E402

CASE = """
import json, sys, time
from datetime import datetime
import httpx
# imports are not timed
import kubetally.sources.prometheus, kubetally.sources.prometheus.remote_usage, kubetally.model.sketch
import kubetally.app.rightsize, kubetally.app.source
url, kind, start, end, step, slice_h, out = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7]), sys.argv[7]
t0 = time.perf_counter()
result = {}
if kind == "remote":
    from kubetally.model.sketch import merged_quantiles
    from kubetally.sources.prometheus.remote_usage import KEYS, usage_summaries
    with httpx.Client(base_url=url, timeout=600) as http:
        got = usage_summaries(http, start_s=start, end_s=end, step_s=step, slice_hours=slice_h)
    cpu = merged_quantiles(got.cpu, keys=list(KEYS), quantiles={"cpu_p95": 0.95})
    mem = merged_quantiles(got.memory, keys=list(KEYS), quantiles={"mem_max": 1.0})
    cpu.select(*KEYS, "cpu_p95").join(mem.select(*KEYS, "mem_max"), on=list(KEYS)).write_parquet(out)
    result = {"requests": got.requests, "samples": got.samples, "mb_read": round(got.bytes_read / 1e6, 1),
              "summary_rows": got.cpu.rows + got.memory.rows, "containers": cpu.height}
elif kind in ("rightsize", "rightsize-exact"):
    import os
    os.environ.update({"KUBETALLY_PROMETHEUS_WINDOW": f"{end - start}s", "KUBETALLY_PROMETHEUS_STEP": f"{step}s",
                       "KUBETALLY_PROMETHEUS_END": datetime.fromtimestamp(end).astimezone().isoformat()})
    from kubetally.app.rightsize import RightsizeRequest, rightsize
    from kubetally.app.source import open_source
    request = RightsizeRequest(prometheus=url, exact=kind == "rightsize-exact")
    opened = open_source(request)
    recs = rightsize(request, opened).recommendations
    recs.select("namespace", "owner_kind", "owner_name", "container", "data_points", "recommended_cpu_request_cores",
                "recommended_memory_request_bytes", "recommended_memory_limit_bytes").write_parquet(out)
    result = {"recommendations": recs.height,
              "path": [n[:90] for n in opened.dataset.info.notes if "remote read" in n or "range queries" in n]}
elif kind == "json":
    from kubetally.sources.prometheus import Query
    from kubetally.sources.prometheus.client import PrometheusClient
    from kubetally.sources.prometheus.plan import PromQL, Window, chunk_points, chunks
    from kubetally.sources.prometheus.runner import iter_range
    from kubetally.sources.prometheus.series import usage_texts
    from kubetally.sources.prometheus.settings import Connection
    q = Query(end=datetime.fromtimestamp(end).astimezone(), window_seconds=end - start, step_seconds=step)
    p = PromQL(q, step, step)
    texts = {k: v for k, v in usage_texts(p, pod_level=False).items() if k in ("cpu", "wss")}
    w = Window(start, end, step)
    points = 0
    frames = []
    with PrometheusClient(Connection(url=url)) as client:
        series = client.instant("count(count_over_time(container_memory_working_set_bytes[%ds]))" % (end - start), end)
        parts = chunks(w, chunk_points(q, 2 * int(series[0][1])))
        for results in iter_range(client, texts, parts, step):
            frames.extend(results.values())
        result = {"requests": client.usage.queries + 1, "points": client.usage.points, "chunks": len(parts)}
elif kind == "collect":
    import tempfile
    from pathlib import Path
    from kubetally.sources.prometheus import Connection, Query, collect
    q = Query(end=datetime.fromtimestamp(end).astimezone(), window_seconds=end - start, step_seconds=step,
              cluster_name="auditflow-pi")
    with tempfile.TemporaryDirectory() as tmp:
        got = collect(Connection(url=url), q, spill_dir=Path(tmp) / "spill")
        result = {"requests": got.usage.queries, "points": got.usage.points}
result["wall_s"] = round(time.perf_counter() - t0, 2)
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)  # imports included (a few seconds)
result["peak_rss_mb"] = [int(x.split()[1]) // 1024 for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
print(json.dumps(result))
"""

FAMILIES = ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes")


def backfill_in_slices(ds: Dataset, work: Path, slice_hours: float) -> tuple[int, float]:
    """Write and backfill the exposition one time slice at a time; (samples, seconds)."""
    t0 = time.perf_counter()
    samples = 0
    start, end = ds.info.start, ds.info.end
    at = start
    n = 0
    while at < end:
        stop = min(end, at + timedelta(hours=slice_hours))
        part = _window(ds, at, stop)
        om = work / f"slice-{n}.om"
        with open(om, "wb") as out:
            samples += write_openmetrics(part, out, spool_dir=work).samples
        servers.backfill(om, work / "tsdb")
        om.unlink()
        at, n = stop, n + 1
    return samples, time.perf_counter() - t0


def _window(ds: Dataset, start: object, stop: object) -> Dataset:
    from dataclasses import replace

    from kubetally.model.schema import FRAMES

    frames: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    for spec in FRAMES:
        frame = ds.frame(spec)
        if spec.series and c.TIMESTAMP in spec.names:
            frame = frame.filter((pl.col(c.TIMESTAMP) >= start) & (pl.col(c.TIMESTAMP) < stop))
        frames[spec.name] = frame
    return Dataset.create(replace(ds.info, start=start, end=stop), **frames)  # type: ignore[arg-type]


def floor(url: str, start: int, end: int) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for name in FAMILIES:
            r = httpx.post(
                f"{url}/api/v1/query",
                data={"query": f"sum(count_over_time({name}[{end - start}s]))", "time": str(end)},
                timeout=600,
            )
            r.raise_for_status()
        best = min(best, time.perf_counter() - t0)
    return best


def case(
    url: str, kind: str, start: int, end: int, step: int, slice_h: int, out: Path, marker: str
) -> dict[str, object]:
    cpu0, _ = server_process(marker)
    args = [url, kind, str(start), str(end), str(step), str(slice_h), str(out)]
    done = subprocess.run([sys.executable, "-c", CASE, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, object] = json.loads(done.stdout)
    cpu1, hwm = server_process(marker)
    result["server_cpu_s"] = round(cpu1 - cpu0, 1)
    result["server_peak_mb_so_far"] = round(hwm)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=300)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--slice-hours", type=int, default=6, help="remote-read time slice")
    parser.add_argument("--backfill-hours", type=float, default=4.0, help="exposition slice written at a time")
    parser.add_argument("--collect", action="store_true", help="also time today's whole collect")
    parser.add_argument(
        "--work", type=Path, help="keep the simulated dataset and the TSDB here and reuse them on the next run"
    )
    parser.add_argument("--prepare-only", action="store_true", help="simulate and backfill into --work, then stop")
    parser.add_argument(
        "--window-hours",
        type=float,
        help="measure the first H hours only: a --work whose backfill was stopped early (its blocks cover them)",
    )
    parser.add_argument(
        "--cases",
        default="remote,rightsize,rightsize-exact,json",
        help="comma-separated: remote, rightsize, "
        "rightsize-exact (today's range queries, only the frames rightsize reads), json (usage queries alone), collect",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kubetally-bench-read-", dir="/tmp"))
    try:
        if args.window_hours:
            samples, load_s, start, end, exact = partial(args, work)
        else:
            samples, load_s, start, end = prepare(args, work)
            if args.prepare_only:
                return
            exact = pl.read_parquet(work / "exact.parquet")
        keys = [c.NAMESPACE, c.POD, c.CONTAINER]
        marker = str(work / "tsdb")
        with servers.prometheus(work / "tsdb") as url:
            floor_s = floor(url, start, end)
            out: dict[str, object] = {
                "workloads": args.workloads, "days": args.days, "step": args.step, "samples_in_tsdb": samples,
                "backfill_s": round(load_s), "floor_s": round(floor_s, 2),
            }  # fmt: skip
            for kind in args.cases.split(","):
                result = case(url, kind, start, end, args.step, args.slice_hours, work / f"{kind}.parquet", marker)
                result["ratio_to_floor"] = round(float(result["wall_s"]) / floor_s, 2)  # type: ignore[arg-type]
                out[kind] = result
                print(kind, result, file=sys.stderr)
            if (work / "rightsize.parquet").is_file():
                out["rightsize_vs_truth"] = compare_recommendations(work, start, end)
            if not (work / "remote.parquet").is_file():
                print(json.dumps(out, indent=1))
                return
            got = pl.read_parquet(work / "remote.parquet").join(exact, on=keys)
            out["remote_error"] = {
                "containers_compared": got.height,
                "p95_cpu_max_rel": float(((got["cpu_p95"] - got["e_cpu"]).abs() / got["e_cpu"].clip(1e-9)).max()),  # type: ignore[arg-type]
                "max_mem_max_rel": float(((got["mem_max"] - got["e_mem"]).abs() / got["e_mem"]).max()),  # type: ignore[arg-type]
            }
        print(json.dumps(out, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _exact(usage: pl.LazyFrame) -> pl.DataFrame:
    keys = [c.NAMESPACE, c.POD, c.CONTAINER]
    return (
        usage.group_by(keys)
        .agg(
            pl.col(c.CPU_USAGE_CORES).quantile(0.95, interpolation="linear").alias("e_cpu"),
            pl.col(c.MEMORY_WORKING_SET_BYTES).max().alias("e_mem"),
        )
        .collect(engine="streaming")
    )


def _windowed(work: Path, start: int, end: int) -> Dataset:
    from datetime import UTC, datetime

    ds = load(work / "dataset")
    return _window(ds, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))


def partial(args: argparse.Namespace, work: Path) -> tuple[int, float, int, int, pl.DataFrame]:
    """A --work whose backfill stopped early: its first ``--window-hours`` hours, exact figures made now."""
    ds = load(work / "dataset")
    start = int(ds.info.start.timestamp())
    end = start + int(args.window_hours * 3600)
    part = _windowed(work, start, end)
    samples = int(part.usage.select(pl.len()).collect().item()) * 2  # CPU + working set rows
    return samples, 0.0, start, end, _exact(part.usage)  # backfill time: not measured (stopped early)


def compare_recommendations(work: Path, start: int, end: int) -> dict[str, object]:
    """Remote-read recommendations against the same right-sizing on the simulator's own samples (exact)."""
    from kubetally.analysis.rightsizing import STRATEGIES
    from kubetally.app.rightsize import recommend

    truth = recommend(
        _windowed(work, start, end), strategy="tiered", settings=STRATEGIES["tiered"].settings_model(), exact=True
    )
    on = ["namespace", "owner_kind", "owner_name", "container"]
    out: dict[str, object] = {}
    for kind in ("rightsize", "rightsize-exact"):
        path = work / f"{kind}.parquet"
        if not path.is_file():
            continue
        both = pl.read_parquet(path).join(truth, on=on, suffix="_t")
        cpu = both.filter(pl.col("recommended_cpu_request_cores_t").is_not_null())
        rel = (pl.col("recommended_cpu_request_cores") - pl.col("recommended_cpu_request_cores_t")).abs() / pl.col(
            "recommended_cpu_request_cores_t"
        )
        out[kind] = {
            "containers": both.height,
            "of_truth": truth.height,
            "cpu_request_equal": int(
                (cpu["recommended_cpu_request_cores"] == cpu["recommended_cpu_request_cores_t"]).sum()
            ),
            "cpu_requests": cpu.height,
            "cpu_request_max_rel_diff": round(float(cpu.select(rel.max()).item() or 0.0), 4),
            "memory_request_equal": int(
                both["recommended_memory_request_bytes"].eq_missing(both["recommended_memory_request_bytes_t"]).sum()
            ),
            "memory_limit_equal": int(
                both["recommended_memory_limit_bytes"].eq_missing(both["recommended_memory_limit_bytes_t"]).sum()
            ),
            "data_points_equal": int((both["data_points"] == both["data_points_t"]).sum()),
        }
    return out


def prepare(args: argparse.Namespace, work: Path) -> tuple[int, float, int, int]:
    """Simulate, backfill and compute the exact per-container figures once; reuse them when ``work`` holds them."""
    params = {"workloads": args.workloads, "nodes": args.nodes, "days": args.days, "step": args.step}
    ready = work / "ready.json"
    if ready.is_file() and json.loads(ready.read_text())["params"] == params:
        done = json.loads(ready.read_text())
        print(f"reusing {work} ({done['samples']:,} samples)", file=sys.stderr)
        return int(done["samples"]), float(done["backfill_s"]), int(done["start"]), int(done["end"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = ScenarioConfig(extra_workloads=args.workloads, nodes=args.nodes, days=args.days, step_seconds=args.step)
    t0 = time.perf_counter()
    ds = simulate(config, spill_dir=work / "spill")
    save(ds, work / "dataset")
    shutil.rmtree(work / "spill", ignore_errors=True)
    ds = load(work / "dataset")
    print(f"simulated {args.workloads} workloads x {args.days} d in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    samples, load_s = backfill_in_slices(ds, work, args.backfill_hours)
    print(f"backfilled {samples:,} samples in {load_s:.0f} s", file=sys.stderr)
    _exact(ds.usage).write_parquet(work / "exact.parquet")
    start, end = int(ds.info.start.timestamp()), int(ds.info.end.timestamp())
    ready.write_text(
        json.dumps({"params": params, "samples": samples, "backfill_s": round(load_s), "start": start, "end": end})
    )
    return samples, load_s, start, end


if __name__ == "__main__":
    main()
