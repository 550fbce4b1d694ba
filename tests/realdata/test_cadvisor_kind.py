"""kubelet cAdvisor from a real kind node, replayed with the real KSM capture into a real Prometheus at the scrape
interval Prometheus defaults to (60 s) and read at the default 1 m step. Expected values are read off the captures
by hand: a replayed counter grows linearly from the pod's start (kube_pod_start_time 1783935436 of the four static
pods) to its captured value at the capture's time (1783940240), so its rate is value / 4804 s."""

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
    STATIC_PODS,
    STATIC_STARTED,
    Loader,
)

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services
LIFETIME = KIND_CAPTURED_AT - STATIC_STARTED


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture(scope="module")
def scrape60(load_replay: Loader) -> Dataset:
    url = load_replay("kind-60s", (KSM_KIND, CADVISOR_KIND), 60)
    query = Query(end=at(KIND_END), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


def test_usage_at_a_60s_scrape_and_1m_step(scrape60: Dataset) -> None:
    rows = scrape60.collected(schema.USAGE)
    per = rows.group_by(c.CONTAINER).agg(pl.len().alias("n"), pl.col(c.CPU_USAGE_CORES).median().alias("cpu"))
    got = {r[c.CONTAINER]: (r["n"], r["cpu"]) for r in per.iter_rows(named=True)}
    # container_cpu_usage_seconds_total{container="etcd"} 346.450163183, {container="kube-apiserver"} 808.319134027
    assert got["etcd"][1] == pytest.approx(346.450163183 / LIFETIME, rel=1e-3)
    assert got["kube-apiserver"][1] == pytest.approx(808.319134027 / LIFETIME, rel=1e-3)
    assert set(got) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    # one row per step from the first step after the pods' start (the first scrape has no rate yet) to the end
    steps = (KIND_END - STATIC_STARTED) // 60
    for container, (n, _) in got.items():
        assert steps - 2 <= n <= steps, container


def test_the_note_says_what_was_used_and_does_not_blame_the_job(scrape60: Dataset) -> None:
    notes = "\n".join(scrape60.info.notes)
    assert "scrape interval 60 s (measured on the server)" in notes
    assert "rate window 150 s with irate" in notes
    assert "--kubelet-job" not in notes


def test_host_network_pods_are_not_charged_the_nodes_traffic(scrape60: Dataset) -> None:
    # all four static pods are kube_pod_info{host_network="true"}; each one's pause series reports the node's eth0
    # (container_network_transmit_bytes_total 7.31-7.35e6, the root cgroup's 7.332795e6): before, the node's traffic
    # was charged four times over, once to each of them
    network = scrape60.collected(schema.POD_NETWORK)
    assert network.filter(pl.col(c.POD).is_in(list(STATIC_PODS))).height == 0
    notes = "\n".join(scrape60.info.notes)
    assert "6 hostNetwork pods" in notes  # the four static pods, kindnet-wm9fw and kube-proxy-xld9l
    assert "counted once, in node_usage" in notes
