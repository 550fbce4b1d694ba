"""``kubetally report``: one self-contained HTML file for the business owner.

Everything is inside the file: the CSS, the charts (inline SVG from :mod:`kubetally.outputs.plots`)
and the figures (from :func:`kubetally.outputs.summary.summary`, the same data ``/api/summary``
returns). No script, no font or image is fetched when it is opened. Every number taken from the
summary carries ``data-k="path.in.summary"`` so a test can check the page against the JSON.
Optionally printed to PDF by headless Chromium (:func:`pdf_from_html`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kubetally.analysis.allocation.settings import UNALLOCATED
from kubetally.errors import KubetallyError
from kubetally.outputs import plots
from kubetally.outputs.overview import Overview
from kubetally.outputs.summary import summary

GIB = 2**30
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _template(name: str) -> str:
    return resources.files("kubetally.outputs").joinpath("templates", name).read_text()


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _owner(value: str | None) -> str:
    return "no owner" if not value or value == UNALLOCATED else value


def charts(data: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG text."""
    cur = data["currency"]
    daily = data["daily"]
    tiers = [t for t in data["tiers"] if not str(t["criticality"]).startswith("__")]
    nodes = data["nodes"]
    names = [n["node"] for n in nodes]
    return {
        "trend": plots.stacked_bars(daily["days"], daily["teams"], title="Spend per day by team", ylabel=cur),
        "tiers": plots.cost_vs_value(
            [t["criticality"] for t in tiers],
            [t["monthly"] for t in tiers],
            [t["efficiency"] for t in tiers],
            currency=cur,
        ),
        "nodes_cpu": plots.grouped_bars(
            names,
            {
                "allocatable": [n["cpu_allocatable_cores"] for n in nodes],
                "requested": [n["cpu_requested_cores"] for n in nodes],
                "used (p95)": [n["cpu_used_p95_cores"] for n in nodes],
            },
            title="CPU per node: requested vs used",
            ylabel="cores",
        ),
        "nodes_memory": plots.grouped_bars(
            names,
            {
                "allocatable": [n["memory_allocatable_bytes"] / GIB for n in nodes],
                "requested": [n["memory_requested_bytes"] / GIB for n in nodes],
                "used (p95)": [n["memory_used_p95_bytes"] / GIB for n in nodes],
            },
            title="Memory per node: requested vs used",
            ylabel="GiB",
        ),
    }


def render_report(ov: Overview, *, changes: dict[str, Any] | None = None, title: str | None = None) -> str:
    """The report of ``ov`` as one HTML document (``changes``: a baseline diff, see kubetally.store)."""
    from jinja2 import Environment, select_autoescape

    data = summary(ov)
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_template("report.html.j2"))
    return template.render(
        s=data,
        changes=changes,
        plots=charts(data),
        css=_template("style.css"),
        cur=data["currency"],
        title=title or f"Kubernetes spend: {data['source']}",
        version=version("kubetally"),
        hours_per_month=f"{ov.hours_per_month:g}",
        m=_money,
        pct=_pct,
        owner=_owner,
        gib=lambda b: f"{b / GIB:.1f}",
    )


def find_browser() -> str | None:
    """A headless-capable Chromium on PATH, or None."""
    return next((p for p in (shutil.which(b) for b in BROWSERS) if p), None)


def pdf_from_html(html: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (a real renderer: what you see is what prints)."""
    browser = find_browser()
    if browser is None:
        raise KubetallyError("--pdf needs Chromium: apt-get install chromium (or drop --pdf)")
    with tempfile.TemporaryDirectory(prefix="kubetally-chromium-") as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    if result.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (result.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise KubetallyError(f"Chromium could not print {html} to PDF: {tail[0]}")
    return pdf
