"""serve's own footprint: RSS and CPU of `kubetally serve` while Prometheus-like scrapes hit /metrics.

    nice -n 10 .venv/bin/python bench/bench_serve.py --source demo --minutes 6
    nice -n 10 .venv/bin/python bench/bench_serve.py --source scale300 --minutes 6

Starts serve on 127.0.0.1 (a free port), waits until it answers, then for MINUTES scrapes /metrics
every 30 s (and opens the dashboard once a minute), sampling the process' RSS (VmRSS) and CPU time
(/proc/PID/stat utime+stime) every 5 s. Prints the startup time, peak and mean RSS, and the mean
CPU in millicores over the steady period (after the first computation). Linux only.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_cpu(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    return rss_kib / 1024, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", choices=["demo", "scale300"], default="demo")
    parser.add_argument("--minutes", type=float, default=6.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    kubetally = str(Path(sys.executable).with_name("kubetally"))
    if args.source == "demo":
        source = ["--demo"]
    else:
        subprocess.run([kubetally, "simulate", "--extra-workloads", "300", "--days", "14", "-o", str(work / "ds")],
                       check=True, capture_output=True)  # fmt: skip
        source = ["-d", str(work / "ds")]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen([kubetally, "serve", *source, "--listen", f"127.0.0.1:{port}", "--every", "5m"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "KUBETALLY_STORE": str(work / "h.duckdb")})  # fmt: skip
    peak = 0.0
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("serve exited")
        peak = max(peak, _rss_cpu(proc.pid)[0])
        time.sleep(0.5)
    ready = time.monotonic() - started
    rss0, cpu0 = _rss_cpu(proc.pid)
    t0 = time.monotonic()
    samples: list[float] = []
    last_scrape = last_page = 0.0
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
        rss, _ = _rss_cpu(proc.pid)
        samples.append(rss)
        peak = max(peak, rss)
        time.sleep(5)
    _rss1, cpu1 = _rss_cpu(proc.pid)
    elapsed = time.monotonic() - t0
    proc.terminate()
    proc.wait(timeout=30)
    print(f"source={args.source} ready_after={ready:.1f}s series={series}")
    print(f"rss_after_start={rss0:.0f}MiB rss_mean={sum(samples) / len(samples):.0f}MiB rss_peak={peak:.0f}MiB")
    print(f"cpu_mean={(cpu1 - cpu0) / elapsed * 1000:.1f}m over {elapsed / 60:.1f} min "
          f"(one recompute every 5 min, a scrape every 30 s, the dashboard every minute)")  # fmt: skip


if __name__ == "__main__":
    main()
