"""``kubetally serve``'s HTTP side: /metrics, the JSON API, the OpenAPI file and the dashboard pages.

A plain WSGI application (the standard library serves it; no framework, no CDN, nothing fetched
by the browser but this server's own pages). Every route renders an
:class:`~kubetally.outputs.overview.Overview` that a :class:`Views` object hands out: the one
computed for the whole window on each refresh (``/metrics``), or one for a shorter window
(``?window=7d``), computed on first use and cached until the next refresh. The use case that opens
the source and refreshes on an interval lives in the app layer and passes ``compute`` in.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from kubetally.analysis.allocation.report import showback
from kubetally.errors import KubetallyError
from kubetally.outputs.exposition import ExpositionSettings, exposition_text
from kubetally.outputs.formats import records
from kubetally.outputs.overview import Overview
from kubetally.outputs.summary import summary

Compute = Callable[[timedelta | None], Overview]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]
_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)([hdw])$")
_UNITS = {"h": 1.0, "d": 24.0, "w": 168.0}
KEYS = ("cluster", "node", "namespace", "controller_kind", "controller", "pod", "container")
MAX_KEYS = 4


class BadRequest(KubetallyError):
    """A query parameter the API cannot use (HTTP 400 with the one-line reason)."""


def parse_window(text: str | None) -> timedelta | None:
    """``7d``, ``12h``, ``2w`` or ``all``/empty (the whole dataset)."""
    if not text or text == "all":
        return None
    match = _WINDOW.match(text.strip())
    if match is None:
        raise BadRequest(f"window={text!r}: write a number and h, d or w (e.g. 7d), or all")
    span = timedelta(hours=float(match[1]) * _UNITS[match[2]])
    if span <= timedelta(0):
        raise BadRequest(f"window={text!r}: must be longer than zero")
    return span


class Views:
    """The Overviews the server shows: the whole window, and shorter windows on request (cached)."""

    def __init__(self, compute: Compute, exposition: ExpositionSettings | None = None) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._cache: dict[timedelta | None, Overview] = {}
        self.exposition = exposition or ExpositionSettings()
        self._metrics = ""

    def refresh(self) -> Overview:
        """Recompute the whole-window Overview (and drop the cached shorter windows)."""
        overview = self._compute(None)
        text = exposition_text(overview, self.exposition)
        with self._lock:
            self._cache = {None: overview}
            self._metrics = text
        return overview

    def get(self, window: timedelta | None = None) -> Overview:
        with self._lock:
            cached = self._cache.get(window)
        if cached is not None:
            return cached
        if window is None:
            return self.refresh()
        overview = self._compute(window)
        with self._lock:
            self._cache[window] = overview
        return overview

    def metrics(self) -> str:
        with self._lock:
            text = self._metrics
        return text or exposition_text(self.get(), self.exposition)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, default=str) + "\n").encode()


def _keys(text: str | None) -> list[str]:
    keys = [k.strip() for k in (text or "team").split(",") if k.strip()]
    bad = [k for k in keys if not re.fullmatch(r"[A-Za-z0-9_./-]{1,63}", k)]
    if not keys or bad or len(keys) > MAX_KEYS:
        raise BadRequest(f"by={text!r}: give 1 to {MAX_KEYS} comma-separated keys (a column or a label name)")
    return keys


def api_showback(ov: Overview, by: list[str]) -> dict[str, Any]:
    report = showback(ov.allocation, ov.dataset.labels, by=by, owners=ov.owners)
    return {
        "by": by,
        "currency": report.currency,
        "window_hours": report.window_hours,
        "total": str(report.total),
        "monthly_projection": str(report.monthly_projection),
        "rows": records(report.rows),
        "daily": records(report.daily),
    }


def api_nodes(ov: Overview) -> dict[str, Any]:
    return {
        "nodes": records(ov.nodes.nodes),
        "cluster": records(ov.nodes.cluster),
        "packing": [
            {"scenario": p.scenario, "nodes_now": p.nodes_now, "nodes_needed": p.nodes_needed,
             "unplaced_pods": p.unplaced_pods, "nodes_freed": list(p.nodes_freed), "monthly_saving": p.monthly_saving}
            for p in ov.nodes.packing
        ],
    }  # fmt: skip


def api_rightsize(ov: Overview) -> dict[str, Any]:
    """Recommendations, the biggest saving first (unpriced last)."""
    return {"recommendations": records(ov.rightsizing.sort("monthly_saving", descending=True, nulls_last=True))}


def api_waste(ov: Overview) -> dict[str, Any]:
    return {"findings": records(ov.waste.findings), "silenced": ov.waste.silenced, "checked": ov.waste.checked}


def openapi() -> dict[str, Any]:
    text = resources.files("kubetally.outputs").joinpath("templates", "openapi.json").read_text()
    spec: dict[str, Any] = json.loads(text)
    return spec


class Application:
    """The WSGI callable. ``baseline_diff(name)`` (optional) answers /api/baselines/NAME."""

    def __init__(self, views: Views, *, baseline_diff: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.views = views
        self.baseline_diff = baseline_diff

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return self._send(start_response, "405 Method Not Allowed", b"read-only: GET only\n", "text/plain")
        try:
            status, body, kind = self.route(path, query)
        except BadRequest as exc:
            status, body, kind = "400 Bad Request", _json({"error": str(exc)}), "application/json"
        except KubetallyError as exc:
            status, body, kind = "500 Internal Server Error", _json({"error": str(exc)}), "application/json"
        return self._send(start_response, status, body, kind)

    @staticmethod
    def _send(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
        headers = [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                   ("X-Content-Type-Options", "nosniff")]  # fmt: skip
        start_response(status, headers)
        return [body]

    def route(self, path: str, query: dict[str, str]) -> tuple[str, bytes, str]:
        from kubetally.outputs.web import pages

        ok, js, html = "200 OK", "application/json", "text/html; charset=utf-8"
        if path == "/metrics":
            return ok, self.views.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8"
        if path == "/healthz":
            return ok, b"ok\n", "text/plain"
        if path == "/openapi.json":
            return ok, _json(openapi()), js
        window = parse_window(query.get("window"))
        if path.startswith("/api/baselines/"):
            if self.baseline_diff is None:
                return "404 Not Found", _json({"error": "no history store: start serve with --store"}), js
            return ok, _json(self.baseline_diff(path.removeprefix("/api/baselines/"))), js
        ov = self.views.get(window)
        api: dict[str, Callable[[], Any]] = {
            "/api/summary": lambda: summary(ov),
            "/api/showback": lambda: api_showback(ov, _keys(query.get("by"))),
            "/api/nodes": lambda: api_nodes(ov),
            "/api/rightsize": lambda: api_rightsize(ov),
            "/api/waste": lambda: api_waste(ov),
        }
        if path in api:
            return ok, _json(api[path]()), js
        page = pages.PAGES.get(path)
        if page is not None:
            return ok, page(ov, query).encode(), html
        return "404 Not Found", _json({"error": f"no such path: {path}", "see": "/openapi.json"}), js
