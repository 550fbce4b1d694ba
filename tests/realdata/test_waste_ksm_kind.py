"""`kubetally waste` on the real kube-state-metrics capture of a kind cluster (testdata/exposition/
ksm-v2.19.1-kind.prom), replayed into a real Prometheus: the claim the StatefulSet's running pod mounts
(mnt-basic-sts-0, kube_pod_spec_volumes_persistentvolumeclaims_info of basic-sts-0) is not unused, the
CronJob's finished Jobs are not reported, and the rules that need object specs say they were not judged
instead of calling the cluster's ConfigMaps and Secrets orphaned."""

from __future__ import annotations

import pytest
from test_ksm_kind_capture import kind  # noqa: F401 - the replayed capture (module fixture)

from kubetally.analysis.waste import WasteSettings, findings
from kubetally.dataset import Dataset

pytestmark = pytest.mark.services


def test_no_false_positives_on_the_real_capture(kind: Dataset) -> None:  # noqa: F811
    report = findings(kind, settings=WasteSettings(), book=None)
    got = {(r["rule"], r["kind"], r["name"]) for r in report.findings.iter_rows(named=True)}
    assert not [f for f in got if f[0] in {"unused-pvc", "orphaned-configmap", "orphaned-secret",
                                            "orphaned-service", "finished-job", "scaled-to-zero"}]  # fmt: skip
    assert [n.split(":")[0] for n in report.notes] == ["finished-job", "orphaned-configmap, orphaned-secret",
                                                       "orphaned-service"]  # fmt: skip
    # hellohpa's container requests cpu 0.1 and no memory (kube_pod_container_resource_requests, one line)
    hpa = report.findings.filter((report.findings["rule"] == "no-requests") & (report.findings["name"] == "hellohpa"))
    assert hpa["evidence"].to_list()[0].startswith("container hello-app has no memory request")
