"""Idle workloads: pods that run all window, request resources and do nothing with them."""

from __future__ import annotations

import polars as pl

from kubetally.analysis.waste.core import Context, Finding, kubectl
from kubetally.model import columns as c
from kubetally.model import schema

_WL = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME]
BATCH = ("Job", "CronJob", "Pod")


def idle_workloads(ctx: Context) -> list[Finding]:
    """CPU p95 below ``idle_cpu_ratio`` of the request and network p95 below the threshold, all window.

    Per step, a workload's CPU is the sum over its containers and its network the sum over its
    pods; the percentile is over the steps its pods ran. Jobs, CronJobs and bare pods are not
    judged (they are idle between runs by design). The cost is what its requests hold reserved.
    """
    s = ctx.settings
    q = s.idle_percentile
    inv = ctx.ds.containers.filter(~pl.col(c.INIT_CONTAINER) & ~pl.col(c.OWNER_KIND).is_in(BATCH))
    window = (pl.col(c.TIMESTAMP) >= ctx.start) & (pl.col(c.TIMESTAMP) < ctx.end)
    pods = inv.select(c.CLUSTER, c.NAMESPACE, c.POD, c.OWNER_KIND, c.OWNER_NAME).unique()
    cpu = (
        ctx.ds.usage.filter(window)
        .join(inv.lazy().select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.OWNER_KIND, c.OWNER_NAME),
              on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER])
        .group_by([*_WL, c.TIMESTAMP]).agg(pl.col(c.CPU_USAGE_CORES).sum().alias("cpu"))
        .group_by(_WL).agg(
            pl.col("cpu").quantile(q, interpolation="linear").alias("cpu_p"),
            pl.col("cpu").mean().alias("cpu_mean"),
            pl.len().alias("steps"),
        )
        .collect()
    )  # fmt: skip
    net = (
        ctx.ds.series(schema.POD_NETWORK).filter(window)
        .join(pods.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.POD])
        .group_by([*_WL, c.TIMESTAMP]).agg(
            (pl.col(c.NETWORK_RECEIVE_BYTES_PER_SECOND) + pl.col(c.NETWORK_TRANSMIT_BYTES_PER_SECOND))
            .sum().alias("net")
        )
        .group_by(_WL).agg(pl.col("net").quantile(q, interpolation="linear").alias("net_p"))
        .collect()
    )  # fmt: skip
    # requests of one replica: the containers of its pods, averaged over the pods seen
    per_pod = inv.group_by([*_WL, c.POD]).agg(
        pl.col(c.CPU_REQUEST_CORES).fill_null(0).sum().alias("cpu_req"),
        pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0).sum().alias("mem_req"),
    )
    live = (
        inv.filter(pl.col(c.END_TIME).is_null() | (pl.col(c.END_TIME) >= ctx.end))
        .group_by(_WL)
        .agg(pl.col(c.POD).n_unique().alias("replicas"))
    )
    req = per_pod.group_by(_WL).agg(pl.col("cpu_req").mean(), pl.col("mem_req").mean())
    step = ctx.ds.info.step_seconds
    table = cpu.join(req, on=_WL).join(live, on=_WL, how="left").join(net, on=_WL, how="left")
    ctx.count("compute", table.height)
    out = []
    for row in table.iter_rows(named=True):
        replicas = row["replicas"] or 0
        if replicas == 0 or row["cpu_req"] <= 0:
            continue
        hours = row["steps"] * step / 3600
        limit_cpu = s.idle_cpu_ratio * row["cpu_req"] * replicas
        net_p = row["net_p"] or 0.0
        if hours < s.idle_min_hours or row["cpu_p"] >= limit_cpu or net_p >= s.idle_network_bytes_per_second:
            continue
        kind, ns, name = row[c.OWNER_KIND], row[c.NAMESPACE], row[c.OWNER_NAME]
        pct = int(q * 100)
        out.append(
            Finding(
                row[c.CLUSTER],
                "compute",
                "idle-workload",
                "medium",
                ns,
                kind,
                name,
                f"{replicas} replica(s) requesting {row['cpu_req'] * 1000:.0f}m CPU / "
                f"{row['mem_req'] / 2**20:.0f}Mi each; "
                f"CPU p{pct} {row['cpu_p'] * 1000:.1f}m (mean {row['cpu_mean'] * 1000:.1f}m) and network p{pct} "
                f"{net_p:.0f} B/s over {hours:.0f}h",
                kubectl("scale", kind, ns, name, "--replicas=0") + f"  # or: {kubectl('delete', kind, ns, name)}",
                monthly_cost=ctx.compute_cost(row[c.CLUSTER], row["cpu_req"] * replicas, row["mem_req"] * replicas),
            )
        )
    return out
