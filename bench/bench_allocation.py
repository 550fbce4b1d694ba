"""Cost allocation speed and peak memory on the 1,000-workload, 14-day, 1-minute dataset.

The dataset is simulated once (spilled to Parquet, ~2.4 GB) into a temporary directory, or
read from --dataset DIR (kept between runs with --keep DIR). Each case then runs in a fresh
subprocess that loads the dataset lazily (series are scanned from Parquet) so its peak RSS
(ru_maxrss) is its own; "baseline" is the same process after imports and load only; "CPU s" is
the case's user + system CPU time over all threads (less noisy than wall time on a shared machine).
Usage: .venv/bin/python bench/bench_allocation.py [--workloads 1000] [--days 14] [--step 60] [--dataset DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from kubetally.analysis.allocation import AllocationSettings, Overhead, Selector, SharedCost, allocate
from kubetally.analysis.allocation.report import showback
from kubetally.analysis.nodes import NodeSettings, node_report
from kubetally.dataset import load
from kubetally.model.pricing import default_price_book
case, directory = sys.argv[1], Path(sys.argv[2])
ds = load(directory)
usage0 = resource.getrusage(resource.RUSAGE_SELF)
base = usage0.ru_maxrss / 1024
t1 = time.perf_counter()
rows = None
if case in ("allocate", "allocate+share"):
    settings = AllocationSettings()
    if case == "allocate+share":
        settings = AllocationSettings(
            idle="node",
            shared=(SharedCost(name="db", select=Selector(workloads=("auditflow/postgresql", "auditflow/rabbitmq"))),),
            overheads=(Overhead(name="ups", per_month=4, split="even"),),
        )
    alloc = allocate(ds, prices=default_price_book(), settings=settings)
    t2 = time.perf_counter()
    report = showback(alloc, ds.labels, by=["team", "namespace", "controller"])
    rows = report.rows.height
    assert report.reconciled, report.difference
elif case == "nodes":
    t2 = time.perf_counter()
    rows = node_report(ds, settings=NodeSettings()).nodes.height
t3 = time.perf_counter()
usage1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
print(json.dumps({"baseline_mb": base, "compute_s": t2 - t1, "report_s": t3 - t2, "rows": rows, "cpu_s": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SIMULATE = """
import sys
from pathlib import Path
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate
extra, days, step, target = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
spill = target.parent / "spill"
spill.mkdir(parents=True, exist_ok=True)
save(simulate(ScenarioConfig(extra_workloads=extra, days=days, step_seconds=step), spill_dir=spill), target)
"""


def run(case: str, directory: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CASE, case, str(directory)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--dataset", type=Path, help="An existing dataset directory to use instead of simulating.")
    parser.add_argument("--keep", type=Path, help="Simulate into this directory and keep it.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dataset
        if directory is None:
            directory = (args.keep or Path(tmp)) / "dataset"
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", SIMULATE, str(args.workloads), str(args.days), str(args.step), str(directory)],
                check=True,
            )
            print(f"simulated {args.workloads} extra workloads, {args.days:g} d, {args.step} s "
                  f"in {time.perf_counter() - t0:.0f} s: {directory}", flush=True)  # fmt: skip
        import polars as pl

        usage_rows = pl.scan_parquet(directory / "usage.parquet").select(pl.len()).collect().item()
        print(f"usage rows: {usage_rows:,}")
        print(
            f"{'case':<16} {'compute s':>9} {'report s':>8} {'CPU s':>6} {'rows':>6} {'baseline MB':>11} "
            f"{'peak RSS MB':>11}"
        )
        for case in ("allocate", "allocate+share", "nodes"):
            r = run(case, directory)
            print(
                f"{case:<16} {r['compute_s']:>9.1f} {r['report_s']:>8.1f} {r['cpu_s']:>6.1f} {r['rows'] or 0:>6.0f} "
                f"{r['baseline_mb']:>11.0f} {r['peak_rss_mb']:>11.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
