"""deploy/*.yaml: every object valid (kubernetes-validate, strict, for the built-in kinds; the ServiceMonitor
checked against the fields and patterns of prometheus-operator's CRD), and the pieces fit together: the
Deployment runs `serve --in-cluster --prometheus URL` as the ServiceAccount the read-only ClusterRole is bound
to, Service -> pod port, ServiceMonitor -> Service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
"""`interval` / `scrapeTimeout` of a ServiceMonitor endpoint (monitoring.coreos.com_servicemonitors.yaml, 0.84)."""
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout", "honorLabels", "scheme", "targetPort"}


def _objects() -> list[dict[str, Any]]:
    return [d for path in sorted(DEPLOY.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_object_in_deploy_is_valid() -> None:
    objects = _objects()
    kinds = sorted(d["kind"] for d in objects)
    assert kinds == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment",
                            "Service", "ServiceMonitor"])  # fmt: skip
    for doc in objects:
        if doc["kind"] == "ServiceMonitor":
            assert doc["apiVersion"] == "monitoring.coreos.com/v1"
            assert set(doc["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
            for endpoint in doc["spec"]["endpoints"]:
                assert set(endpoint) <= ENDPOINT_FIELDS, endpoint
                assert DURATION.match(endpoint["interval"]) and DURATION.match(endpoint["scrapeTimeout"])
                assert isinstance(endpoint["honorLabels"], bool)
            continue
        kubernetes_validate.validate(doc, "1.32.0", strict=True)


def test_serve_manifests_are_wired() -> None:
    docs = {d["kind"]: d for d in _objects()}
    pod = docs["Deployment"]["spec"]["template"]
    assert docs["Deployment"]["metadata"]["namespace"] == docs["Namespace"]["metadata"]["name"]
    assert pod["spec"]["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    binding = docs["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == docs["ClusterRole"]["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": docs["ServiceAccount"]["metadata"]["name"],
                                    "namespace": docs["ServiceAccount"]["metadata"]["namespace"]}]  # fmt: skip
    verbs = {v for rule in docs["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs == {"list"}
    container = pod["spec"]["containers"][0]
    args = container["args"]
    assert args[0] == "serve" and "--listen=0.0.0.0:8080" in args and "--in-cluster" in args
    assert any(a.startswith("--prometheus=http") for a in args)
    service = docs["Service"]["spec"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["ports"][0]["targetPort"] == container["ports"][0]["name"]
    monitor = docs["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= docs["Service"]["metadata"]["labels"].items()
    assert monitor["endpoints"][0] == {**monitor["endpoints"][0], "port": "http", "honorLabels": True}
