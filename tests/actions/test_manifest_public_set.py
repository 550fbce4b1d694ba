"""A real public multi-document set (testdata/manifests/public-set): Istio's Bookinfo (BestEffort pods that get
an injected istio-proxy), StatefulSets with init and sidecar containers and volumeClaimTemplates (MySQL from the
Kubernetes docs, Cassandra from kubernetes/examples, beside a StorageClass) and a vLLM Deployment with GPU and
ephemeral-storage resources (Guaranteed).

For each rewrite: only resource values change (every other field of every object is the same), every object
validates against the Kubernetes 1.32 schema (strict), requests <= limits, the QoS class is kept (or the object is
refused with a reason and its file untouched), kubectl kustomize renders the edited set, and a second plan changes
nothing.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, apply_plan, plan_manifests
from kubetally.actions.manifests.invariants import qos_class
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.model.quantity import parse_quantity

SET = Path(__file__).parents[2] / "testdata" / "manifests" / "public-set"
BOOKINFO = ["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"]


def ref(kind: str, name: str) -> WorkloadRef:
    return WorkloadRef("default", kind, name)


def load(root: Path) -> dict[str, list[dict[str, Any]]]:
    yaml = YAML(typ="safe", pure=True)
    return {p.name: [d for d in yaml.load_all(p.read_text()) if d] for p in sorted(root.glob("*.yaml"))}


def pods(docs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any] | None]]:
    """Workload name -> container name -> resources (init containers too)."""
    found = {}
    for file_docs in docs.values():
        for doc in file_docs:
            if doc["kind"] in ("Deployment", "StatefulSet"):
                spec = doc["spec"]["template"]["spec"]
                found[doc["metadata"]["name"]] = {
                    c["name"]: c.get("resources") for c in spec.get("initContainers", []) + spec["containers"]
                }
    return found


def without_resources(docs: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    docs = copy.deepcopy(docs)
    for file_docs in docs.values():
        for doc in file_docs:
            if doc["kind"] in ("Deployment", "StatefulSet"):
                spec = doc["spec"]["template"]["spec"]
                for c in spec.get("initContainers", []) + spec["containers"]:
                    c.pop("resources", None)
    return docs


def check_invariants(docs: dict[str, list[dict[str, Any]]]) -> None:
    for file_docs in docs.values():
        for doc in file_docs:
            kubernetes_validate.validate(doc, "1.32", strict=True)
    for containers in pods(docs).values():
        for resources in containers.values():
            requests, limits = (resources or {}).get("requests") or {}, (resources or {}).get("limits") or {}
            for name, value in requests.items():
                if name in limits:
                    assert parse_quantity(str(value)) <= parse_quantity(str(limits[name]))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(SET, tmp_path / "set")
    return tmp_path / "set"


def targets(mysql_memory_limit: str | None = None) -> list[ResourceTarget]:
    mysql: dict[tuple[str, str], str | None] = {("requests", "cpu"): "250m", ("requests", "memory"): "700Mi"}
    if mysql_memory_limit:
        mysql[("limits", "memory")] = mysql_memory_limit
    found = [
        ResourceTarget(ref("Deployment", "vllm-gemma-deployment"), "inference-server",
                       {("requests", "cpu"): "1500m", ("requests", "memory"): "8Gi", ("limits", "cpu"): None}),
        ResourceTarget(ref("StatefulSet", "cassandra"), "cassandra",
                       {("requests", "cpu"): "300m", ("requests", "memory"): "2Gi"}),
        ResourceTarget(ref("StatefulSet", "mysql"), "mysql", mysql),
        ResourceTarget(ref("StatefulSet", "mysql"), "xtrabackup", {("requests", "cpu"): "20m"}),
        ResourceTarget(ref("StatefulSet", "mysql"), "init-mysql", {("requests", "cpu"): "50m"}, init=True),
    ]  # fmt: skip
    for name in BOOKINFO:
        app = name.rsplit("-", 1)[0]
        rec: dict[tuple[str, str], str | None] = {("requests", "cpu"): "15m", ("requests", "memory"): "96Mi"}
        found.append(ResourceTarget(ref("Deployment", name), app, rec))
        found.append(ResourceTarget(ref("Deployment", name), "istio-proxy", rec))  # injected: not in the manifest
    return found


def test_the_public_set_keeps_every_invariant(tree: Path) -> None:
    before = load(tree)
    bookinfo = (tree / "istio-bookinfo.yaml").read_bytes()
    plan = plan_manifests(tree, targets())
    status = {o.ref.name: (o.status, o.reason) for o in plan.objects}
    # Bookinfo's pods have no resources (BestEffort): a request would make them Burstable, so each is
    # refused with the reason, and its file is not touched
    for name in BOOKINFO:
        assert status[name] == (
            "refused", "the pod's QoS class would change from BestEffort to Burstable (pass --allow-qos-change to "
            "allow it)"
        )  # fmt: skip
    assert {status[n][0] for n in ("vllm-gemma-deployment", "cassandra", "mysql")} == {"changed"}
    # the injected istio-proxy is a sidecar of a workload that is in the manifests, not a missing workload
    assert sorted((s.ref.name, s.container) for s in plan.sidecars) == [(n, "istio-proxy") for n in sorted(BOOKINFO)]
    assert plan.unmatched == () and plan.skipped == ()
    notes = {o.ref.name: o.notes for o in plan.objects}
    assert "container cassandra: limits.memory raised from 1Gi to 2Gi" in " ".join(notes["cassandra"])
    assert any("Guaranteed QoS kept" in n for n in notes["vllm-gemma-deployment"])
    apply_plan(plan)
    after = load(tree)
    assert (tree / "istio-bookinfo.yaml").read_bytes() == bookinfo
    check_invariants(after)
    assert without_resources(load(tree)) == without_resources(before)  # only resource values changed
    was, now = pods(before), pods(after)
    assert {w: qos_class(c) for w, c in now.items()} == {w: qos_class(c) for w, c in was.items()}
    # hand-worked: Guaranteed pods get limits = the recommended requests; GPU and ephemeral storage untouched
    assert now["vllm-gemma-deployment"]["inference-server"] == {
        "requests": {"cpu": "1500m", "memory": "8Gi", "ephemeral-storage": "10Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "1500m", "memory": "8Gi", "ephemeral-storage": "10Gi", "nvidia.com/gpu": "1"},
    }
    assert now["cassandra"]["cassandra"] == {"limits": {"cpu": "300m", "memory": "2Gi"},
                                             "requests": {"cpu": "300m", "memory": "2Gi"}}  # fmt: skip
    assert now["mysql"] == {
        "init-mysql": {"requests": {"cpu": "50m"}},
        "clone-mysql": None,
        "mysql": {"requests": {"cpu": "250m", "memory": "700Mi"}},
        "xtrabackup": {"requests": {"cpu": "20m", "memory": "100Mi"}},
    }
    # the claim templates' storage requests and the StorageClass are not container resources: untouched
    sts = {d["metadata"]["name"]: d for f in after.values() for d in f if d["kind"] == "StatefulSet"}
    assert sts["mysql"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert sts["cassandra"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    again = plan_manifests(tree, targets())
    assert again.files == ()


def test_allow_qos_change_writes_bookinfo_requests_and_nothing_else(tree: Path) -> None:
    before = load(tree)
    plan = plan_manifests(tree, targets(), settings=ManifestSettings(allow_qos_change=True))
    assert {o.ref.name: o.status for o in plan.objects if o.ref.name in BOOKINFO} == dict.fromkeys(BOOKINFO, "changed")
    apply_plan(plan)
    after = load(tree)
    check_invariants(after)
    assert without_resources(after) == without_resources(before)
    now = pods(after)
    for name in BOOKINFO:
        (container,) = now[name].values()
        assert container == {"requests": {"cpu": "15m", "memory": "96Mi"}}
        assert qos_class(now[name]) == "Burstable"


def test_a_recommendation_below_its_own_request_is_refused_and_the_file_untouched(tree: Path) -> None:
    mysql = (tree / "mysql-statefulset.yaml").read_bytes()
    plan = plan_manifests(tree, targets(mysql_memory_limit="500Mi"))
    (report,) = [o for o in plan.objects if o.ref.name == "mysql"]
    assert report.status == "refused"
    assert (
        report.reason
        == "container mysql: requests.memory 700Mi would be above limits.memory 500Mi (the API server rejects that)"
    )
    apply_plan(plan)
    assert (tree / "mysql-statefulset.yaml").read_bytes() == mysql


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kubernetes-client) not installed")
def test_kubectl_kustomize_renders_the_same_objects_but_the_values(tree: Path) -> None:
    files = sorted(p.name for p in tree.glob("*.yaml"))
    (tree / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {f}\n" for f in files))

    def render() -> list[dict[str, Any]]:
        out = subprocess.run(["kubectl", "kustomize", str(tree)], capture_output=True, text=True, check=True).stdout
        return [d for d in YAML(typ="safe", pure=True).load_all(out) if d]

    before = render()
    plan = plan_manifests(tree, targets())
    apply_plan(plan)
    after = render()
    assert len(after) == len(before) == 18  # Bookinfo 4 Services, 4 ServiceAccounts, 6 Deployments; 4 more
    assert without_resources({"all": after}) == without_resources({"all": before})
    assert {o.ref.name: o.status for o in plan.objects}["mysql"] == "changed"
    got = {(d["kind"], d["metadata"]["name"]): d for d in after}
    resources = got[("StatefulSet", "mysql")]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert {k: {r: parse_quantity(str(v)) for r, v in vals.items()} for k, vals in resources.items()} == {
        "requests": {"cpu": Decimal("0.25"), "memory": Decimal(700 * 2**20)}
    }
