"""Right-sizing speed and peak memory: 1,000 extra workloads x D days x 1-minute step.

The dataset is simulated and saved once per window length (not timed), then each strategy runs
in a fresh subprocess that loads the saved dataset (series scanned lazily from Parquet) and
computes recommendations; its peak RSS (ru_maxrss) is its own.
Usage: .venv/bin/python bench/bench_rightsize.py [--workloads 1000] [--days 7 14] [--step 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MAKE = """
import sys
from pathlib import Path
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate
extra, days, step, target = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
ds = simulate(ScenarioConfig(extra_workloads=extra, days=days, step_seconds=step), spill_dir=target.with_name("spill"))
save(ds, target)
"""

CASE = """
import json, resource, sys, time
from pathlib import Path
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, history_from_frames, recommendations
from kubetally.dataset import load
from kubetally.model import schema
ds = load(Path(sys.argv[1]))
t0 = time.perf_counter()
h = history_from_frames(containers=ds.containers, usage=ds.usage, terminations=ds.table(schema.TERMINATIONS),
                        workloads=ds.workloads, labels=ds.labels, step_seconds=ds.info.step_seconds)
strategy = STRATEGIES[sys.argv[2]]
recs = recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "recommendations": recs.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--days", type=float, nargs="+", default=[7.0, 14.0])
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--strategies", nargs="+", default=["tiered", "simple", "vpa"])
    args = parser.parse_args()
    print("| days | usage rows | strategy | recommendations | seconds | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for days in args.days:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "ds"
            subprocess.run(
                [sys.executable, "-c", MAKE, str(args.workloads), str(days), str(args.step), str(target)], check=True
            )
            rows = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys, polars as pl; print(pl.scan_parquet(sys.argv[1]).select(pl.len()).collect().item())",
                    str(target / "usage.parquet"),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            for name in args.strategies:
                out = subprocess.run(
                    [sys.executable, "-c", CASE, str(target), name], capture_output=True, text=True, check=True
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"| {days:g} | {int(rows):,} | {name} | {r['recommendations']:,} | {r['seconds']:.1f} "
                    f"| {r['peak_rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
