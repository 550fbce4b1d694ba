"""A small client for the Prometheus HTTP API: auth, TLS, retries with backoff and jitter, accounting.

Errors become :class:`SourceError` with one line naming the cause; URLs are shown
without credentials and no header value ever appears in a message.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

from kubetally.errors import SourceError
from kubetally.sources.prometheus.settings import Connection, redact_url

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class Series(TypedDict):
    metric: dict[str, str]
    values: list[tuple[float, str]]


@dataclass
class Usage:
    """What the collection cost: queries sent, points returned, samples the server says it touched."""

    queries: int = 0
    retries: int = 0
    points: int = 0
    server_samples: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


class PrometheusClient:
    """Thread-safe; one per collection run. Use as a context manager."""

    def __init__(self, conn: Connection, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.where = redact_url(conn.url)
        self.usage = Usage()
        self._lock = threading.Lock()
        self._sleep = sleep
        headers = {name: value.get_secret_value() for name, value in conn.headers}
        if conn.bearer_token is not None:
            headers["Authorization"] = f"Bearer {conn.bearer_token.get_secret_value()}"
        auth = None
        if conn.basic_user is not None:
            password = conn.basic_password.get_secret_value() if conn.basic_password else ""
            auth = httpx.BasicAuth(conn.basic_user, password)
        verify: bool | str = False if conn.insecure else (conn.ca_file or True)
        self._http = httpx.Client(
            base_url=conn.url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=conn.timeout_seconds,
            limits=httpx.Limits(max_connections=conn.concurrency, max_keepalive_connections=conn.concurrency),
        )

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    @property
    def http(self) -> httpx.Client:
        """The authenticated HTTP client (base URL = the server's), for the remote-read API."""
        return self._http

    def instant(self, query: str, at: float) -> list[tuple[dict[str, str], float]]:
        """``/api/v1/query`` at ``at`` (epoch seconds): (labels, value) per series; NaN values are dropped."""
        data = self._call("/api/v1/query", {"query": query, "time": _fmt(at)})
        if data.get("resultType") != "vector":
            raise SourceError(f"{self.where}: expected a vector from {query!r}, got {data.get('resultType')}")
        out = []
        for item in data.get("result", []):
            value = float(item["value"][1])
            if math.isfinite(value):
                out.append((dict(item["metric"]), value))
        with self._lock:
            self.usage.points += len(out)
        return out

    def range(self, query: str, start: float, end: float, step: int) -> list[Series]:
        """``/api/v1/query_range``; ``start``/``end`` are evaluation times (inclusive)."""
        data = self._call(
            "/api/v1/query_range", {"query": query, "start": _fmt(start), "end": _fmt(end), "step": str(step)}
        )
        if data.get("resultType") != "matrix":
            raise SourceError(f"{self.where}: expected a matrix from {query!r}, got {data.get('resultType')}")
        result: list[Series] = data.get("result", [])
        with self._lock:
            self.usage.points += sum(len(s["values"]) for s in result)
        return result

    def raw(self, selector: str, seconds: int, at: float) -> list[Series]:
        """The raw samples of ``selector`` in the ``seconds`` before ``at`` (an instant range-vector query)."""
        query = f"{selector}[{seconds}s]"
        data = self._call("/api/v1/query", {"query": query, "time": _fmt(at)})
        if data.get("resultType") != "matrix":
            raise SourceError(f"{self.where}: expected a matrix from {query!r}, got {data.get('resultType')}")
        result: list[Series] = data.get("result", [])
        with self._lock:
            self.usage.points += sum(len(s["values"]) for s in result)
        return result

    def names(self, match: str, start: float, end: float) -> set[str]:
        """Metric names of the series matching ``match`` with samples in ``[start, end]``
        (``/api/v1/label/__name__/values``; Prometheus and VictoriaMetrics both serve it)."""
        data = self._call(
            "/api/v1/label/__name__/values",
            {"match[]": match, "start": _fmt(start), "end": _fmt(end)},
            query=match,
            method="GET",
        )
        return {str(name) for name in data} if isinstance(data, list) else set()

    def ping(self, at: float) -> None:
        """Fail fast (one retry) with a clear line when the server is unreachable, refuses the
        credentials or is no Prometheus API, before the plan's queries are sent."""
        self._call("/api/v1/query", {"query": "vector(1)", "time": _fmt(at)}, retries=min(1, self.conn.retries))

    def _call(
        self,
        path: str,
        params: dict[str, str],
        *,
        retries: int | None = None,
        query: str | None = None,
        method: str = "POST",
    ) -> Any:
        what = params.get("query", query or path)
        params = {**params, "stats": "all"} if "query" in params else params
        allowed = self.conn.retries if retries is None else retries
        attempt = 0
        started = time.monotonic()
        while True:
            retry_after = 0.0
            try:
                if method == "GET":  # label-values endpoints take no form body
                    response = self._http.get(path, params=params)
                else:
                    response = self._http.post(path, data=params)
            except httpx.TimeoutException:
                problem = f"timed out after {self.conn.timeout_seconds:g} s"
            except httpx.TransportError as exc:
                problem = f"cannot reach the server ({_reason(exc)})"
            else:
                if response.status_code not in RETRY_STATUS:
                    return self._decode(response, what, started)
                problem = f"HTTP {response.status_code}{_api_error(response)}"
                retry_after = _retry_after(response)
            if attempt >= allowed:
                raise SourceError(f"Prometheus at {self.where}: {problem} (after {attempt + 1} attempts)")
            delay = max(retry_after, min(30.0, self.conn.backoff_seconds * 2**attempt) * random.uniform(0.5, 1.0))
            attempt += 1
            with self._lock:
                self.usage.retries += 1
            self._sleep(delay)

    def _decode(self, response: httpx.Response, query: str, started: float) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise SourceError(
                f"Prometheus at {self.where} refused the credentials (HTTP {status}): check the token / basic auth"
            )
        if status == 404:
            raise SourceError(f"{self.where} has no Prometheus API (HTTP 404 on /api/v1): check the URL and its prefix")
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"{self.where}: HTTP {status}, not a Prometheus API response") from None
        if status >= 400 or body.get("status") != "success":
            error = body.get("error", f"HTTP {status}") if isinstance(body, dict) else f"HTTP {status}"
            raise SourceError(f"Prometheus at {self.where} rejected a query ({error}): {query}")
        data: Any = body.get("data", {})
        stats = data.get("stats", {}) if isinstance(data, dict) else {}
        samples = stats.get("samples", {}).get("totalQueryableSamples", 0)
        with self._lock:
            self.usage.queries += 1
            self.usage.seconds += time.monotonic() - started
            self.usage.server_samples += int(samples or 0)
            for warning in body.get("warnings", []) or []:
                if warning not in self.usage.warnings:
                    self.usage.warnings.append(str(warning))
        return data


def _fmt(t: float) -> str:
    return f"{t:.3f}"


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    if "certificate" in text.lower() or "ssl" in text.lower():
        return "TLS error: " + text.split("\n")[0][:160] + " (use a CA bundle, or --insecure)"
    return text.split("\n")[0][:160]


def _retry_after(response: httpx.Response) -> float:
    """Seconds the server asked us to wait (429/503 ``Retry-After``), capped at 60."""
    try:
        return min(60.0, max(0.0, float(response.headers.get("Retry-After", "0"))))
    except ValueError:
        return 0.0


def _api_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return ""
    return f": {error}" if error else ""
