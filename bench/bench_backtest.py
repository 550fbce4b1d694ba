"""Backtest speed and peak memory at N entities: the dev Bitbrains VMs replicated with shifted ids.

The replay frame of ``testdata/traces/bitbrains-rnd-vm001-150.csv.gz`` is loaded once, replicated
(copy k of VM 7 is ``7+k000``, same samples) up to ``--entities`` VMs and saved as Parquet sorted by
VM (not timed). Each case then runs in a fresh subprocess that scans that Parquet file lazily and
replays all strategies in one pass (``replay_many``); it prints its wall time and its own peak RSS
(``ru_maxrss``). ``--eager`` reads the whole file first and calls ``replay`` once per strategy, as
the code before streaming (pass ``--src`` a checkout's ``src`` to run that checkout's code).
Wall and CPU seconds are the subprocess's own (``perf_counter``, ``getrusage``).

Usage: .venv/bin/python bench/bench_backtest.py [--entities 350] [--mode static rolling]
       [--batch-entities 32] [--eager] [--src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TRACE = Path(__file__).resolve().parent.parent / "testdata" / "traces" / "bitbrains-rnd-vm001-150.csv.gz"

MAKE = """
import sys
import polars as pl
from pathlib import Path
from kubetally.model import columns as c
from kubetally.sources.traces import load_trace
frame, n, target = load_trace(Path(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
vms = frame.get_column(c.OWNER_NAME).unique().sort()
copies = []
for k in range(-(-n // vms.len())):
    keep = vms.head(n - k * vms.len())
    copies.append(
        frame.filter(pl.col(c.OWNER_NAME).is_in(keep.implode())).with_columns(
            (pl.col(c.OWNER_NAME) + f"+{k}000").alias(c.OWNER_NAME), (pl.col(c.POD) + f"+{k}000").alias(c.POD)
        )
    )
pl.concat(copies).sort(c.OWNER_NAME, c.TIMESTAMP).write_parquet(target, row_group_size=100_000)
"""

CASE = """
import json, resource, sys, time
import polars as pl
from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings
path, mode, batch, eager = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "eager"
names = ["current", *STRATEGIES]
t0 = time.perf_counter()
if eager:
    frame = pl.read_parquet(path)
    settings = bt.BacktestSettings(mode=mode)
    results = [
        bt.replay(frame, strategy=None if n == "current" else STRATEGIES[n],
                  settings=None if n == "current" else STRATEGIES[n].settings_model(),
                  evidence=EvidenceSettings(), backtest=settings, step_seconds=300)
        for n in names
    ]
else:
    settings = bt.BacktestSettings(mode=mode, batch_entities=batch)
    results = bt.replay_many(
        pl.scan_parquet(path),
        {n: (None, None) if n == "current" else (STRATEGIES[n], STRATEGIES[n].settings_model()) for n in names},
        evidence=EvidenceSettings(), backtest=settings, step_seconds=300,
    )
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": usage.ru_utime + usage.ru_stime,
                  "entities": int(results[0].summary["entities"][0]), "strategies": len(results),
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=350)
    parser.add_argument("--mode", nargs="+", default=["static", "rolling"], choices=["static", "rolling"])
    parser.add_argument("--batch-entities", type=int, default=32)
    parser.add_argument("--eager", action="store_true", help="whole frame in memory, one replay per strategy")
    parser.add_argument("--src", type=Path, help="run the code of this src directory (e.g. an older checkout)")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the replicated Parquet file here")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        target = args.keep or Path(tmp) / "replay.parquet"
        if not target.exists():
            subprocess.run(
                [sys.executable, "-c", MAKE, str(TRACE), str(args.entities), str(target)], check=True, env=env
            )
        print("| entities | samples | mode | strategies | code | wall s | CPU s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|")
        rows = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, polars as pl; print(pl.scan_parquet(sys.argv[1]).select(pl.len()).collect().item())",
                str(target),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for mode in args.mode:
            how = "eager" if args.eager else "stream"
            out = subprocess.run(
                [sys.executable, "-c", CASE, str(target), mode, str(args.batch_entities), how],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            code = "one replay per strategy, eager" if args.eager else f"replay_many, batches of {args.batch_entities}"
            print(
                f"| {r['entities']} | {int(rows):,} | {mode} | {r['strategies']} | {code} | {r['seconds']:.1f} "
                f"| {r['cpu']:.1f} "
                f"| {r['peak_rss_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
