"""Storage rules over the usage series: claims far larger than their data, and tables that keep growing."""

from __future__ import annotations

import polars as pl

from kubetally.analysis.waste.core import Context, Finding, gib, kubectl
from kubetally.model import columns as c
from kubetally.model import schema

SECTION = "storage"
DAYS_PER_MONTH = 730 / 24


def oversized_pvcs(ctx: Context) -> list[Finding]:
    """Claims whose peak used bytes stay below ``pvc_used_ratio`` of capacity (where volume stats exist).

    The cost is the unused part above twice the peak (what a resize to 2x the peak would free).
    """
    s = ctx.settings
    window = (pl.col(c.TIMESTAMP) >= ctx.start) & (pl.col(c.TIMESTAMP) < ctx.end)
    peaks = (
        ctx.ds.series(schema.VOLUME_USAGE).filter(window)
        .group_by(c.CLUSTER, c.NAMESPACE, c.PVC)
        .agg(pl.col(c.USED_BYTES).max().alias("peak"), pl.col(c.USED_BYTES).last().alias("last"))
        .collect()
    )  # fmt: skip
    vols = ctx.ds.table(schema.VOLUMES).filter(pl.col(c.PVC) != "").join(peaks, on=[c.CLUSTER, c.NAMESPACE, c.PVC])
    ctx.count(SECTION, vols.height)
    out = []
    for row in vols.iter_rows(named=True):
        capacity, peak = row[c.CAPACITY_BYTES], row["peak"]
        if capacity < s.pvc_min_bytes or peak >= s.pvc_used_ratio * capacity:
            continue
        target = max(2 * peak, 2**30)
        freed = ctx.storage_cost(row[c.STORAGE_CLASS], max(capacity - target, 0))
        out.append(
            Finding(
                row[c.CLUSTER],
                SECTION,
                "oversized-pvc",
                "low",
                row[c.NAMESPACE],
                "PersistentVolumeClaim",
                row[c.PVC],
                f"{gib(capacity)} claim ({row[c.STORAGE_CLASS] or 'no class'}) used at most {gib(peak)} "
                f"({peak / capacity:.0%}) over the window",
                f"move the data to a {gib(target)} claim (PVCs cannot shrink in place); "
                + kubectl("get", "PersistentVolumeClaim", row[c.NAMESPACE], row[c.PVC], "-o yaml"),
                monthly_cost=freed,
            )
        )
    return out


def growing_tables(ctx: Context) -> list[Finding]:
    """Tables that grow by ``table_growth_ratio_per_day`` of their size and ``table_min_growth_bytes_per_day``.

    Growth is a least-squares line through the table's size over the window. The cost is what a
    month of growth adds to the database volume at its StorageClass price, every month it goes on.
    """
    s = ctx.settings
    window = (pl.col(c.TIMESTAMP) >= ctx.start) & (pl.col(c.TIMESTAMP) < ctx.end)
    t = (pl.col(c.TIMESTAMP) - pl.col(c.TIMESTAMP).min()).dt.total_seconds() / 86400
    size = pl.col(c.SIZE_BYTES)
    fits = (
        ctx.ds.series(schema.DATABASE_USAGE).filter(window & (pl.col(c.TABLE) != ""))
        .sort(c.TIMESTAMP)
        .group_by(c.CLUSTER, c.NAMESPACE, c.POD, c.DATABASE, c.TABLE)
        .agg(
            ((t * size).mean() - t.mean() * size.mean()).alias("cov"),
            ((t * t).mean() - t.mean() ** 2).alias("var"),
            size.first().alias("first"),
            size.last().alias("last"),
            t.max().alias("days"),
        )
        .collect()
    )  # fmt: skip
    ctx.count(SECTION, fits.height)
    mounts = ctx.ds.table(schema.VOLUME_MOUNTS)
    vols = ctx.ds.table(schema.VOLUMES)
    owners = ctx.ds.containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.OWNER_KIND, c.OWNER_NAME).unique(
        [c.CLUSTER, c.NAMESPACE, c.POD]
    )
    out = []
    for row in fits.iter_rows(named=True):
        if not row["var"] or row["days"] < 1:
            continue
        per_day = row["cov"] / row["var"]
        if per_day < s.table_min_growth_bytes_per_day or per_day < s.table_growth_ratio_per_day * row["first"]:
            continue
        cluster, ns, pod = row[c.CLUSTER], row[c.NAMESPACE], row[c.POD]
        claims = mounts.filter((pl.col(c.CLUSTER) == cluster) & (pl.col(c.NAMESPACE) == ns) & (pl.col(c.POD) == pod))
        vol = vols.join(claims.select(c.CLUSTER, c.NAMESPACE, c.PVC), on=[c.CLUSTER, c.NAMESPACE, c.PVC])
        storage_class = vol[c.STORAGE_CLASS][0] if vol.height else ""
        fill = ""
        if vol.height:
            capacity = float(vol[c.CAPACITY_BYTES][0])
            fill = f"; claim {vol[c.PVC][0]} ({gib(capacity)}) gains {per_day / capacity:.1%} of its size a day"
        owner = owners.filter((pl.col(c.CLUSTER) == cluster) & (pl.col(c.NAMESPACE) == ns) & (pl.col(c.POD) == pod))
        kind, name = (owner[c.OWNER_KIND][0], owner[c.OWNER_NAME][0]) if owner.height else ("Pod", pod)
        table = f"{row[c.DATABASE]}.{row[c.TABLE]}"
        out.append(
            Finding(
                cluster,
                SECTION,
                "growing-table",
                "low",
                ns,
                kind,
                name,
                f"table {table} grows {gib(per_day)}/day ({per_day / row['first']:.1%} a day; "
                f"{gib(row['first'])} -> {gib(row['last'])} in {row['days']:.0f} days)" + fill,
                f"add a retention job for {table} (delete or archive old rows, then VACUUM), "
                "or partition it by time and drop old partitions",
                monthly_cost=ctx.storage_cost(storage_class, per_day * DAYS_PER_MONTH),
            )
        )
    return out
