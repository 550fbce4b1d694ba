"""A real node_exporter 1.5.0 whose uname nodename (``vm``) is not the node's name (``kind-control-plane``), replayed
with the real KSM capture into a real Prometheus. Its usage must land on the node the exporter runs on, found as
kubernetes-mixin finds it (the exporter's pod in kube_pod_info), else by the target's address, and a target that
matches no node is named in a note. Expected values are read off the capture: counters grow linearly from 0 at boot,
so a rate is the counter / uptime."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from captures import KIND_END, KIND_START, KSM_KIND, NODE_UPTIME, Loader, Target, node_exporter
from prometheus_client.parser import text_string_to_metric_families

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Connection, Query, collect

pytestmark = pytest.mark.services
NODE = "kind-control-plane"


def capture_values() -> dict[str, float]:
    text = node_exporter().capture.read_text()
    samples = [s for fam in text_string_to_metric_families(text) for s in fam.samples]
    busy = sum(
        s.value
        for s in samples
        if s.name == "node_cpu_seconds_total" and s.labels["mode"] not in ("idle", "iowait", "steal")
    )
    value = {s.name: s.value for s in samples if not s.labels}
    rx = sum(s.value for s in samples if s.name == "node_network_receive_bytes_total")
    tx = sum(s.value for s in samples if s.name == "node_network_transmit_bytes_total")
    return {
        c.CPU_USAGE_CORES: busy / NODE_UPTIME,
        c.MEMORY_USED_BYTES: value["node_memory_MemTotal_bytes"] - value["node_memory_MemAvailable_bytes"],
        c.NETWORK_RECEIVE_BYTES_PER_SECOND: rx / NODE_UPTIME,
        c.NETWORK_TRANSMIT_BYTES_PER_SECOND: tx / NODE_UPTIME,
    }


def read(load_replay: Loader, name: str, *targets: Target) -> Dataset:
    url = load_replay(name, (KSM_KIND, *targets), 30)
    query = Query(end=datetime.fromtimestamp(KIND_END, UTC), window_seconds=KIND_END - KIND_START, step_seconds=60)
    return collect(Connection(url=url), query).dataset


def last_usage(ds: Dataset) -> dict[str, dict[str, float]]:
    rows = ds.collected(schema.NODE_USAGE)
    last = rows.filter(pl.col(c.TIMESTAMP) == pl.col(c.TIMESTAMP).max())
    return {
        r[c.NODE]: {k: v for k, v in r.items() if k not in (c.CLUSTER, c.NODE, c.TIMESTAMP)}
        for r in last.iter_rows(named=True)
    }


def assert_usage(ds: Dataset) -> None:
    usage = last_usage(ds)
    assert list(usage) == [NODE]
    assert usage[NODE] == pytest.approx(capture_values(), rel=1e-6)


def test_hostname_is_not_the_node_name_and_the_node_ip_finds_the_node(load_replay: Loader) -> None:
    # instance 172.20.0.2:9100 is kube_node_info{internal_ip} of the node; a second target matches no node
    ds = read(load_replay, "ne-ip", node_exporter(), node_exporter(instance="10.9.9.9:9100", pod="elsewhere-abcde"))
    assert_usage(ds)
    assert ds.nodes.get_column(c.ARCH).to_list() == ["amd64"]
    notes = [n for n in ds.info.notes if "node-exporter targets match no node" in n]
    assert notes and "1 node-exporter targets match no node: 10.9.9.9:9100 (nodename 'vm')" in notes[0]


def test_instance_relabelled_to_the_node_name(load_replay: Loader) -> None:
    # kube-prometheus-stack's node-exporter ServiceMonitor sets instance from __meta_kubernetes_pod_node_name
    ds = read(load_replay, "ne-name", node_exporter(instance=NODE))
    assert_usage(ds)
    assert not any("match no node" in n for n in ds.info.notes)


def test_the_exporters_pod_in_kube_pod_info_finds_the_node(
    load_replay: Loader, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # node_exporter without hostNetwork, scraped at its pod IP: only kube_pod_info knows its node. The one line is
    # written here in the KSM capture's own format (that cluster ran no node_exporter).
    pod = "kube-prometheus-stack-prometheus-node-exporter-x7k2p"
    ksm_line = tmp_path_factory.mktemp("ksm-ne") / "kube-pod-info.prom"
    ksm_line.write_text(
        "# TYPE kube_pod_info gauge\n"
        f'kube_pod_info{{namespace="monitoring",pod="{pod}",uid="0b7e1c55-5a4c-4f0e-9a51-2f8f2d6c1a01",'
        f'host_ip="172.20.0.2",pod_ip="10.244.0.77",node="{NODE}",created_by_kind="DaemonSet",'
        'created_by_name="kube-prometheus-stack-prometheus-node-exporter",priority_class="",host_network="false"} 1\n'
    )
    ds = read(load_replay, "ne-pod", Target(ksm_line, KSM_KIND.labels, captured_at=KSM_KIND.captured_at),
              node_exporter(instance="10.244.0.77:9100"))  # fmt: skip
    assert_usage(ds)
    assert not any("match no node" in n for n in ds.info.notes)
