"""The resource types the test API server serves: group, version, plural, scope, verbs.

Facts from the Kubernetes API reference (v1.32): the group/version each kind is served under,
its plural resource name, short names and whether it is namespaced.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = ("get", "list")
WRITE = ("create", "delete", "patch", "update")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short: tuple[str, ...] = ()
    verbs: tuple[str, ...] = READ + WRITE

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_root(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def singular(self) -> str:
        return self.kind.lower()


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "Namespace", "namespaces", False, ("ns",)),
    Resource("", "v1", "Node", "nodes", False, ("no",)),
    Resource("", "v1", "Pod", "pods", True, ("po",)),
    Resource("", "v1", "Service", "services", True, ("svc",)),
    Resource("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    Resource("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    Resource("", "v1", "Secret", "secrets", True),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",)),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",)),
    Resource("", "v1", "Event", "events", True, ("ev",)),
    Resource("apps", "v1", "Deployment", "deployments", True, ("deploy",)),
    Resource("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",)),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",)),
    Resource("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",)),
    Resource("batch", "v1", "Job", "jobs", True),
    Resource("batch", "v1", "CronJob", "cronjobs", True, ("cj",)),
    Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",)),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",)),
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    Resource("events.k8s.io", "v1", "Event", "events", True, ("ev",)),
    Resource("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", True, (), READ),
    Resource("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, (), READ),
)

BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_API_VERSION_KIND: dict[tuple[str, str], Resource] = {(r.group_version, r.kind): r for r in RESOURCES}


def resource_of(obj: dict[str, object]) -> Resource:
    """The resource type of an object, from its apiVersion and kind."""
    key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    try:
        return BY_API_VERSION_KIND[key]
    except KeyError:
        raise ValueError(f"the test server does not serve {key[0]} {key[1]}") from None
