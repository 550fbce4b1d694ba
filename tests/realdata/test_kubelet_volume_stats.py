"""The oversized-pvc rule on a real kubelet ``/metrics`` capture (testdata/exposition/
kubelet-volume-stats-alibaba-csi.prom: one claim's six volume-stats lines), replayed into a real Prometheus beside
the real kube-state-metrics capture of a kind cluster and read back through the collector.

Hand-worked from the capture: capacity 2.6288033792e+10 B = 24.48 GiB, used 4.616192e+07 B = 44.0 MiB (0.18%),
below the 20% default; a resize to max(2 x used, 1 GiB) = 1 GiB frees 23.48 GiB, at the default storage price
(0.04 USD/GiB-month, the claim has no StorageClass here) 0.94 USD a month. (used + available = 26271256576 B, 16.8 MB
under capacity: the filesystem's reserved blocks, as a real ext4 volume reports.) The kind cluster's own claim
(mnt-basic-sts-0, local-path: no volume stats) is not judged."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from captures import KIND_END, KIND_START, KSM_KIND, KUBELET_VOLUME_STATS, Loader

from kubetally.analysis.waste import WasteSettings, findings
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.pricing import default_price_book
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def volume_stats(load_replay: Loader) -> Dataset:
    url = load_replay("ksm-kind-volume-stats", (KSM_KIND, KUBELET_VOLUME_STATS), 30)
    query = Query(end=datetime.fromtimestamp(KIND_END, UTC), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


def test_a_claim_known_only_to_the_kubelet_has_its_filesystem_size(volume_stats: Dataset) -> None:
    vols = volume_stats.table(schema.VOLUMES).filter(pl.col(c.PVC) == "disk-pvc")
    assert vols.select(c.NAMESPACE, c.CAPACITY_BYTES, c.PVC_PHASE, c.STORAGE_CLASS).rows() == [
        ("default", 26288033792, "Bound", "")
    ]
    used = volume_stats.series(schema.VOLUME_USAGE).collect().filter(pl.col(c.PVC) == "disk-pvc")
    assert used.height > 0 and set(used[c.USED_BYTES].to_list()) == {46161920.0}
    assert any(n.startswith("1 claim(s) known only from kubelet volume stats") for n in volume_stats.info.notes)


def test_oversized_pvc_on_the_real_capture(volume_stats: Dataset) -> None:
    report = findings(volume_stats, settings=WasteSettings(), book=default_price_book())
    rows = report.findings.filter(pl.col("rule") == "oversized-pvc")
    assert rows.select("namespace", "name").rows() == [("default", "disk-pvc")]  # not mnt-basic-sts-0: no stats
    row = rows.row(0, named=True)
    assert row["evidence"] == "24.5Gi claim (no class) used at most 44Mi (0%) over the window"
    assert row["monthly_cost"] == pytest.approx(0.94, abs=0.005)
    assert row["remediation"].startswith("move the data to a 1Gi claim (PVCs cannot shrink in place)")
