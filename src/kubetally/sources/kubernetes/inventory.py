"""Inventory frames from objects: containers, terminations, workloads, nodes, labels, volumes, objects.

Rules (each where the API reference puts the fact):

- requests: a limit without a request defaults the request, as the API server stores it;
- QoS: ``status.qosClass``, computed by the API's rule when absent (a dump of manifests);
- a pod ends when its phase is Succeeded or Failed (the last container ``finishedAt``);
- a container's last termination is ``lastState.terminated`` (a restart), or, for an app container of
  a pod that ended by itself (Succeeded/Failed, no ``deletionTimestamp``), its final ``state.terminated``;
  a stop caused by deleting the pod is not the container's own termination;
- a workload is a top controller (see :meth:`Cluster.top_controller`) or a bare/static pod;
  its HPA is the one whose ``scaleTargetRef`` names it (autoscaling/v2 or v1);
- a PersistentVolume whose ``claimRef`` names no existing claim stands alone (namespace and claim empty).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.kube_refs import log_settings, selector_text
from kubetally.sources.kubernetes.objects import (
    Cluster,
    Obj,
    controller_ref,
    cpu,
    items,
    mapping,
    memory,
    name_of,
    namespace_of,
    pod_spec,
    timestamp,
)

OBJECT_KINDS = (
    "ConfigMap", "Secret", "Service", "ServiceAccount", "Ingress", "Job", "ReplicaSet", "HorizontalPodAutoscaler",
    "Gateway",
)  # fmt: skip
ANNOTATION_PREFIXES = ("kubetally.io/", "janitor/", "downscaler/")
"""Annotation keys kept in the annotations frame (the ones kubetally acts on)."""
REVISION = "deployment.kubernetes.io/revision"
LABEL_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Node", "Namespace")


def _frame(spec: schema.FrameSpec, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=spec.schema, orient="row") if rows else schema.empty(spec)


def _resources(container: Obj) -> tuple[float | None, float | None, int | None, int | None]:
    requests, limits = mapping(container, "resources", "requests"), mapping(container, "resources", "limits")
    cpu_limit, mem_limit = cpu(limits.get("cpu")), memory(limits.get("memory"))
    cpu_request = cpu(requests.get("cpu")) if "cpu" in requests else cpu_limit
    mem_request = memory(requests.get("memory")) if "memory" in requests else mem_limit
    return cpu_request, cpu_limit, mem_request, mem_limit


def qos_class(spec: Obj) -> str:
    """The pod's QoS class by the API's rule (over init and app containers)."""
    resources = [_resources(ct) for ct in items(spec, "initContainers") + items(spec, "containers")]
    if all(v is None for r in resources for v in r):
        return "BestEffort"
    if resources and all(r[0] is not None and r[0] == r[1] and r[2] is not None and r[2] == r[3] for r in resources):
        return "Guaranteed"
    return "Burstable"


def _pod_end(pod: Obj) -> datetime | None:
    if mapping(pod, "status").get("phase") not in ("Succeeded", "Failed"):
        return None
    statuses = items(pod, "status", "containerStatuses")
    ends = [timestamp(mapping(s, "state", "terminated").get("finishedAt")) for s in statuses]
    known = [e for e in ends if e is not None]
    return max(known) if known else timestamp(mapping(pod, "metadata").get("deletionTimestamp"))


def pod_frames(cluster: Cluster, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The containers and terminations frames."""
    rows, terms = [], []
    for pod in cluster.kind("Pod"):
        ns, pod_name, spec, status = namespace_of(pod), name_of(pod), mapping(pod, "spec"), mapping(pod, "status")
        owner_kind, owner_name = cluster.top_controller(pod)
        deleting = bool(mapping(pod, "metadata").get("deletionTimestamp"))
        finished = status.get("phase") in ("Succeeded", "Failed") and not deleting
        """The pod ended by itself: its app containers' final state is their own last termination."""
        started = timestamp(status.get("startTime")) or timestamp(mapping(pod, "metadata").get("creationTimestamp"))
        ended = _pod_end(pod)
        qos = str(status.get("qosClass") or qos_class(spec))
        statuses = {
            (init, str(s.get("name"))): s
            for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses"))
            for s in items(status, key)
        }
        for init, key in ((True, "initContainers"), (False, "containers")):
            for container in items(spec, key):
                cname = str(container.get("name", ""))
                state = statuses.get((init, cname), {})
                last = mapping(state, "lastState", "terminated")
                current = mapping(state, "state", "terminated")
                mem_limit = _resources(container)[3]
                reason = last.get("reason")
                own = current if finished and not init else {}
                for term in (last, own):
                    when = timestamp(term.get("finishedAt"))
                    if term.get("reason") and when is not None:
                        terms.append({c.CLUSTER: name, c.NAMESPACE: ns, c.POD: pod_name, c.CONTAINER: cname,
                                      c.TIMESTAMP: when, c.REASON: str(term["reason"]),
                                      c.MEMORY_LIMIT_BYTES: mem_limit})  # fmt: skip
                if own.get("reason"):
                    reason = own.get("reason")
                cpu_req, cpu_lim, mem_req, mem_lim = _resources(container)
                rows.append(
                    {
                        c.CLUSTER: name, c.NAMESPACE: ns, c.POD: pod_name,
                        c.POD_UID: str(mapping(pod, "metadata").get("uid", "")), c.CONTAINER: cname,
                        c.INIT_CONTAINER: init, c.NODE: str(spec.get("nodeName") or ""),
                        c.OWNER_KIND: owner_kind, c.OWNER_NAME: owner_name,
                        c.CPU_REQUEST_CORES: cpu_req, c.CPU_LIMIT_CORES: cpu_lim,
                        c.MEMORY_REQUEST_BYTES: mem_req, c.MEMORY_LIMIT_BYTES: mem_lim,
                        c.START_TIME: started, c.END_TIME: ended, c.RESTARTS: int(state.get("restartCount") or 0),
                        c.LAST_TERMINATION_REASON: None if reason is None else str(reason),
                        c.QOS_CLASS: qos, c.IMAGE: str(container.get("image", "")),
                    }
                )  # fmt: skip
    containers = _frame(schema.CONTAINERS, rows).filter(pl.col(c.START_TIME).is_not_null())
    terminations = _frame(schema.TERMINATIONS, terms).unique(list(schema.TERMINATIONS.key), keep="first")
    return containers, terminations


def _hpas(cluster: Cluster) -> dict[tuple[str, str, str], tuple[int, int, float | None]]:
    found = {}
    for hpa in cluster.kind("HorizontalPodAutoscaler"):
        spec = mapping(hpa, "spec")
        target = mapping(spec, "scaleTargetRef")
        utilization: float | None = None
        if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
            utilization = float(spec["targetCPUUtilizationPercentage"])
        for metric in items(spec, "metrics"):
            resource = mapping(metric, "resource")
            value = mapping(resource, "target").get("averageUtilization", resource.get("targetAverageUtilization"))
            if metric.get("type") == "Resource" and resource.get("name") == "cpu" and value is not None:
                utilization = float(value)
        key = (namespace_of(hpa), str(target.get("kind", "")), str(target.get("name", "")))
        found[key] = (int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 1), utilization)
    return found


def _replicas(obj: Obj) -> int:
    kind, spec = obj.get("kind"), mapping(obj, "spec")
    if kind == "DaemonSet":
        return int(mapping(obj, "status").get("desiredNumberScheduled") or 0)
    if kind == "CronJob":
        return int(mapping(spec, "jobTemplate", "spec").get("parallelism") or 1)
    if kind == "Job":
        return int(spec.get("parallelism") or 1)
    replicas = spec.get("replicas")
    return 1 if replicas is None else int(replicas)


def workload_frame(cluster: Cluster, name: str, containers: pl.DataFrame) -> pl.DataFrame:
    """Top controllers and bare pods; controllers the objects lack are added from their pods."""
    hpas = _hpas(cluster)
    tops: dict[tuple[str, str, str], Obj | None] = {}
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet"):
        for obj in cluster.kind(kind):
            owner = controller_ref(obj)
            orphan = (
                owner is None or cluster.get(str(owner.get("kind")), namespace_of(obj), str(owner.get("name"))) is None
            )
            if orphan and not (kind in ("Job", "ReplicaSet") and owner is not None):
                tops[(namespace_of(obj), kind, name_of(obj))] = obj
    pods = containers.select(c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.POD).unique()
    for ns, kind, owner_name, pod in pods.iter_rows():
        key = (ns, kind, owner_name)
        if key not in tops:
            tops[key] = cluster.get("Pod", ns, pod) if kind == "Pod" else cluster.get(kind, ns, owner_name)
    rows = []
    for (ns, kind, wname), top in sorted(tops.items()):
        hpa = hpas.get((ns, kind, wname))
        if top is not None and kind != "Pod":
            replicas = _replicas(top)
        else:
            replicas = pods.filter(pl.col(c.NAMESPACE) == ns, pl.col(c.OWNER_KIND) == kind,
                                   pl.col(c.OWNER_NAME) == wname).height  # fmt: skip
        rows.append(
            {
                c.CLUSTER: name, c.NAMESPACE: ns, c.KIND: kind, c.NAME: wname, c.DESIRED_REPLICAS: replicas,
                c.HPA_MIN_REPLICAS: hpa[0] if hpa else None, c.HPA_MAX_REPLICAS: hpa[1] if hpa else None,
                c.HPA_TARGET_CPU_UTILIZATION: hpa[2] if hpa else None,
                c.CREATED_AT: timestamp(mapping(top, "metadata").get("creationTimestamp")) if top else None,
            }
        )  # fmt: skip
    return _frame(schema.WORKLOADS, rows)


def node_frame(cluster: Cluster, name: str) -> pl.DataFrame:
    rows = []
    for node in cluster.kind("Node"):
        labels = mapping(node, "metadata", "labels")
        capacity, allocatable = mapping(node, "status", "capacity"), mapping(node, "status", "allocatable")
        control = any(k in labels for k in ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"))
        rows.append(
            {
                c.CLUSTER: name, c.NODE: name_of(node),
                c.INSTANCE_TYPE: str(labels.get("node.kubernetes.io/instance-type")
                                     or labels.get("beta.kubernetes.io/instance-type") or ""),
                c.ARCH: str(labels.get("kubernetes.io/arch") or mapping(node, "status", "nodeInfo").get("architecture")
                            or ""),
                c.ROLE: "control-plane" if control else "worker",
                c.CPU_CAPACITY_CORES: cpu(capacity.get("cpu")) or 0.0,
                c.CPU_ALLOCATABLE_CORES: cpu(allocatable.get("cpu")) or 0.0,
                c.MEMORY_CAPACITY_BYTES: memory(capacity.get("memory")) or 0,
                c.MEMORY_ALLOCATABLE_BYTES: memory(allocatable.get("memory")) or 0,
                c.PODS_CAPACITY: int(memory(capacity.get("pods")) or 0),
                c.PODS_ALLOCATABLE: int(memory(allocatable.get("pods")) or 0),
            }
        )  # fmt: skip
    return _frame(schema.NODES, rows)


def label_frame(cluster: Cluster, name: str, workloads: pl.DataFrame) -> pl.DataFrame:
    """Labels of pods, nodes, namespaces and of the workloads in the workloads frame."""
    tops = {(ns, kind, n) for ns, kind, n in workloads.select(c.NAMESPACE, c.KIND, c.NAME).iter_rows()}
    rows = []
    for kind in LABEL_KINDS:
        for obj in cluster.kind(kind):
            ns = namespace_of(obj)
            if kind not in ("Pod", "Node", "Namespace") and (ns, kind, name_of(obj)) not in tops:
                continue
            rows += [
                {c.CLUSTER: name, c.OBJECT_KIND: kind, c.NAMESPACE: ns, c.NAME: name_of(obj), c.KEY: str(k),
                 c.VALUE: str(v)}
                for k, v in mapping(obj, "metadata", "labels").items()
            ]  # fmt: skip
    return _frame(schema.LABELS, rows)


def volume_frames(cluster: Cluster, name: str, containers: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The volumes frame (claims joined to their volumes) and which pod mounts which claim."""
    pvs = {name_of(pv): pv for pv in cluster.kind("PersistentVolume")}
    claimed: set[str] = set()
    rows = []
    for pvc in cluster.kind("PersistentVolumeClaim"):
        ns, spec = namespace_of(pvc), mapping(pvc, "spec")
        pv = pvs.get(str(spec.get("volumeName") or ""))
        if pv is not None:
            claimed.add(name_of(pv))
        requested = memory(mapping(spec, "resources", "requests").get("storage"))
        rows.append(
            {
                c.CLUSTER: name, c.NAMESPACE: ns, c.PVC: name_of(pvc), c.PV: name_of(pv) if pv else "",
                c.STORAGE_CLASS: str(spec.get("storageClassName") or
                                     (mapping(pv, "spec").get("storageClassName") if pv else "") or ""),
                c.CAPACITY_BYTES: requested if requested is not None else
                memory(mapping(pvc, "status", "capacity").get("storage")) or 0,
                c.PVC_PHASE: str(mapping(pvc, "status").get("phase") or "Pending"),
                c.PV_PHASE: str(mapping(pv, "status").get("phase") or "") if pv else "",
                c.RECLAIM_POLICY: str(mapping(pv, "spec").get("persistentVolumeReclaimPolicy") or "") if pv else "",
                c.CREATED_AT: timestamp(mapping(pvc, "metadata").get("creationTimestamp")),
            }
        )  # fmt: skip
    for pv_name, pv in pvs.items():
        if pv_name in claimed:
            continue
        spec = mapping(pv, "spec")
        rows.append(
            {
                c.CLUSTER: name, c.NAMESPACE: "", c.PVC: "", c.PV: pv_name,
                c.STORAGE_CLASS: str(spec.get("storageClassName") or ""),
                c.CAPACITY_BYTES: memory(mapping(spec, "capacity").get("storage")) or 0, c.PVC_PHASE: "",
                c.PV_PHASE: str(mapping(pv, "status").get("phase") or ""),
                c.RECLAIM_POLICY: str(spec.get("persistentVolumeReclaimPolicy") or ""),
                c.CREATED_AT: timestamp(mapping(pv, "metadata").get("creationTimestamp")),
            }
        )  # fmt: skip
    seen = set(containers.select(c.NAMESPACE, c.POD).unique().iter_rows())
    mounts = set()
    for pod in cluster.kind("Pod"):
        ns, pod_name = namespace_of(pod), name_of(pod)
        if (ns, pod_name) not in seen:
            continue
        for volume in items(pod, "spec", "volumes"):
            claim = mapping(volume, "persistentVolumeClaim").get("claimName")
            if "ephemeral" in volume:
                claim = f"{pod_name}-{volume.get('name', '')}"
            if claim:
                mounts.add((ns, str(claim), pod_name))
    mount_rows = [{c.CLUSTER: name, c.NAMESPACE: ns, c.PVC: claim, c.POD: pod} for ns, claim, pod in sorted(mounts)]
    return _frame(schema.VOLUMES, rows), _frame(schema.VOLUME_MOUNTS, mount_rows)


def _ready_endpoints(cluster: Cluster) -> dict[tuple[str, str], int] | None:
    counts: dict[tuple[str, str], int] = {}
    if "EndpointSlice" in cluster.listed:
        for eps in cluster.kind("EndpointSlice"):
            service = mapping(eps, "metadata", "labels").get("kubernetes.io/service-name")
            if not service:
                continue
            key = (namespace_of(eps), str(service))
            ready = [e for e in items(eps, "endpoints") if mapping(e, "conditions").get("ready") is not False]
            counts[key] = counts.get(key, 0) + sum(len(e.get("addresses") or []) for e in ready)
        return counts
    if "Endpoints" in cluster.listed:
        for ep in cluster.kind("Endpoints"):
            counts[(namespace_of(ep), name_of(ep))] = sum(len(items(s, "addresses")) for s in items(ep, "subsets"))
        return counts
    return None


def _job_status(job: Obj) -> tuple[str, datetime | None]:
    conditions = {str(cond.get("type")): cond for cond in items(job, "status", "conditions")
                  if cond.get("status") == "True"}  # fmt: skip
    if "Complete" in conditions:
        return "Complete", timestamp(mapping(job, "status").get("completionTime")) or timestamp(
            conditions["Complete"].get("lastTransitionTime"))  # fmt: skip
    if "Failed" in conditions:
        return "Failed", timestamp(conditions["Failed"].get("lastTransitionTime"))
    return "Active", None


def object_frame(cluster: Cluster, name: str) -> pl.DataFrame:
    endpoints = _ready_endpoints(cluster)
    rows = []
    for kind in OBJECT_KINDS:
        for obj in cluster.kind(kind):
            ns, oname = namespace_of(obj), name_of(obj)
            status, finished = _job_status(obj) if kind == "Job" else ("", None)
            ready: int | None = None
            if kind == "Service" and endpoints is not None and mapping(obj, "spec").get("type") != "ExternalName":
                ready = endpoints.get((ns, oname), 0)
            owner = controller_ref(obj) or {}
            spec = mapping(obj, "spec")
            type_ = obj.get("type") if kind == "Secret" else spec.get("type", "ClusterIP") if kind == "Service" else ""
            ttl = spec.get("ttlSecondsAfterFinished") if kind == "Job" else None
            replicas = spec.get("replicas", 1) if kind == "ReplicaSet" else None
            revision = mapping(obj, "metadata", "annotations").get(REVISION) if kind == "ReplicaSet" else None
            rows.append(
                {
                    c.CLUSTER: name, c.KIND: kind, c.NAMESPACE: ns, c.NAME: oname,
                    c.CREATED_AT: timestamp(mapping(obj, "metadata").get("creationTimestamp")),
                    c.ENDPOINTS: ready, c.STATUS: status, c.FINISHED_AT: finished,
                    c.OWNER_KIND: str(owner.get("kind", "")), c.OWNER_NAME: str(owner.get("name", "")),
                    c.TYPE: str(type_ or ""),
                    c.SELECTOR: selector_text(mapping(spec, "selector")) if kind == "Service" else "",
                    c.REPLICAS: replicas if isinstance(replicas, int) else None,
                    c.REVISION: int(revision) if isinstance(revision, str) and revision.isdigit() else None,
                    c.TTL_SECONDS_AFTER_FINISHED: ttl if isinstance(ttl, int) else None,
                }
            )  # fmt: skip
    return _frame(schema.OBJECTS, rows)


def annotation_frame(cluster: Cluster, name: str) -> pl.DataFrame:
    """The annotations of any object whose key starts with one of :data:`ANNOTATION_PREFIXES`."""
    rows = []
    for obj in cluster:
        for key, value in mapping(obj, "metadata", "annotations").items():
            if isinstance(key, str) and key.startswith(ANNOTATION_PREFIXES):
                rows.append({c.CLUSTER: name, c.OBJECT_KIND: str(obj.get("kind")), c.NAMESPACE: namespace_of(obj),
                             c.NAME: name_of(obj), c.KEY: key, c.VALUE: str(value)})  # fmt: skip
    return _frame(schema.ANNOTATIONS, rows)


def log_settings_frame(cluster: Cluster, name: str, workloads: pl.DataFrame) -> pl.DataFrame:
    """Where each workload's pod template (a bare pod: its spec) sets a log level; rules in kube_refs."""
    configmaps: dict[str, dict[str, dict[str, str]]] = {}
    for cm in cluster.kind("ConfigMap"):
        data = {str(k): v for k, v in mapping(cm, "data").items() if isinstance(v, str)}
        configmaps.setdefault(namespace_of(cm), {})[name_of(cm)] = data
    rows = []
    for ns, kind, wname in workloads.select(c.NAMESPACE, c.KIND, c.NAME).iter_rows():
        obj = cluster.get(kind, ns, wname)
        spec = pod_spec(obj) if obj is not None else None
        if spec is None:
            continue
        for setting in log_settings(spec, configmaps.get(ns, {})):
            rows.append({c.CLUSTER: name, c.NAMESPACE: ns, c.OWNER_KIND: kind, c.OWNER_NAME: wname,
                         c.CONTAINER: setting.container, c.SOURCE: setting.source, c.KEY: setting.key,
                         c.VALUE: setting.value})  # fmt: skip
    return _frame(schema.LOG_SETTINGS, rows)
