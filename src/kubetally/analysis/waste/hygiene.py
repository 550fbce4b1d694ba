"""Hygiene rules: workloads outside the labelling policy and containers without requests or limits."""

from __future__ import annotations

import polars as pl

from kubetally.analysis.waste.core import RESOURCE, Context, Finding
from kubetally.model import columns as c

SECTION = "hygiene"
_WL = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME]


def _live_requests(ctx: Context) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """(cluster, namespace, kind, name) -> (cores, bytes) its pods alive at the window end request."""
    live = ctx.ds.containers.filter(
        ~pl.col(c.INIT_CONTAINER) & (pl.col(c.END_TIME).is_null() | (pl.col(c.END_TIME) >= ctx.end))
    )
    sums = live.group_by(_WL).agg(
        pl.col(c.CPU_REQUEST_CORES).fill_null(0).sum().alias("cpu"),
        pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0).sum().alias("mem"),
    )
    return {
        (r[c.CLUSTER], r[c.NAMESPACE], r[c.OWNER_KIND], r[c.OWNER_NAME]): (r["cpu"], float(r["mem"]))
        for r in sums.iter_rows(named=True)
    }


def missing_labels(ctx: Context) -> list[Finding]:
    """Workloads without every label of ``required_labels``; the cost is what their requests hold unowned."""
    s = ctx.settings
    wl = ctx.ds.workloads.filter(~pl.col(c.NAMESPACE).is_in(s.policy_exempt_namespaces))
    ctx.count(SECTION, wl.height)
    requests = _live_requests(ctx)
    out = []
    for row in wl.iter_rows(named=True):
        cluster, ns, kind, name = row[c.CLUSTER], row[c.NAMESPACE], row[c.KIND], row[c.NAME]
        labels = ctx.labels.get((cluster, kind, ns, name), {})
        missing = [label for label in s.required_labels if not labels.get(label)]
        if not missing:
            continue
        cpu, mem = requests.get((cluster, ns, kind, name), (0.0, 0.0))
        placeholders = " ".join(f"{label}=<{label}>" for label in missing)
        out.append(
            Finding(
                cluster,
                SECTION,
                "missing-labels",
                "low",
                ns,
                kind,
                name,
                f"missing {', '.join(missing)} of the labelling policy ({', '.join(s.required_labels)}); "
                "its cost has no owner when grouped by those labels",
                f"kubectl -n {ns} label {RESOURCE.get(kind, kind.lower())} {name} {placeholders}"
                + (
                    ""
                    if kind == "Pod"
                    else "  # and the same labels in the pod template (spec.template.metadata.labels)"
                ),
                monthly_cost=ctx.compute_cost(cluster, cpu, mem),
            )
        )
    return out


def no_requests(ctx: Context) -> list[Finding]:
    """Containers without a CPU or memory request; the cost is what their usage costs (unreserved).

    A container with neither requests nor limits runs as QoS BestEffort: first evicted, invisible
    to the scheduler's bin packing and to request-based showback.
    """
    s = ctx.settings
    inv = ctx.ds.containers.filter(~pl.col(c.INIT_CONTAINER) & ~pl.col(c.NAMESPACE).is_in(s.policy_exempt_namespaces))
    per = inv.group_by([*_WL, c.CONTAINER]).agg(
        pl.col(c.CPU_REQUEST_CORES).is_null().any().alias("no_cpu"),
        pl.col(c.MEMORY_REQUEST_BYTES).is_null().any().alias("no_mem"),
        (pl.col(c.CPU_LIMIT_CORES).is_null() & pl.col(c.MEMORY_LIMIT_BYTES).is_null()).all().alias("no_limits"),
    )
    ctx.count(SECTION, per.height)
    flagged = per.filter(pl.col("no_cpu") | pl.col("no_mem"))
    if flagged.height == 0:
        return []
    window = (pl.col(c.TIMESTAMP) >= ctx.start) & (pl.col(c.TIMESTAMP) < ctx.end)
    keys = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    usage = (
        ctx.ds.usage.filter(window)
        .join(inv.lazy().select(*keys, c.OWNER_KIND, c.OWNER_NAME), on=keys)
        .join(flagged.lazy().select(*_WL, c.CONTAINER), on=[*_WL, c.CONTAINER])
        .group_by([*_WL, c.CONTAINER, c.TIMESTAMP])
        .agg(pl.col(c.CPU_USAGE_CORES).sum().alias("cpu"), pl.col(c.MEMORY_WORKING_SET_BYTES).sum().alias("mem"))
        .group_by([*_WL, c.CONTAINER])
        .agg(pl.col("cpu").mean(), pl.col("mem").mean())
        .collect()
    )
    used = {
        (r[c.CLUSTER], r[c.NAMESPACE], r[c.OWNER_KIND], r[c.OWNER_NAME], r[c.CONTAINER]): (r["cpu"], r["mem"])
        for r in usage.iter_rows(named=True)
    }
    out = []
    for row in flagged.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.OWNER_KIND], row[c.OWNER_NAME], row[c.CONTAINER])
        cluster, ns, kind, name, container = key
        what = [w for w, flag in (("cpu", row["no_cpu"]), ("memory", row["no_mem"])) if flag]
        qos = "; no limits either: QoS BestEffort" if row["no_limits"] else ""
        ref = f"{RESOURCE.get(kind, kind.lower())}/{name}"
        evidence = f"container {container} has no {' and no '.join(what)} request{qos}"
        if key in used:
            cpu, mem = used[key]
            evidence += f"; uses {cpu * 1000:.1f}m CPU and {mem / 2**20:.0f}Mi on average"
            values = f"cpu={max(cpu, 0.001) * 1000:.0f}m,memory={max(mem, 2**20) / 2**20:.0f}Mi"
            cost = ctx.compute_cost(cluster, cpu, mem)
        else:
            evidence += "; no usage samples in the dataset"
            values, cost = "cpu=<cpu>,memory=<memory>", None
        out.append(
            Finding(
                cluster,
                SECTION,
                "no-requests",
                "medium",
                ns,
                kind,
                name,
                evidence,
                f"set requests {values} on container {container} in the manifest that creates pod {name} "
                "(a pod's resources cannot be changed by kubectl set resources)"
                if kind == "Pod"
                else f"kubectl -n {ns} set resources {ref} -c {container} --requests={values}"
                "  # or: kubetally rightsize for percentile-based values",
                monthly_cost=cost,
            )
        )
    return out
