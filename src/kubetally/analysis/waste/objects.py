"""Rules over the objects and references frames: orphans, scaled-to-zero workloads and what only they use."""

from __future__ import annotations

import re

import polars as pl

from kubetally.analysis.waste.core import RESOURCE, Context, Finding, gib, kubectl
from kubetally.model import columns as c
from kubetally.model import schema

SECTION = "objects"
NO_SPECS = (
    "the dataset has objects but not what references them (Prometheus: kube-state-metrics exports no "
    "reference paths); give --kube-dump or --kubeconfig"
)
_CLAIM_ORDINAL = re.compile(r"^(?P<prefix>.+)-\d+$")


def _claim_users(ctx: Context, cluster: str, namespace: str, claim: str) -> set[tuple[str, str, str]]:
    """Who names a PVC: volumes of pods and templates, and a StatefulSet template whose prefix it carries."""
    users = set(ctx.referenced.get((cluster, namespace, "PersistentVolumeClaim", claim), set()))
    if m := _CLAIM_ORDINAL.match(claim):
        users |= ctx.referenced.get((cluster, namespace, "PersistentVolumeClaim", m["prefix"]), set())
    return users


def _exclusive(ctx: Context, row: dict[str, object]) -> tuple[list[tuple[str, str]], float]:
    """Objects only this workload names (its Services, ConfigMaps, Secrets, PVCs) and their storage bytes."""
    cluster, ns, kind, name = str(row[c.CLUSTER]), str(row[c.NAMESPACE]), str(row[c.KIND]), str(row[c.NAME])
    me = {(kind, name)}
    out: list[tuple[str, str]] = []
    for (cl, rns, to_kind, to_name), users in sorted(ctx.referenced.items()):
        if cl != cluster or rns != ns or to_kind not in ("ConfigMap", "Secret"):
            continue
        if to_name == "kube-root-ca.crt":
            continue
        if users and {(k, n) for k, n, _ in users} == me:
            out.append((to_kind, to_name))
    services = ctx.objects.filter(
        (pl.col(c.CLUSTER) == cluster) & (pl.col(c.NAMESPACE) == ns) & (pl.col(c.KIND) == "Service")
    )
    for svc in services.iter_rows(named=True):
        if svc[c.SELECTOR] and set(ctx.selected_by(cluster, ns, svc[c.SELECTOR])) == me:
            out.append(("Service", svc[c.NAME]))
    storage = 0.0
    vols = ctx.ds.table(schema.VOLUMES).filter((pl.col(c.CLUSTER) == cluster) & (pl.col(c.NAMESPACE) == ns))
    for vol in vols.iter_rows(named=True):
        claimants = {(k, n) for k, n, _ in _claim_users(ctx, cluster, ns, vol[c.PVC])}
        if vol[c.PVC] and claimants == me:
            out.append(("PersistentVolumeClaim", vol[c.PVC]))
            storage += ctx.storage_cost(vol[c.STORAGE_CLASS], vol[c.CAPACITY_BYTES]) or 0.0
    return sorted(set(out)), storage


def scaled_to_zero(ctx: Context) -> list[Finding]:
    """Deployments and StatefulSets at 0 replicas with no pod for ``scaled_to_zero_days`` or more."""
    wl = ctx.ds.workloads.filter(pl.col(c.KIND).is_in(["Deployment", "StatefulSet"]))
    ctx.count("compute", wl.height)
    pods = ctx.ds.containers.select(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME).unique()
    running = {tuple(r) for r in pods.iter_rows()}
    out = []
    days = ctx.window_days
    for row in wl.filter(pl.col(c.DESIRED_REPLICAS) == 0).iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.KIND], row[c.NAME])
        if key in running or days < ctx.settings.scaled_to_zero_days:
            continue
        related, storage = _exclusive(ctx, row)
        priced = ctx.book is not None
        names = " ".join(f"{RESOURCE.get(k, k.lower())}/{n}" for k, n in related)
        remediation = kubectl("delete", row[c.KIND], row[c.NAMESPACE], row[c.NAME])
        if related:
            remediation = f"kubectl -n {row[c.NAMESPACE]} delete {RESOURCE[row[c.KIND]]}/{row[c.NAME]} {names}"
        out.append(
            Finding(
                row[c.CLUSTER],
                "compute",
                "scaled-to-zero",
                "low",
                row[c.NAMESPACE],
                row[c.KIND],
                row[c.NAME],
                f"spec.replicas 0 and no pod in the {days:.0f}-day window"
                + (f"; only it uses {', '.join(f'{k}/{n}' for k, n in related)}" if related else ""),
                remediation,
                monthly_cost=round(storage, 2) if priced else None,
                related=tuple(f"{k}/{n}" for k, n in related),
            )
        )
    return out


def orphaned_configmaps_and_secrets(ctx: Context) -> list[Finding]:
    """ConfigMaps and Secrets no reference path names, minus the built-in exclusions."""
    if not ctx.specs_known:
        ctx.unjudged("orphaned-configmap, orphaned-secret", NO_SPECS)
        return []
    ex = ctx.settings.orphans
    objs = ctx.objects.filter(pl.col(c.KIND).is_in(["ConfigMap", "Secret"]))
    ctx.count(SECTION, objs.height)
    out = []
    for row in objs.iter_rows(named=True):
        cluster, kind, ns, name = row[c.CLUSTER], row[c.KIND], row[c.NAMESPACE], row[c.NAME]
        if ns in ex.namespaces or (ex.owned and row[c.OWNER_KIND]):
            continue
        if kind == "ConfigMap" and ex.configmap(name):
            continue
        if kind == "Secret" and ex.secret(name, row[c.TYPE]):
            continue
        if ctx.referenced.get((cluster, ns, kind, name)):
            continue
        rule = "orphaned-configmap" if kind == "ConfigMap" else "orphaned-secret"
        age = ""
        if row[c.CREATED_AT] is not None:
            age = f", created {(ctx.end - row[c.CREATED_AT]).days} days before the window end"
        out.append(
            Finding(
                cluster,
                SECTION,
                rule,
                "low" if kind == "ConfigMap" else "medium",
                ns,
                kind,
                name,
                "referenced by no pod, pod template, ServiceAccount, Ingress or Gateway over any path "
                f"(volume, projected, env, envFrom, imagePullSecrets, tls){age}",
                kubectl("delete", kind, ns, name),
            )
        )
    return out


def orphaned_services(ctx: Context) -> list[Finding]:
    """Services with no ready endpoint whose selector matches no pod and no pod template.

    Matches are the labels frame's (pods and controllers) and the source's ``selector`` references
    (Service -> Pod through endpoints, Service -> controller whose template labels match).
    """
    svcs = ctx.objects.filter(pl.col(c.KIND) == "Service")
    if svcs.height and not ctx.specs_known:
        ctx.unjudged("orphaned-service", "Service selectors are not in the dataset (Prometheus: kube-state-metrics "
                     "exports none); give --kube-dump or --kubeconfig")  # fmt: skip
        return []
    ctx.count(SECTION, svcs.height)
    out = []
    for row in svcs.iter_rows(named=True):
        if row[c.TYPE] == "ExternalName" or not row[c.SELECTOR] or (row[c.ENDPOINTS] or 0) > 0:
            continue
        if ctx.selected_by(row[c.CLUSTER], row[c.NAMESPACE], row[c.SELECTOR]):
            continue
        if any(
            path == "selector"
            for _k, _n, path in ctx.referring.get((row[c.CLUSTER], row[c.NAMESPACE], "Service", row[c.NAME]), set())
        ):  # the source matched the selector against pod-template labels
            continue
        lb = row[c.TYPE] == "LoadBalancer"
        out.append(
            Finding(
                row[c.CLUSTER],
                SECTION,
                "orphaned-service",
                "medium" if lb else "low",
                row[c.NAMESPACE],
                "Service",
                row[c.NAME],
                f"0 ready endpoints; selector {row[c.SELECTOR]} matches no pod and no pod template"
                + ("; a LoadBalancer keeps its external load balancer" if lb else ""),
                kubectl("delete", "Service", row[c.NAMESPACE], row[c.NAME]),
            )
        )
    return out


def unused_pvcs(ctx: Context) -> list[Finding]:
    """Claims mounted by no pod and named by no pod template (CronJobs and scaled-to-zero owners count)."""
    vols = ctx.ds.table(schema.VOLUMES).filter(pl.col(c.PVC) != "")
    ctx.count("storage", vols.height)
    mounts = ctx.ds.table(schema.VOLUME_MOUNTS)
    mounted = {(r[c.CLUSTER], r[c.NAMESPACE], r[c.PVC]) for r in mounts.iter_rows(named=True)}
    out = []
    for row in vols.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.PVC])
        if key in mounted or _claim_users(ctx, *key):
            continue
        out.append(
            Finding(
                row[c.CLUSTER],
                "storage",
                "unused-pvc",
                "medium",
                row[c.NAMESPACE],
                "PersistentVolumeClaim",
                row[c.PVC],
                f"{row[c.PVC_PHASE] or 'unknown phase'} {gib(row[c.CAPACITY_BYTES])} claim "
                f"({row[c.STORAGE_CLASS] or 'no class'}) "
                "mounted by no pod in the window and named by no pod template",
                kubectl("delete", "PersistentVolumeClaim", row[c.NAMESPACE], row[c.PVC])
                + (f"  # reclaimPolicy {row[c.RECLAIM_POLICY]}" if row[c.RECLAIM_POLICY] else ""),
                monthly_cost=ctx.storage_cost(row[c.STORAGE_CLASS], row[c.CAPACITY_BYTES]),
            )
        )
    return out


def released_pvs(ctx: Context) -> list[Finding]:
    """PersistentVolumes in phase Released or Available: paid for, bound to nothing."""
    vols = ctx.ds.table(schema.VOLUMES).filter(pl.col(c.PV) != "")
    ctx.count("storage", vols.height)
    out = []
    for row in vols.filter(pl.col(c.PV_PHASE).is_in(["Released", "Available"])).iter_rows(named=True):
        retain = row[c.RECLAIM_POLICY] == "Retain"
        out.append(
            Finding(
                row[c.CLUSTER],
                "storage",
                "released-pv",
                "medium",
                "",
                "PersistentVolume",
                row[c.PV],
                f"{gib(row[c.CAPACITY_BYTES])} volume ({row[c.STORAGE_CLASS] or 'no class'}) "
                f"in phase {row[c.PV_PHASE]}, "
                f"reclaimPolicy {row[c.RECLAIM_POLICY] or 'unknown'}",
                kubectl("delete", "PersistentVolume", "", row[c.PV])
                + ("  # Retain: then delete the backing disk in the storage backend" if retain else ""),
                monthly_cost=ctx.storage_cost(row[c.STORAGE_CLASS], row[c.CAPACITY_BYTES]),
            )
        )
    return out
