"""`kubetally storage` from a real Prometheus (postgres_exporter table sizes and kubelet volume stats of the
AuditFlow history, backfilled) gives the growth, fill date, what-if and retention outlook of the ground truth.

The scenario plants audit_event at 1,800 MiB + 95 MiB a day and the postgresql volume (longhorn, 10 GiB)
at the three tables + 328 MiB, growing 99 MiB a day (kubetally.simulate.scenario.TABLES).
"""

from __future__ import annotations

import pytest
from test_prometheus_e2e import read_back

from kubetally.app.storage import build_report
from kubetally.dataset import Dataset
from kubetally.model.pricing import default_price_book
from kubetally.model.retention import parse_policy_text
from servers import Serve

pytestmark = [pytest.mark.services, pytest.mark.slow]
MI = 2**20
RULES = parse_policy_text(
    "tables:\n  - {table: auditflow.public.audit_event, time_column: created_at, keep: 30d}\n"
).tables


def _report(ds: Dataset):  # type: ignore[no-untyped-def]
    return build_report(dataset=ds, dsn=None, book=default_price_book(), rules=RULES)


def test_storage_from_prometheus_equals_the_ground_truth(serve: Serve, auditflow: Dataset) -> None:
    got = _report(read_back(serve("prometheus", "default"), auditflow).dataset)
    truth = _report(auditflow)
    tables = {r["table"]: r for r in got.tables.iter_rows(named=True)}
    assert tables["audit_event"]["growth_bytes_per_day"] == pytest.approx(95 * MI, rel=1e-6)
    assert tables["audit_event"]["growth_source"] == "history"
    volume = {r["pvc"]: r for r in got.volumes.iter_rows(named=True)}["data-postgresql-0"]
    expected = {r["pvc"]: r for r in truth.volumes.iter_rows(named=True)}["data-postgresql-0"]
    assert volume["growth_bytes_per_day"] == pytest.approx(99 * MI, rel=1e-6)
    assert volume["storage_class"] == "longhorn" and volume["capacity_bytes"] == 10 * 2**30
    assert volume["fills_on"] == expected["fills_on"]
    assert volume["databases"] == "auditflow"
    assert got.what_if.equals(truth.what_if)
    outlook, want = got.outlook.row(0, named=True), truth.outlook.row(0, named=True)
    for key in ("size_bytes", "archive_bytes_now", "steady_bytes", "largest_keep_days"):
        assert outlook[key] == pytest.approx(want[key], rel=1e-9), key
    assert outlook["fills_on_with_retention"] == want["fills_on_with_retention"]
