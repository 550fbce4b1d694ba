"""Inventory query results -> Dataset inventory frames (containers, workloads, nodes, labels, volumes, objects)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus.inventory import LABEL_FAMILIES, OBJECT_FAMILIES, WORKLOAD_REPLICAS
from kubetally.sources.prometheus.runner import Instant, to_time

KNOWN_KEYS = {
    k.replace(".", "_").replace("/", "_").replace("-", "_"): k
    for k in (
        "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
        "app.kubernetes.io/part-of", "app.kubernetes.io/version", "app.kubernetes.io/managed-by",
        "kubernetes.io/arch", "kubernetes.io/os", "kubernetes.io/hostname", "kubernetes.io/metadata.name",
        "node.kubernetes.io/instance-type", "node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master",
        "node-role.kubernetes.io/etcd", "node-role.kubernetes.io/worker", "beta.kubernetes.io/arch",
        "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone", "pod-template-hash", "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name", "pod-template-generation", "job-name", "controller-uid",
        "batch.kubernetes.io/job-name", "batch.kubernetes.io/controller-uid", "k8s-app", "helm.sh/chart",
        "k3s.io/hostname", "k3s.io/internal-ip", "svccontroller.k3s.cattle.io/svcname",
        "svccontroller.k3s.cattle.io/svcnamespace", "apps.kubernetes.io/pod-index",
    )
}  # fmt: skip
"""Sanitized KSM label names -> the Kubernetes keys they most likely came from (others stay sanitized)."""
MACHINE_ARCH = {"aarch64": "arm64", "x86_64": "amd64", "armv7l": "arm", "s390x": "s390x", "ppc64le": "ppc64le"}


@dataclass
class Ctx:
    cluster_label: str | None
    cluster_name: str
    last_chunk: int
    window_end: datetime
    notes: list[str] = field(default_factory=list)

    def cluster(self, labels: dict[str, str]) -> str:
        if self.cluster_label:
            return labels.get(self.cluster_label) or self.cluster_name
        return self.cluster_name


RECLAIM_INFERRED = "volumes' reclaim_policy inferred"
"""In the note of volumes whose reclaim policy KSM does not say (a Kubernetes source beside Prometheus reads it)."""


def _latest(rows: Instant, ctx: Ctx, *key: str) -> dict[tuple[str, ...], tuple[float, dict[str, str]]]:
    """Per key: the value and labels of the latest chunk that had the series."""
    out: dict[tuple[str, ...], tuple[float, dict[str, str], int]] = {}
    for labels, value, chunk in rows:
        k = (ctx.cluster(labels), *(labels.get(name, "") for name in key))
        if k not in out or chunk >= out[k][2]:
            out[k] = (value, labels, chunk)
    return {k: (v, lab) for k, (v, lab, _) in out.items()}


def _agg(rows: Instant, ctx: Ctx, fn: str, *key: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for labels, value, _ in rows:
        k = (ctx.cluster(labels), *(labels.get(name, "") for name in key))
        if k not in out:
            out[k] = value
        else:
            out[k] = max(out[k], value) if fn == "max" else min(out[k], value)
    return out


def _chunks_seen(rows: Instant, ctx: Ctx, *key: str) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for labels, _, chunk in rows:
        k = (ctx.cluster(labels), *(labels.get(name, "") for name in key))
        out[k] = max(out.get(k, -1), chunk)
    return out


def containers(
    r: dict[str, Instant],
    ctx: Ctx,
    last_reason: dict[tuple[str, str, str, str], str],
    chunk_ends: list[datetime],
) -> pl.DataFrame:
    pods = _latest(r["pod_info"], ctx, "namespace", "pod")
    seen = _chunks_seen(r["pod_info"], ctx, "namespace", "pod")
    owners = _latest(r["pod_owner"], ctx, "namespace", "pod")
    rs = _latest(r["rs_owner"], ctx, "namespace", "replicaset")
    jobs = _latest(r["job_owner"], ctx, "namespace", "job_name")
    start = _agg(r["pod_start"], ctx, "max", "namespace", "pod")
    deleted = _agg(r["pod_deleted"], ctx, "min", "namespace", "pod")
    ended, approx_phase = pods_ended(r, ctx, chunk_ends)
    if approx_phase:
        ctx.notes.append(
            f"{approx_phase} Succeeded/Failed pods have no kube_pod_completion_time: their end time is the end of "
            "the query chunk in which the phase was first seen"
        )
    qos = {k: lab.get("qos_class", "") for k, (v, lab) in _latest(r["pod_qos"], ctx, "namespace", "pod").items()}
    for labels, value, _ in r["pod_qos"]:
        if value > 0:
            qos[(ctx.cluster(labels), labels.get("namespace", ""), labels.get("pod", ""))] = labels.get("qos_class", "")
    approx_end = 0
    rows = []
    for kind, init in (("app", False), ("init", True)):
        images = _latest(r[f"{kind}_info"], ctx, "namespace", "pod", "container")
        requests = _agg(r[f"{kind}_requests"], ctx, "max", "namespace", "pod", "container", "resource")
        limits = _agg(r[f"{kind}_limits"], ctx, "max", "namespace", "pod", "container", "resource")
        restarts = _agg(r[f"{kind}_restarts"], ctx, "max", "namespace", "pod", "container")
        for key, (_, labels) in images.items():
            pkey = key[:3]
            if pkey not in pods:
                continue
            _, info = pods[pkey]
            owner_kind, owner_name = _top_owner(pkey, owners, rs, jobs, info)
            end = deleted.get(pkey)
            end_time = to_time(end) or ended.get(pkey)
            if end_time is None and seen.get(pkey, ctx.last_chunk) < ctx.last_chunk:
                end_time = chunk_ends[seen[pkey]]
                approx_end += 1
            rows.append(
                {
                    c.CLUSTER: key[0], c.NAMESPACE: key[1], c.POD: key[2], c.POD_UID: info.get("uid", ""),
                    c.CONTAINER: key[3], c.INIT_CONTAINER: init, c.NODE: info.get("node", ""),
                    c.OWNER_KIND: owner_kind, c.OWNER_NAME: owner_name,
                    c.CPU_REQUEST_CORES: requests.get((*key, "cpu")), c.CPU_LIMIT_CORES: limits.get((*key, "cpu")),
                    c.MEMORY_REQUEST_BYTES: _int(requests.get((*key, "memory"))),
                    c.MEMORY_LIMIT_BYTES: _int(limits.get((*key, "memory"))),
                    c.START_TIME: to_time(start.get(pkey)), c.END_TIME: end_time,
                    c.RESTARTS: int(restarts.get(key, 0)),
                    c.LAST_TERMINATION_REASON: last_reason.get((key[0], key[1], key[2], key[3])),
                    c.QOS_CLASS: qos.get(pkey, ""), c.IMAGE: labels.get("image", ""),
                }
            )  # fmt: skip
    static = {(row[c.NAMESPACE], row[c.POD]) for row in rows if row[c.OWNER_KIND] == "Pod" and _is_static(row, owners)}
    if static:
        ctx.notes.append(
            f"{len(static)} static pods (owner Node, kubelet manifests) are each their own workload (kind Pod), "
            "as kubernetes-mixin's namespace_workload_pod:kube_pod_owner:relabel does"
        )
    if approx_end:
        ctx.notes.append(
            f"{approx_end} containers' pods vanished without kube_pod_deletion_timestamp: end time is the chunk end"
        )
    return pl.DataFrame(rows, schema=schema.CONTAINERS.schema) if rows else schema.empty(schema.CONTAINERS)


def pods_ended(
    r: dict[str, Instant], ctx: Ctx, chunk_ends: list[datetime]
) -> tuple[dict[tuple[str, ...], datetime], int]:
    """Pods whose phase became Succeeded or Failed (kube_pod_status_phase), with when: kube_pod_completion_time,
    else the end of the first chunk the phase was seen; and how many are approximated so."""
    completion = _agg(r["pod_completion"], ctx, "max", "namespace", "pod")
    first: dict[tuple[str, ...], int] = {}
    for labels, value, chunk in r["pod_phase"]:
        if value > 0:
            key = (ctx.cluster(labels), labels.get("namespace", ""), labels.get("pod", ""))
            first[key] = min(first.get(key, chunk), chunk)
    out: dict[tuple[str, ...], datetime] = {}
    approx = 0
    for pkey, chunk in first.items():
        when = to_time(completion.get(pkey))
        if when is None:
            when = chunk_ends[chunk]
            approx += 1
        out[pkey] = when
    return out, approx


def host_network_pods(r: dict[str, Instant], ctx: Ctx) -> pl.DataFrame:
    """(cluster, namespace, pod) of the pods in the host's network namespace (``kube_pod_info{host_network="true"}``):
    their sandbox's network series are the node's interfaces, not the pod's own traffic."""
    keys = sorted(
        {(ctx.cluster(lab), lab.get("namespace", ""), lab.get("pod", "")) for lab, _, _ in r["pod_info"]
         if lab.get("host_network") == "true"}
    )  # fmt: skip
    return pl.DataFrame(keys, schema={c.CLUSTER: pl.String, c.NAMESPACE: pl.String, c.POD: pl.String}, orient="row")


def _is_static(row: dict[str, object], owners: dict[tuple[str, ...], tuple[float, dict[str, str]]]) -> bool:
    labels = owners.get((str(row[c.CLUSTER]), str(row[c.NAMESPACE]), str(row[c.POD])), (0.0, {}))[1]
    return labels.get("owner_kind") == "Node"


def _owner(labels: dict[str, str], kind_label: str, name_label: str) -> tuple[str, str]:
    """(kind, name) of an owner, "" for none: KSM <= 2.7 writes ``<none>`` where there is no owner."""
    kind, name = labels.get(kind_label, ""), labels.get(name_label, "")
    if kind in ("", "<none>") or name in ("", "<none>"):
        return "", ""
    return kind, name


def _top_owner(
    pkey: tuple[str, ...],
    owners: dict[tuple[str, ...], tuple[float, dict[str, str]]],
    rs: dict[tuple[str, ...], tuple[float, dict[str, str]]],
    jobs: dict[tuple[str, ...], tuple[float, dict[str, str]]],
    info: dict[str, str],
) -> tuple[str, str]:
    kind, name = _owner(owners.get(pkey, (0.0, {}))[1], "owner_kind", "owner_name")
    if not kind:
        kind, name = _owner(info, "created_by_kind", "created_by_name")
    if not kind or kind == "Node":
        # no owner, or a static (mirror) pod whose "owner" is the Node: the pod is its own workload
        return "Pod", pkey[2]
    parents = {"ReplicaSet": rs, "Job": jobs}
    if kind in parents:
        parent = parents[kind].get((pkey[0], pkey[1], name))
        if parent is not None:
            parent_kind, parent_name = _owner(parent[1], "owner_kind", "owner_name")
            if parent_kind:
                return parent_kind, parent_name
    return kind, name


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def workloads(r: dict[str, Instant], ctx: Ctx, pods: pl.DataFrame) -> pl.DataFrame:
    rows: dict[tuple[str, str, str, str], dict[str, object]] = {}
    job_owners = _latest(r["job_owner"], ctx, "namespace", "job_name")
    cron_jobs = {k for k, (_, lab) in job_owners.items() if lab.get("owner_kind") == "CronJob"}
    for kind, (_, name_label, _) in WORKLOAD_REPLICAS.items():
        created = _agg(r[f"created_{kind}"], ctx, "max", "namespace", name_label)
        for key, (value, _) in _latest(r[f"replicas_{kind}"], ctx, "namespace", name_label).items():
            if kind == "Job" and key in cron_jobs:
                continue
            rows[(key[0], key[1], kind, key[2])] = {
                c.DESIRED_REPLICAS: round(value),
                c.CREATED_AT: to_time(created.get(key)),
            }
    suspend = _latest(r["cronjob_suspend"], ctx, "namespace", "cronjob")
    created = _agg(r["cronjob_created"], ctx, "max", "namespace", "cronjob")
    for key in _latest(r["cronjob_info"], ctx, "namespace", "cronjob"):
        desired = 0 if suspend.get(key, (0.0, {}))[0] > 0 else 1
        rows[(key[0], key[1], "CronJob", key[2])] = {
            c.DESIRED_REPLICAS: desired,
            c.CREATED_AT: to_time(created.get(key)),
        }
    for row in pods.filter(pl.col(c.OWNER_KIND) == "Pod").unique([c.CLUSTER, c.NAMESPACE, c.POD]).iter_rows(named=True):
        rows[(row[c.CLUSTER], row[c.NAMESPACE], "Pod", row[c.POD])] = {
            c.DESIRED_REPLICAS: 1,
            c.CREATED_AT: row[c.START_TIME],
        }
    hpa_min = _latest(r["hpa_min"], ctx, "namespace", "horizontalpodautoscaler")
    hpa_max = _latest(r["hpa_max"], ctx, "namespace", "horizontalpodautoscaler")
    hpa_target = _latest(r["hpa_target"], ctx, "namespace", "horizontalpodautoscaler")
    for key, (_, lab) in _latest(r["hpa_info"], ctx, "namespace", "horizontalpodautoscaler").items():
        target = (key[0], key[1], lab.get("scaletargetref_kind", ""), lab.get("scaletargetref_name", ""))
        if target in rows:
            rows[target][c.HPA_MIN_REPLICAS] = _int(hpa_min.get(key, (None, {}))[0])
            rows[target][c.HPA_MAX_REPLICAS] = _int(hpa_max.get(key, (None, {}))[0])
            rows[target][c.HPA_TARGET_CPU_UTILIZATION] = hpa_target.get(key, (None, {}))[0]
    out = [
        {c.CLUSTER: k[0], c.NAMESPACE: k[1], c.KIND: k[2], c.NAME: k[3], c.HPA_MIN_REPLICAS: None,
         c.HPA_MAX_REPLICAS: None, c.HPA_TARGET_CPU_UTILIZATION: None, **v}
        for k, v in rows.items()
    ]  # fmt: skip
    return pl.DataFrame(out, schema=schema.WORKLOADS.schema) if out else schema.empty(schema.WORKLOADS)


def labels(r: dict[str, Instant], ctx: Ctx) -> pl.DataFrame:
    rows = {}
    for kind, (_, name_label) in LABEL_FAMILIES.items():
        for series, _, _ in r[f"labels_{kind}"]:
            cluster = ctx.cluster(series)
            ns = series.get("namespace", "") if kind not in ("Node", "Namespace") else ""
            name = series.get(name_label, "")
            for key, value in series.items():
                if key.startswith("label_") and value:
                    k8s_key = KNOWN_KEYS.get(key[6:], key[6:])
                    rows[(cluster, kind, ns, name, k8s_key)] = value
    out = [
        {c.CLUSTER: k[0], c.OBJECT_KIND: k[1], c.NAMESPACE: k[2], c.NAME: k[3], c.KEY: k[4], c.VALUE: v}
        for k, v in rows.items()
    ]
    return pl.DataFrame(out, schema=schema.LABELS.schema) if out else schema.empty(schema.LABELS)


@dataclass
class NodeMap:
    """Which node a node-exporter target is (its series have no node label), as kubernetes-mixin maps it: the
    exporter's pod (target labels ``namespace``/``pod``) through ``kube_pod_info{node}``; else the target's host
    (``instance`` without the port) is a node's ``internal_ip`` or a node's name (kube-prometheus-stack relabels
    ``instance`` to the node name); else uname's ``nodename`` when it is a node's name. The hostname is not the node
    name on every cluster, so ``nodename`` comes last and a target that matches no node is reported, not kept."""

    by_instance: dict[tuple[str, str], str]
    """(cluster, instance) -> node, for the targets with a uname series."""
    by_host: dict[tuple[str, str], str]
    """(cluster, internal IP or node name) -> node."""
    unmapped: dict[tuple[str, str], str] = field(default_factory=dict)
    """(cluster, instance) -> its nodename, for the targets that match no node."""

    def node(self, cluster: str, instance: str) -> str | None:
        found = self.by_instance.get((cluster, instance))
        if found is None:
            found = self.by_host.get((cluster, _host(instance)))
        if found is None:
            self.unmapped.setdefault((cluster, instance), "")
        return found


def _host(instance: str) -> str:
    """``10.0.0.1:9100`` -> ``10.0.0.1``, ``[fd00::1]:9100`` -> ``fd00::1``, ``node-a`` -> ``node-a``."""
    if instance.startswith("["):
        return instance[1:].split("]", 1)[0]
    return instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance


def nodes(r: dict[str, Instant], ctx: Ctx, node_labels: pl.DataFrame) -> tuple[pl.DataFrame, NodeMap]:
    """The nodes frame, and the node of each node-exporter target."""
    cap = _latest(r["node_capacity"], ctx, "node", "resource")
    alloc = _latest(r["node_allocatable"], ctx, "node", "resource")
    roles = {k[:2] for k in _latest(r["node_role"], ctx, "node", "role") if k[2] in ("control-plane", "master")}
    lab = {(row[c.CLUSTER], row[c.NAME], row[c.KEY]): row[c.VALUE] for row in node_labels.iter_rows(named=True)}
    known = {k[:2] for k in cap} | {k[:2] for k in alloc}
    by_host = {(cluster, node): node for cluster, node in known}
    for (cluster, node, ip), _ in _latest(r["node_info"], ctx, "node", "internal_ip").items():
        if ip:
            by_host.setdefault((cluster, ip), node)
    pod_node = {k: lab.get("node", "") for k, (_, lab) in _latest(r["pod_info"], ctx, "namespace", "pod").items()}
    node_map = NodeMap({}, by_host)
    machine: dict[tuple[str, str], str] = {}
    unames = _latest(r["uname"], ctx, "instance", "nodename", "machine", "namespace", "pod")
    for (cluster, instance, nodename, mach, ns, pod), _ in unames.items():
        nodename_is_node = (cluster, nodename) in known
        found = (
            pod_node.get((cluster, ns, pod))
            or by_host.get((cluster, _host(instance)))
            or (nodename_is_node and nodename)
        )
        if found:
            node_map.by_instance[(cluster, instance)] = found
            machine[(cluster, found)] = mach
        else:
            node_map.unmapped[(cluster, instance)] = nodename
    names = sorted(known)
    rows = []
    for cluster, node in names:
        values = {("cap", res): v for (cl, nd, res), (v, _) in cap.items() if (cl, nd) == (cluster, node)}
        values |= {("alloc", res): v for (cl, nd, res), (v, _) in alloc.items() if (cl, nd) == (cluster, node)}
        arch = lab.get((cluster, node, "kubernetes.io/arch")) or MACHINE_ARCH.get(machine.get((cluster, node), ""), "")
        rows.append(
            {
                c.CLUSTER: cluster, c.NODE: node,
                c.INSTANCE_TYPE: lab.get((cluster, node, "node.kubernetes.io/instance-type"), ""), c.ARCH: arch,
                c.ROLE: "control-plane" if (cluster, node) in roles else "worker",
                c.CPU_CAPACITY_CORES: values.get(("cap", "cpu"), 0.0),
                c.CPU_ALLOCATABLE_CORES: values.get(("alloc", "cpu"), 0.0),
                c.MEMORY_CAPACITY_BYTES: round(values.get(("cap", "memory"), 0.0)),
                c.MEMORY_ALLOCATABLE_BYTES: round(values.get(("alloc", "memory"), 0.0)),
                c.PODS_CAPACITY: round(values.get(("cap", "pods"), 0.0)),
                c.PODS_ALLOCATABLE: round(values.get(("alloc", "pods"), 0.0)),
            }
        )  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema.NODES.schema) if rows else schema.empty(schema.NODES)
    return frame, node_map


def volumes(r: dict[str, Instant], ctx: Ctx) -> tuple[pl.DataFrame, pl.DataFrame]:
    pvc_info = _latest(r["pvc_info"], ctx, "namespace", "persistentvolumeclaim")
    pvc_req = _latest(r["pvc_request"], ctx, "namespace", "persistentvolumeclaim")
    phases = _latest(r["pvc_phase"], ctx, "namespace", "persistentvolumeclaim", "phase")
    pvc_phase = {k[:3]: k[3] for k, (v, _) in phases.items() if v > 0}
    pvc_created = _agg(r["pvc_created"], ctx, "max", "namespace", "persistentvolumeclaim")
    pv_info = _latest(r["pv_info"], ctx, "persistentvolume")
    pv_cap = _latest(r["pv_capacity"], ctx, "persistentvolume")
    pv_phase = {k[:2]: k[2] for k, (v, _) in _latest(r["pv_phase"], ctx, "persistentvolume", "phase").items() if v > 0}
    pv_created = _agg(r["pv_created"], ctx, "max", "persistentvolume")

    inferred = 0

    def policy(key: tuple[str, str]) -> str:
        # kube_persistentvolume_info carries reclaim_policy since KSM v2.16. Before: a Released PV still
        # exists, so it is Retain; dynamically provisioned (claimed) volumes default to Delete.
        nonlocal inferred
        read = pv_info.get(key, (0.0, {}))[1].get("reclaim_policy", "")
        if read:
            return read
        phase = pv_phase.get(key, "")
        inferred += 1 if phase else 0
        return "Retain" if phase == "Released" else ("Delete" if phase else "")

    rows, claimed = [], set()
    for key, (_, lab) in pvc_info.items():
        pv = lab.get("volumename", "")
        claimed.add((key[0], pv))
        rows.append(
            {
                c.CLUSTER: key[0], c.NAMESPACE: key[1], c.PVC: key[2], c.PV: pv,
                c.STORAGE_CLASS: lab.get("storageclass", ""),
                c.CAPACITY_BYTES: round(pvc_req.get(key, (0.0, {}))[0]), c.PVC_PHASE: pvc_phase.get(key, ""),
                c.PV_PHASE: pv_phase.get((key[0], pv), ""), c.RECLAIM_POLICY: policy((key[0], pv)),
                c.CREATED_AT: to_time(pvc_created.get(key)),
            }
        )  # fmt: skip
    fs_only = 0
    for key, (capacity, _) in _latest(r["pvc_fs_capacity"], ctx, "namespace", "persistentvolumeclaim").items():
        if key in pvc_info:
            continue
        # mounted (the kubelet reports only mounted claims), so Bound; its size is its filesystem's
        fs_only += 1
        rows.append(
            {
                c.CLUSTER: key[0], c.NAMESPACE: key[1], c.PVC: key[2], c.PV: "", c.STORAGE_CLASS: "",
                c.CAPACITY_BYTES: round(capacity), c.PVC_PHASE: "Bound", c.PV_PHASE: "", c.RECLAIM_POLICY: "",
                c.CREATED_AT: None,
            }
        )  # fmt: skip
    if fs_only:
        ctx.notes.append(
            f"{fs_only} claim(s) known only from kubelet volume stats (kube-state-metrics does not list them): "
            "their size is their filesystem's (kubelet_volume_stats_capacity_bytes), priced at the default "
            "storage price"
        )
    for key, (_, lab) in pv_info.items():
        if key in claimed:
            continue
        rows.append(
            {
                c.CLUSTER: key[0], c.NAMESPACE: "", c.PVC: "", c.PV: key[1],
                c.STORAGE_CLASS: lab.get("storageclass", ""), c.CAPACITY_BYTES: round(pv_cap.get(key, (0.0, {}))[0]),
                c.PVC_PHASE: "", c.PV_PHASE: pv_phase.get(key, ""), c.RECLAIM_POLICY: policy((key[0], key[1])),
                c.CREATED_AT: to_time(pv_created.get(key)),
            }
        )  # fmt: skip
    if inferred:
        ctx.notes.append(
            f"{inferred} {RECLAIM_INFERRED} (kube_persistentvolume_info has no reclaim_policy label "
            "before KSM v2.16): Released -> Retain, else Delete"
        )
    vols = pl.DataFrame(rows, schema=schema.VOLUMES.schema) if rows else schema.empty(schema.VOLUMES)
    mounts = [
        {c.CLUSTER: k[0], c.NAMESPACE: k[1], c.PVC: k[3], c.POD: k[2]}
        for k in _latest(r["pod_pvc"], ctx, "namespace", "pod", "persistentvolumeclaim")
    ]
    mframe = pl.DataFrame(mounts, schema=schema.VOLUME_MOUNTS.schema) if mounts else schema.empty(schema.VOLUME_MOUNTS)
    return vols, mframe


_SLICE_SUFFIX = re.compile(r"-[a-z0-9]{5}$")


def service_endpoints(r: dict[str, Instant], ctx: Ctx) -> dict[tuple[str, ...], tuple[float, dict[str, str]]]:
    """Ready addresses per Service, from the newest family the cluster exports.

    ``kube_endpoint_address{ready="true"}`` (KSM >= 2.14), else ``kube_endpoint_address_available`` (removed in
    v2.14), else EndpointSlices: a Service's slices are named ``<service>-<5 random chars>`` by the EndpointSlice
    controller (``generateName``), the API server's own ``kubernetes`` slice is named after its Service.
    """
    addresses = _latest(r["endpoint_addresses"], ctx, "namespace", "endpoint")
    if addresses:
        return addresses
    available = _latest(r["endpoints"], ctx, "namespace", "endpoint")
    if available:
        return available
    out: dict[tuple[str, ...], tuple[float, dict[str, str]]] = {}
    for (cluster, ns, name), (value, labels) in _latest(
        r["slice_addresses"], ctx, "namespace", "endpointslice"
    ).items():
        key = (cluster, ns, _SLICE_SUFFIX.sub("", name))
        out[key] = (out.get(key, (0.0, {}))[0] + value, labels)
    if out:
        ctx.notes.append("Service endpoints counted from EndpointSlices (no kube_endpoint_address series)")
    return out


def objects(r: dict[str, Instant], ctx: Ctx) -> pl.DataFrame:
    endpoints = service_endpoints(r, ctx)
    complete = {k for k, (v, _) in _latest(r["job_complete"], ctx, "namespace", "job_name").items() if v > 0}
    failed = {k for k, (v, _) in _latest(r["job_failed"], ctx, "namespace", "job_name").items() if v > 0}
    finished = _agg(r["job_completion"], ctx, "max", "namespace", "job_name")
    job_owners = _latest(r["job_owner"], ctx, "namespace", "job_name")  # CronJob -> Job (kube_job_owner)
    rows = []
    for kind, (_, name_label, _) in OBJECT_FAMILIES.items():
        created = _agg(r[f"object_created_{kind}"], ctx, "max", "namespace", name_label)
        for key in _latest(r[f"object_{kind}"], ctx, "namespace", name_label):
            status, owner = "", ("", "")
            if kind == "Job":
                status = "Complete" if key in complete else ("Failed" if key in failed else "Active")
                owner = _owner(job_owners.get(key, (0.0, {}))[1], "owner_kind", "owner_name")
            ep = endpoints.get(key) if kind == "Service" else None
            ep = (0.0, {}) if ep is None and kind == "Service" and endpoints else ep
            rows.append(
                {
                    c.CLUSTER: key[0], c.KIND: kind, c.NAMESPACE: key[1], c.NAME: key[2],
                    c.CREATED_AT: to_time(created.get(key)), c.ENDPOINTS: None if ep is None else round(ep[0]),
                    c.STATUS: status, c.FINISHED_AT: to_time(finished.get(key)) if kind == "Job" else None,
                    c.OWNER_KIND: owner[0], c.OWNER_NAME: owner[1], c.TYPE: "", c.SELECTOR: "",
                    c.REPLICAS: None, c.REVISION: None, c.TTL_SECONDS_AFTER_FINISHED: None,
                }
            )  # fmt: skip
    return pl.DataFrame(rows, schema=schema.OBJECTS.schema) if rows else schema.empty(schema.OBJECTS)
