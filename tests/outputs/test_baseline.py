"""Baselines: save a window, compare a later one with a planted change (a right-sizing applied and an
unused PVC deleted in between), through the DuckDB history store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from kubetally.analysis.allocation.settings import allocation_settings_from_text
from kubetally.app.insights import build_overview
from kubetally.data import demo_text
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError
from kubetally.model import schema
from kubetally.model.owners import parse_owners_text
from kubetally.model.pricing import default_price_book
from kubetally.outputs.baseline import baseline_of, compare
from kubetally.outputs.overview import Overview
from kubetally.outputs.report import render_report
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.store import RunStore

MI = 2**20
END = datetime(2026, 11, 2, tzinfo=UTC)


def _overview(ds: Dataset) -> Overview:
    return build_overview(
        ds,
        book=default_price_book(),
        allocation=allocation_settings_from_text(demo_text("allocation.yaml")),
        owners=parse_owners_text(demo_text("owners.yaml")),
        now=ds.info.end,
    )


def _rightsized(ds: Dataset) -> Dataset:
    """The same day, after notification-service went from 1 CPU / 1Gi to 30m / 108Mi and analysis-scratch went."""
    target = (pl.col("namespace") == "auditflow") & (pl.col("owner_name") == "notification-service")
    containers = ds.containers.with_columns(
        pl.when(target).then(0.03).otherwise(pl.col("cpu_request_cores")).alias("cpu_request_cores"),
        pl.when(target).then(108 * MI).otherwise(pl.col("memory_request_bytes")).alias("memory_request_bytes"),
    )
    volumes = ds.table(schema.VOLUMES).filter(pl.col("pvc") != "analysis-scratch")
    return ds.with_frames(containers=containers, volumes=volumes)


@pytest.fixture(scope="module")
def windows() -> tuple[Overview, Overview]:
    before = simulate(ScenarioConfig(days=1, step_seconds=600, end=END - timedelta(days=1)))
    after = _rightsized(simulate(ScenarioConfig(days=1, step_seconds=600, end=END)))
    return _overview(before), _overview(after)


def test_diff_reports_the_planted_change(windows: tuple[Overview, Overview], tmp_path: Path) -> None:
    before, after = windows
    with RunStore(tmp_path / "h.duckdb") as store:
        store.save_baseline(baseline_of(before, name="october", saved_at=END))
        saved = store.load_baseline("october")
    assert saved.workloads.height > 10 and saved.findings.height > 3
    changes = compare(saved, baseline_of(after, name="now", saved_at=END))
    moved = {w["controller"]: w for w in changes["workloads"]}
    notification = moved["notification-service"]
    assert notification["team"] == "notifications"
    # two replicas all day: 2 x 1 CPU -> 2 x 30m, 2 x 1Gi -> 2 x 108Mi (mean requested over the window)
    assert notification["cpu_request_cores_before"] == pytest.approx(2.0)
    assert notification["cpu_request_cores_after"] == pytest.approx(0.06)
    assert notification["memory_request_bytes_after"] == pytest.approx(216 * MI)
    assert "CPU requests 2 → 60m" in notification["what"] and "memory requests 2Gi → 216Mi" in notification["what"]
    assert notification["monthly_change"] < -1.0
    assert notification["cpu_efficiency_after"] > notification["cpu_efficiency_before"]
    # the other workloads ran the same simulated day shape: no request moved
    assert all("requests" not in w["what"] for w in changes["workloads"] if w["controller"] != "notification-service")
    resolved = {(f["rule"], f["name"]) for f in changes["findings"]["resolved"]}
    assert ("unused-pvc", "analysis-scratch") in resolved
    team = next(t for t in changes["teams"] if t["team"] == "notifications")
    assert team["monthly_change"] < -1.0
    # the report gets a section on it
    html = render_report(after, changes=changes)
    assert "Since the baseline “october”" in html and "notification-service" in html


def test_store_refuses_a_second_baseline_of_the_same_name(windows: tuple[Overview, Overview], tmp_path: Path) -> None:
    before, _ = windows
    with RunStore(tmp_path / "h.duckdb") as store:
        store.save_baseline(baseline_of(before, name="q3", saved_at=END))
        with pytest.raises(KubetallyError, match="already exists"):
            store.save_baseline(baseline_of(before, name="q3", saved_at=END))
        store.save_baseline(baseline_of(before, name="q3", saved_at=END + timedelta(hours=1)), replace=True)
        assert store.baselines().get_column("name").to_list() == ["q3"]
        with pytest.raises(KubetallyError, match=r"no baseline 'q4' .*\(saved: q3\)"):
            store.load_baseline("q4")


def test_first_and_last_compares_the_first_day_with_the_last(auditflow_ds: Dataset) -> None:
    """What the demo shows: the first part of the window as the baseline, the last part as now."""
    from kubetally.app.baseline import first_and_last
    from kubetally.app.insights import OverviewRequest
    from kubetally.app.source import opened_dataset

    request, opened = OverviewRequest(demo=True), opened_dataset(auditflow_ds)
    changes = first_and_last(request, opened, span=timedelta(days=1))
    assert changes is not None
    start, end = auditflow_ds.info.start, auditflow_ds.info.end
    assert changes["baseline"]["window_start"] == start.isoformat()
    assert changes["baseline"]["window_end"] == (start + timedelta(days=1)).isoformat()
    assert changes["current"]["window_start"] == (end - timedelta(days=1)).isoformat()
    assert changes["baseline"]["name"] == "first 1 days" and changes["current"]["name"] == "last 1 days"
    # AuditFlow repeats the same daily cycle: two days cost within 5% of each other, and nothing appears or goes
    totals = changes["totals"]
    assert abs(totals["monthly_change"]) <= 0.05 * totals["monthly_before"]
    assert changes["findings"] == {"appeared": [], "resolved": []}
    assert first_and_last(request, opened, span=timedelta(days=1.5)) is None  # not two spans long
