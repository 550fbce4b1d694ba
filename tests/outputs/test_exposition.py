"""/metrics text: hand-worked values, OpenCost label sets, reconciliation, bounded cardinality."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from alloc_handmade import GI
from prometheus_client.parser import text_string_to_metric_families

from kubetally.analysis.allocation import AllocationSettings
from kubetally.app.insights import build_overview
from kubetally.model.pricing import default_price_book
from kubetally.outputs.exposition import ExpositionSettings, exposition_text
from kubetally.outputs.overview import Overview
from kubetally.simulate import ScenarioConfig, simulate

Samples = dict[str, list[tuple[dict[str, str], float]]]


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def by(rows: list[tuple[dict[str, str], float]], label: str) -> dict[str, float]:
    return {labels[label]: value for labels, value in rows}


def test_opencost_names_with_opencost_labels_and_hand_worked_values(handmade: Overview) -> None:
    got = samples(exposition_text(handmade))
    node_labels = {"instance", "node", "instance_type", "region", "provider_id", "arch"}
    for name in ("node_cpu_hourly_cost", "node_ram_hourly_cost", "node_total_hourly_cost"):
        assert all(set(labels) == node_labels for labels, _ in got[name]), name
    # node-a: 1.00/h split half/half over 4 cores and 8 GiB; node-b: unit prices 0.10/core-h, 0.01/GiB-h
    assert by(got["node_cpu_hourly_cost"], "node") == pytest.approx({"node-a": 0.125, "node-b": 0.10})
    assert by(got["node_ram_hourly_cost"], "node") == pytest.approx({"node-a": 0.0625, "node-b": 0.01})
    assert by(got["node_total_hourly_cost"], "node") == pytest.approx({"node-a": 1.00, "node-b": 0.24})
    # class fast 7.30/GiB-month / 730 h; pv-old's class "slow" has no price: default 0.73 / 730
    assert by(got["pv_hourly_cost"], "persistentvolume") == pytest.approx({"pv-data": 0.01, "pv-old": 0.001})
    assert {frozenset(labels) for labels, _ in got["pv_hourly_cost"]} == {
        frozenset({"volumename", "persistentvolume", "provider_id"})
    }
    # allocation at the last step (T1) = max(request, usage): web-1 uses 2 cores over its 1-core request
    container = {"namespace", "pod", "container", "instance", "node"}
    assert all(set(labels) == container for labels, _ in got["container_cpu_allocation"])
    assert by(got["container_cpu_allocation"], "pod") == pytest.approx(
        {"web-1": 2.0, "api-1": 0.5, "db-0": 1.5, "worker-1": 1.0}
    )
    assert by(got["container_memory_allocation_bytes"], "pod") == pytest.approx(
        {"web-1": 3 * GI, "api-1": 1 * GI, "db-0": 1 * GI, "worker-1": 1 * GI}
    )
    assert sorted((labels["pod"], labels["persistentvolumeclaim"], labels["persistentvolume"], value)
                  for labels, value in got["pod_pvc_allocation"]) == [
        ("api-1", "data", "pv-data", 10 * GI), ("db-0", "data", "pv-data", 10 * GI)
    ]  # fmt: skip


def test_kubetally_families_reconcile_with_the_cluster_total(handmade: Overview) -> None:
    got = samples(exposition_text(handmade))
    hours = 2.0
    # the workload lines (idle and unmounted included) add up to the cluster's 2.69 for the window
    assert sum(v for _, v in got["kubetally_workload_cost_per_hour"]) * hours == pytest.approx(2.69)
    workloads = {labels["controller"]: v * hours for labels, v in got["kubetally_workload_cost_per_hour"]}
    # unrounded (tests/cost: idle 1.0625 + 0.04; web-1/c1 0.6875): PromQL sums are not sums of rounded cents
    assert workloads["__idle__"] == pytest.approx(1.1025) and workloads["web"] == pytest.approx(0.6875)
    teams = Counter[str]()
    for labels, value in got["kubetally_workload_cost_per_hour"]:
        teams[labels["team"]] += value * hours
    assert teams["alpha"] == pytest.approx(0.8675)  # web 0.6875 + worker 0.18 (labels from pod and Deployment)
    # idle per node (tests/cost: node-a 1.0625, node-b 0.04 over 2 hours)
    idle = by(got["kubetally_node_idle_cost_per_hour"], "node")
    assert idle == pytest.approx({"node-a": 1.0625 / hours, "node-b": 0.04 / hours})
    assert by(got["kubetally_cluster_cost_per_hour"], "cluster") == pytest.approx({"c1": (2.00 + 0.48) / hours})
    # stranded = allocatable - requested: node-a 4 - 1 cores; node-b over-committed, so none
    assert by(got["kubetally_node_cpu_stranded_cores"], "node") == pytest.approx({"node-a": 3.0, "node-b": 0.0})
    rules = {(labels["rule"], labels["namespace"]): v for labels, v in got["kubetally_waste_findings"]}
    assert rules == {("no-requests", "team-b"): 1.0, ("released-pv", ""): 1.0}
    states = {(labels["owner_name"], labels["state"]): v for labels, v in got["kubetally_container_cpu_request_cores"]}
    assert states[("db", "current")] == 1.5
    assert got["kubetally_window_hours"][0][1] == hours


def test_auditflow_metrics_match_the_showback(auditflow: Overview) -> None:
    got = samples(exposition_text(auditflow))
    # the nodes' cost (unrounded) = every workload line, idle included; the report prints it to the cent
    total = auditflow.allocation.total_cost
    assert sum(v for _, v in got["kubetally_workload_cost_per_hour"]) * 48 == pytest.approx(total, rel=1e-9)
    assert round(total, 2) == float(auditflow.workloads.total)
    per_team = Counter[str]()
    for labels, value in got["kubetally_workload_cost_per_hour"]:
        per_team[labels["team"]] += value * 48
    expected = {r["team"]: float(r["total_cost"]) for r in auditflow.teams.rows.iter_rows(named=True)}
    # each team's report line is within a cent of its unrounded amount (controlled rounding)
    assert per_team.keys() == expected.keys()
    assert all(abs(per_team[team] - cost) <= 0.01 for team, cost in expected.items()), (per_team, expected)
    assert {labels["node"] for labels, _ in got["node_total_hourly_cost"]} == {
        "pi-server-1", "pi-agent-1", "pi-agent-2", "pi-agent-3"
    }  # fmt: skip


@pytest.mark.slow
def test_series_count_is_bounded_on_the_1000_workload_scenario() -> None:
    ds = simulate(ScenarioConfig(days=1, step_seconds=3600, extra_workloads=1000))
    now = datetime(2026, 11, 2, tzinfo=UTC)
    ov = build_overview(ds, book=default_price_book(), allocation=AllocationSettings(), owners=None, now=now)
    settings = ExpositionSettings(max_workloads=500, max_containers=2000)
    text = exposition_text(ov, settings)
    series = Counter(name for name, rows in samples(text).items() for _ in rows)
    # 1,016 workloads -> 500 + one __other__ line per workload family; 2,000 of the running containers
    assert series["kubetally_workload_cost_per_hour"] == 501
    assert series["container_cpu_allocation"] == 2000
    assert series["node_total_hourly_cost"] == ds.nodes.height == 88
    assert sum(series.values()) == 17_488  # of which 2,773 x 2 current+recommended requests, 4,000 OpenCost allocations
    folded = [
        labels for labels, _ in samples(text)["kubetally_workload_cost_per_hour"] if labels["team"] == "__other__"
    ]
    assert len(folded) == 1
