"""The dashboard's pages (templates/dash-*.html.j2): server-rendered HTML, charts as inline SVG, no script.

Each page names the JSON it shows (``<body data-api="/api/...">``) and every figure carries
``data-k`` = its path in that JSON, so the tests can compare what Chromium shows with the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, select_autoescape

from kubetally.outputs import plots
from kubetally.outputs.overview import Overview
from kubetally.outputs.report import _money, _owner, _pct, _template
from kubetally.outputs.summary import summary
from kubetally.outputs.web.query import LABELS, WINDOWS


def _env() -> Environment:
    from jinja2 import FunctionLoader

    from kubetally.model.quantity import format_cpu, format_memory

    env = Environment(
        loader=FunctionLoader(_template), autoescape=select_autoescape(default=True, default_for_string=True)
    )
    env.globals.update(
        m=_money, pct=_pct, owner=_owner, windows=WINDOWS, labels=LABELS, css=_template("style.css"),
        cpu=lambda v: "none" if v is None else format_cpu(float(v)),
        mem=lambda v: "none" if v is None else format_memory(float(v)),
    )  # fmt: skip
    return env


_ENV: list[Environment] = []


def _render(name: str, **values: Any) -> str:
    if not _ENV:
        _ENV.append(_env())
    return _ENV[0].get_template(f"dash-{name}.html.j2").render(**values)


def _api(path: str, query: dict[str, str], *keys: str) -> str:
    from urllib.parse import urlencode

    shown = {k: query[k] for k in keys if k in query}
    return path + (f"?{urlencode(shown)}" if shown else "")


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def overview_page(ov: Overview, query: dict[str, str]) -> str:
    s = summary(ov)
    daily = s["daily"]
    trend = plots.stacked_bars(daily["days"], daily["teams"], title="Spend per day by team", ylabel=ov.currency)
    return _render("overview", ov=ov, s=s, trend=trend, title="Overview", window=query.get("window", "all"),
                   api=_api("/api/summary", query, "window"))  # fmt: skip


def showback_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.web.views import _keys, api_showback

    by = _keys(query.get("by"))[0]
    r = _plain(api_showback(ov, [by]))
    days = sorted({d["day"] for d in r["daily"]})
    series: dict[str, list[float]] = {}
    for d in r["daily"]:
        series.setdefault(str(d[by]), [0.0] * len(days))[days.index(d["day"])] = float(d["total_cost"])
    trend = plots.stacked_bars(days, series, title=f"Spend per day by {by}", ylabel=ov.currency)
    api = _api("/api/showback", {"by": by, **query}, "by", "window")
    return _render("showback", ov=ov, r=r, by=by, trend=trend, title=f"Showback by {by}",
                   window=query.get("window", "all"), api=api)  # fmt: skip


def nodes_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.report import charts
    from kubetally.outputs.web.views import api_nodes

    made = charts(summary(ov))
    return _render("nodes", ov=ov, r=_plain(api_nodes(ov)), cpu=made["nodes_cpu"], memory=made["nodes_memory"],
                   title="Nodes and stranded capacity", window=query.get("window", "all"),
                   api=_api("/api/nodes", query, "window"))  # fmt: skip


def rightsize_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.web.views import api_rightsize

    return _render("rightsize", ov=ov, r=api_rightsize(ov), title="Right-sizing with evidence",
                   window=query.get("window", "all"), api=_api("/api/rightsize", query, "window"))  # fmt: skip


def waste_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.web.views import api_waste

    return _render("waste", ov=ov, r=_plain(api_waste(ov)), title="Waste", window=query.get("window", "all"),
                   api=_api("/api/waste", query, "window"))  # fmt: skip


PAGES: dict[str, Callable[[Overview, dict[str, str]], str]] = {
    "/": overview_page,
    "/showback": showback_page,
    "/nodes": nodes_page,
    "/rightsize": rightsize_page,
    "/waste": waste_page,
}
