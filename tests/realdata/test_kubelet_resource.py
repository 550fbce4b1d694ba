"""The kubelet's /metrics/resource endpoint scraped beside cAdvisor under one job (kube-prometheus-stack's
kubelet.serviceMonitor.resource): the same family names, container label and values, which summed with cAdvisor's
double CPU and memory. Real captures: cAdvisor of a kind node, /metrics/resource of another kind node
(kubernetes-sigs/metrics-server test data), replayed with the KSM capture into a real Prometheus."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from captures import (
    CADVISOR_KIND,
    KIND_CAPTURED_AT,
    KIND_END,
    KIND_START,
    KSM_KIND,
    RESOURCE_E2E,
    RESOURCE_E2E_NO_PATH,
    STATIC_STARTED,
    Loader,
    Target,
)  # fmt: skip

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services
CADVISOR_CONTAINERS = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}


def read(load_replay: Loader, name: str, resource: Target) -> Dataset:
    url = load_replay(name, (KSM_KIND, CADVISOR_KIND, resource), 30)
    query = Query(end=datetime.fromtimestamp(KIND_END, UTC), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


@pytest.mark.parametrize(("name", "resource"), [("resource", RESOURCE_E2E), ("resource-no-path", RESOURCE_E2E_NO_PATH)])
def test_resource_endpoint_is_not_counted_as_usage(load_replay: Loader, name: str, resource: Target) -> None:
    ds = read(load_replay, name, resource)
    usage = ds.collected(schema.USAGE)
    # only cAdvisor's containers; the 8 /metrics/resource containers (coredns x2, etcd-e2e-..., kindnet-cni, ...)
    # are not read as usage, with or without a metrics_path label (they have no id label)
    assert set(usage.get_column(c.CONTAINER).unique().to_list()) == CADVISOR_CONTAINERS
    assert usage.filter(pl.col(c.POD).str.ends_with("e2e-control-plane")).height == 0
    etcd = usage.filter(pl.col(c.CONTAINER) == "etcd").get_column(c.CPU_USAGE_CORES).median()
    # container_cpu_usage_seconds_total{container="etcd"} 346.450163183 over the pod's 4804 s: cAdvisor's alone
    assert etcd == pytest.approx(346.450163183 / (KIND_CAPTURED_AT - STATIC_STARTED), rel=1e-3)
    notes = "\n".join(ds.info.notes)
    assert "8 container CPU series of job=~'kubelet' come from another kubelet endpoint than cAdvisor" in notes
