"""Inventory frames from kube-state-metrics (and node-exporter's uname), by instant queries per chunk.

Every query is ``agg by (identity labels) (fn_over_time(family{job=~ksm}[chunk]))`` evaluated at
the chunk's end: it reads raw samples once (no subqueries) and aggregating away everything but
the identity drops kube-state-metrics' target-label pollution (``container``, ``pod``, ``namespace``
added by the scrape). Results of all chunks are merged: max/min over the window, or the latest
chunk's value where "at the end of the window" is meant.
"""

from __future__ import annotations

from collections.abc import Callable

from kubetally.sources.prometheus.plan import PromQL

# name -> (function of chunk seconds -> PromQL)
Texts = dict[str, Callable[[int], str]]
HPA = ("namespace", "horizontalpodautoscaler")
NODE_RES = ("node", "resource")
PVC = ("namespace", "persistentvolumeclaim")
JOB = ("namespace", "job_name")

CONTAINER_FAMILIES = {"app": "kube_pod_container", "init": "kube_pod_init_container"}
WORKLOAD_REPLICAS = {
    "Deployment": ("kube_deployment_spec_replicas", "deployment", "kube_deployment_created"),
    "StatefulSet": ("kube_statefulset_replicas", "statefulset", "kube_statefulset_created"),
    "DaemonSet": ("kube_daemonset_status_desired_number_scheduled", "daemonset", "kube_daemonset_created"),
    "Job": ("kube_job_spec_parallelism", "job_name", "kube_job_created"),
}
LABEL_FAMILIES = {
    "Pod": ("kube_pod_labels", "pod"),
    "Deployment": ("kube_deployment_labels", "deployment"),
    "StatefulSet": ("kube_statefulset_labels", "statefulset"),
    "DaemonSet": ("kube_daemonset_labels", "daemonset"),
    "Job": ("kube_job_labels", "job_name"),
    "CronJob": ("kube_cronjob_labels", "cronjob"),
    "Node": ("kube_node_labels", "node"),
    "Namespace": ("kube_namespace_labels", "namespace"),
}
OBJECT_FAMILIES = {
    "ConfigMap": ("kube_configmap_info", "configmap", "kube_configmap_created"),
    "Secret": ("kube_secret_info", "secret", "kube_secret_created"),
    "Service": ("kube_service_info", "service", "kube_service_created"),
    "ServiceAccount": ("kube_serviceaccount_info", "serviceaccount", "kube_serviceaccount_created"),
    "Ingress": ("kube_ingress_info", "ingress", "kube_ingress_created"),
    "Job": ("kube_job_info", "job_name", "kube_job_created"),
}


def _over(p: PromQL, fn: str, selector: str, agg: str, labels: tuple[str, ...]) -> Callable[[int], str]:
    def text(seconds: int) -> str:
        return p.over(fn, selector, agg, labels, seconds)

    return text


def _count(p: PromQL, selector: str, labels: tuple[str, ...]) -> Callable[[int], str]:
    """How many series (e.g. ready addresses) per ``labels`` had a sample in the chunk."""

    def text(seconds: int) -> str:
        return p.over("last_over_time", selector, "count", labels, seconds)

    return text


def _raw(p: PromQL, selector: str) -> Callable[[int], str]:
    def text(seconds: int) -> str:
        return p.raw_over("max_over_time", selector, seconds)

    return text


def texts(p: PromQL) -> Texts:
    """The fixed inventory plan: one entry per family, whatever the cluster's size."""
    mx, last, mn = "max_over_time", "last_over_time", "min_over_time"
    pod = ("namespace", "pod")
    ctr = (*pod, "container")
    k = p.ksm
    t: Texts = {
        "pod_info": _over(
            p, mx, k("kube_pod_info"), "max",
            (*pod, "uid", "node", "created_by_kind", "created_by_name", "host_network"),
        ),
        "pod_owner": _over(p, mx, k("kube_pod_owner"), "max", (*pod, "owner_kind", "owner_name")),
        "rs_owner": _over(
            p, mx, k("kube_replicaset_owner"), "max", ("namespace", "replicaset", "owner_kind", "owner_name")
        ),
        "job_owner": _over(p, mx, k("kube_job_owner"), "max", ("namespace", "job_name", "owner_kind", "owner_name")),
        "pod_start": _over(p, mx, k("kube_pod_start_time"), "max", pod),
        "pod_deleted": _over(p, mn, k("kube_pod_deletion_timestamp"), "min", pod),
        "pod_qos": _over(p, mx, k("kube_pod_status_qos_class"), "max", (*pod, "qos_class")),
        "pod_pvc": _over(
            p, mx, k("kube_pod_spec_volumes_persistentvolumeclaims_info"), "max", (*pod, "persistentvolumeclaim")
        ),
        "cronjob_info": _over(p, mx, k("kube_cronjob_info"), "max", ("namespace", "cronjob")),
        "cronjob_suspend": _over(p, last, k("kube_cronjob_spec_suspend"), "max", ("namespace", "cronjob")),
        "cronjob_created": _over(p, mx, k("kube_cronjob_created"), "max", ("namespace", "cronjob")),
        "hpa_info": _over(
            p, mx, k("kube_horizontalpodautoscaler_info"), "max",
            ("namespace", "horizontalpodautoscaler", "scaletargetref_kind", "scaletargetref_name"),
        ),
        "hpa_min": _over(p, last, k("kube_horizontalpodautoscaler_spec_min_replicas"), "max", HPA),
        "hpa_max": _over(p, last, k("kube_horizontalpodautoscaler_spec_max_replicas"), "max", HPA),
        "hpa_target": _over(
            p, last,
            k("kube_horizontalpodautoscaler_spec_target_metric", metric_name="cpu", metric_target_type="utilization"),
            "max", HPA,
        ),
        "node_info": _over(p, mx, k("kube_node_info"), "max", ("node", "internal_ip")),
        "node_role": _over(p, mx, k("kube_node_role"), "max", ("node", "role")),
        "node_capacity": _over(p, last, k("kube_node_status_capacity", re_resource="cpu|memory|pods"), "max", NODE_RES),
        "node_allocatable": _over(
            p, last, k("kube_node_status_allocatable", re_resource="cpu|memory|pods"), "max", NODE_RES
        ),
        "uname": _over(
            p, mx, p.node("node_uname_info"), "max", ("instance", "nodename", "machine", "namespace", "pod")
        ),
        "pvc_info": _over(
            p, mx, k("kube_persistentvolumeclaim_info"), "max",
            ("namespace", "persistentvolumeclaim", "storageclass", "volumename"),
        ),
        "pvc_request": _over(p, last, k("kube_persistentvolumeclaim_resource_requests_storage_bytes"), "max", PVC),
        # the filesystem a mounted claim has (kubelet volume stats): the claim's size when kube-state-metrics
        # does not list it (not scraped, or another job)
        "pvc_fs_capacity": _over(p, last, p.kubelet("kubelet_volume_stats_capacity_bytes"), "max", PVC),
        "pvc_phase": _over(p, last, k("kube_persistentvolumeclaim_status_phase"), "max", (*PVC, "phase")),
        "pvc_created": _over(p, mx, k("kube_persistentvolumeclaim_created"), "max", PVC),
        "pv_info": _over(
            p, mx, k("kube_persistentvolume_info"), "max", ("persistentvolume", "storageclass", "reclaim_policy")
        ),
        "pv_capacity": _over(p, last, k("kube_persistentvolume_capacity_bytes"), "max", ("persistentvolume",)),
        "pv_phase": _over(p, last, k("kube_persistentvolume_status_phase"), "max", ("persistentvolume", "phase")),
        "pv_claim": _over(
            p, mx, k("kube_persistentvolume_claim_ref"), "max", ("persistentvolume", "claim_namespace", "name")
        ),
        "pv_created": _over(p, mx, k("kube_persistentvolume_created"), "max", ("persistentvolume",)),
        "endpoints": _over(p, last, k("kube_endpoint_address_available"), "max", ("namespace", "endpoint")),
        "endpoint_addresses": _count(p, k("kube_endpoint_address", ready="true"), ("namespace", "endpoint")),
        "slice_addresses": _count(
            p, k("kube_endpointslice_endpoints", ready="true"), ("namespace", "endpointslice")
        ),
        "pod_phase": _over(
            p, last, k("kube_pod_status_phase", re_phase="Succeeded|Failed"), "max", (*pod, "phase")
        ),
        "pod_completion": _over(p, mx, k("kube_pod_completion_time"), "max", pod),
        "job_complete": _over(p, last, k("kube_job_complete", condition="true"), "max", JOB),
        "job_failed": _over(p, last, k("kube_job_failed", condition="true"), "max", JOB),
        "job_completion": _over(p, mx, k("kube_job_status_completion_time"), "max", JOB),
    }  # fmt: skip
    for kind, family in CONTAINER_FAMILIES.items():
        t[f"{kind}_info"] = _over(p, mx, k(f"{family}_info"), "max", (*ctr, "image"))
        for what in ("requests", "limits"):
            selector = k(f"{family}_resource_{what}", re_resource="cpu|memory")
            t[f"{kind}_{what}"] = _over(p, mx, selector, "max", (*ctr, "resource"))
        t[f"{kind}_restarts"] = _over(p, mx, k(f"{family}_status_restarts_total"), "max", ctr)
    for kind, (family, name_label, created) in WORKLOAD_REPLICAS.items():
        t[f"replicas_{kind}"] = _over(p, last, k(family), "max", ("namespace", name_label))
        t[f"created_{kind}"] = _over(p, mx, k(created), "max", ("namespace", name_label))
    for kind, (family, name_label, created) in OBJECT_FAMILIES.items():
        t[f"object_{kind}"] = _over(p, mx, k(family), "max", ("namespace", name_label))
        t[f"object_created_{kind}"] = _over(p, mx, k(created), "max", ("namespace", name_label))
    for kind, (family, _) in LABEL_FAMILIES.items():
        t[f"labels_{kind}"] = _raw(p, k(family))
    return t
