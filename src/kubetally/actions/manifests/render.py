"""Resource targets as ``kubectl patch`` commands and as recommendation-only VPA objects."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from kubetally.actions.manifests.plan import ResourceTarget
from kubetally.actions.manifests.scan import WorkloadRef
from kubetally.actions.manifests.textedit import change_tree

API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}


def _grouped(targets: Iterable[ResourceTarget]) -> dict[WorkloadRef, list[ResourceTarget]]:
    groups: dict[WorkloadRef, list[ResourceTarget]] = {}
    for target in targets:
        groups.setdefault(target.ref, []).append(target)
    return dict(sorted(groups.items()))


def strategic_patch(ref: WorkloadRef, targets: Iterable[ResourceTarget]) -> dict[str, Any]:
    """A strategic merge patch: containers are merged by name, ``null`` removes a field."""
    pod: dict[str, Any] = {}
    for target in targets:
        key = "initContainers" if target.init else "containers"
        pod.setdefault(key, []).append({"name": target.container, "resources": change_tree(target.change)})
    template = {"template": {"spec": pod}}
    if ref.kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": template}}}
    return {"spec": template}


def kubectl_patch_commands(targets: Iterable[ResourceTarget]) -> str:
    """One ``kubectl patch`` command per workload, ready to paste into a shell."""
    lines = []
    for ref, group in _grouped(targets).items():
        body = json.dumps(strategic_patch(ref, group), separators=(",", ":"))
        lines.append(
            f"kubectl patch {ref.kind.lower()} {shlex.quote(ref.name)} -n {shlex.quote(ref.namespace)} "
            f"--type strategic -p {shlex.quote(body)}"
        )
    return "".join(line + "\n" for line in lines)


def vpa_object(ref: WorkloadRef, targets: Iterable[ResourceTarget]) -> dict[str, Any]:
    """A VerticalPodAutoscaler in recommendation-only mode (``updateMode: "Off"``).

    VPA then publishes its own recommendation in ``status``; ours is kept in an
    annotation so the two can be compared before anyone applies either.
    """
    group = list(targets)
    ours = {
        t.container: {f"{section}.{resource}": value for (section, resource), value in sorted(t.change.items())}
        for t in group
    }
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {
            "name": ref.name,
            "namespace": ref.namespace,
            "labels": {"app.kubernetes.io/managed-by": "kubetally"},
            "annotations": {"kubetally.io/recommendation": json.dumps(ours, sort_keys=True)},
        },
        "spec": {
            "targetRef": {"apiVersion": API_VERSIONS[ref.kind], "kind": ref.kind, "name": ref.name},
            "updatePolicy": {"updateMode": DoubleQuotedScalarString("Off")},  # YAML 1.1 reads bare Off as false
            "resourcePolicy": {
                "containerPolicies": [
                    {"containerName": t.container, "controlledResources": ["cpu", "memory"]} for t in group
                ]
            },
        },
    }


def vpa_yaml(targets: Iterable[ResourceTarget]) -> str:
    """All VPA objects as one multi-document YAML stream."""
    yaml = YAML(typ="rt")
    yaml.explicit_start = True
    out = StringIO()
    yaml.dump_all([vpa_object(ref, group) for ref, group in _grouped(targets).items()], out)
    return out.getvalue()
