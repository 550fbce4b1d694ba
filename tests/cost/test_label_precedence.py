"""One label-precedence rule (docs/cost-model.md, "Which team"): showback, rightsize, scale and cost-diff
attribute a workload to the same team when its Deployment and its pods disagree.

The hand-worked cluster of ``alloc_handmade`` with three conflicts added:
- Deployment team-a/web has ``team=deploy-team``, its pod web-1 ``team=pod-team``: pod-team (the pod wins);
- Deployment team-a/worker has ``team=alpha`` and its pod none: alpha (the controller);
- Namespace team-b has ``team=ns-team``, api and db carry none: ns-team (the namespace).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from alloc_handmade import PRICES_YAML, dataset

from kubetally.actions.costdiff import CostDiffSettings, cost_diff, requested_resources
from kubetally.analysis.allocation import AllocationSettings, allocate
from kubetally.analysis.allocation.report import showback
from kubetally.analysis.rightsizing.select import parse_selector, select_workloads, workload_labels
from kubetally.analysis.scaling import UnitPrices
from kubetally.analysis.scaling import workload_labels as scaling_labels
from kubetally.dataset import Dataset
from kubetally.model.pricing import parse_price_text

EXPECTED = {"web": "pod-team", "worker": "alpha", "api": "ns-team", "db": "ns-team"}


def _label(kind: str, ns: str, name: str, key: str, value: str) -> dict[str, str]:
    return {"cluster": "c1", "object_kind": kind, "namespace": ns, "name": name, "key": key, "value": value}


def _conflicting() -> Dataset:
    ds = dataset()
    base = ds.labels.filter(~((pl.col("object_kind") == "Pod") & (pl.col("name") == "web-1")))
    extra = pl.DataFrame(
        [
            _label("Pod", "team-a", "web-1", "team", "pod-team"),
            _label("Deployment", "team-a", "web", "team", "deploy-team"),
            _label("Namespace", "", "team-b", "team", "ns-team"),
        ],
        schema=ds.labels.schema,
    )
    return ds.with_frames(labels=pl.concat([base, extra]))


def test_showback_charges_the_pod_label_then_controller_then_namespace() -> None:
    ds = _conflicting()
    alloc = allocate(ds, prices=parse_price_text(PRICES_YAML), settings=AllocationSettings())
    report = showback(alloc, ds.labels, by=["team", "controller"])
    got = {row["controller"]: row["team"] for row in report.rows.iter_rows(named=True) if row["controller"] in EXPECTED}
    assert got == EXPECTED


def test_rightsize_selects_by_the_same_team() -> None:
    ds = _conflicting()
    workloads = ds.containers.select("cluster", "namespace", "owner_kind", "owner_name").unique()
    labels = workload_labels(ds.labels, ds.containers)
    for team in ("pod-team", "alpha", "ns-team", "deploy-team"):
        chosen = select_workloads(workloads, selector=parse_selector(f"team={team}"), labels=labels)
        assert sorted(chosen["owner_name"]) == sorted(k for k, v in EXPECTED.items() if v == team)


def test_scale_resolves_the_same_team() -> None:
    ds = _conflicting()
    got = {row["name"]: row["value"] for row in scaling_labels(ds.labels, ds.containers, "team").iter_rows(named=True)}
    assert got == EXPECTED


def test_cost_diff_reads_the_same_rule_from_manifests(tmp_path: Path) -> None:
    tree = tmp_path / "k8s"
    tree.mkdir()
    (tree / "all.yaml").write_text(
        """apiVersion: v1
kind: Namespace
metadata: {name: team-b, labels: {team: ns-team}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a, labels: {team: deploy-team}}
spec:
  replicas: 1
  template:
    metadata: {labels: {team: pod-team}}
    spec: {containers: [{name: c1, resources: {requests: {cpu: "1", memory: 2Gi}}}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: team-a, labels: {team: alpha}}
spec:
  template:
    metadata: {labels: {app: worker}}
    spec: {containers: [{name: c4, resources: {requests: {cpu: "1", memory: 1Gi}}}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: team-b}
spec:
  template:
    spec: {containers: [{name: c2}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: team-b}
spec:
  template:
    spec: {containers: [{name: c3, resources: {requests: {cpu: 1500m, memory: 1Gi}}}]}
"""
    )
    settings = CostDiffSettings()
    frame = requested_resources(tree, namespace=None, settings=settings)
    prices = UnitPrices(cpu_per_core_hour=0.1, memory_per_gib_hour=0.01, currency="USD", hours_per_month=730)
    diff = cost_diff(frame, frame, prices=prices, settings=settings)
    assert dict(zip(diff["name"], diff["team"], strict=True)) == EXPECTED


def test_waste_attributes_findings_to_the_same_team() -> None:
    from kubetally.analysis.waste import WasteSettings, findings
    from kubetally.model.labels import object_label_values

    ds = _conflicting()
    workloads = ds.containers.select("cluster", "namespace", kind="owner_kind", name="owner_name").unique()
    ds = ds.with_frames(workloads=pl.concat([ds.workloads, workloads], how="diagonal_relaxed"))
    settings = WasteSettings(required_labels=("cost-center",))  # every workload misses it: one finding each
    report = findings(ds, settings=settings, book=None)
    got = {r["name"]: r["owner"] for r in report.findings.filter(pl.col("rule") == "missing-labels").to_dicts()}
    assert got == EXPECTED
    # objects without pods: their own label, else their namespace's (a scaled-to-zero workload, a ConfigMap)
    ids = pl.DataFrame(
        [
            ("c1", "ConfigMap", "team-b", "settings"),
            ("c1", "Deployment", "team-b", "parked"),
            ("c1", "Pod", "team-a", "web-1"),
        ],
        schema=["cluster", "kind", "namespace", "name"],
        orient="row",
    )
    extra = pl.DataFrame([_label("Deployment", "team-b", "parked", "team", "parked-team")], schema=ds.labels.schema)
    values = object_label_values(ids, ds.containers, pl.concat([ds.labels, extra]), ["team"])
    assert dict(zip(values["name"], values["team"], strict=True)) == {
        "settings": "ns-team",
        "parked": "parked-team",
        "web-1": "pod-team",
    }
