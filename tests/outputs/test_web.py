"""serve's HTTP side on a live server over AuditFlow: the OpenAPI file against the real responses,
one-line errors, /metrics, and the dashboard pages in headless Chromium (DOM numbers = the API's JSON)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families

from browser import figures, ink_ratio, open_page, screenshot
from kubetally.outputs.web.query import ON_DEMAND
from kubetally.outputs.web.views import openapi


def _example_url(path: str, op: dict[str, Any]) -> str:
    query = {p["name"]: p["example"] for p in op.get("parameters", []) if p["in"] == "query" and "example" in p}
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_every_api_path_answers_as_the_openapi_file_says(served: str) -> None:
    spec = openapi()
    checked = 0
    for path, item in spec["paths"].items():
        if "{" in path:
            continue  # /api/baselines/{name}: this server has no store (404 checked below)
        if path in ON_DEMAND:
            continue  # a use case beside the Overview: checked on the real server (test_serving.py)
        op = item["get"]
        for url in {path, _example_url(path, op)}:
            response = httpx.get(served + url, timeout=120)
            assert response.status_code == 200, (url, response.text[:300])
            content = op["responses"]["200"]["content"]
            kind = next(iter(content))
            assert response.headers["content-type"].startswith(kind), url
            if kind == "application/json":
                schema = {**content[kind]["schema"], "components": spec["components"]}
                errors = [e.message for e in Draft202012Validator(schema).iter_errors(response.json())]
                assert not errors, (url, errors[:3])
            checked += 1
    assert checked >= 10
    # every /api route the server has is in the file
    assert {p for p in spec["paths"] if p.startswith("/api/")} >= {
        "/api/summary", "/api/showback", "/api/nodes", "/api/rightsize", "/api/waste"
    }  # fmt: skip


def test_bad_parameters_are_one_line_errors(served: str) -> None:
    bad = httpx.get(served + "/api/showback?window=7 days", timeout=60)
    assert bad.status_code == 400 and bad.json() == {
        "error": "window='7 days': write a number and h, d or w (e.g. 7d), or all"
    }  # fmt: skip
    assert httpx.get(served + "/api/showback?by=a,b,c,d,e", timeout=60).status_code == 400
    assert httpx.get(served + "/api/baselines/q3", timeout=60).status_code == 404
    assert httpx.post(served + "/api/summary", timeout=60).status_code == 405


def test_metrics_and_a_shorter_window(served: str) -> None:
    text = httpx.get(served + "/metrics", timeout=60).text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"node_total_hourly_cost", "container_cpu_allocation", "kubetally_workload_cost_per_hour"} <= names
    whole = httpx.get(served + "/api/showback?by=team", timeout=60).json()
    day = httpx.get(served + "/api/showback?by=team&window=1d", timeout=60).json()
    assert day["window_hours"] == 24.0 and whole["window_hours"] == 48.0
    assert float(day["total"]) < float(whole["total"])


def _check_page(served: str, path: str, name: str) -> None:
    page = open_page(served + path)
    assert not [m for m in page.console if "error" in m.lower() or "failed" in m.lower()], page.console
    api = re.search(r'data-api="([^"]+)"', page.dom)
    assert api, path
    data = httpx.get(served + api.group(1).replace("&amp;", "&"), timeout=120).json()
    shown = figures(page.dom)
    assert shown, path
    for key, (text, _) in shown.items():
        value: Any = data
        for part in key.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        if isinstance(value, str) and not re.fullmatch(r"-?\d+(\.\d+)?", value):
            assert text == value, (path, key)
        else:
            assert float(text.replace(",", "")) == pytest.approx(float(value or 0), abs=0.0051), (path, key)
    png = screenshot(served + path, name, height=1800)
    assert ink_ratio(png) > 0.05, path


@pytest.mark.services
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/", "dashboard-overview.png"),
        ("/showback?by=team&window=1d", "dashboard-showback-team-1d.png"),
        ("/nodes", "dashboard-nodes.png"),
        ("/rightsize", "dashboard-rightsize.png"),
        ("/waste", "dashboard-waste.png"),
    ],
)
def test_dashboard_pages_in_chromium(served: str, path: str, name: str) -> None:
    _check_page(served, path, name)


@pytest.mark.services
def test_dashboard_on_a_phone(served: str) -> None:
    png = screenshot(served + "/showback?by=app", "dashboard-showback-phone.png", width=390, height=1600)
    assert ink_ratio(png) > 0.05
    assert json.loads(httpx.get(served + "/api/showback?by=app", timeout=60).text)["rows"]
