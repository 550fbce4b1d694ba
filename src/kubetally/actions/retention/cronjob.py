"""A Kubernetes CronJob that runs a retention policy nightly: a ConfigMap with the policy file and the CronJob.

The DSN never appears in the manifest: the container reads it from a Secret (``KUBETALLY_DSN``).
The job is safe to retry (``backoffLimit``) because a run resumes from its journal, and two runs
never overlap (``concurrencyPolicy: Forbid``; the engine's advisory lock is the second guard).
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from kubetally.model.retention import CronJobSettings

POLICY_KEY = "policy.yaml"
POLICY_DIR = "/etc/kubetally"


def cronjob_manifests(policy_text: str, settings: CronJobSettings) -> list[dict[str, Any]]:
    """The ConfigMap and the CronJob, as Kubernetes objects."""
    labels = {"app.kubernetes.io/name": "kubetally", "app.kubernetes.io/component": "retention"}
    meta = {"name": settings.name, "namespace": settings.namespace, "labels": dict(labels)}
    args = ["retention", "run", "--policy", f"{POLICY_DIR}/{POLICY_KEY}", "--yes"]
    if settings.vacuum:
        args.append("--vacuum")
    mounts: list[dict[str, Any]] = [
        {"name": "policy", "mountPath": POLICY_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},  # the root filesystem is read-only
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "policy", "configMap": {"name": settings.name}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if settings.archive_claim is not None:
        mounts.append({"name": "archive", "mountPath": settings.archive_mount})
        volumes.append({"name": "archive", "persistentVolumeClaim": {"claimName": settings.archive_claim}})
    container = {
        "name": "retention",
        "image": settings.image,
        "command": ["kubetally"],
        "args": args,
        "env": [
            {
                "name": "KUBETALLY_DSN",
                "valueFrom": {"secretKeyRef": {"name": settings.secret, "key": settings.secret_key}},
            }
        ],
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": dict(meta, labels=dict(labels)),
        "data": {POLICY_KEY: LiteralScalarString(policy_text)},
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": settings.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"labels": dict(labels)},
                        "spec": {"restartPolicy": "Never", "containers": [container], "volumes": volumes},
                    },
                }
            },
        },
    }
    return [config_map, cronjob]


def cronjob_yaml(policy_text: str, settings: CronJobSettings) -> str:
    """The two objects as one multi-document YAML stream (``kubectl apply -f -``)."""
    yaml = YAML()
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump_all(cronjob_manifests(policy_text, settings), out)
    return out.getvalue()
