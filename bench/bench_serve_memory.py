"""Where serve's memory goes: RSS after each phase of one computation, each library's import cost alone.

    nice -n 10 .venv/bin/python bench/bench_serve_memory.py [--extra-workloads 300]

Part 1 imports each library in a fresh interpreter and prints its RSS (VmRSS) against a bare interpreter.
Part 2, in one process, prints RSS and CPU seconds (process_time: every thread) after: the imports of a serve
worker, simulating AuditFlow (14 days at 1-minute steps, plus N workloads), saving it, computing the Overview
(showback, nodes, right-sizing, waste) and rendering every route; and the peak (VmHWM). Linux only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORTS = (
    *("polars", "pyarrow", "numpy", "duckdb", "pydantic", "jinja2", "httpx"),
    *("kubetally.app.serving", "kubetally.outputs.web.views", "kubetally.app.serve_worker", "kubetally.cli"),
)


def _status(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith(field)) / 1024


def _rss_after(statement: str) -> int:
    code = f"{statement}; print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')))"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def imports() -> None:
    bare = _rss_after("pass")
    print(f"bare interpreter: {bare / 1024:.0f} MiB")
    for name in IMPORTS:
        kib = _rss_after(f"import {name}")
        print(f"import {name:32s} {kib / 1024:6.0f} MiB  (+{(kib - bare) / 1024:.0f})")


def phases(extra: int) -> None:
    t = time.process_time()

    def step(name: str) -> None:
        nonlocal t
        print(f"{name:44s} RSS {_status('VmRSS:'):6.0f} MiB   CPU {time.process_time() - t:5.1f} s", flush=True)
        t = time.process_time()

    from kubetally.app.insights import overview_of
    from kubetally.app.serve import ServeRequest
    from kubetally.app.source import opened_dataset
    from kubetally.data import demo_inputs
    from kubetally.dataset import save
    from kubetally.outputs.web.views import Application, Views, prerender
    from kubetally.simulate import ScenarioConfig, simulate

    step("imports of a worker")
    ds = simulate(ScenarioConfig(extra_workloads=extra)).with_info(inputs=demo_inputs())
    step(f"simulated (14 d x 1 min, +{extra} workloads)")
    with tempfile.TemporaryDirectory() as work:
        save(ds, Path(work) / "ds")
    step("saved (what a worker spills)")
    ov = overview_of(ServeRequest(demo=True), opened_dataset(ds))[0]
    step("Overview computed")
    bundle = prerender(Application(Views(lambda _: ov)), None)
    step(f"{len(bundle)} routes rendered ({sum(len(r.body) for r in bundle.values()) / 2**20:.1f} MiB)")
    print(f"peak (VmHWM) {_status('VmHWM:'):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-workloads", type=int, default=0)
    args = parser.parse_args()
    imports()
    phases(args.extra_workloads)


if __name__ == "__main__":
    main()
