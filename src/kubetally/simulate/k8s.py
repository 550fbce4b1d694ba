"""The simulated cluster as Kubernetes API objects: what ``kubectl get <kinds> -A -o json`` would print.

Built from a ground-truth Dataset, so that reading the objects back (``kubetally.sources.kubernetes``)
must give the same inventory and references. Each reference is written the way real manifests write
it, spread over every mechanism: the ``kube-root-ca.crt`` ConfigMap through the projected
``kube-api-access-*`` volume the API server injects, other ConfigMaps as volumes and ``envFrom``,
Secrets as ``env[].valueFrom.secretKeyRef``, secret volumes and projected volumes, claims as volumes,
Service -> Pod through EndpointSlices. Every object validates against the official OpenAPI schema.

Pods that ended during the window are kept: Job pods as Succeeded, replaced Deployment pods as
terminated pods being deleted (``deletionTimestamp``), so the history's references stay complete.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.kube_refs import parse_selector
from kubetally.model.quantity import format_cpu

Obj = dict[str, Any]
_NS = uuid.UUID("6f1c7a52-3c1e-4a0b-9d43-6b2f3c5e8a11")
PROVISIONERS = {"local-path": "rancher.io/local-path", "longhorn": "driver.longhorn.io"}


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, namespace: str | None, *, kind: str, created: datetime | None, labels: dict[str, str]) -> Obj:
    meta: Obj = {"name": name, "uid": _uid(kind, namespace or "", name)}
    if namespace is not None:
        meta["namespace"] = namespace
    if created is not None:
        meta["creationTimestamp"] = _ts(created)
    if labels:
        meta["labels"] = labels
    return meta


def _owner(kind: str, api_version: str, namespace: str, name: str) -> list[Obj]:
    return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": _uid(kind, namespace, name),
             "controller": True, "blockOwnerDeletion": True}]  # fmt: skip


def _resources(row: dict[str, Any]) -> Obj:
    requests, limits = {}, {}
    if row[c.CPU_REQUEST_CORES] is not None:
        requests["cpu"] = format_cpu(row[c.CPU_REQUEST_CORES], unit="m")
    if row[c.MEMORY_REQUEST_BYTES] is not None:
        requests["memory"] = str(row[c.MEMORY_REQUEST_BYTES])
    if row[c.CPU_LIMIT_CORES] is not None:
        limits["cpu"] = format_cpu(row[c.CPU_LIMIT_CORES], unit="m")
    if row[c.MEMORY_LIMIT_BYTES] is not None:
        limits["memory"] = str(row[c.MEMORY_LIMIT_BYTES])
    out: Obj = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _pod_spec(containers: list[dict[str, Any]], refs: set[tuple[str, str]], *, pod: str | None) -> Obj:
    """A pod spec whose volumes/env reference exactly ``refs`` (ConfigMaps, Secrets, claims, ServiceAccount)."""
    volumes: list[Obj] = []
    env: list[Obj] = []
    env_from: list[Obj] = []
    mounts: list[Obj] = []
    configmaps = sorted(n for k, n in refs if k == "ConfigMap" and n != "kube-root-ca.crt")
    secrets = sorted(n for k, n in refs if k == "Secret")
    claims = sorted(n for k, n in refs if k == "PersistentVolumeClaim")
    for i, name in enumerate(configmaps):
        if i % 2 == 0:
            volumes.append({"name": f"cm-{i}", "configMap": {"name": name}})
            mounts.append({"name": f"cm-{i}", "mountPath": f"/etc/config/{name}", "readOnly": True})
        else:
            env_from.append({"configMapRef": {"name": name}})
    for i, name in enumerate(secrets):
        if i % 3 == 0:
            env.append({"name": f"SECRET_{i}", "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}}})
        elif i % 3 == 1:
            volumes.append({"name": f"secret-{i}", "secret": {"secretName": name}})
            mounts.append({"name": f"secret-{i}", "mountPath": f"/etc/secrets/{name}", "readOnly": True})
        else:
            volumes.append({"name": f"secret-{i}", "projected": {"sources": [{"secret": {"name": name}}]}})
            mounts.append({"name": f"secret-{i}", "mountPath": f"/etc/projected/{name}", "readOnly": True})
    for i, claim in enumerate(claims):
        volumes.append({"name": f"data-{i}", "persistentVolumeClaim": {"claimName": claim}})
        mounts.append({"name": f"data-{i}", "mountPath": f"/data/{i}"})
    if ("ConfigMap", "kube-root-ca.crt") in refs and pod is not None:
        token = f"kube-api-access-{_uid('token', pod)[:5]}"
        volumes.append({"name": token, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "metadata.namespace"}}]}},
        ]}})  # fmt: skip
        mounts.append({"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True})
    spec: Obj = {"initContainers": [], "containers": []}
    first_app = True
    for row in containers:
        container: Obj = {"name": row[c.CONTAINER], "image": row[c.IMAGE], "resources": _resources(row)}
        if not row[c.INIT_CONTAINER] and first_app:
            first_app = False
            if env:
                container["env"] = env
            if env_from:
                container["envFrom"] = env_from
            if mounts:
                container["volumeMounts"] = mounts
        spec["initContainers" if row[c.INIT_CONTAINER] else "containers"].append(container)
    if not spec["initContainers"]:
        del spec["initContainers"]
    if volumes:
        spec["volumes"] = volumes
    account = next((n for k, n in refs if k == "ServiceAccount"), None)
    if account is not None:
        spec["serviceAccountName"] = account
    return spec


def _container_status(row: dict[str, Any], events: list[tuple[datetime, str]], *, ended: datetime | None,
                      deleting: bool, job: bool) -> Obj:  # fmt: skip
    status: Obj = {"name": row[c.CONTAINER], "image": row[c.IMAGE], "imageID": "", "restartCount": row[c.RESTARTS],
                   "ready": ended is None, "started": ended is None}  # fmt: skip
    started = _ts(row[c.START_TIME])
    if ended is not None and (job or deleting) and not row[c.INIT_CONTAINER]:
        final = events[-1] if job and events else (ended, "Completed")
        previous = events[:-1] if job else events
        status["state"] = {"terminated": {"exitCode": 0, "reason": final[1], "startedAt": started,
                                          "finishedAt": _ts(ended)}}  # fmt: skip
    elif row[c.INIT_CONTAINER]:
        status["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                          "finishedAt": started}}  # fmt: skip
        previous = events
    else:
        status["state"] = {"running": {"startedAt": started}}
        previous = events
    if previous:
        when, reason = previous[-1]
        code = 137 if reason == "OOMKilled" else 1
        status["lastState"] = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                              "finishedAt": _ts(when)}}  # fmt: skip
    return status


def cluster_objects(ds: Dataset) -> list[Obj]:
    """Every object of the simulated cluster, as the API serves it (kind and apiVersion set)."""
    end = ds.info.end
    labels: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for kind, ns, name, key, value in ds.labels.select(c.OBJECT_KIND, c.NAMESPACE, c.NAME, c.KEY, c.VALUE).iter_rows():
        labels[(kind, ns, name)][key] = value
    refs: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    for ns, fk, fn, tk, tn in (
        ds.table(schema.REFERENCES).select(c.NAMESPACE, c.FROM_KIND, c.FROM_NAME, c.TO_KIND, c.TO_NAME).iter_rows()
    ):
        refs[(fk, ns, fn)].add((tk, tn))
    containers = ds.containers.sort(
        c.NAMESPACE, c.POD, c.INIT_CONTAINER, c.CONTAINER, descending=[False, False, True, False]
    )
    by_pod: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in containers.iter_rows(named=True):
        by_pod[(row[c.NAMESPACE], row[c.POD])].append(row)
    events: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for ns, pod, container, when, reason in (
        ds.table(schema.TERMINATIONS)
        .sort(c.TIMESTAMP)
        .select(c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP, c.REASON)
        .iter_rows()
    ):
        events[(ns, pod, container)].append((when, reason))
    objects: list[Obj] = []
    objects += _namespaces_and_nodes(ds, labels)
    objects += _workloads(ds, labels, refs, by_pod)
    objects += _pods(ds, labels, refs, by_pod, events, end)
    objects += _plain_objects(ds, refs)
    objects += _volumes(ds)
    _annotate(ds, objects)
    _set_log_levels(ds, objects)
    return objects


def _annotate(ds: Dataset, objects: list[Obj]) -> None:
    """Write the annotations frame onto the objects' metadata."""
    wanted: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for kind, ns, name, key, value in (
        ds.table(schema.ANNOTATIONS).select(c.OBJECT_KIND, c.NAMESPACE, c.NAME, c.KEY, c.VALUE).iter_rows()
    ):
        wanted[(kind, ns, name)][key] = value
    for obj in objects:
        meta = obj["metadata"]
        notes = wanted.get((obj["kind"], meta.get("namespace", ""), meta["name"]))
        if notes:
            meta.setdefault("annotations", {}).update(notes)


def _set_log_levels(ds: Dataset, objects: list[Obj]) -> None:
    """Write the log_settings frame (env vars) into the containers of each workload's template and pods."""
    wanted: dict[tuple[str, str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for ns, kind, name, container, source, key, value in (
        ds.table(schema.LOG_SETTINGS)
        .select(c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER, c.SOURCE, c.KEY, c.VALUE)
        .iter_rows()
    ):
        if source == "env":
            wanted[(kind, ns, name)].append((container, key, value))
    if not wanted:
        return
    owner_of = {(ns, pod): (kind, name) for ns, pod, kind, name in
                ds.containers.select(c.NAMESPACE, c.POD, c.OWNER_KIND, c.OWNER_NAME).unique().iter_rows()}  # fmt: skip
    for obj in objects:
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        if obj["kind"] == "Pod":
            key = (*owner_of.get((ns, name), ("", "")), ns)
            spec = obj["spec"]
        elif obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            key = (obj["kind"], name, ns)
            spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if obj["kind"] == "CronJob" else (
                obj["spec"]["template"]["spec"])  # fmt: skip
        else:
            continue
        for container, env_key, value in wanted.get((key[0], key[2], key[1]), []):
            for target in spec.get("containers", []):
                if target["name"] == container:
                    target.setdefault("env", []).append({"name": env_key, "value": value})


def _namespaces_and_nodes(ds: Dataset, labels: dict[tuple[str, str, str], dict[str, str]]) -> list[Obj]:
    out: list[Obj] = []
    for (kind, _, name), lab in sorted(labels.items()):
        if kind == "Namespace":
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": _meta(name, None, kind=kind, created=None, labels=lab),
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }
            )
    for row in ds.nodes.iter_rows(named=True):
        name = row[c.NODE]
        capacity = {"cpu": format_cpu(row[c.CPU_CAPACITY_CORES]), "memory": str(row[c.MEMORY_CAPACITY_BYTES]),
                    "pods": str(row[c.PODS_CAPACITY])}  # fmt: skip
        allocatable = {
            "cpu": format_cpu(row[c.CPU_ALLOCATABLE_CORES]),
            "memory": str(row[c.MEMORY_ALLOCATABLE_BYTES]),
            "pods": str(row[c.PODS_ALLOCATABLE]),
        }
        out.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": _meta(name, None, kind="Node", created=None, labels=labels.get(("Node", "", name), {})),
            "spec": {"providerID": f"k3s://{name}"},
            "status": {"capacity": capacity, "allocatable": allocatable,
                       "nodeInfo": {"architecture": row[c.ARCH], "operatingSystem": "linux", "kubeletVersion":
                                    "v1.32.0+k3s1", "bootID": "", "containerRuntimeVersion": "containerd://1.7",
                                    "kernelVersion": "6.6", "kubeProxyVersion": "", "machineID": "",
                                    "osImage": "Debian GNU/Linux 12", "systemUUID": ""},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        })  # fmt: skip
    return out


_API = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
        "CronJob": "batch/v1", "Job": "batch/v1"}  # fmt: skip


def _template_containers(by_pod: dict[tuple[str, str], list[dict[str, Any]]], ns: str, kind: str,
                         name: str) -> list[dict[str, Any]]:  # fmt: skip
    """The containers of the workload's newest pod (its current template)."""
    pods = [rows for (pns, _), rows in by_pod.items() if pns == ns and rows[0][c.OWNER_KIND] == kind
            and rows[0][c.OWNER_NAME] == name]  # fmt: skip
    return max(pods, key=lambda rows: rows[0][c.START_TIME]) if pods else []


def _workloads(ds: Dataset, labels: dict[tuple[str, str, str], dict[str, str]],
               refs: dict[tuple[str, str, str], set[tuple[str, str]]],
               by_pod: dict[tuple[str, str], list[dict[str, Any]]]) -> list[Obj]:  # fmt: skip
    out: list[Obj] = []
    for row in ds.workloads.iter_rows(named=True):
        ns, kind, name = row[c.NAMESPACE], row[c.KIND], row[c.NAME]
        if kind not in _API:
            continue
        lab = labels.get((kind, ns, name), {})
        selector = {"app": lab.get("app", name)}
        template = {"metadata": {"labels": {**lab, **selector}},
                    "spec": _pod_spec(_template_containers(by_pod, ns, kind, name), refs.get((kind, ns, name), set()),
                                      pod=None)}  # fmt: skip
        meta = _meta(name, ns, kind=kind, created=row[c.CREATED_AT], labels=lab)
        spec: Obj
        status: Obj = {}
        if kind == "CronJob":
            template["spec"]["restartPolicy"] = "OnFailure"
            spec = {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": template}}}
        elif kind == "DaemonSet":
            spec = {"selector": {"matchLabels": selector}, "template": template}
            status = {
                "desiredNumberScheduled": row[c.DESIRED_REPLICAS],
                "currentNumberScheduled": row[c.DESIRED_REPLICAS],
                "numberMisscheduled": 0,
                "numberReady": row[c.DESIRED_REPLICAS],
            }
        else:
            spec = {"replicas": row[c.DESIRED_REPLICAS], "selector": {"matchLabels": selector}, "template": template}
            if kind == "StatefulSet":
                spec["serviceName"] = name
        obj: Obj = {"apiVersion": _API[kind], "kind": kind, "metadata": meta, "spec": spec}
        if status:
            obj["status"] = status
        out.append(obj)
        if row[c.HPA_MIN_REPLICAS] is not None:
            hpa_spec: Obj = {
                "scaleTargetRef": {"apiVersion": _API[kind], "kind": kind, "name": name},
                "minReplicas": row[c.HPA_MIN_REPLICAS],
                "maxReplicas": row[c.HPA_MAX_REPLICAS],
            }
            if row[c.HPA_TARGET_CPU_UTILIZATION] is not None:
                hpa_spec["metrics"] = [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": round(row[c.HPA_TARGET_CPU_UTILIZATION]),
                            },
                        },
                    }
                ]
            out.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": _meta(name, ns, kind="HorizontalPodAutoscaler", created=row[c.CREATED_AT],
                                          labels={}), "spec": hpa_spec})  # fmt: skip
    return out


def _pods(ds: Dataset, labels: dict[tuple[str, str, str], dict[str, str]],
          refs: dict[tuple[str, str, str], set[tuple[str, str]]], by_pod: dict[tuple[str, str], list[dict[str, Any]]],
          events: dict[tuple[str, str, str], list[tuple[datetime, str]]], end: datetime) -> list[Obj]:  # fmt: skip
    out: list[Obj] = []
    replicasets: dict[tuple[str, str], tuple[str, dict[str, str], datetime]] = {}
    jobs = {(ns, name) for kind, ns, name in ds.table(schema.OBJECTS).select(c.KIND, c.NAMESPACE, c.NAME).iter_rows()
            if kind == "Job"}  # fmt: skip
    for (ns, pod), rows in sorted(by_pod.items()):
        first = rows[0]
        kind, owner = first[c.OWNER_KIND], first[c.OWNER_NAME]
        lab = labels.get(("Pod", ns, pod), {})
        meta = _meta(pod, ns, kind="Pod", created=first[c.START_TIME], labels=lab)
        meta["uid"] = first[c.POD_UID]
        if kind == "Deployment":
            rs = f"{owner}-{lab['pod-template-hash']}"
            replicasets.setdefault((ns, rs), (owner, lab, first[c.START_TIME]))
            meta["ownerReferences"] = _owner("ReplicaSet", "apps/v1", ns, rs)
        elif kind == "CronJob" and (ns, lab.get("job-name", "")) in jobs:
            meta["ownerReferences"] = _owner("Job", "batch/v1", ns, lab["job-name"])
        elif kind in _API:
            meta["ownerReferences"] = _owner(kind, _API[kind], ns, owner)
        ended = first[c.END_TIME]
        is_job = kind in ("CronJob", "Job")
        deleting = ended is not None and not is_job
        if deleting:
            meta["deletionTimestamp"] = _ts(ended)
            meta["deletionGracePeriodSeconds"] = 30
        spec = _pod_spec(rows, refs.get(("Pod", ns, pod), set()), pod=pod)
        spec["nodeName"] = first[c.NODE]
        spec["restartPolicy"] = "OnFailure" if is_job else "Always"
        statuses = [_container_status(r, events.get((ns, pod, r[c.CONTAINER]), []), ended=ended, deleting=deleting,
                                      job=is_job) for r in rows]  # fmt: skip
        status: Obj = {
            "phase": "Running" if ended is None else "Succeeded",
            "qosClass": first[c.QOS_CLASS],
            "startTime": _ts(first[c.START_TIME]),
            "containerStatuses": [s for s, r in zip(statuses, rows, strict=True) if not r[c.INIT_CONTAINER]],
            "conditions": [{"type": "Ready", "status": "True" if ended is None else "False"}],
        }
        inits = [s for s, r in zip(statuses, rows, strict=True) if r[c.INIT_CONTAINER]]
        if inits:
            status["initContainerStatuses"] = inits
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})
    for (ns, rs), (owner, lab, created) in sorted(replicasets.items()):
        template_hash = rs[len(owner) + 1 :]
        selector = {"app": lab.get("app", owner), "pod-template-hash": template_hash}
        pods_now = sum(1 for (pns, _), rows in by_pod.items() if pns == ns and rows[0][c.END_TIME] is None and
                       rows[0][c.OWNER_NAME] == owner and labels.get(("Pod", pns, _), {}).get("pod-template-hash")
                       == template_hash)  # fmt: skip
        meta = _meta(rs, ns, kind="ReplicaSet", created=created, labels={**lab})
        meta["ownerReferences"] = _owner("Deployment", "apps/v1", ns, owner)
        out.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {
            "replicas": pods_now, "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**lab}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}},
            "status": {"replicas": pods_now}})  # fmt: skip
    return out


def _plain_objects(ds: Dataset, refs: dict[tuple[str, str, str], set[tuple[str, str]]]) -> list[Obj]:
    out: list[Obj] = []
    ip = 0
    for row in ds.table(schema.OBJECTS).iter_rows(named=True):
        kind, ns, name, created = row[c.KIND], row[c.NAMESPACE], row[c.NAME], row[c.CREATED_AT]
        meta = _meta(name, ns, kind=kind, created=created, labels={})
        if kind == "ConfigMap":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {"config": "simulated"}})
        elif kind == "Secret":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "type": row[c.TYPE] or "Opaque",
                        "data": {"password": "c2ltdWxhdGVk"}})  # fmt: skip
        elif kind == "ServiceAccount":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta})
        elif kind == "Ingress":
            backends = sorted(n for k, n in refs.get(("Ingress", ns, name), set()) if k == "Service")
            paths = [
                {
                    "path": f"/{i}" if i else "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": svc, "port": {"number": 80}}},
                }
                for i, svc in enumerate(backends)
            ]
            out.append({"apiVersion": "networking.k8s.io/v1", "kind": kind, "metadata": meta,
                        "spec": {"ingressClassName": "traefik", "rules": [{"http": {"paths": paths}}]}})  # fmt: skip
        elif kind == "Job":
            cron = next((fn for (fk, fns, fn), to in refs.items() if fk == "CronJob" and fns == ns
                         and ("Job", name) in to), None)  # fmt: skip
            meta["labels"] = {"job-name": name}
            if cron is not None:
                meta["ownerReferences"] = _owner("CronJob", "batch/v1", ns, cron)
            status: Obj = {"startTime": _ts(created)}
            if row[c.STATUS] in ("Complete", "Failed"):
                when = _ts(row[c.FINISHED_AT])
                status["conditions"] = [{"type": row[c.STATUS], "status": "True", "lastTransitionTime": when}]
                if row[c.STATUS] == "Complete":
                    status["completionTime"] = when
                    status["succeeded"] = 1
            out.append({"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": {"template": {
                "metadata": {"labels": {"job-name": name}},
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "job", "image": "x"}]}}},
                "status": status})  # fmt: skip
        elif kind == "Service":
            pods = sorted(n for k, n in refs.get(("Service", ns, name), set()) if k == "Pod")
            service: Obj = {"type": row[c.TYPE] or "ClusterIP", "ports": [{"name": "http", "port": 80,
                                                                           "protocol": "TCP"}]}  # fmt: skip
            if row[c.SELECTOR]:
                service["selector"] = parse_selector(row[c.SELECTOR])
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": service})
            endpoints: list[Obj] = []
            for pod in pods:
                ip += 1
                endpoints.append({"addresses": [f"10.42.{ip // 250}.{ip % 250 + 2}"], "conditions": {"ready": True},
                                  "targetRef": {"kind": "Pod", "namespace": ns, "name": pod,
                                                "uid": _uid("Pod", ns, pod)}})  # fmt: skip
            for _ in range(max(0, (row[c.ENDPOINTS] or 0) - len(pods))):  # e.g. the API server behind `kubernetes`
                ip += 1
                endpoints.append({"addresses": [f"192.168.1.{ip % 250 + 2}"], "conditions": {"ready": True}})
            slice_meta = _meta(
                f"{name}-{_uid('eps', ns, name)[:5]}",
                ns,
                kind="EndpointSlice",
                created=created,
                labels={
                    "kubernetes.io/service-name": name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
            )
            out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": slice_meta,
                        "addressType": "IPv4", "endpoints": endpoints,
                        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]})  # fmt: skip
    return out


def _volumes(ds: Dataset) -> list[Obj]:
    out: list[Obj] = []
    volumes = ds.table(schema.VOLUMES)
    for klass in sorted(set(volumes.get_column(c.STORAGE_CLASS).to_list()) - {""}):
        out.append({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": _meta(klass, None, kind="StorageClass", created=None, labels={}),
                    "provisioner": PROVISIONERS.get(klass, f"{klass}.example.com"), "reclaimPolicy": "Delete",
                    "volumeBindingMode": "WaitForFirstConsumer"})  # fmt: skip
    for row in volumes.iter_rows(named=True):
        ns, pvc, pv, size = row[c.NAMESPACE], row[c.PVC], row[c.PV], str(row[c.CAPACITY_BYTES])
        if pvc:
            spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                         "storageClassName": row[c.STORAGE_CLASS]}  # fmt: skip
            if pv:
                spec["volumeName"] = pv
            status: Obj = {"phase": row[c.PVC_PHASE]}
            if pv:
                status["capacity"] = {"storage": size}
                status["accessModes"] = ["ReadWriteOnce"]
            out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": _meta(pvc, ns, kind="PersistentVolumeClaim", created=row[c.CREATED_AT], labels={}),
                        "spec": spec, "status": status})  # fmt: skip
        if pv:
            pv_spec: Obj = {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": row[c.RECLAIM_POLICY],
                "storageClassName": row[c.STORAGE_CLASS],
                "hostPath": {"path": f"/var/lib/volumes/{pv}"},
            }
            claim_ns, claim = (ns, pvc) if pvc else ("default", pv.removeprefix("pvc-"))
            pv_spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": claim_ns, "name": claim,
                                   "uid": _uid("PersistentVolumeClaim", claim_ns, claim)}  # fmt: skip
            out.append({"apiVersion": "v1", "kind": "PersistentVolume",
                        "metadata": _meta(pv, None, kind="PersistentVolume", created=row[c.CREATED_AT], labels={}),
                        "spec": pv_spec, "status": {"phase": row[c.PV_PHASE]}})  # fmt: skip
    return out


def as_list(objects: list[Obj]) -> Obj:
    """The objects as kubectl prints several kinds: one ``kind: List``."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects}


def metrics_at(ds: Dataset, at: datetime) -> tuple[list[Obj], list[Obj]]:
    """metrics.k8s.io PodMetrics and NodeMetrics of the usage sample at ``at`` (window 30 s, like metrics-server)."""
    usage = ds.usage.filter(pl.col(c.TIMESTAMP) == at).collect()
    pods: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for ns, pod, container, cores, working_set in (
        usage.select(c.NAMESPACE, c.POD, c.CONTAINER, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES)
        .sort(c.NAMESPACE, c.POD, c.CONTAINER)
        .iter_rows()
    ):
        pods[(ns, pod)].append({"name": container, "usage": {"cpu": f"{round(cores * 1e9)}n",
                                                             "memory": f"{round(working_set / 1024)}Ki"}})  # fmt: skip
    stamp = _ts(at)
    pod_metrics = [
        {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": ns, "creationTimestamp": stamp},
            "timestamp": stamp,
            "window": "30s",
            "containers": cts,
        }
        for (ns, pod), cts in pods.items()
    ]
    nodes = ds.node_usage.filter(pl.col(c.TIMESTAMP) == at).collect()
    node_metrics = [{"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
                     "metadata": {"name": node, "creationTimestamp": stamp}, "timestamp": stamp, "window": "30s",
                     "usage": {"cpu": f"{round(cores * 1e9)}n", "memory": f"{round(used / 1024)}Ki"}}
                    for node, cores, used in nodes.select(c.NODE, c.CPU_USAGE_CORES, c.MEMORY_USED_BYTES).sort(c.NODE)
                    .iter_rows()]  # fmt: skip
    return pod_metrics, node_metrics
