"""The business report: figures (hand-worked and AuditFlow's planted problems), one self-contained file,
and what headless Chromium shows (not blank, no console error, DOM numbers = the JSON summary)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from browser import figures, ink_ratio, open_page, screenshot
from kubetally.model.pricing import DEFAULT_ELECTRICITY_PER_KWH
from kubetally.outputs.overview import Overview
from kubetally.outputs.report import render_report
from kubetally.outputs.summary import summary


def lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def test_handmade_summary_is_all_cash_and_reconciles(handmade: Overview) -> None:
    s = summary(handmade)
    # flat and unit prices are bills: all cash, no book value
    assert s["spend"]["book_monthly"] == 0.0
    # node-a 1.00/h and node-b 0.24/h x 730 h
    assert s["spend"]["nodes_monthly"] == s["spend"]["cash_monthly"] == pytest.approx(1.24 * 730)
    teams = {t["team"]: t["window"] for t in s["teams"]}
    assert teams == {"__idle__": 1.10, "alpha": 0.87, "__unallocated__": 0.71, "__unmounted__": 0.01}
    assert s["spend"]["window_total"] == 2.69
    assert s["spend"]["idle_share"] == pytest.approx(1.10 / 2.69, abs=1e-4)


def test_auditflow_summary_separates_cash_from_book(auditflow: Overview) -> None:
    s = summary(auditflow)
    nodes = {n["node"]: n for n in s["nodes"]}
    # pi-server-1 is an rpi5-8gb: 107 USD over 36 months is book value (as `nodes` and `rightsize` split it) ...
    assert nodes["pi-server-1"]["book_monthly"] == round(107 / 36, 2)
    # ... and electricity (3 W idle .. 8 W busy, 730 h) plus the 0.50/month overhead is the cash
    kwh = float(DEFAULT_ELECTRICITY_PER_KWH) * 730 / 1000
    assert 3 * kwh + 0.50 - 0.01 <= nodes["pi-server-1"]["cash_monthly"] <= 8 * kwh + 0.50 + 0.01
    assert s["savings"]["nodes_freed"] and s["savings"]["cash_monthly"] < s["savings"]["book_monthly"]
    # the planted over-provisioned notification-service is the first thing to do, owned by its team
    first = s["actions"][0]
    assert first["name"] == "notification-service" and first["owner"] == "notifications" and first["monthly"] > 0
    kinds = {a["kind"] for a in s["actions"]}
    assert {"released-pv", "unused-pvc", "idle-workload"} <= kinds
    # the throttled and OOM-killed audit-log-analysis needs more: a cost, in plain words
    raise_it = next(a for a in s["actions"] if a["name"] == "audit-log-analysis" and a["monthly"] < 0)
    assert "OOM" in raise_it["text"]
    assert sum(t["monthly"] for t in s["teams"]) == pytest.approx(s["spend"]["monthly"], abs=0.005)


def test_report_is_one_file_with_no_external_reference(auditflow: Overview) -> None:
    html = render_report(auditflow)
    assert "<script" not in html
    # the only URLs are XML namespaces of the inline SVG
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", html)
    assert html.count("<svg") == 4


@pytest.mark.services
def test_chromium_shows_the_report_with_the_json_numbers(auditflow: Overview, tmp_path: Path) -> None:
    data = json.loads(json.dumps(summary(auditflow)))
    page_file = tmp_path / "report.html"
    page_file.write_text(render_report(auditflow))
    page = open_page(page_file.as_uri())
    assert not [m for m in page.console if "error" in m.lower() or "failed" in m.lower()], page.console
    shown = figures(page.dom)
    assert len(shown) >= 30
    for path, (text, flags) in shown.items():
        value = lookup(data, path)
        if isinstance(value, str):
            assert text == value, path
            continue
        number = float(text.replace(",", "").rstrip("%"))
        if "data-pct" in flags:
            assert number == pytest.approx(value * 100, abs=0.05), path
        else:
            assert number == pytest.approx(abs(value) if "data-abs" in flags else value, abs=0.005), path
    png = screenshot(page_file.as_uri(), "report-auditflow.png", height=3000)
    assert ink_ratio(png) > 0.05
    phone = screenshot(page_file.as_uri(), "report-auditflow-phone.png", width=390, height=2400)
    assert ink_ratio(phone) > 0.05


@pytest.mark.services
def test_pdf_through_chromium(handmade: Overview, tmp_path: Path) -> None:
    from browser import require_chromium
    from kubetally.outputs.report import pdf_from_html

    require_chromium()
    html = tmp_path / "r.html"
    html.write_text(render_report(handmade))
    pdf = pdf_from_html(html, tmp_path / "r.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 10_000
