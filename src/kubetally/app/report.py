"""`kubetally report`: one self-contained HTML file for the business owner (optionally a PDF too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.insights import OverviewRequest, StoreRequest, overview_of
from kubetally.app.source import Opened, open_source
from kubetally.errors import KubetallyError
from kubetally.outputs.baseline import baseline_of, compare
from kubetally.outputs.overview import Overview
from kubetally.outputs.results import ReportResult
from kubetally.store import RunStore


class ReportRequest(StoreRequest, OverviewRequest):
    """Write one HTML file for a non-engineer: spend per month, per team and per criticality tier, its trend, what
    is idle, the cash saving of the recommended changes (and, apart, book value on owned hardware), the top actions
    in plain words with their owners, waste by owner, nodes, and what changed since a baseline. Charts are inside the
    file; opening it needs no network."""

    out: Path = Field(Path("report.html"), description="Where to write the HTML file.",
                      json_schema_extra=cli(metavar="FILE"))  # fmt: skip
    pdf: bool = Field(False, description="Also print it to a PDF beside it (OUT with .pdf), with headless Chromium.")
    baseline: str | None = Field(
        None, description="Add a section on what changed since this saved baseline (`kubetally baseline save`).",
        json_schema_extra=cli(metavar="NAME"),
    )  # fmt: skip
    title: str | None = Field(None, description="Title of the report (default: 'Kubernetes spend: SOURCE').")


def write_report(
    overview: Overview, out: Path, *, changes: dict[str, Any] | None = None, title: str | None = None
) -> Path:
    from kubetally.outputs.report import render_report

    if out.is_dir():
        raise KubetallyError(f"--out {out}: is a directory; give a file name such as {out / 'report.html'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_report(overview, changes=changes, title=title))
    except OSError as exc:
        raise KubetallyError(f"--out {out}: cannot write: {exc.strerror}") from None
    return out


def report(request: ReportRequest, opened: Opened | None = None, progress: Progress = no_progress) -> ReportResult:
    opened = opened or open_source(request, progress)
    overview, note = overview_of(request, opened, progress=progress)
    changes = None
    if request.baseline is not None:
        with RunStore(request.store) as store:
            saved = store.load_baseline(request.baseline)
        changes = compare(saved, baseline_of(overview, name="now", saved_at=overview.computed_at))
    progress("drawing the charts and writing the report...")
    html = write_report(overview, request.out, changes=changes, title=request.title)
    pdf = None
    if request.pdf:
        from kubetally.outputs.report import pdf_from_html

        progress("printing the PDF with Chromium...")
        pdf = pdf_from_html(html, html.with_suffix(".pdf"))
    written = [f"[green]✓[/] report written to [bold]{html}[/]"] + ([f"[green]✓[/] PDF: [bold]{pdf}[/]"] if pdf else [])
    notes = tuple(n for n in (*opened.notes, note) if n)
    return ReportResult(html=html, pdf=pdf, notes=notes, messages=tuple(written))
