"""The repository's k8s/ directory is the AuditFlow scenario's desired state, and valid Kubernetes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests import WorkloadRef, scan
from kubetally.model.quantity import parse_cpu, parse_memory
from kubetally.simulate.scenario import AUDITFLOW

K8S = Path(__file__).parents[2] / "k8s"


def _resources(node: dict) -> dict[str, float | int | None]:
    res = node.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    return {
        "cpu_request": parse_cpu(req["cpu"]) if "cpu" in req else None,
        "cpu_limit": parse_cpu(lim["cpu"]) if "cpu" in lim else None,
        "memory_request": parse_memory(req["memory"]) if "memory" in req else None,
        "memory_limit": parse_memory(lim["memory"]) if "memory" in lim else None,
    }


def test_k8s_matches_the_scenario() -> None:
    found = {w.ref: w for parsed in scan(K8S) for w in parsed.workloads}
    expected = {WorkloadRef(w.namespace, w.kind, w.name): w for w in AUDITFLOW}
    assert set(found) == set(expected)
    for ref, spec in expected.items():
        workload = found[ref]
        if ref.kind in ("Deployment", "StatefulSet"):
            assert workload.replicas == spec.replicas, ref
        assert [(c.name, c.init) for c in workload.containers] == sorted(
            ((c.name, c.init) for c in spec.containers), key=lambda item: not item[1]
        ), ref
        for container in spec.containers:
            node = next(c.node for c in workload.containers if c.name == container.name)
            assert node["image"] == container.image
            assert _resources(node) == {
                "cpu_request": container.cpu_request,
                "cpu_limit": container.cpu_limit,
                "memory_request": container.memory_request,
                "memory_limit": container.memory_limit,
            }, (ref, container.name)


def test_k8s_labels_follow_the_seed() -> None:
    yaml = YAML(typ="safe", pure=True)
    by_name = {w.name: w for w in AUDITFLOW}
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text()):
            if not doc or doc.get("kind") not in ("Deployment", "StatefulSet", "CronJob"):
                continue
            spec = by_name[doc["metadata"]["name"]]
            assert doc["metadata"]["labels"] == spec.labels
            template = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
            assert template["template"]["metadata"]["labels"] == spec.labels


def test_k8s_documents_are_valid_kubernetes() -> None:
    yaml = YAML(typ="safe", pure=True)
    count = 0
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.load_all(path.read_text()):
            kubernetes_validate.validate(doc, "1.32", strict=True)
            count += 1
    assert count == 25  # 2 namespaces, 12 workloads, 11 services


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_with_namespaces() -> None:
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True).stdout
    docs = [d for d in YAML(typ="safe", pure=True).load_all(out) if d]
    assert len(docs) == 25
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"auditflow", "auditflow-dev"}
