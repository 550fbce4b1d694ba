"""Settings of the waste rules: thresholds, built-in exclusions, the labelling policy and the ignore list."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kubetally.model.config import validated, yaml_mapping

Severity = Literal["info", "low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high")
"""Lowest first; ``--fail-on`` compares by this order."""

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Ignore(BaseModel):
    """One ignore-list entry: findings matching every given field are dropped (globs for names)."""

    model_config = _STRICT
    rule: str = Field("*", description="Rule id or glob (orphaned-*).")
    namespace: str = Field("*", description="Namespace glob.")
    kind: str = Field("*", description="Object kind (ConfigMap, Deployment ...) or glob.")
    name: str = Field("*", description="Object name glob.")
    reason: str = Field("", description="Why it is ignored (shown nowhere but the file; keep it honest).")

    def matches(self, rule: str, namespace: str, kind: str, name: str) -> bool:
        return all(
            fnmatchcase(value, pattern)
            for value, pattern in ((rule, self.rule), (namespace, self.namespace), (kind, self.kind), (name, self.name))
        )


class OrphanExclusions(BaseModel):
    """Objects that are never orphans although nothing in the namespace names them."""

    model_config = _STRICT
    configmap_names: tuple[str, ...] = Field(
        (
            "kube-root-ca.crt",  # published into every namespace by kube-controller-manager
            "extension-apiserver-authentication",
            "cluster-info",
            "kubeadm-config",
            "kubelet-config*",
            "cluster-dns",  # k3s
            "k3s-*",
            "chart-content-*",  # k3s helm-controller
            "*-leader-election",
            "istio-ca-root-cert",
        ),
        description="ConfigMap name globs that are never reported.",
    )
    secret_names: tuple[str, ...] = Field(
        (
            "sh.helm.release.v1.*",  # Helm 3 release records
            "*.node-password.k3s",  # k3s node passwords
            "k3s-serving",
            "bootstrap-token-*",
            "chart-values-*",
        ),
        description="Secret name globs that are never reported.",
    )
    secret_types: tuple[str, ...] = Field(
        (
            "kubernetes.io/service-account-token",
            "helm.sh/release.v1",
            "bootstrap.kubernetes.io/token",
        ),
        description="Secret types that are never reported (tokens, Helm releases).",
    )
    namespaces: tuple[str, ...] = Field(
        ("kube-node-lease",), description="Namespaces whose objects are never reported as orphans."
    )
    owned: bool = Field(True, description="Skip objects with an ownerReference (a controller maintains them).")

    def configmap(self, name: str) -> bool:
        return any(fnmatchcase(name, p) for p in self.configmap_names)

    def secret(self, name: str, type_: str) -> bool:
        return type_ in self.secret_types or any(fnmatchcase(name, p) for p in self.secret_names)


class WasteSettings(BaseModel):
    """Thresholds and policy of every waste rule (see docs/waste.md)."""

    model_config = _STRICT
    idle_cpu_ratio: float = Field(
        0.05, gt=0, le=1, description="A workload is idle when its CPU p95 is below this share of its request ..."
    )
    idle_network_bytes_per_second: float = Field(
        1024.0, ge=0, description="... and its pods' network p95 (receive + transmit) is below this, bytes/s."
    )
    idle_percentile: float = Field(0.95, gt=0, le=1, description="Percentile of the idle test.")
    idle_min_hours: float = Field(24.0, gt=0, description="Pods must have run at least this long to be called idle.")
    scaled_to_zero_days: float = Field(
        7.0, ge=0, description="A workload at 0 replicas with no pod for this many days is lingering."
    )
    job_finished_hours: float = Field(
        24.0, ge=0, description="A finished Job without ttlSecondsAfterFinished older than this is reported."
    )
    revision_history: int = Field(
        3, ge=0, description="ReplicaSets at 0 replicas kept beyond this many revisions per Deployment are old."
    )
    pvc_used_ratio: float = Field(
        0.2, gt=0, le=1, description="A PVC whose peak used bytes stay below this share of its capacity is oversized."
    )
    pvc_min_bytes: int = Field(1 * 2**30, ge=0, description="Only PVCs at least this large are checked for size.")
    table_growth_ratio_per_day: float = Field(
        0.02, ge=0, description="A table growing by this share of its size a day (least squares) is reported ..."
    )
    table_min_growth_bytes_per_day: float = Field(
        10 * 2**20, ge=0, description="... if it also grows by at least this many bytes a day."
    )
    log_debug_levels: tuple[str, ...] = Field(
        ("debug", "trace", "verbose", "all"), description="Log levels (case-insensitive) reported in production."
    )
    production_values: tuple[str, ...] = Field(
        ("production", "prod"), description="Values of the environment label that mean production."
    )
    environment_label: str = Field("environment", description="Label naming a workload's environment.")
    log_bytes_per_second: float = Field(
        2048.0, ge=0, description="A container writing more logs than this on average (bytes/s) is chatty."
    )
    required_labels: tuple[str, ...] = Field(
        ("app", "component", "team", "environment", "finops_tier"),
        description="Labels every workload must carry (the labelling policy).",
    )
    policy_exempt_namespaces: tuple[str, ...] = Field(
        ("kube-system", "kube-public", "kube-node-lease"),
        description="Namespaces the hygiene rules skip (their workloads ship with the distribution).",
    )
    team_label: str = Field("team", description="Label that names an object's owner team.")
    orphans: OrphanExclusions = Field(default_factory=OrphanExclusions)
    ignore: tuple[Ignore, ...] = Field((), description="Findings to drop (an ignore list in the config file).")
    ignore_annotation: str = Field(
        "kubetally.io/ignore", description="Annotation listing rule ids (comma-separated, or *) to silence."
    )


def waste_settings_from_text(text: str, *, where: str = "waste settings") -> WasteSettings:
    """Parse a YAML waste settings file (thresholds, labelling policy, orphan exclusions, ignore list)."""
    data = yaml_mapping(text, where=where, shape="waste settings are a YAML mapping")
    return validated(WasteSettings, data, where=where)
