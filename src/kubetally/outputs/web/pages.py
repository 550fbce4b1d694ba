"""The dashboard's pages: server-rendered HTML, the report's stylesheet, charts as inline SVG, no script.

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

WINDOWS = ("1d", "7d", "30d", "all")
LABELS = ("team", "app", "component", "environment", "finops_tier", "namespace", "controller", "node")

_LAYOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>kubetally · {{ title }}</title>
<style>{{ css }}</style></head><body data-api="{{ api }}">
<header><h1>{{ title }}</h1>
<nav><a href="/">Overview</a><a href="/showback">Showback</a><a href="/nodes">Nodes</a><a href="/rightsize">Right-sizing</a>
<a href="/waste">Waste</a><a href="/metrics">/metrics</a><a href="/openapi.json">API</a></nav>
<p class="muted">{{ ov.dataset.info.source }} · {{ ov.dataset.info.start.isoformat()[:16] }} to
{{ ov.dataset.info.end.isoformat()[:16] }} UTC · computed {{ ov.computed_at.isoformat()[:19] }} · {{ ov.currency }}</p>
<form class="filters" method="get">{% block filters %}{% endblock %}
<label>time range<select name="window">{% for w in windows %}<option{% if w == window %} selected{% endif %}>{{ w }}</option>{% endfor %}</select></label>
<button type="submit">show</button></form></header><main>{% block main %}{% endblock %}</main></body></html>"""

_OVERVIEW = """{% extends "layout" %}{% block main %}
<section class="cards">
<div class="card"><div class="label">Spend per month</div><div class="big"><span data-k="spend.monthly">{{ m(s.spend.monthly) }}</span></div></div>
<div class="card"><div class="label">Idle per month</div><div class="big"><span data-k="spend.idle_monthly">{{ m(s.spend.idle_monthly) }}</span></div></div>
<div class="card"><div class="label">Right-sizing frees per month</div><div class="big"><span data-k="savings.capacity_monthly">{{ m(s.savings.capacity_monthly) }}</span></div></div>
<div class="card"><div class="label">Cash if freed nodes go</div><div class="big"><span data-k="savings.cash_monthly">{{ m(s.savings.cash_monthly) }}</span></div></div>
</section>
<figure>{{ trend | safe }}</figure>
<h2>Top savings</h2><ol class="actions">{% for a in s.actions %}<li>{{ a.text }}<div class="muted">owner {{ owner(a.owner) }} ·
<span data-k="actions.{{ loop.index0 }}.monthly">{{ m(a.monthly) }}</span>/month · <code>{{ a.how }}</code></div></li>{% endfor %}</ol>
{% endblock %}"""

_SHOWBACK = """{% extends "layout" %}{% block filters %}<label>by<select name="by">{% for k in labels %}
<option{% if k == by %} selected{% endif %}>{{ k }}</option>{% endfor %}</select></label>{% endblock %}{% block main %}
<p>Total <span data-k="total">{{ r.total }}</span> over the window, <span data-k="monthly_projection">{{ r.monthly_projection }}</span> per month.</p>
<div class="table"><table><thead><tr><th>{{ by }}</th><th class="n">total</th><th class="n">CPU</th><th class="n">memory</th>
<th class="n">volumes</th><th class="n">idle</th><th class="n">shared</th><th class="n">waste</th><th class="n">efficiency</th><th class="n">per month</th></tr></thead><tbody>
{% for row in r.rows %}{% set i = loop.index0 %}<tr><td data-k="rows.{{ i }}.{{ by }}">{{ row[by] }}</td>
{% for col in ("total_cost", "cpu_cost", "memory_cost", "pv_cost", "idle_cost", "shared_cost", "waste_cost") %}<td class="n" data-k="rows.{{ i }}.{{ col }}">{{ row[col] }}</td>{% endfor %}
<td class="n">{{ pct(row.total_efficiency) }}</td><td class="n" data-k="rows.{{ i }}.monthly_projection">{{ row.monthly_projection }}</td></tr>{% endfor %}
</tbody></table></div><figure>{{ trend | safe }}</figure>{% endblock %}"""

_NODES = """{% extends "layout" %}{% block main %}<figure>{{ cpu | safe }}</figure><figure>{{ memory | safe }}</figure>
<div class="table"><table><thead><tr><th>node</th><th class="n">CPU allocatable</th><th class="n">requested</th><th class="n">used p95</th>
<th class="n">stranded</th><th class="n">memory stranded GiB</th></tr></thead><tbody>{% for n in r.nodes %}{% set i = loop.index0 %}<tr>
<td data-k="nodes.{{ i }}.node">{{ n.node }}</td><td class="n" data-k="nodes.{{ i }}.cpu_allocatable_cores">{{ n.cpu_allocatable_cores }}</td>
<td class="n" data-k="nodes.{{ i }}.cpu_requested_mean_cores">{{ n.cpu_requested_mean_cores | round(3) }}</td>
<td class="n" data-k="nodes.{{ i }}.cpu_used_p95_cores">{{ n.cpu_used_p95_cores | round(3) }}</td>
<td class="n" data-k="nodes.{{ i }}.cpu_stranded_cores">{{ n.cpu_stranded_cores | round(3) }}</td>
<td class="n">{{ (n.memory_stranded_bytes / 1073741824) | round(2) }}</td></tr>{% endfor %}</tbody></table></div>
<h2>Packing</h2><ul>{% for p in r.packing %}<li>{{ p.scenario }}: {{ p.nodes_needed }} of {{ p.nodes_now }} nodes{% if p.nodes_freed %}, frees {{ p.nodes_freed | join(", ") }}{% endif %}</li>{% endfor %}</ul>{% endblock %}"""

_RIGHTSIZE = """{% extends "layout" %}{% block main %}<div class="table"><table><thead><tr><th>workload</th><th>container</th>
<th>status</th><th class="n">CPU now → recommended</th><th class="n">memory now → recommended</th><th class="n">saving/month</th><th>evidence</th></tr></thead><tbody>
{% for x in r.recommendations %}{% set i = loop.index0 %}<tr><td>{{ x.namespace }}/{{ x.owner_name }}</td><td>{{ x.container }}</td><td>{{ x.status }}</td>
<td class="n">{{ cpu(x.current_cpu_request_cores) }} → {{ cpu(x.recommended_cpu_request_cores) }}</td>
<td class="n">{{ mem(x.current_memory_request_bytes) }} → {{ mem(x.recommended_memory_request_bytes) }}</td>
<td class="n" data-k="recommendations.{{ i }}.monthly_saving">{{ "%.2f" | format(x.monthly_saving or 0) }}</td><td class="muted">{{ x.reason }}{% if x.evidence %}; {{ x.evidence }}{% endif %}</td></tr>{% endfor %}
</tbody></table></div>{% endblock %}"""

_WASTE = """{% extends "layout" %}{% block main %}<div class="table"><table><thead><tr><th>rule</th><th>object</th><th>owner</th>
<th class="n">per month</th><th>evidence</th><th>fix</th></tr></thead><tbody>{% for f in r.findings %}{% set i = loop.index0 %}<tr>
<td>{{ f.rule }}</td><td>{{ f.kind }} {{ f.namespace }}/{{ f.name }}</td><td>{{ owner(f.owner) }}</td>
<td class="n" data-k="findings.{{ i }}.monthly_cost">{{ "%.2f" | format(f.monthly_cost or 0) }}</td><td>{{ f.evidence }}</td><td><code>{{ f.remediation }}</code></td></tr>{% endfor %}
</tbody></table></div>{% endblock %}"""


def _env() -> Environment:
    from jinja2 import DictLoader

    from kubetally.model.quantity import format_cpu, format_memory

    env = Environment(
        loader=DictLoader({"layout": _LAYOUT, "overview": _OVERVIEW, "showback": _SHOWBACK, "nodes": _NODES,
                           "rightsize": _RIGHTSIZE, "waste": _WASTE}),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )  # fmt: skip
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
    return _ENV[0].get_template(name).render(**values)


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
    from kubetally.outputs.web import _keys, api_showback

    by = _keys(query.get("by"))[0]
    r = _plain(api_showback(ov, [by]))
    days = sorted({d["day"] for d in r["daily"]})
    series: dict[str, list[float]] = {}
    for d in r["daily"]:
        series.setdefault(str(d[by]), [0.0] * len(days))[days.index(d["day"])] = float(d["total_cost"])
    trend = plots.stacked_bars(days, series, title=f"Spend per day by {by}", ylabel=ov.currency)
    return _render("showback", ov=ov, r=r, by=by, trend=trend, title=f"Showback by {by}",
                   window=query.get("window", "all"), api=_api("/api/showback", {"by": by, **query}, "by", "window"))  # fmt: skip


def nodes_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.report import charts
    from kubetally.outputs.web import api_nodes

    made = charts(summary(ov))
    return _render("nodes", ov=ov, r=_plain(api_nodes(ov)), cpu=made["nodes_cpu"], memory=made["nodes_memory"],
                   title="Nodes and stranded capacity", window=query.get("window", "all"),
                   api=_api("/api/nodes", query, "window"))  # fmt: skip


def rightsize_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.web import api_rightsize

    return _render("rightsize", ov=ov, r=api_rightsize(ov), title="Right-sizing with evidence",
                   window=query.get("window", "all"), api=_api("/api/rightsize", query, "window"))  # fmt: skip


def waste_page(ov: Overview, query: dict[str, str]) -> str:
    from kubetally.outputs.web import api_waste

    return _render("waste", ov=ov, r=_plain(api_waste(ov)), title="Waste", window=query.get("window", "all"),
                   api=_api("/api/waste", query, "window"))  # fmt: skip


PAGES: dict[str, Callable[[Overview, dict[str, str]], str]] = {
    "/": overview_page,
    "/showback": showback_page,
    "/nodes": nodes_page,
    "/rightsize": rightsize_page,
    "/waste": waste_page,
}
