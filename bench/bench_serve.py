"""serve's own footprint: RSS and CPU of `kubetally serve` (and of its worker processes) while scraped.

    nice -n 10 .venv/bin/python bench/bench_serve.py --source demo --minutes 10 --every 2m
    nice -n 10 .venv/bin/python bench/bench_serve.py --source dataset --minutes 10 --every 2m
    nice -n 10 .venv/bin/python bench/bench_serve.py --source prometheus --days 2 --step 300 --minutes 10 --every 2m
    nice -n 10 .venv/bin/python bench/bench_serve.py --source scale300 --minutes 10 --every 2m

Sources: `demo` (`--demo`: AuditFlow, 14 days at 1-minute steps), `dataset` (the same saved with
`kubetally demo`'s dataset writer, `-d DIR`), `prometheus` (AuditFlow's history, `--days`/`--step`, written as
OpenMetrics, backfilled with promtool into a real Prometheus on 127.0.0.1, `--prometheus URL`; 14 days at 1-minute
steps are ~9 GB of OpenMetrics, so `--days 2 --step 300` = the tests' Prometheus fixture is the practical case),
`scale300` (AuditFlow + 300 workloads,
14 days at 1-minute steps, saved, `-d DIR`).

Starts serve on 127.0.0.1 (a free port) with `--every`, waits until it answers, then for MINUTES scrapes
/metrics every 30 s and opens the dashboard (`/`) once a minute, sampling every 2 s from /proc: the RSS of
serve's process and of every descendant (the workers that compute), and their CPU time (utime+stime, plus
cutime+cstime of the workers already reaped). Prints, for the measured period (after the first computation):
mean and peak RSS of serve alone and of serve + workers (what a pod's memory counts), and mean CPU in
millicores (serve + workers). Linux only.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx

TICK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        kids = [p for p, pp in parents.items() if pp == current]
        found += kids
        todo += kids
    return found


def sample(pid: int) -> tuple[float, float, float]:
    """(serve's RSS MiB, serve + descendants' RSS MiB, CPU seconds of serve + descendants, reaped included)."""
    own = _rss_mib(pid)
    fields = _stat(pid)
    cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK
    tree = own
    for child in _descendants(pid):
        try:
            tree += _rss_mib(child)
            f = _stat(child)
            cpu += (int(f[11]) + int(f[12])) / TICK
        except (OSError, StopIteration):
            continue  # it exited between the listing and the read
    return own, tree, cpu


@contextmanager
def _prometheus_source(work: Path, days: float, step: int) -> Iterator[tuple[list[str], dict[str, str]]]:
    """AuditFlow's history written as OpenMetrics, backfilled with promtool, served by a real Prometheus."""
    sys.path.insert(0, str(ROOT / "tests"))
    import servers
    from kubetally.simulate import ScenarioConfig, simulate
    from kubetally.simulate.exposition import write_openmetrics

    ds = simulate(ScenarioConfig(days=days, step_seconds=step))
    om = work / "history.om"
    t0 = time.monotonic()
    with open(om, "wb") as out:
        stats = write_openmetrics(ds, out, spool_dir=work)
    servers.backfill(om, work / "tsdb")
    om.unlink()
    print(f"backfilled {stats.samples:,} samples in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    env = {
        "KUBETALLY_PROMETHEUS_END": ds.info.end.isoformat(),
        "KUBETALLY_PROMETHEUS_WINDOW": f"{int(ds.info.window.total_seconds())}s",
        "KUBETALLY_PROMETHEUS_STEP": str(ds.info.step_seconds),
    }
    with servers.prometheus(work / "tsdb") as url:
        yield ["--prometheus", url], env


def _source(name: str, work: Path, kubetally: str) -> tuple[list[str], dict[str, str]]:
    if name == "demo":
        return ["--demo"], {}
    if name == "dataset":
        subprocess.run(
            [kubetally, "simulate", "--days", "14", "--out", str(work / "ds")], check=True, capture_output=True
        )
        return ["-d", str(work / "ds")], {}
    subprocess.run([kubetally, "simulate", "--extra-workloads", "300", "--days", "14", "--out", str(work / "ds")],
                   check=True, capture_output=True)  # fmt: skip
    return ["-d", str(work / "ds")], {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", choices=["demo", "dataset", "prometheus", "scale300"], default="demo")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", default="2m", help="serve's --every (a recomputation this often)")
    parser.add_argument("--days", type=float, default=14.0, help="--source prometheus: days of history")
    parser.add_argument("--step", type=int, default=60, help="--source prometheus: step in seconds")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    kubetally = str(Path(sys.executable).with_name("kubetally"))
    prometheus = args.source == "prometheus"
    context = _prometheus_source(work, args.days, args.step) if prometheus else nullcontext(None)
    with context as given:
        source, env = given if given is not None else _source(args.source, work, kubetally)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        log_out = (work / "serve.log").open("wb")  # open while serve runs; closed below
        proc = subprocess.Popen([kubetally, "serve", *source, "--listen", f"127.0.0.1:{port}", "--every", args.every],
                                stdout=subprocess.DEVNULL, stderr=log_out,
                                env={**os.environ, **env, "KUBETALLY_STORE": str(work / "h.duckdb")})  # fmt: skip
        peak_start = 0.0
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"serve exited: {(work / 'serve.log').read_text()[-2000:]}")
            peak_start = max(peak_start, sample(proc.pid)[1])
            time.sleep(0.5)
        ready = time.monotonic() - started
        own0, tree0, cpu0 = sample(proc.pid)
        first_cpu = cpu0  # the CLI's start, its exec into the server and the first worker
        t0 = time.monotonic()
        owns: list[float] = []
        trees: list[float] = []
        last_scrape = last_page = -1e9
        series = 0
        while time.monotonic() - t0 < args.minutes * 60:
            now = time.monotonic()
            if now - last_scrape >= 30:
                text = httpx.get(f"{url}/metrics", timeout=60).text
                series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
                last_scrape = now
            if now - last_page >= 60:
                httpx.get(f"{url}/", timeout=120)
                last_page = now
            own, tree, _ = sample(proc.pid)
            owns.append(own)
            trees.append(tree)
            time.sleep(2)
        _, _, cpu1 = sample(proc.pid)
        elapsed = time.monotonic() - t0
        proc.terminate()
        proc.wait(timeout=60)
        log_out.close()
    log = (work / "serve.log").read_text()
    computed = log.count("computed the whole window")
    print(f"source={args.source} every={args.every} ready_after={ready:.1f}s series={series} "
          f"whole-window computations={computed} (first one included)")  # fmt: skip
    print(f"startup: serve+workers peak {peak_start:.0f} MiB, CPU {first_cpu:.1f} s; "
          f"after start: serve {own0:.0f} MiB, "
          f"tree {tree0:.0f} MiB")  # fmt: skip
    print(f"serve alone: rss_mean={sum(owns) / len(owns):.0f}MiB rss_peak={max(owns):.0f}MiB")
    print(f"serve+workers: rss_mean={sum(trees) / len(trees):.0f}MiB rss_peak={max(trees):.0f}MiB "
          f"cpu_mean={(cpu1 - cpu0) / elapsed * 1000:.1f}m over {elapsed / 60:.1f} min "
          f"(a scrape every 30 s, the dashboard every minute)")  # fmt: skip


if __name__ == "__main__":
    main()
