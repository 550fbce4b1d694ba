"""Real Prometheus and VictoriaMetrics servers for tests, on 127.0.0.1 and a free port.

Each server gets its own data directory. A missing binary skips the test with a
reason, except under ``KUBETALLY_REQUIRE_SERVICES=1`` (CI), where it fails.
Facts used: ../shared/reference/prometheus-postgres-facts.md section 2 (backfill with
``--max-block-duration=336h``, ``retention.time=100y``, an empty scrape config, wait
for ``/-/ready``, stop by PID with SIGTERM).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REQUIRE = os.environ.get("KUBETALLY_REQUIRE_SERVICES") == "1"

Serve = Callable[[str, str], str]
"""serve(server kind, variant name) -> base URL of a server loaded with that variant (tests/prometheus)."""


def require_binary(name: str) -> str:
    """The path of ``name``; skip (or fail under KUBETALLY_REQUIRE_SERVICES=1) if missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (apt-get install prometheus victoria-metrics)"
        if REQUIRE:
            pytest.fail(f"KUBETALLY_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def backfill(openmetrics: Path, tsdb: Path) -> None:
    """promtool backfill; raises with promtool's own message on failure."""
    promtool = require_binary("promtool")
    result = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration=336h",
         str(openmetrics), str(tsdb)],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"promtool failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server not ready after {timeout}s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def prometheus(tsdb: Path, *, extra_args: tuple[str, ...] = (), scrape: tuple[str, ...] = ()) -> Iterator[str]:
    """A Prometheus serving ``tsdb`` (already backfilled); yields its base URL.

    ``scrape``: HOST:PORT targets on 127.0.0.1 scraped every 2 s as job ``kubetally`` with ``honor_labels``
    (the exporter's ``instance`` = node label stays, as OpenCost's docs configure it; default: none).
    """
    binary = require_binary("prometheus")
    config = tsdb.parent / "prometheus.yml"
    jobs = "scrape_configs: []\n"
    if scrape:
        targets = ", ".join(f'"{t}"' for t in scrape)
        jobs = (
            "scrape_configs:\n  - job_name: kubetally\n    scrape_interval: 2s\n    honor_labels: true\n"
            f"    static_configs:\n      - targets: [{targets}]\n"
        )
    config.write_text("global:\n  scrape_interval: 1m\n" + jobs)
    port = free_port()
    log = tsdb.parent / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}", *extra_args],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/-/ready", proc, log)
        yield url
    finally:
        _stop(proc)


@contextmanager
def victoria_metrics(
    data: Path, openmetrics: Path, *, import_path: str = "/api/v1/import/prometheus", extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """A VictoriaMetrics loaded with ``openmetrics`` through ``import_path``; yields its URL.

    ``import_path="/api/v1/import"`` takes the JSON lines of ``write_vm_jsonl`` instead of the text.
    """
    binary = require_binary("victoria-metrics")
    port = free_port()
    log = data.parent / "victoria-metrics.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, f"-storageDataPath={data}", f"-httpListenAddr=127.0.0.1:{port}", "-retentionPeriod=100y",
             "-search.disableCache", "-search.latencyOffset=0s", "-loggerLevel=WARN", *extra_args],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/health", proc, log)
        with open(openmetrics, "rb") as body:
            response = httpx.post(f"{url}{import_path}", content=_chunks(body), timeout=3600)
        if response.status_code >= 300:
            raise RuntimeError(f"VictoriaMetrics import failed: {response.status_code} {response.text[:500]}")
        _settle(url)
        yield url
    finally:
        _stop(proc)


def _settle(url: str, *, limit: float = 120.0) -> None:
    """Flush VictoriaMetrics' in-memory buffers until the number of searchable series stops changing.

    One force_flush right after the import was enough at low load; a fresh-clone CI run at load ~30 found
    no kube_pod_info at all on one server, so the fixture waits until two counts 0.5 s apart agree.
    """
    deadline = time.monotonic() + limit
    last = -1
    while True:
        httpx.get(f"{url}/internal/force_flush", timeout=60)
        count = int(httpx.get(f"{url}/api/v1/series/count", timeout=60).json()["data"][0])
        if count > 0 and count == last:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"VictoriaMetrics did not settle in {limit:.0f} s (series count {count})")
        last = count
        time.sleep(0.5)


def _chunks(body: object) -> Iterator[bytes]:
    while chunk := body.read(1 << 20):  # type: ignore[attr-defined]
        yield chunk
