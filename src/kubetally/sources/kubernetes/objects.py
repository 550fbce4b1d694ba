"""A cluster's objects as the Kubernetes API returns them (plain JSON dicts), indexed for the frame builders.

The API server and ``kubectl get -o json`` give the same JSON; this module knows nothing of where it
came from. Fields read are those of the v1 API reference (``metadata.ownerReferences``,
``spec.containers[].resources``, ``status.containerStatuses[]`` ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubetally.model.quantity import QuantityError, parse_cpu, parse_memory

Obj = dict[str, Any]

CLUSTER_SCOPED = frozenset({"Node", "Namespace", "PersistentVolume", "StorageClass", "NodeMetrics"})
CONTROLLERS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet")
"""Controllers whose pod template (and pods) kubetally reads."""


def meta(obj: Obj) -> Obj:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace_of(obj: Obj) -> str:
    if obj.get("kind") in CLUSTER_SCOPED:
        return ""
    return str(meta(obj).get("namespace") or "default")


def mapping(obj: Any, *path: str) -> Obj:
    """``obj[path[0]][path[1]]...`` as a dict, ``{}`` wherever a step is missing or not a dict."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def items(obj: Any, *path: str) -> list[Obj]:
    """The list at ``path`` (dict entries only), ``[]`` when missing."""
    for key in path[:-1]:
        obj = obj.get(key) if isinstance(obj, dict) else None
    value = obj.get(path[-1]) if isinstance(obj, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 API timestamp (``2026-11-01T02:00:00Z``) as aware UTC; None when absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def cpu(value: Any) -> float | None:
    try:
        return None if value is None else parse_cpu(value)
    except QuantityError:
        return None


def memory(value: Any) -> int | None:
    try:
        return None if value is None else parse_memory(value)
    except QuantityError:
        return None


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference marked ``controller: true`` (or the only one)."""
    refs = items(obj, "metadata", "ownerReferences")
    marked = [r for r in refs if r.get("controller")]
    if marked:
        return marked[0]
    return refs[0] if len(refs) == 1 else None


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a Pod, or of a controller's pod template (CronJob: its job template's)."""
    kind = obj.get("kind")
    if kind == "Pod":
        return mapping(obj, "spec")
    if kind == "CronJob":
        return mapping(obj, "spec", "jobTemplate", "spec", "template", "spec")
    if kind in CONTROLLERS:
        return mapping(obj, "spec", "template", "spec")
    return None


@dataclass
class Cluster:
    """Objects by kind, plus the indexes the builders share."""

    by_kind: dict[str, list[Obj]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)
    """Kinds that were listed (possibly empty): an absent kind is unknown, not zero."""
    _by_key: dict[tuple[str, str, str], Obj] = field(default_factory=dict)

    @classmethod
    def of(cls, objects: Iterable[Obj], *, listed: Iterable[str] = ()) -> Cluster:
        cluster = cls(listed=set(listed))
        for obj in objects:
            kind = obj.get("kind")
            if not isinstance(kind, str) or not name_of(obj):
                continue
            cluster.by_kind.setdefault(kind, []).append(obj)
            cluster.listed.add(kind)
            cluster._by_key[(kind, namespace_of(obj), name_of(obj))] = obj
        return cluster

    def kind(self, kind: str) -> list[Obj]:
        return self.by_kind.get(kind, [])

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._by_key.get((kind, namespace, name))

    def __iter__(self) -> Iterator[Obj]:
        for objs in self.by_kind.values():
            yield from objs

    def top_controller(self, obj: Obj) -> tuple[str, str]:
        """(kind, name) of the top controller of a pod: ReplicaSet -> Deployment, Job -> CronJob.

        A pod without a controller, or a static pod (owned by its Node), is its own workload ("Pod").
        A ReplicaSet or Job missing from the objects is resolved from the pod's labels as
        kubernetes-mixin does (a ReplicaSet named ``<deployment>-<pod-template-hash>``).
        """
        ns = namespace_of(obj)
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") == "Node":
            return ("Pod", name_of(obj))
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        for _ in range(4):
            owner = self.get(kind, ns, name)
            if owner is None:
                if kind == "ReplicaSet":
                    template_hash = mapping(obj, "metadata", "labels").get("pod-template-hash")
                    if template_hash and name.endswith(f"-{template_hash}"):
                        return ("Deployment", name[: -len(template_hash) - 1])
                return (kind, name)
            parent = controller_ref(owner)
            if parent is None:
                return (kind, name)
            kind, name = str(parent.get("kind", "")), str(parent.get("name", ""))
        return (kind, name)
