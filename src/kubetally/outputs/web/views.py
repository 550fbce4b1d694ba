"""``kubetally serve``'s rendering side: /metrics, the JSON API, the OpenAPI file and the dashboard pages.

A plain WSGI application (the standard library serves it; no framework, no CDN, nothing fetched
by the browser but this server's own pages). Every route renders an
:class:`~kubetally.outputs.overview.Overview` that a :class:`Views` object hands out: the one
computed for the whole window on each refresh (``/metrics``), or one for a shorter window
(``?window=7d``), computed on first use and cached until the next refresh. The use case that opens
the source and refreshes on an interval lives in the app layer and passes ``compute`` in.
:func:`prerender` renders a window's routes as bytes for the light server (:mod:`kubetally.outputs.web.bundle`).
"""

from __future__ import annotations

import json
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
from kubetally.outputs.web.bundle import Bundle, Response, send
from kubetally.outputs.web.query import KEYS, MAX_KEYS, ON_DEMAND, BadRequest, parse_keys, parse_window, route_key

Compute = Callable[[timedelta | None], Overview]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]
_keys = parse_keys
__all__ = ["KEYS", "MAX_KEYS", "Application", "BadRequest", "Views", "parse_window", "prerender"]


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
             "unplaced_pods": p.unplaced_pods, "nodes_freed": list(p.nodes_freed), "monthly_saving": p.monthly_saving,
             "monthly_book_saving": p.monthly_book_saving}
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
    """The WSGI callable. ``baseline_diff(name)`` (optional) answers /api/baselines/NAME; ``more`` maps a path to
    the JSON bytes of a use case that is not part of an Overview, from the query (``/api/scale``: what
    ``kubetally scale -o json`` prints), computed when asked."""

    def __init__(
        self,
        views: Views,
        *,
        baseline_diff: Callable[[str], dict[str, Any]] | None = None,
        more: dict[str, Callable[[dict[str, str]], bytes]] | None = None,
    ) -> None:
        self.views = views
        self.baseline_diff = baseline_diff
        self.more = more or {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return self._send(start_response, "405 Method Not Allowed", b"read-only: GET only\n", "text/plain")
        answer = self.respond(path, query)
        return self._send(start_response, answer.status, answer.body, answer.kind)

    def respond(self, path: str, query: dict[str, str]) -> Response:
        """The answer to GET ``path?query``, errors included (400 for a bad parameter, 500 for a failed one)."""
        try:
            status, body, kind = self.route(path, query)
        except BadRequest as exc:
            status, body, kind = "400 Bad Request", _json({"error": str(exc)}), "application/json"
        except KubetallyError as exc:
            status, body, kind = "500 Internal Server Error", _json({"error": str(exc)}), "application/json"
        return Response(status, kind, body)

    @staticmethod
    def _send(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
        return send(start_response, Response(status, kind, body))

    def route(self, path: str, query: dict[str, str]) -> tuple[str, bytes, str]:
        from kubetally.outputs.web import pages

        ok, js, html = "200 OK", "application/json", "text/html; charset=utf-8"
        if path == "/metrics":
            return ok, self.views.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8"
        if path == "/healthz":
            return ok, b"ok\n", "text/plain"
        if path == "/openapi.json":
            return ok, _json(openapi()), js
        if path in self.more:
            return ok, self.more[path](query), js
        if path in ON_DEMAND:
            why = " from this source"
            if path == "/api/cost-diff":
                why = ": start serve with --repo DIR (a git repository)"
            return "404 Not Found", _json({"error": f"{path} is not served{why}"}), js
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


def prerender(
    app: Application,
    window: timedelta | None,
    *,
    extra: Iterable[tuple[str, dict[str, str]]] = (),
    baselines: Iterable[str] = (),
    standard: bool = True,
) -> Bundle:
    """Every standard route of ``window`` (unless not ``standard``), ``extra`` requests and /api/baselines/NAME, as
    bytes by route key.

    /metrics, /openapi.json and the saved baselines are only for the whole window (they take no ``window``);
    the use cases of :data:`~kubetally.outputs.web.query.ON_DEMAND` only when asked for in ``extra``. Every
    standard route is rendered, so a worker's bundle answers every dashboard link of its window."""
    from kubetally.outputs.web.query import LABELS, ROUTES, WHOLE_ONLY, window_text

    query = {} if window is None else {"window": window_text(window)}
    wanted: list[tuple[str, dict[str, str]]] = []
    if standard:
        wanted += [(p, dict(query)) for p in ROUTES if p not in ON_DEMAND and (window is None or p not in WHOLE_ONLY)]
        wanted += [(p, {**query, "by": label}) for p in ("/api/showback", "/showback") for label in LABELS]
        if window is None:
            wanted += [(f"/api/baselines/{name}", {}) for name in baselines]
    wanted += list(extra)
    bundle: Bundle = {}
    for path, q in wanted:
        key = route_key(path, q)
        if key not in bundle:
            bundle[key] = app.respond(path, q)
    return bundle
