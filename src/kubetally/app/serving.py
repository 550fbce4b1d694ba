"""The long-lived half of ``kubetally serve``: a small server that answers from bytes that workers rendered.

Standard library only (an import-linter contract keeps it so). Each computation runs in a short-lived worker
process (:mod:`kubetally.app.serve_worker`) that opens the source, computes, renders every route of its window
and exits, so its memory (the dataset, polars, pyarrow) is given back to the system between computations;
this process keeps only the rendered answers (about a megabyte per window).

- Every ``--every``, a worker recomputes the whole window, unless the input provably did not change: a
  ``--dataset`` directory whose files hash the same, or the (deterministic) ``--demo``. Prometheus and the
  Kubernetes API are read again every time.
- A shorter window (``?window=7d``) is computed by a worker on first use from the dataset the last whole-window
  worker saved (``--dataset`` is read in place), then kept until the next recomputation. One worker runs at a
  time, so the memory peak is this process plus one worker.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubetally.errors import KubetallyError
from kubetally.outputs.web.bundle import Bundle, BundleApplication, Response, error, read_bundle
from kubetally.outputs.web.query import BASELINES, ROUTES, WHOLE_ONLY, parse_window, window_text
from kubetally.outputs.web.server import start

WHOLE = "all"
MAX_WINDOWS = 8
"""Shorter windows kept at once (the oldest used goes first)."""
Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ServeConfig:
    """What the server needs: the request (JSON data a worker validates again) and the few fields it reads."""

    request: dict[str, Any]
    host: str
    port: int
    every_seconds: float
    stop_after_seconds: float | None = None
    dataset: str | None = None
    """``--dataset DIR``: hashed before each recomputation, read in place by the workers."""
    demo: bool = False
    python: str = field(default_factory=lambda: sys.executable)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))


def dataset_fingerprint(directory: Path) -> str:
    """SHA-256 over every file of a saved dataset (names and contents): equal means the same input."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


class WorkerFailed(KubetallyError):
    """A worker stopped without writing its answers (its one-line error is the message)."""


class Served:
    """The rendered answers and the workers that make them."""

    def __init__(self, config: ServeConfig, workdir: Path, log: Log = _stderr) -> None:
        self.config = config
        self.workdir = workdir
        self.log = log
        self._lock = threading.Lock()  # guards the bundles
        self._work = threading.Lock()  # one worker at a time
        self._whole: Bundle = {}
        self._windows: OrderedDict[str, Bundle] = OrderedDict()
        self._fingerprint: str | None = None
        self._jobs = 0
        self.computations = 0
        self.computed_at: datetime | None = None
        self.stopping = False
        self._running: subprocess.Popen[str] | None = None

    def stop(self) -> None:
        """Stop the worker that is computing, if any (SIGTERM, then it exits; nothing half-written is used)."""
        with self._lock:
            self.stopping = True
            if self._running is not None and self._running.poll() is None:
                self._running.terminate()

    # ------------------------------------------------------------------ workers
    def _spill(self) -> Path:
        return self.workdir / "dataset"

    def _worker(self, *, window: str, extra: list[tuple[str, dict[str, str]]], whole: bool) -> Bundle:
        self._jobs += 1
        out = self.workdir / f"answers-{self._jobs}.bin"
        span = parse_window(None if window == WHOLE else window)
        job: dict[str, Any] = {
            "request": self.config.request,
            "window_hours": None if span is None else span.total_seconds() / 3600,
            "extra": extra,
            "standard": whole or window != WHOLE,  # a whole-window request later: only what was asked
            "out": str(out),
            "load": None,
            "spill": None,
        }
        if self.config.dataset is None:
            if whole:
                job["spill"] = str(self._spill())
            else:
                job["load"] = str(self._spill())
        started = time.monotonic()
        with self._lock:
            if self.stopping:
                raise WorkerFailed("stopped")
            worker = subprocess.Popen(
                [self.config.python, "-m", "kubetally.app.serve_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            self._running = worker
        try:
            _, err = worker.communicate(json.dumps(job))
        finally:
            with self._lock:
                self._running = None
        if self.stopping:
            raise WorkerFailed("stopped")
        if worker.returncode != 0 or not out.is_file():
            lines = [line for line in err.splitlines() if line.strip()]
            reason = lines[-1].removeprefix("error: ") if lines else f"exit status {worker.returncode}"
            raise WorkerFailed(reason)
        try:
            return read_bundle(out)
        finally:
            out.unlink()
            self.log(f"computed {'the whole window' if whole else 'window ' + window} in "
                     f"{time.monotonic() - started:.1f} s")  # fmt: skip

    def _input_fingerprint(self) -> str | None:
        """Equal between two computations only when the input provably did not change (None: read it again)."""
        if self.config.demo:
            return "demo"  # the simulator is seeded and deterministic
        if self.config.dataset is not None:
            return dataset_fingerprint(Path(self.config.dataset))
        return None

    def refresh(self) -> bool:
        """Recompute the whole window unless the input is unchanged; True when it was recomputed."""
        fingerprint = self._input_fingerprint()
        if fingerprint is not None and fingerprint == self._fingerprint:
            return False
        with self._work:
            bundle = self._worker(window=WHOLE, extra=[], whole=True)
        with self._lock:
            self._whole = bundle
            self._windows.clear()
            self._fingerprint = fingerprint
            self.computations += 1
            self.computed_at = datetime.now(UTC)
        return True

    # ------------------------------------------------------------------ answers
    def _cached(self, window: str, key: str) -> Response | None:
        with self._lock:
            bundle = self._whole if window == WHOLE else self._windows.get(window)
            if bundle is not None and window != WHOLE:
                self._windows.move_to_end(window)
            return None if bundle is None else bundle.get(key)

    def answer(self, key: str, path: str, query: dict[str, str]) -> Response:
        """The answer for a checked request: from the bytes kept, else from a worker (then kept)."""
        if path not in ROUTES and not path.startswith(BASELINES):
            return error("404 Not Found", f"no such path: {path}", see="/openapi.json")
        span = None if path in WHOLE_ONLY or path.startswith(BASELINES) else parse_window(query.get("window"))
        window = window_text(span)
        found = self._cached(window, key)
        if found is not None:
            return found
        with self._work:
            found = self._cached(window, key)  # another request may have had it computed meanwhile
            if found is not None:
                return found
            try:
                bundle = self._worker(window=window, extra=[(path, query)], whole=False)
            except WorkerFailed as exc:
                return error("500 Internal Server Error", str(exc))
        with self._lock:
            if window == WHOLE:
                self._whole = {**self._whole, **bundle}
            else:
                self._windows[window] = {**self._windows.get(window, {}), **bundle}
                while len(self._windows) > MAX_WINDOWS:
                    self._windows.popitem(last=False)
        return bundle.get(key) or error("404 Not Found", f"no such path: {path}", see="/openapi.json")


def run(config: ServeConfig, log: Log = _stderr, stop: threading.Event | None = None) -> tuple[str, int]:
    """Serve until SIGTERM/Ctrl-C, ``stop`` or ``stop_after``; (the URL, the number of computations)."""
    stop = stop or threading.Event()
    workdir = Path(tempfile.mkdtemp(prefix="kubetally-serve-"))
    try:
        served = Served(config, workdir, log)
        if threading.current_thread() is threading.main_thread():
            import signal

            def terminated(*_: object) -> None:  # kubelet stops pods with SIGTERM: even during a computation
                stop.set()
                served.stop()

            signal.signal(signal.SIGTERM, terminated)
        log("computing the whole window in a worker process...")
        try:
            served.refresh()
        except WorkerFailed:
            if stop.is_set():
                return "(not yet listening)", 0
            raise
        server, thread = start(BundleApplication(served.answer), config.host, config.port)
        shown = f"[{config.host}]" if ":" in config.host else config.host
        url = f"http://{shown}:{server.server_port}"
        deadline = None if config.stop_after_seconds is None else time.monotonic() + config.stop_after_seconds
        try:
            while not stop.is_set():
                log(f"serving {url} (dashboard /, /metrics, /openapi.json) · next look at the source in "
                    f"{config.every_seconds:g} s · Ctrl-C stops")  # fmt: skip
                wait = config.every_seconds
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                if stop.wait(wait) or (deadline is not None and time.monotonic() >= deadline):
                    break
                try:
                    if not served.refresh():
                        log("the input has not changed: the answers stand")
                except WorkerFailed as exc:
                    if stop.is_set():
                        break
                    log(f"recomputation failed, still serving the previous answers: {exc}")
        except KeyboardInterrupt:
            pass
        finally:
            served.stop()
            server.shutdown()
            thread.join(timeout=10)
        return url, served.computations
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m kubetally.app.serving CONFIG_JSON`` (what ``kubetally serve`` turns itself into)."""
    args = sys.argv[1:] if argv is None else argv
    config = ServeConfig.from_json(args[0])
    try:
        url, computations = run(config)
    except KubetallyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"stopped serving {url} after {computations} computation(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
