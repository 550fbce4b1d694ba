"""Simulator speed and peak memory: the demo scenario and the 1,000-workload scale.

Each case runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own.
Usage: .venv/bin/python bench/bench_simulate.py [--workloads 1000] [--days 14] [--step 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CASE = """
import json, resource, sys, tempfile, time
from pathlib import Path
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate
extra, days, step, spill = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    ds = simulate(ScenarioConfig(extra_workloads=extra, days=days, step_seconds=step),
                  spill_dir=Path(tmp) / "spill" if spill else None)
    t1 = time.perf_counter()
    save(ds, Path(tmp) / "ds")
    t2 = time.perf_counter()
    counts = ds.counts()
    size = sum(p.stat().st_size for p in (Path(tmp) / "ds").iterdir())
print(json.dumps({"simulate_s": t1 - t0, "save_s": t2 - t1, "containers": counts["containers"],
                  "usage_rows": counts["usage"], "dataset_mb": size / 1e6,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(extra: int, days: float, step: int, *, spill: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(extra), str(days), str(step), "1" if spill else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--step", type=int, default=60)
    args = parser.parse_args()
    cases = [
        ("demo (AuditFlow, 14 d, 60 s)", 0, 14.0, 60, False),
        (
            f"scale ({args.workloads} extra workloads, {args.days:g} d, {args.step} s, spilled)",
            args.workloads,
            args.days,
            args.step,
            True,
        ),
        (
            f"scale ({args.workloads} extra workloads, {args.days / 2:g} d, {args.step} s, spilled)",
            args.workloads,
            args.days / 2,
            args.step,
            True,
        ),
    ]
    print(
        f"{'case':<62} {'containers':>10} {'usage rows':>12} {'simulate s':>10} {'save s':>7} "
        f"{'dataset MB':>10} {'peak RSS MB':>11}"
    )
    with tempfile.TemporaryDirectory():
        for name, extra, days, step, spill in cases:
            r = run(extra, days, step, spill=spill)
            print(
                f"{name:<62} {r['containers']:>10,.0f} {r['usage_rows']:>12,.0f} {r['simulate_s']:>10.1f} "
                f"{r['save_s']:>7.1f} {r['dataset_mb']:>10.0f} {r['peak_rss_mb']:>11.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
