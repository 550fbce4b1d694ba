"""`kubetally waste` on AuditFlow read back from a real Prometheus equals waste on the ground truth, except
the rules that need object specs Prometheus does not have (they are reported as not judged).

The volume rule reads ``kubelet_volume_stats_used_bytes`` (kubelet) against the claim's
``kube_persistentvolumeclaim_resource_requests_storage_bytes`` (kube-state-metrics) — the series a real
cluster exports. data-postgresql-0 is a 10Gi longhorn claim whose audit_event table takes it to at most
2.89e9 bytes in these 2 days (the scenario's 1.76Gi + 95Mi/day, read off the ground truth): 26.9% of
10Gi, so it is oversized below a 30% threshold and not below the default 20%.
"""

from __future__ import annotations

import pytest
from test_prometheus_e2e import read_back

from kubetally.analysis.waste import WasteSettings, findings
from kubetally.dataset import Dataset
from kubetally.model.pricing import parse_price_text
from servers import Serve

pytestmark = [pytest.mark.services, pytest.mark.slow]
BOOK = parse_price_text(
    "hours_per_month: 730\nnodes:\n  - unit: {cpu_per_core_hour: 1, memory_per_gib_hour: 1}\n"
    "storage: {default_per_gib_month: 0.04, classes: {longhorn: 0.06, local-path: 0.02}}\n"
)
GIB = 2**30
UNJUDGED = {"orphaned-configmap", "orphaned-secret", "orphaned-service", "finished-job"}


def _rows(ds: Dataset, settings: WasteSettings) -> dict[tuple[str, str, str, str], tuple[str, float | None]]:
    report = findings(ds, settings=settings, book=BOOK)
    return {(r["rule"], r["namespace"], r["kind"], r["name"]): (r["evidence"], r["monthly_cost"])
            for r in report.findings.iter_rows(named=True)}  # fmt: skip


def test_waste_through_prometheus_equals_ground_truth(serve: Serve, auditflow: Dataset) -> None:
    got = read_back(serve("prometheus", "default"), auditflow).dataset
    for settings in (WasteSettings(), WasteSettings(pvc_used_ratio=0.3)):
        truth = {k: v for k, v in _rows(auditflow, settings).items() if k[0] not in UNJUDGED}
        assert _rows(got, settings) == truth
    # kube-state-metrics exports the objects but no reference path, Service selector or Job TTL: the rules
    # that need them say so instead of calling every ConfigMap and Secret orphaned (kor's false positive)
    notes = findings(got, settings=WasteSettings(), book=BOOK).notes
    assert [n.split(":")[0] for n in notes] == ["finished-job", "orphaned-configmap, orphaned-secret",
                                                "orphaned-service"]  # fmt: skip
    assert findings(auditflow, settings=WasteSettings(), book=BOOK).notes == ()
    assert not any(k[0] == "oversized-pvc" for k in _rows(got, WasteSettings()))
    evidence, cost = _rows(got, WasteSettings(pvc_used_ratio=0.3))[
        ("oversized-pvc", "auditflow", "PersistentVolumeClaim", "data-postgresql-0")
    ]
    assert evidence.startswith("10Gi claim (longhorn) used at most 2.69Gi (27%)")
    peak = 2.8895e9  # hand-read maximum of the ground truth's used bytes (to 5 digits)
    assert cost == pytest.approx((10 * GIB - 2 * peak) / GIB * 0.06, abs=0.01)
