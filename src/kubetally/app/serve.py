"""`kubetally serve`: /metrics, a JSON API and a web dashboard over one source, recomputed on an interval."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.insights import OverviewRequest, StoreRequest, overview_of
from kubetally.app.source import Opened, open_source
from kubetally.model.duration import Span, format_duration
from kubetally.outputs.exposition import ExpositionSettings
from kubetally.outputs.results import ServeResult


class ServeRequest(StoreRequest, OverviewRequest):
    """Serve /metrics (kubetally_* gauges and the OpenCost names existing dashboards query), a JSON API
    (/openapi.json) and a web dashboard (showback by any label with a time range, trend, top savings, waste, nodes,
    right-sizing with evidence) for one source, recomputed every --every. Read-only; listens on 127.0.0.1 unless
    told otherwise. Ctrl-C stops it."""

    listen: str = Field(
        "127.0.0.1:8080", description="HOST:PORT to listen on (0.0.0.0:8080 in a pod; port 0 picks a free one).",
        json_schema_extra=cli(metavar="HOST:PORT"),
    )  # fmt: skip
    every: Span = Field(timedelta(minutes=5), description="Recompute (and re-read the source) this often, e.g. 5m, 1h.",
                        json_schema_extra=cli(metavar="DURATION"))  # fmt: skip
    stop_after: Span | None = Field(
        None, description="Stop after this long (for measurements and tests; default: run until Ctrl-C/SIGTERM).",
        json_schema_extra=cli(metavar="DURATION"),
    )  # fmt: skip
    max_workloads: int = Field(
        ExpositionSettings.model_fields["max_workloads"].default, ge=1, le=100_000,
        description=ExpositionSettings.model_fields["max_workloads"].description,
    )  # fmt: skip
    max_containers: int = Field(
        ExpositionSettings.model_fields["max_containers"].default, ge=1, le=200_000,
        description=ExpositionSettings.model_fields["max_containers"].description,
    )  # fmt: skip


def _baseline_diff(request: ServeRequest, views: Any) -> Any:
    from kubetally.outputs.baseline import baseline_of, compare
    from kubetally.store import RunStore

    def answer(name: str) -> dict[str, Any]:
        with RunStore(request.store) as store:
            saved = store.load_baseline(name)
        ov = views.get()
        return compare(saved, baseline_of(ov, name="now", saved_at=ov.computed_at))

    return answer


def serve(request: ServeRequest, opened: Opened | None = None, progress: Progress = no_progress) -> ServeResult:
    from kubetally.outputs.web import Application, Views
    from kubetally.outputs.web.server import parse_listen, start

    host, port = parse_listen(request.listen)
    state = {"opened": opened or open_source(request, progress)}
    rereads = not state["opened"].demo  # the simulated demo does not change: no need to simulate it again

    def compute(window: timedelta | None) -> Any:
        return overview_of(request, state["opened"], window=window, progress=progress)[0]

    views = Views(compute, ExpositionSettings(max_workloads=request.max_workloads,
                                              max_containers=request.max_containers))  # fmt: skip
    views.refresh()
    server, thread = start(Application(views, baseline_diff=_baseline_diff(request, views)), host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}"
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        import signal

        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # kubelet stops pods with SIGTERM
    deadline = None if request.stop_after is None else time.monotonic() + request.stop_after.total_seconds()
    refreshes = 1
    try:
        while not stop.is_set():
            when = datetime.now(UTC).strftime("%H:%M:%S")
            progress(f"serving {url} (dashboard /, /metrics, /openapi.json) · computed {when} UTC · "
                     f"next in {format_duration(request.every.total_seconds())} · Ctrl-C stops")  # fmt: skip
            wait = request.every.total_seconds()
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            if stop.wait(wait) or (deadline is not None and time.monotonic() >= deadline):
                break
            if rereads:
                state["opened"] = open_source(request, progress)
            views.refresh()
            refreshes += 1
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        thread.join(timeout=10)
    return ServeResult(url=url, refreshes=refreshes, messages=(f"stopped serving {url} after {refreshes} run(s)",))
