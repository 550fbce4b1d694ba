"""kube-state-metrics v2 series of controllers, HPAs, nodes, namespaces, volumes and objects."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from kubetally.model import columns as c
from kubetally.simulate.exposition import _ids
from kubetally.simulate.exposition._grid import Pieces
from kubetally.simulate.exposition._ksm_pods import KsmContext, label_set
from kubetally.simulate.exposition._text import Family, Spool


def _f(name: str, help_: str, type_: str = "gauge") -> Family:
    return Family(name, "counter" if type_ == "counter" else "gauge", help_)


# name label, replicas family, created family, labels family per controller kind
CONTROLLERS: dict[str, tuple[str, Family | None, Family, Family]] = {
    "Deployment": (
        "deployment",
        _f("kube_deployment_spec_replicas", "Number of desired pods for a deployment."),
        _f("kube_deployment_created", "Unix creation timestamp"),
        _f("kube_deployment_labels", "Kubernetes labels converted to Prometheus labels."),
    ),
    "StatefulSet": (
        "statefulset",
        _f("kube_statefulset_replicas", "Number of desired pods for a StatefulSet."),
        _f("kube_statefulset_created", "Unix creation timestamp"),
        _f("kube_statefulset_labels", "Kubernetes labels converted to Prometheus labels."),
    ),
    "DaemonSet": (
        "daemonset",
        _f(
            "kube_daemonset_status_desired_number_scheduled",
            "The number of nodes that should be running the daemon pod.",
        ),
        _f("kube_daemonset_created", "Unix creation timestamp"),
        _f("kube_daemonset_labels", "Kubernetes labels converted to Prometheus labels."),
    ),
    "Job": (
        "job_name",
        _f("kube_job_spec_parallelism", "The maximum desired number of pods the job should run at any given time."),
        _f("kube_job_created", "Unix creation timestamp"),
        _f("kube_job_labels", "Kubernetes labels converted to Prometheus labels."),
    ),
    "CronJob": (
        "cronjob",
        None,
        _f("kube_cronjob_created", "Unix creation timestamp"),
        _f("kube_cronjob_labels", "Kubernetes labels converted to Prometheus labels."),
    ),
}
JOB_INFO = _f("kube_job_info", "Information about job.")
JOB_COMPLETE = _f("kube_job_complete", "The job has completed its execution.")
JOB_FAILED = _f("kube_job_failed", "The job has failed its execution.")
JOB_COMPLETION = _f("kube_job_status_completion_time", "CompletionTime represents time when the job was completed.")
CRONJOB_INFO = _f("kube_cronjob_info", "Info about cronjob.")
CRONJOB_SUSPEND = _f("kube_cronjob_spec_suspend", "Suspend flag tells the controller to suspend subsequent executions.")
HPA_INFO = _f("kube_horizontalpodautoscaler_info", "Information about this autoscaler.")
HPA_MIN = _f("kube_horizontalpodautoscaler_spec_min_replicas", "Lower limit for the number of pods.")
HPA_MAX = _f("kube_horizontalpodautoscaler_spec_max_replicas", "Upper limit for the number of pods.")
HPA_TARGET = _f("kube_horizontalpodautoscaler_spec_target_metric", "The metric specifications used by this autoscaler.")
NODE_INFO = _f("kube_node_info", "Information about a cluster node.")
NODE_CAPACITY = _f("kube_node_status_capacity", "The capacity for different resources of a node.")
NODE_ALLOCATABLE = _f("kube_node_status_allocatable", "The allocatable for different resources of a node.")
NODE_ROLE = _f("kube_node_role", "The role of a cluster node.")
NODE_LABELS = _f("kube_node_labels", "Kubernetes labels converted to Prometheus labels.")
NS_LABELS = _f("kube_namespace_labels", "Kubernetes labels converted to Prometheus labels.")
PVC_INFO = _f("kube_persistentvolumeclaim_info", "Information about persistent volume claim.")
PVC_REQUEST = _f("kube_persistentvolumeclaim_resource_requests_storage_bytes", "The capacity of storage requested.")
PVC_PHASE = _f("kube_persistentvolumeclaim_status_phase", "The phase the persistent volume claim is currently in.")
PVC_CREATED = _f("kube_persistentvolumeclaim_created", "Unix creation timestamp")
PV_INFO = _f("kube_persistentvolume_info", "Information about persistentvolume.")
PV_CAPACITY = _f("kube_persistentvolume_capacity_bytes", "Persistentvolume capacity in bytes.")
PV_PHASE = _f("kube_persistentvolume_status_phase", "The phase indicates if a volume is available, bound to a claim.")
PV_CLAIM = _f("kube_persistentvolume_claim_ref", "Information about the Persistent Volume Claim Reference.")
PV_CREATED = _f("kube_persistentvolume_created", "Unix creation timestamp")
# kind -> (info family, name label, created family)
OBJECT_KINDS: dict[str, tuple[Family, str, Family]] = {
    "ConfigMap": (
        _f("kube_configmap_info", "Information about configmap."),
        "configmap",
        _f("kube_configmap_created", "Unix creation timestamp"),
    ),
    "Secret": (
        _f("kube_secret_info", "Information about secret."),
        "secret",
        _f("kube_secret_created", "Unix creation timestamp"),
    ),
    "Service": (
        _f("kube_service_info", "Information about service."),
        "service",
        _f("kube_service_created", "Unix creation timestamp"),
    ),
    "ServiceAccount": (
        _f("kube_serviceaccount_info", "Information about a service account"),
        "serviceaccount",
        _f("kube_serviceaccount_created", "Unix creation timestamp"),
    ),
    "Ingress": (
        _f("kube_ingress_info", "Information about ingress."),
        "ingress",
        _f("kube_ingress_created", "Unix creation timestamp"),
    ),
}
ENDPOINTS = _f("kube_endpoint_address_available", "Number of addresses available in endpoint.")
"""Removed in KSM v2.14; from then on one ``kube_endpoint_address{ip,ready}`` series per address."""
ENDPOINT_ADDRESS = _f("kube_endpoint_address", "Information about Endpoint available and non available addresses.")
RS_OWNER = _f("kube_replicaset_owner", "Information about the ReplicaSet's owner.")
JOB_OWNER = _f("kube_job_owner", "Information about the Job's owner.")
PVC_PHASES = ("Bound", "Lost", "Pending")
PV_PHASES = ("Available", "Bound", "Failed", "Pending", "Released")

FAMILIES: tuple[Family, ...] = (
    *(f for _, rep, cr, lb in CONTROLLERS.values() for f in (rep, cr, lb) if f is not None),
    RS_OWNER,
    JOB_OWNER,
    JOB_INFO,
    JOB_COMPLETE,
    JOB_FAILED,
    JOB_COMPLETION,
    CRONJOB_INFO,
    CRONJOB_SUSPEND,
    HPA_INFO,
    HPA_MIN,
    HPA_MAX,
    HPA_TARGET,
    NODE_INFO,
    NODE_CAPACITY,
    NODE_ALLOCATABLE,
    NODE_ROLE,
    NODE_LABELS,
    NS_LABELS,
    PVC_INFO,
    PVC_REQUEST,
    PVC_PHASE,
    PVC_CREATED,
    PV_INFO,
    PV_CAPACITY,
    PV_PHASE,
    PV_CLAIM,
    PV_CREATED,
    *(f for info, _, cr in OBJECT_KINDS.values() for f in (info, cr)),
    ENDPOINTS,
    ENDPOINT_ADDRESS,
)


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def write(
    spool: Spool,
    ctx: KsmContext,
    *,
    workloads: pl.DataFrame,
    containers: pl.DataFrame,
    nodes: pl.DataFrame,
    labels: pl.DataFrame,
    volumes: pl.DataFrame,
    objects: pl.DataFrame,
) -> None:
    grid = ctx.grid
    pieces = Pieces()
    spans: list[tuple[int, int]] = []

    def owner(created: datetime | None) -> int:
        spans.append(grid.span(max(_epoch(created) or grid.start, grid.start), None))
        return len(spans) - 1

    by_object: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    for row in labels.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.OBJECT_KIND], row[c.NAMESPACE], row[c.NAME])
        by_object.setdefault(key, []).append((row[c.KEY], row[c.VALUE]))

    # ReplicaSets (Deployment pods) and Jobs (CronJob pods), alive from their first pod's start to the last's end.
    parents = (
        containers.filter(pl.col(c.OWNER_KIND).is_in(["Deployment", "CronJob"]))
        .group_by(c.CLUSTER, c.NAMESPACE, c.POD, c.OWNER_KIND, c.OWNER_NAME)
        .agg(pl.col(c.START_TIME).min(), pl.col(c.END_TIME).max(), pl.col(c.END_TIME).is_null().any().alias("_open"))
        .with_columns(
            pl.struct(c.POD, c.OWNER_NAME)
            .map_elements(lambda s: _ids.parent_name(s[c.POD], s[c.OWNER_NAME]), return_dtype=pl.String)
            .alias("_parent")
        )
        .group_by(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, "_parent")
        .agg(pl.col(c.START_TIME).min(), pl.col(c.END_TIME).max(), pl.col("_open").any())
        .sort(c.CLUSTER, c.NAMESPACE, "_parent")
    )
    for row in parents.iter_rows(named=True):
        end = None if row["_open"] else _epoch(row[c.END_TIME])
        spans.append(grid.span(_epoch(row[c.START_TIME]) or grid.start, end))
        fam, name_label = (RS_OWNER, "replicaset") if row[c.OWNER_KIND] == "Deployment" else (JOB_OWNER, "job_name")
        own = {"namespace": row[c.NAMESPACE], name_label: row["_parent"], "owner_kind": row[c.OWNER_KIND]}
        own |= {"owner_name": row[c.OWNER_NAME], "owner_is_controller": "true"}
        pieces.add(fam, len(spans) - 1, ctx.labels(own, row[c.CLUSTER]), 1)

    jobs: dict[tuple[str, str, str], dict[str, object]] = {}
    for row in workloads.iter_rows(named=True):
        cluster, ns, kind, name = row[c.CLUSTER], row[c.NAMESPACE], row[c.KIND], row[c.NAME]
        if kind not in CONTROLLERS:
            continue  # bare pods have no controller series
        name_label, replicas, created, labels_family = CONTROLLERS[kind]
        o = owner(row[c.CREATED_AT])
        ident = {"namespace": ns, name_label: name}
        if replicas is not None and row[c.DESIRED_REPLICAS] is not None:
            pieces.add(replicas, o, ctx.labels(ident, cluster), row[c.DESIRED_REPLICAS])
        if row[c.CREATED_AT] is not None:
            pieces.add(created, o, ctx.labels(ident, cluster), _epoch(row[c.CREATED_AT]) or 0.0)
        own_labels = by_object.get((cluster, kind, ns, name))
        if ctx.label_allowlist and own_labels:
            pieces.add(labels_family, o, ctx.labels({**ident, **label_set(own_labels)}, cluster), 1)
        if kind == "Job":
            jobs[(cluster, ns, name)] = {"o": o}
        if kind == "CronJob":
            pieces.add(CRONJOB_INFO, o, ctx.labels({**ident, "concurrency_policy": "Forbid"}, cluster), 1)
            # No KSM series says how many pods a CronJob wants: 1 while not suspended (desired_replicas 0 = suspended).
            suspended = 1 if row[c.DESIRED_REPLICAS] == 0 else 0
            pieces.add(CRONJOB_SUSPEND, o, ctx.labels(ident, cluster), suspended)
        if row[c.HPA_MAX_REPLICAS] is not None:
            hpa = {"namespace": ns, "horizontalpodautoscaler": name}
            pieces.add(
                HPA_INFO,
                o,
                ctx.labels({**hpa, "scaletargetref_kind": kind, "scaletargetref_name": name}, cluster),
                1,
            )
            if row[c.HPA_MIN_REPLICAS] is not None:
                pieces.add(HPA_MIN, o, ctx.labels(hpa, cluster), row[c.HPA_MIN_REPLICAS])
            pieces.add(HPA_MAX, o, ctx.labels(hpa, cluster), row[c.HPA_MAX_REPLICAS])
            if row[c.HPA_TARGET_CPU_UTILIZATION] is not None:
                target = {**hpa, "metric_name": "cpu", "metric_target_type": "utilization"}
                pieces.add(HPA_TARGET, o, ctx.labels(target, cluster), row[c.HPA_TARGET_CPU_UTILIZATION])

    for row in objects.iter_rows(named=True):
        cluster, kind, ns, name = row[c.CLUSTER], row[c.KIND], row[c.NAMESPACE], row[c.NAME]
        if kind == "Job":
            entry = jobs.setdefault((cluster, ns, name), {"o": owner(row[c.CREATED_AT])})
            entry["row"] = row
            continue
        if kind not in OBJECT_KINDS:
            continue
        info, name_label, created = OBJECT_KINDS[kind]
        o = owner(row[c.CREATED_AT])
        ident = {"namespace": ns, name_label: name}
        pieces.add(info, o, ctx.labels(ident, cluster), 1)
        if row[c.CREATED_AT] is not None:
            pieces.add(created, o, ctx.labels(ident, cluster), _epoch(row[c.CREATED_AT]) or 0.0)
        if kind == "Service" and row[c.ENDPOINTS] is not None:
            ident = {"namespace": ns, "endpoint": name}
            if ctx.version < (2, 14):
                pieces.add(ENDPOINTS, o, ctx.labels(ident, cluster), row[c.ENDPOINTS])
            for i in range(int(row[c.ENDPOINTS]) if ctx.version >= (2, 14) else 0):
                address = {**ident, "ip": _ids.pod_ip(f"{ns}/{name}/{i}"), "port_name": "http", "port_number": "80"}
                pieces.add(
                    ENDPOINT_ADDRESS, o, ctx.labels({**address, "port_protocol": "TCP", "ready": "true"}, cluster), 1
                )
    for (cluster, ns, name), entry in jobs.items():
        o = int(entry["o"])  # type: ignore[call-overload]
        ident = {"namespace": ns, "job_name": name}
        pieces.add(JOB_INFO, o, ctx.labels(ident, cluster), 1)
        obj = entry.get("row")
        if isinstance(obj, dict):
            status = obj[c.STATUS]
            if status in ("Complete", "Failed"):
                fam = JOB_COMPLETE if status == "Complete" else JOB_FAILED
                pieces.add(fam, o, ctx.labels({**ident, "condition": "true"}, cluster), 1)
            if obj[c.FINISHED_AT] is not None:
                pieces.add(JOB_COMPLETION, o, ctx.labels(ident, cluster), _epoch(obj[c.FINISHED_AT]) or 0.0)
            if (
                obj[c.CREATED_AT] is not None
                and "Job" in CONTROLLERS
                and not _is_workload(workloads, cluster, ns, name)
            ):
                pieces.add(CONTROLLERS["Job"][2], o, ctx.labels(ident, cluster), _epoch(obj[c.CREATED_AT]) or 0.0)

    for row in nodes.iter_rows(named=True):
        cluster, node = row[c.CLUSTER], row[c.NODE]
        o = owner(None)
        ip = ctx.node_ips.get((cluster, node), "")
        node_info = {
            "node": node,
            "internal_ip": ip,
            "kubelet_version": "v1.30.6+k3s1",
            "container_runtime_version": "containerd://1.7.22-k3s1",
            "os_image": "Debian GNU/Linux 12 (bookworm)",
        }
        pieces.add(NODE_INFO, o, ctx.labels(node_info, cluster), 1)
        for node_fam, cpu, mem, pods in (
            (NODE_CAPACITY, row[c.CPU_CAPACITY_CORES], row[c.MEMORY_CAPACITY_BYTES], row[c.PODS_CAPACITY]),
            (NODE_ALLOCATABLE, row[c.CPU_ALLOCATABLE_CORES], row[c.MEMORY_ALLOCATABLE_BYTES], row[c.PODS_ALLOCATABLE]),
        ):
            for resource, unit, value in (("cpu", "core", cpu), ("memory", "byte", mem), ("pods", "integer", pods)):
                pieces.add(node_fam, o, ctx.labels({"node": node, "resource": resource, "unit": unit}, cluster), value)
        if row[c.ROLE] == "control-plane":
            for role in ("control-plane", "master"):
                pieces.add(NODE_ROLE, o, ctx.labels({"node": node, "role": role}, cluster), 1)
        node_labels = by_object.get((cluster, "Node", "", node))
        if ctx.label_allowlist and node_labels:
            pieces.add(NODE_LABELS, o, ctx.labels({"node": node, **label_set(node_labels)}, cluster), 1)
    if ctx.label_allowlist:
        for (cluster, kind, _, name), pairs in by_object.items():
            if kind == "Namespace":
                pieces.add(NS_LABELS, owner(None), ctx.labels({"namespace": name, **label_set(pairs)}, cluster), 1)

    for row in volumes.iter_rows(named=True):
        cluster, ns, pvc, pv = row[c.CLUSTER], row[c.NAMESPACE], row[c.PVC], row[c.PV]
        o = owner(row[c.CREATED_AT])
        created_s = _epoch(row[c.CREATED_AT])
        if pvc:
            ident = {"namespace": ns, "persistentvolumeclaim": pvc}
            pvc_info = {**ident, "storageclass": row[c.STORAGE_CLASS], "volumename": pv, "volumemode": "Filesystem"}
            pieces.add(PVC_INFO, o, ctx.labels(pvc_info, cluster), 1)
            pieces.add(PVC_REQUEST, o, ctx.labels(ident, cluster), row[c.CAPACITY_BYTES])
            for phase in PVC_PHASES:
                value = 1 if row[c.PVC_PHASE] == phase else 0
                pieces.add(PVC_PHASE, o, ctx.labels({**ident, "phase": phase}, cluster), value)
            if created_s is not None:
                pieces.add(PVC_CREATED, o, ctx.labels(ident, cluster), created_s)
        if pv:
            pident = {"persistentvolume": pv}
            pv_info = {**pident, "storageclass": row[c.STORAGE_CLASS]}
            if ctx.version >= (2, 16):
                pv_info["reclaim_policy"] = row[c.RECLAIM_POLICY] or ""
            pieces.add(PV_INFO, o, ctx.labels(pv_info, cluster), 1)
            pieces.add(PV_CAPACITY, o, ctx.labels(pident, cluster), row[c.CAPACITY_BYTES])
            for phase in PV_PHASES:
                value = 1 if row[c.PV_PHASE] == phase else 0
                pieces.add(PV_PHASE, o, ctx.labels({**pident, "phase": phase}, cluster), value)
            if pvc:
                claim = {**pident, "claim_namespace": ns, "name": pvc}
                pieces.add(PV_CLAIM, o, ctx.labels(claim, cluster), 1)
            if created_s is not None:
                pieces.add(PV_CREATED, o, ctx.labels(pident, cluster), created_s)
    pieces.write(spool, grid, spans, FAMILIES)


def _is_workload(workloads: pl.DataFrame, cluster: str, ns: str, name: str) -> bool:
    return (
        workloads.filter(
            (pl.col(c.CLUSTER) == cluster)
            & (pl.col(c.NAMESPACE) == ns)
            & (pl.col(c.KIND) == "Job")
            & (pl.col(c.NAME) == name)
        ).height
        > 0
    )
