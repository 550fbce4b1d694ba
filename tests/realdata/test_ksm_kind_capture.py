"""kube-state-metrics v2.19.1 from a real kind cluster (Kubernetes v1.36, containerd), replayed into a real
Prometheus and read back through the collector. Expected values are read off the capture by hand
(testdata/exposition/ksm-v2.19.1-kind.prom; the line each one comes from is named)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from captures import KIND_END, KIND_START, KSM_KIND, Loader

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services
STATIC = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture(scope="module")
def kind(load_replay: Loader) -> Dataset:
    url = load_replay("ksm-kind", (KSM_KIND,), 30)
    query = Query(end=at(KIND_END), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


def pod_rows(ds: Dataset, pod: str) -> pl.DataFrame:
    return ds.containers.filter(pl.col(c.POD) == pod)


def test_succeeded_pods_end_at_their_completion_time(kind: Dataset) -> None:
    # kube_pod_status_phase{phase="Succeeded"} 1 and kube_pod_completion_time of the three CronJob pods
    for pod, done in (
        ("hello-29732335-fl66m", 1783940100), ("hello-29732336-62jd9", 1783940160),
        ("hello-29732337-9hdhl", 1783940220),
    ):  # fmt: skip
        assert pod_rows(kind, pod).get_column(c.END_TIME).to_list() == [at(done)], pod
    # hellohpa is Running (its container restarts: it has a completion time, but it has not ended)
    assert pod_rows(kind, "hellohpa-854f544649-jdljx").get_column(c.END_TIME).to_list() == [None]
    assert pod_rows(kind, "basic-sts-0").get_column(c.END_TIME).to_list() == [None]


def test_cronjob_pods_resolve_through_their_job_to_the_cronjob(kind: Dataset) -> None:
    # kube_pod_owner{pod="hello-29732335-fl66m",owner_kind="Job",owner_name="hello-29732335"} and
    # kube_job_owner{job_name="hello-29732335",owner_kind="CronJob",owner_name="hello"}
    for pod in ("hello-29732335-fl66m", "hello-29732336-62jd9", "hello-29732337-9hdhl"):
        assert pod_rows(kind, pod).select(c.OWNER_KIND, c.OWNER_NAME).unique().rows() == [("CronJob", "hello")]
    jobs = kind.table(schema.OBJECTS).filter(pl.col(c.KIND) == "Job").sort(c.NAME)
    assert jobs.select(c.NAME, c.OWNER_KIND, c.OWNER_NAME).rows() == [
        (f"hello-{n}", "CronJob", "hello") for n in (29732335, 29732336, 29732337)
    ]
    assert "hello" in kind.workloads.filter(pl.col(c.KIND) == "CronJob").get_column(c.NAME).to_list()


def test_static_pods_are_their_own_workloads(kind: Dataset) -> None:
    # kube_pod_owner{owner_kind="Node",owner_name="kind-control-plane"} for the four control-plane pods
    for name in STATIC:
        pod = f"{name}-kind-control-plane"
        rows = pod_rows(kind, pod).select(c.OWNER_KIND, c.OWNER_NAME).unique().rows()
        assert rows == [("Pod", pod)]
    kinds = set(kind.workloads.get_column(c.KIND).to_list())
    assert "Node" not in kinds
    static = kind.workloads.filter(pl.col(c.NAME).str.ends_with("-kind-control-plane"))
    assert sorted(static.get_column(c.NAME).to_list()) == [f"{n}-kind-control-plane" for n in STATIC]
    assert any("static pod" in note for note in kind.info.notes)


def test_terminations_of_containers_that_are_not_restarted(kind: Dataset) -> None:
    # kube_pod_container_status_terminated_reason{reason="Completed"} of the Job pods (restartPolicy Never: no
    # last_terminated_* series), and the restarted hellohpa container's last_terminated_timestamp 1783939915
    terms = kind.collected(schema.TERMINATIONS).select(c.POD, c.REASON, c.TIMESTAMP).sort(c.POD, c.TIMESTAMP).rows()
    assert ("hello-29732335-fl66m", "Completed", at(1783940100)) in terms
    assert ("hello-29732336-62jd9", "Completed", at(1783940160)) in terms
    assert ("hello-29732337-9hdhl", "Completed", at(1783940220)) in terms
    assert ("hellohpa-854f544649-jdljx", "Completed", at(1783939915)) in terms


def test_reclaim_policy_is_read_not_inferred(kind: Dataset) -> None:
    # kube_persistentvolume_info{...,reclaim_policy="Delete"}
    assert kind.collected(schema.VOLUMES).select(c.PV, c.RECLAIM_POLICY).rows() == [
        ("pvc-15cae734-fb59-49c1-8f4d-450e088d47cb", "Delete")
    ]
    assert not any("reclaim_policy inferred" in note for note in kind.info.notes)


def test_service_endpoints_from_endpointslices(kind: Dataset) -> None:
    # KSM v2.19 exports no kube_endpoint_* here; kube_endpointslice_endpoints{ready="true"} has 2 coredns pods
    # in kube-dns-lksk9, 1 address in the kubernetes slice and 1 in kube-state-metrics-zs4zn
    services = (
        kind.collected(schema.OBJECTS)
        .filter(pl.col(c.KIND) == "Service")
        .select(c.NAME, c.ENDPOINTS)
        .sort(c.NAME)
        .rows()
    )
    assert services == [("kube-dns", 2), ("kube-state-metrics", 1), ("kubernetes", 1)]


def test_missing_families_are_named_with_their_cost(kind: Dataset) -> None:
    notes = "\n".join(kind.info.notes)
    assert "kube_serviceaccount_info" in notes  # ServiceAccounts are not a default KSM resource
    assert "kube_pod_labels" in notes  # no --metric-labels-allowlist
    assert "kube_endpoint_address" in notes  # Endpoints not exported: EndpointSlices used
    assert "kube_pod_status_qos_class" not in notes  # present in v2.19
    missing = {m.family for m in kind.info.missing}
    assert {"kube_serviceaccount_info", "kube_pod_labels", "kube_endpoint_address"} <= missing
    assert "kube_pod_status_qos_class" not in missing


def test_qos_class_read(kind: Dataset) -> None:
    # kube_pod_status_qos_class{pod="kindnet-wm9fw",qos_class="Guaranteed"} 1 (its requests equal its limits)
    assert pod_rows(kind, "kindnet-wm9fw").get_column(c.QOS_CLASS).to_list() == ["Guaranteed"]
    assert pod_rows(kind, "basic-sts-0").get_column(c.QOS_CLASS).to_list() == ["BestEffort"]
