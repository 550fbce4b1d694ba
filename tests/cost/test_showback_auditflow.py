"""Showback on the simulated AuditFlow cluster, checked against the scenario's declared requests.

Expected team costs are computed by hand below from ``kubetally.simulate.scenario`` (requests,
replicas, schedules), not from the allocation code. With unit prices of 1 per core-hour and
1 per GiB-hour and ``basis=request``, a container costs (request cores + request GiB) per hour.
"""

from __future__ import annotations

import polars as pl
import pytest

from kubetally.analysis.allocation import AllocationSettings, allocate
from kubetally.analysis.allocation.report import showback
from kubetally.model.pricing import default_price_book, parse_price_text
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.answer_key import PLANTED, Problem

UNIT = parse_price_text(
    "nodes:\n  - unit: {cpu_per_core_hour: 1, memory_per_gib_hour: 1}\nstorage: {default_per_gib_month: 0}\n"
)
DAYS = 2
HOURS = 24 * DAYS
MI_IN_GI = 1 / 1024

# (cores + GiB) per hour of each team's pods, from the scenario's declarations:
PER_HOUR = {
    # audit-event-generator: 0.15 cores + 192Mi
    "core-pipeline": 0.15 + 192 * MI_IN_GI,
    # audit-log-analysis 2 x (0.1 + 128Mi); report-exporter 0.25 + 256Mi; audit-log-analysis-dev 0.1 + 192Mi
    "analytics": 2 * (0.1 + 128 * MI_IN_GI) + (0.25 + 256 * MI_IN_GI) + (0.1 + 192 * MI_IN_GI),
    # notification-service 2 x (1 core + 1Gi); legacy-webhook has 0 replicas; mailhog has no requests
    "notifications": 2 * (1.0 + 1.0),
    # event-audit-dashboard: 0.1 + 256Mi and nginx 0.02 + 32Mi
    "frontend": (0.1 + 256 * MI_IN_GI) + (0.02 + 32 * MI_IN_GI),
    # postgresql 0.25 + 512Mi, postgres-exporter 0.01 + 32Mi; rabbitmq 0.2 + 512Mi; prometheus 0.2 + 768Mi;
    # kube-state-metrics 0.01 + 64Mi; node-exporter on each of 4 nodes 0.01 + 32Mi; grafana 0.1 + 128Mi
    "platform": (0.25 + 512 * MI_IN_GI)
    + (0.01 + 32 * MI_IN_GI)
    + (0.2 + 512 * MI_IN_GI)
    + (0.2 + 768 * MI_IN_GI)
    + (0.01 + 64 * MI_IN_GI)
    + 4 * (0.01 + 32 * MI_IN_GI)
    + (0.1 + 128 * MI_IN_GI),
}
# audit-archiver (CronJob, core-pipeline): 0.25 + 128Mi for 20 minutes a night
EXTRA = {"core-pipeline": (0.25 + 128 * MI_IN_GI) * (20 / 60) * DAYS}


@pytest.fixture(scope="module")
def small() -> object:
    return simulate(ScenarioConfig(days=DAYS, step_seconds=300))


def test_showback_by_team_matches_declared_requests(small: object) -> None:
    ds = small
    alloc = allocate(ds, prices=UNIT, settings=AllocationSettings(basis="request"))  # type: ignore[arg-type]
    report = showback(alloc, ds.labels, by=["team"])  # type: ignore[attr-defined]
    assert report.reconciled
    got = {r["team"]: float(r["total_cost"]) for r in report.rows.iter_rows(named=True)}
    assert {"core-pipeline", "analytics", "notifications", "frontend", "platform"} <= set(got)
    for team, per_hour in PER_HOUR.items():
        expected = per_hour * HOURS + EXTRA.get(team, 0.0)
        if team == "notifications":
            # + mailhog, which has no requests and is charged its usage: about 3m CPU + 14Mi -> ~0.8
            assert got[team] == pytest.approx(expected + (0.003 + 14 * MI_IN_GI) * HOURS, abs=0.15), team
        else:
            assert got[team] == pytest.approx(expected, abs=0.011), team
    # load-tester has no team label and kube-system is unlabelled, as in real k3s
    assert got["__unallocated__"] > 0


def test_over_provisioned_service_is_least_efficient_and_most_wasteful(small: object) -> None:
    ds = small
    alloc = allocate(ds, prices=default_price_book(), settings=AllocationSettings())  # type: ignore[arg-type]
    rows = showback(alloc, ds.labels, by=["namespace", "controller"]).rows  # type: ignore[attr-defined]
    workloads = rows.filter(~pl.col("namespace").str.starts_with("__") & pl.col("total_efficiency").is_not_null())
    planted = next(p for p in PLANTED if p.problem == Problem.OVER_PROVISIONED)
    least = workloads.sort("total_efficiency").row(0, named=True)
    most_waste = workloads.sort("waste_cost", descending=True).row(0, named=True)
    assert (least["namespace"], least["controller"]) == (planted.namespace, planted.name)
    assert (most_waste["namespace"], most_waste["controller"]) == (planted.namespace, planted.name)
