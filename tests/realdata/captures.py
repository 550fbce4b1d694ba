"""The real captures of testdata/exposition/ and the target labels a kube-prometheus-stack scrape gives them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from replay import Target

CAPTURES = Path(__file__).parents[2] / "testdata" / "exposition"
KIND_CAPTURED_AT = 1783940240
"""kube-state-metrics v2.19.1 capture of a kind cluster: its newest timestamp (kube_lease_renew_time)."""
KIND_END = 1783940280
KIND_START = KIND_END - 2 * 3600

KSM_KIND = Target(
    CAPTURES / "ksm-v2.19.1-kind.prom",
    {
        "job": "kube-state-metrics", "instance": "10.244.0.44:8080", "endpoint": "http",
        "namespace": "default", "pod": "kube-state-metrics-b98cc6bfb-nb75z", "container": "kube-state-metrics",
        "service": "kube-state-metrics",
    },
    captured_at=KIND_CAPTURED_AT,
)  # fmt: skip
"""The kube-prometheus-stack target labels of that KSM pod (its IP, namespace and name are in the capture)."""

Loader = Callable[[str, tuple[Target, ...], int], str]
"""load(name, targets, scrape interval) -> URL of a Prometheus holding that replay."""

CADVISOR_KIND = Target(
    CAPTURES / "cadvisor-k8s1.16.1-kind.prom",
    {
        "job": "kubelet", "instance": "172.20.0.2:10250", "endpoint": "https-metrics",
        "metrics_path": "/metrics/cadvisor", "node": "kind-control-plane", "service": "kube-prometheus-stack-kubelet",
    },
    captured_at=KIND_CAPTURED_AT,
)  # fmt: skip
"""kubelet cAdvisor of a kind node (Kubernetes 1.16.1, containerd), scraped as kube-prometheus-stack does, on the
KSM capture's time axis. Its node and static pods have the names of the KSM capture's (kind names them after the
node), so those four pods join the KSM inventory; the node IP is the KSM capture's host_ip."""
STATIC_PODS = tuple(f"{name}-kind-control-plane" for name in ("etcd", "kube-apiserver", "kube-controller-manager",
                                                                "kube-scheduler"))  # fmt: skip
STATIC_STARTED = 1783935436
"""kube_pod_start_time of the four static pods in the KSM capture."""

RESOURCE_LABELS = {
    "job": "kubelet", "instance": "e2e-control-plane:10250", "endpoint": "https-metrics",
    "metrics_path": "/metrics/resource", "node": "e2e-control-plane", "service": "kube-prometheus-stack-kubelet",
}  # fmt: skip
RESOURCE_E2E = Target(CAPTURES / "resource-kind-e2e.prom", RESOURCE_LABELS, captured_at=KIND_CAPTURED_AT)
"""kubelet /metrics/resource of another kind node (metrics-server's e2e cluster), scraped under the same job as
cAdvisor, as kube-prometheus-stack does with kubelet.serviceMonitor.resource enabled."""
RESOURCE_E2E_NO_PATH = Target(
    CAPTURES / "resource-kind-e2e.prom",
    {k: v for k, v in RESOURCE_LABELS.items() if k != "metrics_path"},
    captured_at=KIND_CAPTURED_AT,
)
"""The same endpoint scraped by a hand-written config that sets no metrics_path label."""

POSTGRES_EXPORTER_LABELS = {
    "job": "postgres-exporter", "instance": "10.244.0.50:9187", "endpoint": "http", "namespace": "default",
    "pod": "postgres-exporter-6f9c7d8b5-q2x7m", "container": "postgres-exporter", "service": "postgres-exporter",
}  # fmt: skip
"""The target labels a ServiceMonitor gives postgres_exporter running as its own Deployment."""
PG_V018_TABLES = Target(
    CAPTURES / "postgres-exporter-0.11.1-v0.18-tables.prom", POSTGRES_EXPORTER_LABELS, honor_labels=False,
    captured_at=KIND_CAPTURED_AT,
)  # fmt: skip
PG_QUERIES_EXAMPLE = Target(
    CAPTURES / "postgres-exporter-0.11.1-queries-example.prom", POSTGRES_EXPORTER_LABELS, honor_labels=False,
    captured_at=KIND_CAPTURED_AT,
)  # fmt: skip

NODE_EXPORTER_CAPTURED = 1796644628
"""When node-exporter-1.5.0-vm.prom was scraped; its node_boot_time_seconds is 1.79660722e+09."""
NODE_UPTIME = NODE_EXPORTER_CAPTURED - 1796607220
NODE_EXPORTER_LABELS = {
    "job": "node-exporter", "instance": "172.20.0.2:9100", "endpoint": "http-metrics", "namespace": "monitoring",
    "pod": "kube-prometheus-stack-prometheus-node-exporter-x7k2p", "container": "node-exporter",
    "service": "kube-prometheus-stack-prometheus-node-exporter",
}  # fmt: skip
"""kube-prometheus-stack's target labels for the node-exporter pod (hostNetwork: instance is the node's IP)."""


def node_exporter(**labels: str) -> Target:
    """node_exporter 1.5.0 of a host named ``vm`` (not the KSM capture's node name) on the KSM capture's time axis;
    its counters grow from 0 at boot, so a replayed rate is the host's real average since boot."""
    return Target(
        CAPTURES / "node-exporter-1.5.0-vm.prom", {**NODE_EXPORTER_LABELS, **labels}, honor_labels=False,
        captured_at=KIND_CAPTURED_AT, counter_born=KIND_CAPTURED_AT - NODE_UPTIME,
    )  # fmt: skip


KUBELET_VOLUME_STATS = Target(
    CAPTURES / "kubelet-volume-stats-alibaba-csi.prom",
    {
        "job": "kubelet", "instance": "172.20.0.2:10250", "endpoint": "https-metrics", "metrics_path": "/metrics",
        "node": "kind-control-plane", "service": "kube-prometheus-stack-kubelet",
    },
    captured_at=KIND_CAPTURED_AT,
)  # fmt: skip
"""A kubelet's ``/metrics`` volume stats of one mounted claim (default/disk-pvc, an Alibaba Cloud disk), scraped as
kube-prometheus-stack scrapes the kubelet's own endpoint, on the KSM capture's time axis. It comes from another
cluster, so kube-state-metrics does not list the claim: its size is known only from the kubelet."""
