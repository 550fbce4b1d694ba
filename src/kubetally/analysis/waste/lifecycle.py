"""Leftovers of a controller's life: finished Jobs, old ReplicaSets, unused ServiceAccounts, HPAs without target."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from kubetally.analysis.waste.core import Context, Finding, kubectl
from kubetally.model import columns as c

SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _kind(ctx: Context, kind: str) -> pl.DataFrame:
    return ctx.objects.filter(pl.col(c.KIND) == kind)


def finished_jobs(ctx: Context) -> list[Finding]:
    """Complete or Failed Jobs without ``ttlSecondsAfterFinished``, finished ``job_finished_hours`` ago or more.

    Jobs a CronJob owns are left out: its history limits delete them.
    """
    jobs = _kind(ctx, "Job")
    if jobs.height and not ctx.specs_known:
        ctx.unjudged("finished-job", "Job TTLs and owners are not in the dataset (Prometheus: kube-state-metrics "
                     "exports neither ttlSecondsAfterFinished nor, here, the owning CronJob); give --kube-dump or "
                     "--kubeconfig")  # fmt: skip
        return []
    ctx.count("compute", jobs.height)
    cutoff = ctx.end - timedelta(hours=ctx.settings.job_finished_hours)
    out = []
    for row in jobs.iter_rows(named=True):
        if row[c.STATUS] not in ("Complete", "Failed") or row[c.TTL_SECONDS_AFTER_FINISHED] is not None:
            continue
        if row[c.OWNER_KIND] == "CronJob" or row[c.FINISHED_AT] is None or row[c.FINISHED_AT] > cutoff:
            continue
        hours = (ctx.end - row[c.FINISHED_AT]).total_seconds() / 3600
        out.append(
            Finding(
                row[c.CLUSTER],
                "compute",
                "finished-job",
                "info",
                row[c.NAMESPACE],
                "Job",
                row[c.NAME],
                f"{row[c.STATUS]} {hours / 24:.1f} days before the window end; no ttlSecondsAfterFinished, "
                "so it and its pods stay until deleted",
                kubectl("delete", "Job", row[c.NAMESPACE], row[c.NAME])
                + "  # and set spec.ttlSecondsAfterFinished in the manifest that creates it",
            )
        )
    return out


def old_replicasets(ctx: Context) -> list[Finding]:
    """ReplicaSets at 0 replicas beyond the newest ``revision_history`` of their Deployment."""
    keep = ctx.settings.revision_history
    sets = _kind(ctx, "ReplicaSet").filter(pl.col(c.OWNER_KIND) == "Deployment")
    ctx.count("compute", sets.height)
    out = []
    for (cluster, ns, owner), group in sets.group_by(c.CLUSTER, c.NAMESPACE, c.OWNER_NAME, maintain_order=True):
        ranked = group.sort(pl.col(c.REVISION).fill_null(0), descending=True)
        for position, row in enumerate(ranked.iter_rows(named=True)):
            if position < keep + 1 or (row[c.REPLICAS] or 0) > 0:  # the current one + the kept history
                continue
            out.append(
                Finding(
                    str(cluster),
                    "compute",
                    "old-replicaset",
                    "info",
                    str(ns),
                    "ReplicaSet",
                    row[c.NAME],
                    f"revision {row[c.REVISION]} of Deployment {owner}, 0 replicas, older than the newest {keep + 1} "
                    "(the current one and the history kept)",
                    kubectl("delete", "ReplicaSet", str(ns), row[c.NAME])
                    + f"  # or set spec.revisionHistoryLimit: {keep} on deployment/{owner}",
                )
            )
    return out


def unused_service_accounts(ctx: Context) -> list[Finding]:
    """ServiceAccounts no pod and no pod template runs as (``default`` and exempt namespaces left out).

    A token of the account may still be used from outside the cluster; the finding says so.
    """
    s = ctx.settings
    accounts = _kind(ctx, "ServiceAccount").filter(
        (pl.col(c.NAME) != "default") & ~pl.col(c.NAMESPACE).is_in(s.policy_exempt_namespaces)
    )
    ctx.count("objects", accounts.height)
    out = []
    for row in accounts.iter_rows(named=True):
        if row[c.OWNER_KIND] and s.orphans.owned:
            continue
        users = ctx.referenced.get((row[c.CLUSTER], row[c.NAMESPACE], "ServiceAccount", row[c.NAME]), set())
        if users:
            continue
        out.append(
            Finding(
                row[c.CLUSTER],
                "objects",
                "unused-serviceaccount",
                "info",
                row[c.NAMESPACE],
                "ServiceAccount",
                row[c.NAME],
                "no pod or pod template runs as it (check that no token of it is used from outside the cluster)",
                kubectl("delete", "ServiceAccount", row[c.NAMESPACE], row[c.NAME]),
            )
        )
    return out


def hpa_missing_target(ctx: Context) -> list[Finding]:
    """HorizontalPodAutoscalers whose scaleTargetRef names no object of the namespace."""
    hpas = _kind(ctx, "HorizontalPodAutoscaler")
    ctx.count("objects", hpas.height)
    if hpas.height == 0:
        return []
    known = {(r[c.CLUSTER], r[c.NAMESPACE], r[c.KIND], r[c.NAME]) for r in ctx.ds.workloads.iter_rows(named=True)}
    known |= {(r[c.CLUSTER], r[c.NAMESPACE], r[c.KIND], r[c.NAME]) for r in ctx.objects.iter_rows(named=True)}
    refs = ctx.references.filter(
        (pl.col(c.FROM_KIND) == "HorizontalPodAutoscaler") & (pl.col(c.PATH) == "scaleTargetRef")
    )
    targets = {
        (r[c.CLUSTER], r[c.NAMESPACE], r[c.FROM_NAME]): (r[c.TO_KIND], r[c.TO_NAME]) for r in refs.iter_rows(named=True)
    }
    out = []
    for row in hpas.iter_rows(named=True):
        target = targets.get((row[c.CLUSTER], row[c.NAMESPACE], row[c.NAME]))
        if target is None or target[0] not in SCALABLE or (row[c.CLUSTER], row[c.NAMESPACE], *target) in known:
            continue
        out.append(
            Finding(
                row[c.CLUSTER],
                "objects",
                "hpa-missing-target",
                "low",
                row[c.NAMESPACE],
                "HorizontalPodAutoscaler",
                row[c.NAME],
                f"scaleTargetRef {target[0]}/{target[1]} does not exist",
                kubectl("delete", "HorizontalPodAutoscaler", row[c.NAMESPACE], row[c.NAME]),
            )
        )
    return out
