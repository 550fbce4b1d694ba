"""The dashboard's and API's query parameters (``window``, ``by``): parsed, checked, and named canonically.

Standard library only: the long-lived server checks a request here (a bad one is a 400 without any work) and
names it by :func:`route_key`, the key a worker rendered its answer under.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from kubetally.errors import KubetallyError

_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)([hdw])$")
_UNITS = {"h": 1.0, "d": 24.0, "w": 168.0}
KEYS = ("cluster", "node", "namespace", "controller_kind", "controller", "pod", "container")
MAX_KEYS = 4
WINDOWS = ("1d", "7d", "30d", "all")
"""The time ranges the dashboard offers (any other ``?window=`` works too)."""
LABELS = ("team", "app", "component", "environment", "finops_tier", "namespace", "controller", "node")
"""The showback keys the dashboard offers (any label works too)."""
DEFAULT_BY = "team"
ON_DEMAND = ("/api/scale", "/api/storage", "/api/backtest", "/api/cost-diff")
"""Use cases that are not part of an Overview: computed by a worker on first request (whole window), then kept."""
PARAMETERS = {
    "/api/storage": {"report": "volumes"},
    "/api/backtest": {"mode": "static", "strategy": "", "train_days": "", "window_days": "", "min_points": ""},
    "/api/cost-diff": {"base": "", "head": "", "namespace": ""},
}
"""The query parameters of an on-demand use case and their defaults (checked by the worker, as the command's
options): a request names its answer by the ones it gives that differ from their default."""
ROUTES = ("/metrics", "/openapi.json", "/api/summary", "/api/nodes", "/api/rightsize", "/api/waste",
          "/api/showback", "/", "/showback", "/nodes", "/rightsize", "/waste", *ON_DEMAND)  # fmt: skip
"""Every fixed route (and /api/baselines/NAME)."""
WHOLE_ONLY = ("/metrics", "/openapi.json", *ON_DEMAND)
"""Routes that take no ``window`` (the exporter always shows the whole window; scale replays all the history)."""
BASELINES = "/api/baselines/"


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


def window_text(window: timedelta | None) -> str:
    """The canonical spelling of a window (``1w``, ``7d`` and ``168h`` are one window, ``7d``): whole days in
    days, else hours; ``all`` for the whole dataset."""
    if window is None:
        return "all"
    hours = window.total_seconds() / 3600
    return f"{hours / 24:g}d" if hours % 24 == 0 else f"{hours:g}h"


def parse_keys(text: str | None) -> list[str]:
    """``by=team,app``: 1 to :data:`MAX_KEYS` column or label names."""
    keys = [k.strip() for k in (text or DEFAULT_BY).split(",") if k.strip()]
    bad = [k for k in keys if not re.fullmatch(r"[A-Za-z0-9_./-]{1,63}", k)]
    if not keys or bad or len(keys) > MAX_KEYS:
        raise BadRequest(f"by={text!r}: give 1 to {MAX_KEYS} comma-separated keys (a column or a label name)")
    return keys


def route_key(path: str, query: dict[str, str]) -> str:
    """One name for every request that gets the same answer (checked: raises :class:`BadRequest`).

    ``/api/showback``, ``/api/showback?by=team&window=all`` and ``/api/showback?window=&by=team&x=1`` are one key;
    the window is canonical (``7d`` = ``168h``). Only routes that read ``by`` keep it (and the on-demand use cases
    their :data:`PARAMETERS`); /metrics, /openapi.json, the on-demand use cases and /api/baselines/NAME take no
    window.
    """
    shown: dict[str, str] = {}
    window = parse_window(query.get("window"))
    if window is not None and path not in WHOLE_ONLY and not path.startswith(BASELINES):
        shown["window"] = window_text(window)
    if path in ("/api/showback", "/showback"):
        keys = parse_keys(query.get("by"))
        if keys != [DEFAULT_BY]:
            shown["by"] = ",".join(keys)
    for name, default in PARAMETERS.get(path, {}).items():
        value = query.get(name, "").strip()
        if len(value) > 200:
            raise BadRequest(f"{name}=: at most 200 characters")
        if value and value != default:
            shown[name] = value  # checked by the worker (the command's own option)
    return path + ("?" + urlencode(sorted(shown.items())) if shown else "")
