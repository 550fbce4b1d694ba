"""deploy/clusterrole.yaml: valid, read-only, and granting exactly what the Kubernetes source lists."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
from ruamel.yaml import YAML

from kubetally.sources.kubernetes.api import ENDPOINTS, KINDS

MANIFEST = Path(__file__).parents[2] / "deploy" / "clusterrole.yaml"
METRICS = {("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes")}
"""What `kubetally record` reads from metrics-server."""


def _documents() -> list[dict[str, object]]:
    return [d for d in YAML(typ="safe").load_all(MANIFEST.read_text()) if d]


def test_the_manifest_validates_against_the_official_schemas() -> None:
    docs = _documents()
    assert [d["kind"] for d in docs] == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.32.0", strict=True)


def test_read_only_and_exactly_what_is_listed() -> None:
    (role,) = [d for d in _documents() if d["kind"] == "ClusterRole"]
    granted = set()
    for rule in role["rules"]:  # type: ignore[index]
        # the source lists collections only (tests/prometheus/test_serve_kube_prometheus.py checks every request)
        assert rule["verbs"] == ["list"], rule
        granted |= {(group, res) for group in rule["apiGroups"] for res in rule["resources"]}
    needed = {(k.group_version.rpartition("/")[0], k.plural) for k in (*KINDS, ENDPOINTS)} | METRICS
    assert granted == needed
