"""The verbs the janitor needs (delete, patch, create events), driven by the real kubectl.

kubectl decides the HTTP calls (methods, content types, dryRun and propagationPolicy parameters);
the server must answer as a kube-apiserver does and change its objects only when not a dry run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kubeapi.server import KubeAPIServer
from servers import require_binary


def kubectl(api: KubeAPIServer, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [require_binary("kubectl"), "--server", api.url, *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert (result.returncode == 0) == ok, result.stderr
    return result


def _names(api: KubeAPIServer, kind: str) -> set[tuple[str, str]]:
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in api.objects(kind)}


def test_delete_dry_run_then_for_real(api: KubeAPIServer) -> None:
    ns, name = sorted(_names(api, "ConfigMap"))[0]
    kubectl(api, "delete", "configmap", name, "-n", ns, "--dry-run=server", "--wait=false")
    assert (ns, name) in _names(api, "ConfigMap")
    kubectl(api, "delete", "configmap", name, "-n", ns, "--wait=false")
    assert (ns, name) not in _names(api, "ConfigMap")
    deletes = [r for r in api.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/api/v1/namespaces/{ns}/configmaps/{name}"] * 2
    assert deletes[0].body["dryRun"] == ["All"] and "dryRun" not in deletes[1].body  # kubectl sends DeleteOptions
    missing = kubectl(api, "delete", "configmap", name, "-n", ns, "--wait=false", ok=False)
    assert f'configmaps "{name}" not found' in missing.stderr


def test_delete_cascade(api: KubeAPIServer) -> None:
    deployment = next(o for o in api.objects("Deployment"))
    ns, name, uid = deployment["metadata"]["namespace"], deployment["metadata"]["name"], deployment["metadata"]["uid"]
    owned = {
        o["metadata"]["name"]
        for o in api.objects("ReplicaSet")
        if any(r["uid"] == uid for r in o["metadata"].get("ownerReferences", []))
    }
    assert owned, "the simulator gives every Deployment a ReplicaSet"
    kubectl(api, "delete", "deployment", name, "-n", ns, "--cascade=orphan", "--wait=false")
    kept = {o["metadata"]["name"]: o for o in api.objects("ReplicaSet")}
    assert owned <= set(kept) and all("ownerReferences" not in kept[n]["metadata"] for n in owned)

    other = next(o for o in api.objects("Deployment"))
    other_uid = other["metadata"]["uid"]
    rs = {
        o["metadata"]["uid"]
        for o in api.objects("ReplicaSet")
        if any(r["uid"] == other_uid for r in o["metadata"].get("ownerReferences", []))
    }
    pods = {
        o["metadata"]["name"]
        for o in api.objects("Pod")
        if any(r["uid"] in rs for r in o["metadata"].get("ownerReferences", []))
    }
    kubectl(
        api, "delete", "deployment", other["metadata"]["name"], "-n", other["metadata"]["namespace"], "--wait=false"
    )
    left = {o["metadata"]["uid"] for o in api.objects("ReplicaSet")}
    assert not rs & left and not pods & {n for _, n in _names(api, "Pod")}


def test_patch_merge_json_and_dry_run(api: KubeAPIServer) -> None:
    deployment = next(o for o in api.objects("Deployment"))
    ns, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
    annotate = json.dumps({"metadata": {"annotations": {"kubetally.io/janitor": "scale-down"}}})
    kubectl(api, "patch", "deployment", name, "-n", ns, "--type=merge", "-p", annotate, "--dry-run=server")
    assert "kubetally.io/janitor" not in (api.objects("Deployment")[0]["metadata"].get("annotations") or {})
    kubectl(api, "patch", "deployment", name, "-n", ns, "--type=merge", "-p", annotate)
    kubectl(
        api,
        "patch",
        "deployment",
        name,
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":0}]',
    )
    got = next(o for o in api.objects("Deployment") if o["metadata"]["name"] == name)
    assert got["metadata"]["annotations"]["kubetally.io/janitor"] == "scale-down"
    assert got["spec"]["replicas"] == 0
    types = [r.headers.get("Content-Type", "").split(";")[0] for r in api.requests if r.method == "PATCH"]
    assert types == ["application/merge-patch+json"] * 2 + ["application/json-patch+json"]


def test_create_event(api: KubeAPIServer, tmp_path: Path) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "kubetally-janitor.1", "namespace": "auditflow"},
        "involvedObject": {"kind": "ConfigMap", "namespace": "auditflow", "name": "auditflow-config"},
        "reason": "KubetallyJanitor",
        "message": "would delete: no pod or template references it",
        "type": "Normal",
        "source": {"component": "kubetally-janitor"},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    kubectl(api, "create", "-f", str(path), "--validate=false")  # the server does not serve /openapi (validates itself)
    listed = json.loads(kubectl(api, "get", "events", "-n", "auditflow", "-o", "json").stdout)
    assert [e["reason"] for e in listed["items"]] == ["KubetallyJanitor"]
    again = kubectl(api, "create", "-f", str(path), "--validate=false", ok=False)
    assert "already exists" in again.stderr
