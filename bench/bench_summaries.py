"""Hourly summaries against raw samples: build time, rows kept, peak memory and the error of merged percentiles.

Simulates the cluster once into a temporary directory (saved, then loaded lazily as the analyses do), then
in fresh subprocesses: (1) builds the hourly summaries of CPU and working set per container and merges
them into each container's p95 CPU and max memory over the whole window; (2) computes the same p95
exactly from the raw samples (``kubetally.model.stats.exact_quantiles``, the KRR-compatible path).
Prints wall and CPU seconds and peak RSS (VmHWM) of each, the summary rows against the raw rows, and the
largest and median relative error of the merged p95 against the exact one.

Usage: .venv/bin/python bench/bench_summaries.py [--workloads N] [--days D] [--step S]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate

CASE = """
import json, resource, sys, time
from pathlib import Path
import polars as pl
from kubetally.dataset import load
from kubetally.model import columns as c
from kubetally.model.sketch import hourly_summary, merged_quantiles
from kubetally.model.stats import exact_quantiles
ds = load(Path(sys.argv[1]))
keys = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
if sys.argv[2] == "summary":
    cpu = hourly_summary(ds.usage, keys=keys, value=c.CPU_USAGE_CORES, time=c.TIMESTAMP)
    mem = hourly_summary(ds.usage, keys=keys, value=c.MEMORY_WORKING_SET_BYTES, time=c.TIMESTAMP)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    p95 = merged_quantiles(cpu, keys=keys, quantiles={"p95": 0.95})
    peak = merged_quantiles(mem, keys=keys, quantiles={"max": 1.0})
    out = {"build_s": round(built, 2), "merge_s": round(time.perf_counter() - t1, 3),
           "summary_rows": cpu.rows + mem.rows, "sketch_rows_cpu": cpu.sketch.height, "stats_rows": cpu.stats.height}
    p95.select(*keys, "p95").write_parquet(sys.argv[3])
else:
    exact = exact_quantiles(ds.usage, keys=keys, value=c.CPU_USAGE_CORES, quantiles={"p95": 0.95})
    rows = ds.usage.select(pl.len()).collect().item()
    out = {"usage_rows": rows}
    exact.select(*keys, "p95").write_parquet(sys.argv[3])
r1 = resource.getrusage(resource.RUSAGE_SELF)
out["wall_s"] = round(time.perf_counter() - t0, 2)
out["cpu_s"] = round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2)
out["peak_rss_mb"] = [int(x.split()[1]) // 1024 for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
print(json.dumps(out))
"""


def run_case(dataset: Path, kind: str, out: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CASE, str(dataset), kind, str(out)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=300)
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--step", type=int, default=60)
    args = parser.parse_args()
    import polars as pl

    work = Path(tempfile.mkdtemp(prefix="kubetally-bench-summaries-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        ds = simulate(
            ScenarioConfig(extra_workloads=args.workloads, days=args.days, step_seconds=args.step),
            spill_dir=work / "spill",
        )
        save(ds, work / "ds")
        prepared = round(time.perf_counter() - t0, 1)
        del ds
        summary = run_case(work / "ds", "summary", work / "summary.parquet")
        exact = run_case(work / "ds", "exact", work / "exact.parquet")
        keys = ["cluster", "namespace", "pod", "container"]
        both = pl.read_parquet(work / "summary.parquet").join(
            pl.read_parquet(work / "exact.parquet"), on=keys, suffix="_exact"
        )
        positive = both.filter(pl.col("p95_exact") > 1e-9)
        rel = ((positive["p95"] - positive["p95_exact"]).abs() / positive["p95_exact"]).sort()
        print(
            json.dumps(
                {
                    "workloads": args.workloads, "days": args.days, "step": args.step, "prepare_s": prepared,
                    "containers": both.height, "summary": summary, "exact": exact,
                    "rows_ratio": round(int(summary["summary_rows"]) / int(exact["usage_rows"]), 3),  # type: ignore[call-overload]
                    "p95_rel_error_max": float(rel.max() or 0.0),  # type: ignore[arg-type]
                    "p95_rel_error_median": float(rel.median() or 0.0),  # type: ignore[arg-type]
                },
                indent=1,
            )
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
