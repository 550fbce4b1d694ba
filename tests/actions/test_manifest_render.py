"""kubectl patch commands, VPA objects and targets from the recommendation frame."""

from __future__ import annotations

import json
import shlex

import polars as pl
from ruamel.yaml import YAML

from kubetally.actions.manifests import ResourceTarget, WorkloadRef
from kubetally.actions.manifests.render import kubectl_patch_commands, vpa_yaml
from kubetally.actions.manifests.targets import targets_from_recommendations
from kubetally.model import columns as c
from kubetally.model.recommendation import RECOMMENDATIONS

MI = 2**20
TARGETS = [
    ResourceTarget(
        WorkloadRef("auditflow", "Deployment", "web"), "app", {("requests", "cpu"): "50m", ("limits", "cpu"): None}
    ),
    ResourceTarget(WorkloadRef("ops", "CronJob", "backup"), "prep", {("requests", "memory"): "64Mi"}, init=True),
]


def test_kubectl_patch_commands_are_strategic_merge_patches() -> None:
    lines = kubectl_patch_commands(TARGETS).splitlines()[::-1]  # sorted by namespace: auditflow, ops
    first = shlex.split(lines[0])
    assert first[:8] == ["kubectl", "patch", "cronjob", "backup", "-n", "ops", "--type", "strategic"]
    assert json.loads(first[9]) == {
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"initContainers": [{"name": "prep", "resources": {"requests": {"memory": "64Mi"}}}]}
                    }
                }
            }
        }
    }
    second = shlex.split(lines[1])
    assert second[2:6] == ["deployment", "web", "-n", "auditflow"]
    assert json.loads(second[9]) == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "resources": {"requests": {"cpu": "50m"}, "limits": {"cpu": None}}}]
                }
            }
        }
    }


def test_vpa_objects_are_recommendation_only() -> None:
    text = vpa_yaml(TARGETS)
    assert 'updateMode: "Off"' in text  # bare Off would be the boolean false in YAML 1.1
    docs = list(YAML(typ="safe", pure=True).load_all(text))[::-1]
    assert [d["spec"]["targetRef"] for d in docs] == [
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    ]
    web = docs[1]
    assert web["apiVersion"] == "autoscaling.k8s.io/v1" and web["metadata"]["namespace"] == "auditflow"
    assert web["spec"]["resourcePolicy"]["containerPolicies"] == [
        {"containerName": "app", "controlledResources": ["cpu", "memory"]}
    ]
    assert json.loads(web["metadata"]["annotations"]["kubetally.io/recommendation"]) == {
        "app": {"limits.cpu": None, "requests.cpu": "50m"}
    }


def _rec(kind: str, name: str, container: str, current: tuple, recommended: tuple) -> dict:
    row: dict = dict.fromkeys(RECOMMENDATIONS.names)
    row.update({c.CLUSTER: "k", c.NAMESPACE: "ns", c.OWNER_KIND: kind, c.OWNER_NAME: name, c.CONTAINER: container})
    for prefix, values in (("current", current), ("recommended", recommended)):
        row[f"{prefix}_cpu_request_cores"], row[f"{prefix}_cpu_limit_cores"] = values[0], values[1]
        row[f"{prefix}_memory_request_bytes"], row[f"{prefix}_memory_limit_bytes"] = values[2], values[3]
    return row


def test_targets_from_recommendations() -> None:
    frame = pl.DataFrame(
        [
            _rec("Deployment", "a", "app", (1.0, 2.0, 1024 * MI, None), (0.05, None, 128 * MI, 256 * MI)),
            _rec("Deployment", "b", "app", (0.1, None, 64 * MI, None), (0.1, None, 64 * MI, None)),  # nothing to do
            _rec("Pod", "bare", "x", (0.5, None, None, None), (0.25, None, None, None)),
            _rec("StatefulSet", "db", "pg", (0.25, 1.5, None, None), (0.3, 1.5, None, None)),
        ],
        schema=RECOMMENDATIONS.schema,
    )
    targets, skipped = targets_from_recommendations(frame)
    assert [(t.ref.name, dict(t.change)) for t in targets] == [
        (
            "a",
            {
                ("requests", "cpu"): "50m",
                ("limits", "cpu"): None,
                ("requests", "memory"): "128Mi",
                ("limits", "memory"): "256Mi",
            },
        ),
        ("db", {("requests", "cpu"): "300m"}),
    ]
    assert [(s.ref.kind, s.ref.name) for s in skipped] == [("Pod", "bare")]
