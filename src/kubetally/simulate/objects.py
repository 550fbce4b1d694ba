"""Inventory frames of the simulated cluster: containers, workloads, nodes, labels,
volumes, objects and references, terminations and database sizes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.kube_refs import parse_selector
from kubetally.simulate.inventory import DAY, Plan, PodPlan, new_uid
from kubetally.simulate.scenario import (
    CLUSTER,
    CONFIGMAPS,
    DATABASE,
    INGRESSES,
    MI,
    ORPHAN_SERVICES,
    PROTECTED,
    RELEASED_PVS,
    SECRETS,
    TABLES,
    UNUSED_PVCS,
    ContainerSpec,
    WorkloadSpec,
)
from kubetally.simulate.series import PodSeries


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _frame(spec: schema.FrameSpec, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=spec.schema, orient="row") if rows else schema.empty(spec)


def _defaulted(spec: ContainerSpec) -> tuple[float | None, float | None, int | None, int | None]:
    """Requests as the API server stores them: a limit without a request defaults the request."""
    cpu_request = spec.cpu_request if spec.cpu_request is not None else spec.cpu_limit
    mem_request = spec.memory_request if spec.memory_request is not None else spec.memory_limit
    return cpu_request, spec.cpu_limit, mem_request, spec.memory_limit


def qos_class(containers: tuple[ContainerSpec, ...]) -> str:
    resources = [_defaulted(spec) for spec in containers]
    if all(v is None for r in resources for v in r):
        return "BestEffort"
    if all(r[0] is not None and r[0] == r[1] and r[2] is not None and r[2] == r[3] for r in resources):
        return "Guaranteed"
    return "Burstable"


def pod_labels(pod: PodPlan) -> dict[str, str]:
    labels = dict(pod.workload.labels)
    kind = pod.workload.kind
    if kind == "Deployment":
        labels["pod-template-hash"] = pod.template_hash
    elif kind in ("StatefulSet", "DaemonSet"):
        labels["controller-revision-hash"] = pod.template_hash
        if kind == "StatefulSet":
            labels["statefulset.kubernetes.io/pod-name"] = pod.name
    elif kind == "CronJob" and pod.job is not None:
        labels["job-name"] = pod.job
    return labels


def _containers(layout: Plan, generated: dict[int, PodSeries]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, terms = [], []
    for pod in layout.pods:
        series = generated.get(pod.index)
        if series is None:
            continue
        qos = qos_class(pod.workload.containers)
        by_name = {cs.spec.name: cs for cs in series.containers}
        for spec in pod.workload.containers:
            cpu_req, cpu_lim, mem_req, mem_lim = _defaulted(spec)
            cs = by_name.get(spec.name)
            events = list(cs.terminations) if cs is not None else []
            if pod.job is not None and pod.end is not None and not spec.init:
                events.append((pod.end, "Completed"))
            for when, reason in events:
                terms.append(
                    {
                        c.CLUSTER: CLUSTER,
                        c.NAMESPACE: pod.workload.namespace,
                        c.POD: pod.name,
                        c.CONTAINER: spec.name,
                        c.TIMESTAMP: _time(when),
                        c.REASON: reason,
                        c.MEMORY_LIMIT_BYTES: mem_lim,
                    }
                )
            restarts = sum(1 for _, reason in events if reason != "Completed")
            rows.append(
                {
                    c.CLUSTER: CLUSTER,
                    c.NAMESPACE: pod.workload.namespace,
                    c.POD: pod.name,
                    c.POD_UID: pod.uid,
                    c.CONTAINER: spec.name,
                    c.INIT_CONTAINER: spec.init,
                    c.NODE: pod.node,
                    c.OWNER_KIND: pod.owner_kind,
                    c.OWNER_NAME: pod.owner_name,
                    c.CPU_REQUEST_CORES: cpu_req,
                    c.CPU_LIMIT_CORES: cpu_lim,
                    c.MEMORY_REQUEST_BYTES: mem_req,
                    c.MEMORY_LIMIT_BYTES: mem_lim,
                    c.START_TIME: _time(pod.start),
                    c.END_TIME: _time(pod.end),
                    c.RESTARTS: restarts,
                    c.LAST_TERMINATION_REASON: events[-1][1] if events else None,
                    c.QOS_CLASS: qos,
                    c.IMAGE: spec.image,
                }
            )
    return rows, terms


def _running_at_end(layout: Plan) -> list[PodPlan]:
    return [p for p in layout.pods if p.end is None or p.end > layout.end]


def inventory_frames(layout: Plan, generated: list[PodSeries], axis: np.ndarray) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng([layout.config.seed, 4])
    by_index = {s.pod.index: s for s in generated}
    container_rows, term_rows = _containers(layout, by_index)
    running = [p for p in _running_at_end(layout) if p.index in by_index]
    first_start: dict[tuple[str, str], int] = {}
    for pod in layout.pods:
        key = (pod.workload.namespace, pod.workload.name)
        first_start[key] = min(first_start.get(key, pod.start), pod.start)

    workloads, labels = [], []
    for spec in layout.workloads:
        replicas = len(layout.nodes) if spec.kind == "DaemonSet" else (1 if spec.kind == "CronJob" else spec.replicas)
        hpa = spec.hpa
        created = first_start.get((spec.namespace, spec.name), layout.start - 30 * DAY)
        workloads.append(
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: spec.namespace,
                c.KIND: spec.kind,
                c.NAME: spec.name,
                c.DESIRED_REPLICAS: replicas,
                c.HPA_MIN_REPLICAS: hpa[0] if hpa else None,
                c.HPA_MAX_REPLICAS: hpa[1] if hpa else None,
                c.HPA_TARGET_CPU_UTILIZATION: hpa[2] if hpa else None,
                c.CREATED_AT: _time(created),
            }
        )
        labels += [
            {
                c.CLUSTER: CLUSTER,
                c.OBJECT_KIND: spec.kind,
                c.NAMESPACE: spec.namespace,
                c.NAME: spec.name,
                c.KEY: k,
                c.VALUE: v,
            }
            for k, v in spec.labels.items()
        ]
    for pod in layout.pods:
        if pod.index not in by_index:
            continue
        labels += [
            {
                c.CLUSTER: CLUSTER,
                c.OBJECT_KIND: "Pod",
                c.NAMESPACE: pod.workload.namespace,
                c.NAME: pod.name,
                c.KEY: k,
                c.VALUE: v,
            }
            for k, v in pod_labels(pod).items()
        ]
    nodes = []
    for node in layout.nodes:
        capacity = node.memory_bytes - 190 * MI
        nodes.append(
            {
                c.CLUSTER: CLUSTER,
                c.NODE: node.name,
                c.INSTANCE_TYPE: "k3s",
                c.ARCH: "arm64",
                c.ROLE: node.role,
                c.CPU_CAPACITY_CORES: node.cpu_cores,
                c.CPU_ALLOCATABLE_CORES: node.cpu_cores,
                c.MEMORY_CAPACITY_BYTES: capacity,
                c.MEMORY_ALLOCATABLE_BYTES: capacity - 100 * MI,
                c.PODS_CAPACITY: node.max_pods,
                c.PODS_ALLOCATABLE: node.max_pods,
            }
        )
        node_labels = {
            "kubernetes.io/arch": "arm64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": node.name,
            "node.kubernetes.io/instance-type": "k3s",
            "hardware": node.hardware,
        }
        if node.role == "control-plane":
            node_labels |= {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
        labels += [
            {c.CLUSTER: CLUSTER, c.OBJECT_KIND: "Node", c.NAMESPACE: "", c.NAME: node.name, c.KEY: k, c.VALUE: v}
            for k, v in node_labels.items()
        ]
    namespaces = sorted({spec.namespace for spec in layout.workloads} | {"default"})
    labels += [
        {
            c.CLUSTER: CLUSTER,
            c.OBJECT_KIND: "Namespace",
            c.NAMESPACE: "",
            c.NAME: ns,
            c.KEY: "kubernetes.io/metadata.name",
            c.VALUE: ns,
        }
        for ns in namespaces
    ]

    volumes, mounts = [], []
    for pod in layout.pods:
        if pod.index not in by_index:
            continue
        for claim in pod.pvcs:
            mounts.append({c.CLUSTER: CLUSTER, c.NAMESPACE: pod.workload.namespace, c.PVC: claim, c.POD: pod.name})
            assert pod.workload.pvc_template is not None
            _, size, klass = pod.workload.pvc_template
            volumes.append(_volume(pod.workload.namespace, claim, size, klass, rng, first_start, pod))
    for ns, claim, size, klass in UNUSED_PVCS:
        volumes.append(_volume(ns, claim, size, klass, rng, first_start, None))
    for pv, size, klass, _former in RELEASED_PVS:
        volumes.append(
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: "",
                c.PVC: "",
                c.PV: pv,
                c.STORAGE_CLASS: klass,
                c.CAPACITY_BYTES: size,
                c.PVC_PHASE: "",
                c.PV_PHASE: "Released",
                c.RECLAIM_POLICY: "Retain",
                c.CREATED_AT: _time(layout.start - 120 * DAY),
            }
        )

    objects, references, log_settings = _objects(layout, running, namespaces, set(by_index))
    annotations = [
        {c.CLUSTER: CLUSTER, c.OBJECT_KIND: kind, c.NAMESPACE: ns, c.NAME: name, c.KEY: key, c.VALUE: value}
        for kind, ns, name, key, value in PROTECTED
    ]
    database, volume_usage = _database(layout, axis)
    return {
        schema.CONTAINERS.name: _frame(schema.CONTAINERS, container_rows),
        schema.TERMINATIONS.name: _frame(schema.TERMINATIONS, term_rows),
        schema.WORKLOADS.name: _frame(schema.WORKLOADS, workloads),
        schema.NODES.name: _frame(schema.NODES, nodes),
        schema.LABELS.name: _frame(schema.LABELS, labels),
        schema.VOLUMES.name: _frame(schema.VOLUMES, volumes),
        schema.VOLUME_MOUNTS.name: _frame(schema.VOLUME_MOUNTS, mounts),
        schema.VOLUME_USAGE.name: volume_usage,
        schema.OBJECTS.name: _frame(schema.OBJECTS, objects),
        schema.REFERENCES.name: _frame(schema.REFERENCES, references),
        schema.LOG_SETTINGS.name: _frame(schema.LOG_SETTINGS, log_settings),
        schema.ANNOTATIONS.name: _frame(schema.ANNOTATIONS, annotations),
        schema.DATABASE_USAGE.name: database,
    }


def _volume(
    ns: str,
    claim: str,
    size: int,
    klass: str,
    rng: np.random.Generator,
    first_start: dict[tuple[str, str], int],
    pod: PodPlan | None,
) -> dict[str, Any]:
    created = first_start[(ns, pod.workload.name)] if pod is not None else min(first_start.values()) - 10 * DAY
    return {
        c.CLUSTER: CLUSTER,
        c.NAMESPACE: ns,
        c.PVC: claim,
        c.PV: f"pvc-{new_uid(rng)}",
        c.STORAGE_CLASS: klass,
        c.CAPACITY_BYTES: size,
        c.PVC_PHASE: "Bound",
        c.PV_PHASE: "Bound",
        c.RECLAIM_POLICY: "Delete",
        c.CREATED_AT: _time(created),
    }


def service_selector(labels: dict[str, str]) -> str:
    """The selector the simulator's Services use: the workload's ``app`` label (or k3s' own keys)."""
    for key in ("app", "k8s-app", "app.kubernetes.io/name"):
        if key in labels:
            return f"{key}={labels[key]}"
    return ""


def _objects(
    layout: Plan, running: list[PodPlan], namespaces: list[str], seen: set[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Objects, references and log settings; pods are those alive in the window (``seen``: the ones with series)."""
    created = _time(layout.start - 60 * DAY)
    objects: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []

    def obj(
        kind: str,
        ns: str,
        name: str,
        endpoints: int | None = None,
        status: str = "",
        finished: float | None = None,
        when: datetime | None = created,
        owner: tuple[str, str] = ("", ""),
        type_: str = "",
        selector: str = "",
    ) -> None:
        objects.append(
            {
                c.CLUSTER: CLUSTER,
                c.KIND: kind,
                c.NAMESPACE: ns,
                c.NAME: name,
                c.CREATED_AT: when,
                c.ENDPOINTS: endpoints,
                c.STATUS: status,
                c.FINISHED_AT: _time(finished),
                c.OWNER_KIND: owner[0],
                c.OWNER_NAME: owner[1],
                c.TYPE: type_,
                c.SELECTOR: selector,
                c.REPLICAS: None,
                c.REVISION: None,
                c.TTL_SECONDS_AFTER_FINISHED: None,
            }
        )

    def ref(ns: str, from_kind: str, from_name: str, to_kind: str, to_name: str, path: str) -> None:
        refs.append(
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: ns,
                c.FROM_KIND: from_kind,
                c.FROM_NAME: from_name,
                c.TO_KIND: to_kind,
                c.TO_NAME: to_name,
                c.PATH: path,
            }
        )

    def spec_refs(
        ns: str, from_kind: str, from_name: str, spec: WorkloadSpec, claims: tuple[str, ...], *, pod: bool
    ) -> None:
        """What a pod spec of ``spec`` names, by the path ``kubetally.simulate.k8s`` writes it with."""
        if pod:  # the API server injects kube-api-access (projected) into pods, not templates
            ref(ns, from_kind, from_name, "ConfigMap", "kube-root-ca.crt", "projected")
        for i, name in enumerate(sorted(spec.configmaps)):
            ref(ns, from_kind, from_name, "ConfigMap", name, "volume" if i % 2 == 0 else "envFrom")
        for i, name in enumerate(sorted(spec.secrets)):
            ref(ns, from_kind, from_name, "Secret", name, ("env", "volume", "projected")[i % 3])
        ref(ns, from_kind, from_name, "ServiceAccount", "default", "serviceAccountName")
        for claim in claims:
            ref(ns, from_kind, from_name, "PersistentVolumeClaim", claim, "volume")

    for ns in namespaces:
        obj("ConfigMap", ns, "kube-root-ca.crt")
        obj("ServiceAccount", ns, "default")
    for ns, name in CONFIGMAPS:
        obj("ConfigMap", ns, name)
    for ns, name in SECRETS:
        obj("Secret", ns, name, type_="Opaque")
    obj("Service", "default", "kubernetes", endpoints=1, type_="ClusterIP")
    for ns, name in ORPHAN_SERVICES:
        obj("Service", ns, name, endpoints=0, type_="ClusterIP", selector=f"app={name}")
    for spec in layout.workloads:
        if spec.service and spec.kind != "CronJob":
            backing = [p for p in running if p.workload is spec]
            selector = service_selector(spec.labels)
            obj("Service", spec.namespace, spec.name, endpoints=len(backing), type_="ClusterIP", selector=selector)
            for pod in backing:
                ref(spec.namespace, "Service", spec.name, "Pod", pod.name, "selector")
            for other in layout.workloads:  # the pod templates it selects (k8s.py: labels + app=<label or name>)
                template = {**other.labels, "app": other.labels.get("app", other.name)}
                wanted = parse_selector(selector)
                if (
                    other.namespace == spec.namespace
                    and wanted
                    and all(template.get(k) == v for k, v in wanted.items())
                ):
                    ref(spec.namespace, "Service", spec.name, other.kind, other.name, "selector")
    for spec in layout.workloads:  # the pod template of each top controller (what a scaled-to-0 one still holds)
        spec_refs(spec.namespace, spec.kind, spec.name, spec, (), pod=False)
    for ns, name, service in INGRESSES:
        obj("Ingress", ns, name)
        ref(ns, "Ingress", name, "Service", service, "backend")
    logs: list[dict[str, Any]] = []
    with_pods = {id(p.workload) for p in layout.pods if p.index in seen}
    for spec in layout.workloads:
        if id(spec) not in with_pods:  # no pod in the window: k8s.py has no container to write the env var into
            continue
        for cs in spec.containers:
            if cs.log_level is not None:
                logs.append(
                    {
                        c.CLUSTER: CLUSTER,
                        c.NAMESPACE: spec.namespace,
                        c.OWNER_KIND: spec.kind,
                        c.OWNER_NAME: spec.name,
                        c.CONTAINER: cs.name,
                        c.SOURCE: "env",
                        c.KEY: "LOG_LEVEL",
                        c.VALUE: cs.log_level,
                    }
                )
    for pod in layout.pods:
        if pod.index not in seen:
            continue
        ns = pod.workload.namespace
        spec_refs(ns, "Pod", pod.name, pod.workload, pod.pvcs, pod=True)
        if pod.job is not None:
            obj(
                "Job",
                ns,
                pod.job,
                status="Complete",
                finished=pod.end,
                when=_time(pod.start),
                owner=("CronJob", pod.workload.name),
            )
            ref(ns, "CronJob", pod.workload.name, "Job", pod.job, "owner")
            ref(ns, "Job", pod.job, "Pod", pod.name, "owner")
    return objects, refs, logs


def _database(layout: Plan, axis: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    """postgresql's table sizes (audit_event grows daily) and its data volume's used bytes."""
    pod = next((p for p in layout.pods if p.workload.name == "postgresql"), None)
    if pod is None or not len(axis):
        return schema.empty(schema.DATABASE_USAGE), schema.empty(schema.VOLUME_USAGE)
    ts = pl.Series(c.TIMESTAMP, axis * 1_000_000).cast(pl.Datetime("us", "UTC"))
    days = (axis - layout.start) / DAY
    frames, total = [], np.zeros(len(axis))
    for table, size0, per_day, row_bytes in TABLES:
        size = np.floor(size0 + per_day * days)
        total += size
        frames.append(
            pl.DataFrame({c.TABLE: table, c.TIMESTAMP: ts, c.SIZE_BYTES: size, c.ROWS: np.floor(size / row_bytes)})
        )
    frames.append(pl.DataFrame({c.TABLE: "", c.TIMESTAMP: ts, c.SIZE_BYTES: total + 8 * MI, c.ROWS: None}))
    database = pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.lit(CLUSTER).alias(c.CLUSTER),
        pl.lit(pod.workload.namespace).alias(c.NAMESPACE),
        pl.lit(pod.name).alias(c.POD),
        pl.lit(DATABASE).alias(c.DATABASE),
    )
    claim = pod.pvcs[0]
    volume = pl.DataFrame({c.TIMESTAMP: ts, c.USED_BYTES: total + 8 * MI + 320 * MI}).with_columns(
        pl.lit(CLUSTER).alias(c.CLUSTER), pl.lit(pod.workload.namespace).alias(c.NAMESPACE), pl.lit(claim).alias(c.PVC)
    )
    return database.select(schema.DATABASE_USAGE.names), volume.select(schema.VOLUME_USAGE.names)
