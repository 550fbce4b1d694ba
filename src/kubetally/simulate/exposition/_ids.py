"""Identities the Dataset does not carry, derived deterministically.

Every value here is a pure function of Dataset fields, so the same Dataset always
gives the same exposition (documented in ``docs/exposition.md``):

* ReplicaSet of a Deployment pod: the pod name minus its last ``-`` part
  (``web-7d9f8-abcde`` -> ``web-7d9f8``); if that does not start with the Deployment
  name, ``<deployment>-<10 hex of sha1(pod)>``. A CronJob pod's Job is derived the same way.
* container ids (cAdvisor ``name``, KSM ``container_id``): sha256 of
  ``<pod uid>/<container>/<restart segment>``; the pod sandbox: ``<pod uid>/sandbox``.
* cgroup path (cAdvisor ``id``): cgroupfs layout ``/kubepods[/<qos>]/pod<uid>[/<id>]``.
* node IPs: ``10.<cluster #>.<i // 250>.<10 + i % 250>`` for the i-th node (sorted by name);
  pod IPs: ``10.42.x.y`` from a hash of the pod uid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PAUSE_IMAGE_CONTAINERD = "docker.io/rancher/mirrored-pause:3.6"
PAUSE_IMAGE_DOCKER = "registry.k8s.io/pause:3.6"


def _hex(text: str, n: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def container_id(pod_uid: str, container: str, segment: int) -> str:
    return _hex(f"{pod_uid}/{container}/{segment}")


def sandbox_id(pod_uid: str) -> str:
    return _hex(f"{pod_uid}/sandbox")


def pod_cgroup(pod_uid: str, qos_class: str) -> str:
    if qos_class == "Guaranteed":
        return f"/kubepods/pod{pod_uid}"
    return f"/kubepods/{qos_class.lower()}/pod{pod_uid}"


def pod_ip(pod_uid: str) -> str:
    digest = hashlib.sha1(pod_uid.encode()).digest()
    return f"10.42.{digest[0]}.{1 + digest[1] % 254}"


def node_ip(cluster_index: int, node_index: int) -> str:
    return f"10.{cluster_index % 256}.{node_index // 250}.{10 + node_index % 250}"


def parent_name(pod: str, owner: str) -> str:
    """The ReplicaSet (or Job) between a pod and its Deployment (or CronJob)."""
    head = pod.rsplit("-", 1)[0]
    if head.startswith(owner + "-") and head != pod:
        return head
    return f"{owner}-{hashlib.sha1(pod.encode()).hexdigest()[:10]}"


def short_hash(text: str, n: int = 5) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Targets:
    """Target labels of each scrape job (what the Prometheus scrape adds)."""

    release: str = "kube-prometheus-stack"
    monitoring_namespace: str = "monitoring"
    kubelet_job: str = "kubelet"
    ksm_job: str = "kube-state-metrics"
    node_exporter_job: str = "node-exporter"
    postgres_job: str = "postgres-exporter"

    @property
    def ksm_pod(self) -> str:
        return f"{self.release}-kube-state-metrics-{short_hash(self.release, 9)}-{short_hash(self.release + 'x')}"

    def kubelet(self, node: str, ip: str, path: str) -> dict[str, str]:
        return {
            "endpoint": "https-metrics",
            "instance": f"{ip}:10250",
            "job": self.kubelet_job,
            "metrics_path": path,
            "node": node,
            "service": f"{self.release}-kubelet",
        }

    def ksm(self) -> dict[str, str]:
        """KSM target labels; namespace/pod/container are added only where the metric lacks them."""
        return {
            "endpoint": "http",
            "instance": "10.42.0.9:8080",
            "job": self.ksm_job,
            "service": f"{self.release}-kube-state-metrics",
            "namespace": self.monitoring_namespace,
            "pod": self.ksm_pod,
            "container": "kube-state-metrics",
        }

    def node_exporter(self, node: str, ip: str) -> dict[str, str]:
        return {
            "container": "node-exporter",
            "endpoint": "http-metrics",
            "instance": f"{ip}:9100",
            "job": self.node_exporter_job,
            "namespace": self.monitoring_namespace,
            "pod": f"{self.release}-prometheus-node-exporter-{short_hash(node)}",
            "service": f"{self.release}-prometheus-node-exporter",
        }

    def postgres(self, namespace: str, pod: str, ip: str) -> dict[str, str]:
        return {
            "container": "postgres-exporter",
            "endpoint": "metrics",
            "instance": f"{ip}:9187",
            "job": self.postgres_job,
            "namespace": namespace,
            "pod": pod,
            "service": f"{pod.rsplit('-', 1)[0]}-metrics",
        }


def with_targets(own: dict[str, str], targets: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """honorLabels: the exporter's own labels win; a target label is added only where missing."""
    merged = {k: v for k, v in own.items() if v}
    for key, value in targets.items():
        merged.setdefault(key, value)
    for key, value in extra.items():
        merged.setdefault(key, value)
    return merged
