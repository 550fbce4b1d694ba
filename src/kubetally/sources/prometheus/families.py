"""Which metric families the collection depends on, why each may be absent, and what that costs.

Families depend on the exporter's version and on resources that are not enabled by default. The
collector asks the server once which of them exist in the window (one
``/api/v1/label/__name__/values`` call per exporter) and records the absent ones in
``DatasetInfo.missing`` and the notes, instead of leaving frames silently empty.
Facts: kube-state-metrics CHANGELOG (qos_class v2.8, last_terminated_timestamp v2.12,
kube_endpoint_address_available removed v2.14, reclaim_policy label v2.16, label families
allowlisted since v2.10) and its default resource list (no serviceaccounts, no endpoints since
EndpointSlices replaced them).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubetally.dataset import MissingFamily


@dataclass(frozen=True)
class Expected:
    family: str
    exporter: str
    """"ksm", "kubelet", "node" or "pg": the job selector the family is looked for under."""
    why: str
    cost: str
    alternatives: tuple[str, ...] = ()
    """Families that stand in for it: if one exists, this one is not reported missing."""


EXPECTED = (
    Expected(
        "kube_pod_status_qos_class", "ksm", "kube-state-metrics older than v2.8",
        "containers.qos_class is empty: QoS-aware right-sizing and eviction-risk ranking cannot use it",
    ),
    Expected(
        "kube_pod_container_status_last_terminated_timestamp", "ksm",
        "kube-state-metrics older than v2.12 (an experimental family)",
        "restart terminations are placed at the step where restarts_total went up (step precision)",
    ),
    Expected(
        "kube_pod_status_phase", "ksm", "kube-state-metrics pods resource disabled or filtered",
        "Succeeded/Failed pods end only when their series vanish (end_time may be late)",
    ),
    Expected(
        "kube_pod_labels", "ksm",
        "no --metric-labels-allowlist for pods (kube-state-metrics >= v2.10 exports no label families by default)",
        "labels has no pod labels: showback by app/team needs --labels-from (a kubectl dump) or the manifests",
    ),
    Expected(
        "kube_serviceaccount_info", "ksm", "serviceaccounts is not a default kube-state-metrics resource",
        "objects has no ServiceAccounts: unused ServiceAccounts are not found",
    ),
    Expected(
        "kube_endpoint_address", "ksm",
        "endpoints not exported (not a default resource of recent kube-state-metrics; "
        "kube_endpoint_address_available was removed in v2.14)",
        "Service endpoints come from EndpointSlices when those exist, else they are unknown",
        ("kube_endpoint_address_available",),
    ),
    Expected(
        "kube_ingress_info", "ksm", "ingresses resource disabled, or no Ingress in the cluster",
        "objects has no Ingresses",
    ),
    Expected(
        "container_cpu_usage_seconds_total", "kubelet", "no cAdvisor scrape under the kubelet job",
        "usage and pod_network are empty: showback charges requests only, right-sizing has no data",
    ),
    Expected(
        "node_cpu_seconds_total", "node", "no node-exporter under the node-exporter job",
        "node_usage is empty: node right-sizing and idle-by-usage are unknown",
    ),
)  # fmt: skip


def missing(present: dict[str, set[str]]) -> list[MissingFamily]:
    """The expected families absent from ``present`` (exporter -> names seen), in EXPECTED order."""
    out = []
    for e in EXPECTED:
        names = present.get(e.exporter, set())
        if e.family in names or any(a in names for a in e.alternatives):
            continue
        out.append(MissingFamily(e.family, e.why, e.cost))
    return out


def note(m: MissingFamily) -> str:
    return f"{m.family} absent ({m.why}): {m.cost}"
