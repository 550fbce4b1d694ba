"""deploy/serve.yaml: valid Kubernetes objects that fit together (Service -> pod port, ServiceMonitor -> Service)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"


def test_serve_manifests_are_valid_and_wired() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "serve.yaml").read_text())}
    assert set(docs) == {"Deployment", "Service", "ServiceMonitor"}
    for kind in ("Deployment", "Service"):
        kubernetes_validate.validate(docs[kind], "1.32", strict=True)
    pod = docs["Deployment"]["spec"]["template"]
    rbac = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "clusterrole.yaml").read_text())}
    assert pod["spec"]["serviceAccountName"] == rbac["ServiceAccount"]["metadata"]["name"]
    verbs = {v for rule in rbac["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    container = pod["spec"]["containers"][0]
    assert container["args"][0] == "serve" and "--listen=0.0.0.0:8080" in container["args"]
    service = docs["Service"]["spec"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["ports"][0]["targetPort"] == container["ports"][0]["name"]
    monitor = docs["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= docs["Service"]["metadata"]["labels"].items()
    assert monitor["endpoints"][0] == {**monitor["endpoints"][0], "port": "http", "honorLabels": True}
