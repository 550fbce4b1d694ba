"""kube-state-metrics v2 pod and container series for a batch of pods.

Own labels follow KSM v2; the scrape adds ``container="kube-state-metrics"`` to
pod-level families and the KSM pod/namespace to cluster-scoped ones (honorLabels).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kubetally.model import columns as c
from kubetally.model.promql import sanitize_label_name
from kubetally.simulate.exposition import _ids
from kubetally.simulate.exposition._grid import Grid, Pieces
from kubetally.simulate.exposition._text import Family, Spool, render_labels

POD_INFO = Family("kube_pod_info", "gauge", "Information about pod.")
POD_OWNER = Family("kube_pod_owner", "gauge", "Information about the Pod's owner.")
POD_START = Family("kube_pod_start_time", "gauge", "Start time in unix timestamp for a pod.")
POD_DELETION = Family("kube_pod_deletion_timestamp", "gauge", "Unix deletion timestamp")
POD_PHASE = Family("kube_pod_status_phase", "gauge", "The pods current phase.")
POD_COMPLETION = Family("kube_pod_completion_time", "gauge", "Completion time in unix timestamp for a pod.")
POD_QOS = Family("kube_pod_status_qos_class", "gauge", "The pods current qosClass.")
POD_LABELS = Family("kube_pod_labels", "gauge", "Kubernetes labels converted to Prometheus labels.")
POD_PVC = Family(
    "kube_pod_spec_volumes_persistentvolumeclaims_info",
    "gauge",
    "Information about persistentvolumeclaim volumes in a pod.",
)


def _container_families(prefix: str) -> dict[str, Family]:
    p = f"kube_pod_{prefix}"
    return {
        "info": Family(f"{p}_info", "gauge", "Information about a container in a pod."),
        "req": Family(f"{p}_resource_requests", "gauge", "The number of requested request resource by a container."),
        "lim": Family(f"{p}_resource_limits", "gauge", "The number of requested limit resource by a container."),
        "restarts": Family(f"{p}_status_restarts", "counter", "The number of container restarts per container."),
        "reason": Family(f"{p}_status_last_terminated_reason", "gauge", "Last reason the container was terminated."),
        "ts": Family(f"{p}_status_last_terminated_timestamp", "gauge", "Last terminated time for a container."),
        "now": Family(
            f"{p}_status_terminated_reason",
            "gauge",
            "Describes the reason the container is currently in terminated state.",
        ),
    }


APP = _container_families("container")
INIT = _container_families("init_container")
FAMILIES = (
    POD_INFO, POD_OWNER, POD_START, POD_DELETION, POD_QOS, POD_LABELS, POD_PVC, POD_PHASE, POD_COMPLETION,
    *APP.values(), *INIT.values(),
)  # fmt: skip


@dataclass(frozen=True)
class KsmContext:
    grid: Grid
    targets: _ids.Targets
    node_ips: dict[tuple[str, str], str]
    cluster_label: str | None
    label_allowlist: bool
    host_network_namespaces: tuple[str, ...] = ()
    version: tuple[int, int] = (2, 13)
    """kube-state-metrics (major, minor): which families and labels exist (see ExpositionOptions.ksm_version)."""

    def labels(self, own: dict[str, str], cluster: str) -> str:
        extra = {self.cluster_label: cluster} if self.cluster_label else {}
        return render_labels(_ids.with_targets(own, self.targets.ksm(), extra))


def label_set(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Kubernetes labels as KSM's ``label_*`` (sanitized; collisions get ``_conflictN``)."""
    out: dict[str, str] = {}
    for key, value in sorted(pairs):
        name = "label_" + sanitize_label_name(key)
        if name in out:
            n = 1
            while f"{name}_conflict{n}" in out:
                n += 1
            name = f"{name}_conflict{n}"
        out[name] = value
    return out


def _epoch(value: object) -> float | None:
    return None if value is None else value.timestamp()  # type: ignore[attr-defined]


def _final(
    terms: list[tuple[float, int, str]], restarts: int, ended: float | None, step: int
) -> tuple[float, int, str] | None:
    """The termination a container ended with, not restarted after it (it ended with its pod), else None."""
    if terms and ended is not None and len(terms) > restarts and terms[-1][0] >= ended - step:
        return terms[-1]
    return None


def write_batch(
    spool: Spool,
    ctx: KsmContext,
    containers: pl.DataFrame,
    terminations: dict[tuple[str, str, str, str], list[tuple[float, int, str]]],
    pod_labels: dict[tuple[str, str, str], list[tuple[str, str]]],
    mounts: dict[tuple[str, str, str], list[str]],
) -> None:
    """``terminations[key]``: (time, first grid step start after it, reason), ascending."""
    grid = ctx.grid
    pieces = Pieces()
    finals: dict[tuple[str, str, str], list[tuple[float, int, str]]] = {}
    for row in containers.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.POD], row[c.CONTAINER])
        final = _final(terminations.get(key, []), int(row[c.RESTARTS] or 0), _epoch(row[c.END_TIME]), grid.step)
        if final is not None:
            finals.setdefault(key[:3], []).append(final)
    spans: list[tuple[int, int]] = []
    owners: dict[tuple[str, str, str], int] = {}
    for row in containers.sort(c.CLUSTER, c.NAMESPACE, c.POD, c.INIT_CONTAINER, c.CONTAINER).iter_rows(named=True):
        cluster, namespace, pod, uid = row[c.CLUSTER], row[c.NAMESPACE], row[c.POD], row[c.POD_UID]
        pkey = (cluster, namespace, pod)
        if pkey not in owners:
            owners[pkey] = o = len(spans)
            start, end = _epoch(row[c.START_TIME]), _epoch(row[c.END_TIME])
            spans.append(grid.span(start or grid.start, end))
            ident = {"namespace": namespace, "pod": pod, "uid": uid}
            kind, owner = row[c.OWNER_KIND], row[c.OWNER_NAME]
            created_kind, created_name = kind, owner
            if kind in ("Deployment", "CronJob"):
                created_kind = "ReplicaSet" if kind == "Deployment" else "Job"
                created_name = _ids.parent_name(pod, owner)
            elif kind == "Pod":
                created_kind = created_name = ""
            node = row[c.NODE]
            pieces.add(
                POD_INFO,
                o,
                ctx.labels(
                    {
                        **ident,
                        "host_ip": ctx.node_ips.get((cluster, node), ""),
                        "pod_ip": (
                            ctx.node_ips.get((cluster, node), "")
                            if namespace in ctx.host_network_namespaces
                            else _ids.pod_ip(uid)
                        ),
                        "node": node,
                        "created_by_kind": created_kind,
                        "created_by_name": created_name,
                        "host_network": "true" if namespace in ctx.host_network_namespaces else "false",
                    },
                    cluster,
                ),
                1,
            )
            is_ctrl = "true" if created_kind else ""
            if not created_kind and ctx.version <= (2, 7):
                created_kind = created_name = is_ctrl = "<none>"  # KSM <= 2.7 spelled a missing owner so
            pieces.add(
                POD_OWNER,
                o,
                ctx.labels(
                    {**ident, "owner_kind": created_kind, "owner_name": created_name, "owner_is_controller": is_ctrl},
                    cluster,
                ),
                1,
            )
            if start is not None:
                pieces.add(POD_START, o, ctx.labels(ident, cluster), start)
            if end is not None:
                last = spans[o][1]
                pieces.add(POD_DELETION, o, ctx.labels(ident, cluster), end, last, last + 1)
            ended_by = finals.get(pkey, [])
            running = {**ident, "phase": "Running"}
            if ended_by:
                # the pod's containers ended and none restarts: Succeeded (all Completed) or Failed, at the step after
                done = min(max(b for _, b, _ in ended_by), spans[o][1])
                phase = "Succeeded" if all(r == "Completed" for _, _, r in ended_by) else "Failed"
                pieces.add(POD_PHASE, o, ctx.labels(running, cluster), 1, 0, done)
                pieces.add(POD_PHASE, o, ctx.labels({**ident, "phase": phase}, cluster), 1, done)
                pieces.add(POD_COMPLETION, o, ctx.labels(ident, cluster), max(w for w, _, _ in ended_by), done)
            else:
                pieces.add(POD_PHASE, o, ctx.labels(running, cluster), 1)
            if ctx.version >= (2, 8):
                pieces.add(POD_QOS, o, ctx.labels({**ident, "qos_class": row[c.QOS_CLASS]}, cluster), 1)
            if ctx.label_allowlist and pkey in pod_labels:
                pieces.add(POD_LABELS, o, ctx.labels({**ident, **label_set(pod_labels[pkey])}, cluster), 1)
            for claim in mounts.get(pkey, []):
                pieces.add(
                    POD_PVC, o, ctx.labels({**ident, "volume": claim, "persistentvolumeclaim": claim}, cluster), 1
                )
        o = owners[pkey]
        fam = INIT if row[c.INIT_CONTAINER] else APP
        container = row[c.CONTAINER]
        cident = {"namespace": namespace, "pod": pod, "uid": uid, "container": container}
        terms = terminations.get((cluster, namespace, pod, container), [])
        bounds = [b for _, b, _ in terms]
        # container_id changes at every restart, like cAdvisor's name/id.
        edges = [0, *bounds, 1 << 62]
        for seg in range(len(edges) - 1):
            cid = _ids.container_id(uid, container, seg)
            info = {**cident, "image_spec": row[c.IMAGE], "image": row[c.IMAGE], "container_id": f"containerd://{cid}"}
            pieces.add(fam["info"], o, ctx.labels(info, cluster), 1, edges[seg], edges[seg + 1])
        res = {**cident, "node": row[c.NODE]}
        for col, family, resource, unit in (
            (c.CPU_REQUEST_CORES, "req", "cpu", "core"),
            (c.MEMORY_REQUEST_BYTES, "req", "memory", "byte"),
            (c.CPU_LIMIT_CORES, "lim", "cpu", "core"),
            (c.MEMORY_LIMIT_BYTES, "lim", "memory", "byte"),
        ):
            if row[col] is not None:
                pieces.add(fam[family], o, ctx.labels({**res, "resource": resource, "unit": unit}, cluster), row[col])
        total = int(row[c.RESTARTS] or 0)
        for i in range(len(edges) - 1):
            value = max(total - (len(bounds) - i), 0)
            pieces.add(fam["restarts"], o, ctx.labels(cident, cluster), value, edges[i], edges[i + 1])
        # A container that ended with its pod and was not restarted (a Job pod) is terminated now: KSM shows it in
        # status_terminated_reason (state.terminated), never in the last_terminated families (lastState, set on
        # a restart).
        final = _final(terms, total, _epoch(row[c.END_TIME]), grid.step)
        if final is not None:
            when, bound, reason = final
            pieces.add(fam["now"], o, ctx.labels({**cident, "reason": reason}, cluster), 1, bound, edges[-1])
            terms = terms[:-1]
        if terms:
            for i, (when, bound, reason) in enumerate(terms):
                hi = edges[i + 2]
                pieces.add(fam["reason"], o, ctx.labels({**cident, "reason": reason}, cluster), 1, bound, hi)
                if fam is APP and ctx.version >= (2, 12):
                    pieces.add(fam["ts"], o, ctx.labels(cident, cluster), when, bound, hi)
        elif row[c.LAST_TERMINATION_REASON]:
            pieces.add(fam["reason"], o, ctx.labels({**cident, "reason": row[c.LAST_TERMINATION_REASON]}, cluster), 1)
    pieces.write(spool, grid, spans, FAMILIES)
