"""Waste rules on the simulated AuditFlow cluster against the answer key.

Costs are hand-worked from the scenario's declarations (``kubetally.simulate.scenario``) with a
price book of 1 per core-hour and 1 per GiB-hour (730 h a month) and storage at 0.06 (longhorn)
and 0.02 (local-path) per GiB-month — not from the waste code.
"""

from __future__ import annotations

import polars as pl
import pytest

from kubetally.analysis.waste import WasteReport, WasteSettings, findings, scores
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.pricing import parse_price_text
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.answer_key import PLANTED, Problem
from kubetally.simulate.scenario import CLUSTER

BOOK = parse_price_text(
    "hours_per_month: 730\nnodes:\n  - unit: {cpu_per_core_hour: 1, memory_per_gib_hour: 1}\n"
    "storage: {default_per_gib_month: 0.04, classes: {longhorn: 0.06, local-path: 0.02}}\n"
)

RULE_OF = {
    Problem.IDLE: "idle-workload",
    Problem.SCALED_TO_ZERO: "scaled-to-zero",
    Problem.UNUSED_PVC: "unused-pvc",
    Problem.RELEASED_PV: "released-pv",
    Problem.ORPHANED_CONFIGMAP: "orphaned-configmap",
    Problem.ORPHANED_SECRET: "orphaned-secret",
    Problem.ORPHANED_SERVICE: "orphaned-service",
    Problem.DEBUG_LOGGING: "debug-logging",
    Problem.GROWING_TABLE: "growing-table",
    Problem.MISSING_LABELS: "missing-labels",
    Problem.NO_REQUESTS: "no-requests",
}
"""The answer key's waste problems and the rule that must report each."""

COST = {
    # report-exporter: 1 replica x (250m + 256Mi) x 730 h
    "idle-workload": (0.25 + 0.25) * 730,
    # legacy-webhook has no PVC of its own: deleting it and its Service frees no money
    "scaled-to-zero": 0.0,
    # analysis-scratch: 5Gi local-path
    "unused-pvc": 5 * 0.02,
    # pvc-old-reports: 20Gi longhorn
    "released-pv": 20 * 0.06,
    "orphaned-configmap": 0.0,
    "orphaned-secret": 0.0,
    "orphaned-service": 0.0,
    # its logs on disk, at most the kubelet cap of 50Mi, at the default 0.04 per GiB-month: < 0.01
    "debug-logging": 0.0,
    # audit_event grows 95Mi a day: a month (730/24 days) of it on the longhorn volume at 0.06
    "growing-table": 95 / 1024 * 730 / 24 * 0.06,
    # load-tester's requests have no owner: 50m + 64Mi x 730 h
    "missing-labels": (0.05 + 64 / 1024) * 730,
    # mailhog is charged for its usage: ~3m CPU and ~14Mi (declared load; the series are noisy, so 15%)
    "no-requests": (0.003 + 14 / 1024) * 730,
}
REL = {"no-requests": 0.15}


@pytest.fixture(scope="module")
def auditflow() -> Dataset:
    return simulate(ScenarioConfig(days=10, step_seconds=600))


@pytest.fixture(scope="module")
def report(auditflow: Dataset) -> WasteReport:
    return findings(auditflow, settings=WasteSettings(), book=BOOK)


def _found(report: WasteReport) -> dict[tuple[str, str, str, str], dict[str, object]]:
    return {(r["rule"], r["namespace"], r["kind"], r["name"]): r for r in report.findings.iter_rows(named=True)}


def test_every_planted_waste_item_is_found_with_its_rule_and_cost(report: WasteReport) -> None:
    found = _found(report)
    for planted in PLANTED:
        rule = RULE_OF.get(planted.problem)
        if rule is None:
            continue
        key = (rule, planted.namespace, planted.kind, planted.name)
        assert key in found, f"{planted.problem}: {key} not reported; got {sorted(found)}"
        assert found[key]["monthly_cost"] == pytest.approx(COST[rule], abs=0.01, rel=REL.get(rule)), key
        assert found[key]["currency"] == BOOK.currency


def test_no_healthy_object_is_flagged(report: WasteReport) -> None:
    expected = {(RULE_OF[p.problem], p.namespace, p.kind, p.name) for p in PLANTED if p.problem in RULE_OF}
    assert set(_found(report)) == expected


def test_scaled_to_zero_lists_its_exclusive_service(report: WasteReport) -> None:
    row = _found(report)[("scaled-to-zero", "auditflow", "Deployment", "legacy-webhook")]
    assert row["related"] == "Service/legacy-webhook"
    assert row["remediation"] == "kubectl -n auditflow delete deployment/legacy-webhook service/legacy-webhook"


def test_remediation_and_silence_are_exact_commands(report: WasteReport) -> None:
    row = _found(report)[("orphaned-secret", "auditflow", "Secret", "smtp-credentials-2023")]
    assert row["remediation"] == "kubectl -n auditflow delete secret smtp-credentials-2023"
    assert row["silence"] == (
        "kubectl -n auditflow annotate secret smtp-credentials-2023 kubetally.io/ignore=orphaned-secret"
    )


def test_ignore_list_and_annotation_silence(auditflow: Dataset) -> None:
    settings = WasteSettings.model_validate({"ignore": [{"rule": "orphaned-*", "namespace": "auditflow"}]})
    quiet = findings(auditflow, settings=settings, book=BOOK)
    assert quiet.silenced == 3
    assert not quiet.findings.filter(pl.col("rule").str.starts_with("orphaned-")).height
    note = pl.DataFrame(
        [{c.CLUSTER: CLUSTER, c.OBJECT_KIND: "PersistentVolume", c.NAMESPACE: "", c.NAME: "pvc-old-reports",
          c.KEY: "kubetally.io/ignore", c.VALUE: "released-pv"}],
        schema=schema.ANNOTATIONS.schema,
    )  # fmt: skip
    frames = {spec.name: auditflow.frame(spec) for spec in schema.FRAMES}
    frames[schema.ANNOTATIONS.name] = pl.concat([auditflow.table(schema.ANNOTATIONS), note]).lazy()
    annotated = findings(Dataset.create(auditflow.info, **frames), settings=WasteSettings(), book=BOOK)
    assert annotated.silenced == 1
    assert "pvc-old-reports" not in annotated.findings["name"].to_list()


def test_without_a_price_book_costs_are_unknown_not_zero(auditflow: Dataset) -> None:
    unpriced = findings(auditflow, settings=WasteSettings(), book=None)
    idle = unpriced.findings.filter(pl.col("rule") == "idle-workload")
    assert idle["monthly_cost"].to_list() == [None]


def test_debug_logging_names_the_setting_and_the_fix(report: WasteReport) -> None:
    row = _found(report)[("debug-logging", "auditflow-dev", "Deployment", "audit-log-analysis-dev")]
    assert row["evidence"].startswith("LOG_LEVEL=DEBUG (env, container audit-log-analysis)")
    assert row["remediation"] == (
        "kubectl -n auditflow-dev set env deployment/audit-log-analysis-dev -c audit-log-analysis LOG_LEVEL=info"
    )


def test_scores(report: WasteReport) -> None:
    s = scores(report)
    assert set(s) == {"compute", "storage", "objects", "logging", "hygiene", "overall"}
    assert all(0 <= v <= 100 for v in s.values())
    assert s["objects"] < 100 and s["storage"] < 100
