"""Logging rules: debug/trace levels and containers that write too many logs, with the disk they hold.

The write rate of a container is read from its on-disk log bytes (``log_usage``): the sum of the
increases between samples over the time observed. A kubelet rotation makes the bytes drop, and
what was written in that step is unknown; it is taken as the mean increase of the other steps
(without that, a container rotating every other step would look half as chatty as it is). The
disk a container's logs hold is its latest on-disk bytes, priced at the price book's default
storage price (node disks have no StorageClass).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kubetally.analysis.waste.core import RESOURCE, Context, Finding, gib
from kubetally.model import columns as c
from kubetally.model import schema

SECTION = "logging"
_KEY = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER]


@dataclass(frozen=True)
class LogRate:
    written_per_second: float
    """Average bytes/s one instance of the container writes (the busiest pod of the workload)."""
    written_per_day: float
    """Bytes a day all pods of the workload's container write together."""
    on_disk: float
    """Latest on-disk bytes, summed over the workload's pods."""


def log_rates(ctx: Context) -> dict[tuple[str, str, str, str, str], LogRate]:
    """(cluster, namespace, owner kind, owner name, container) -> :class:`LogRate`."""
    window = (pl.col(c.TIMESTAMP) >= ctx.start) & (pl.col(c.TIMESTAMP) < ctx.end)
    owners = ctx.ds.containers.select(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.OWNER_KIND, c.OWNER_NAME).unique(
        [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    )
    per_pod = (
        ctx.ds.series(schema.LOG_USAGE).filter(window)
        .sort(c.TIMESTAMP)
        .group_by([c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER])
        .agg(
            pl.col(c.LOG_BYTES).diff().clip(lower_bound=0).sum().alias("grown"),
            (pl.col(c.LOG_BYTES).diff() > 0).sum().alias("up"),
            (pl.col(c.LOG_BYTES).diff() < 0).sum().alias("rotated"),
            ((pl.col(c.TIMESTAMP).max() - pl.col(c.TIMESTAMP).min()).dt.total_seconds()).alias("seconds"),
            pl.col(c.LOG_BYTES).last().alias("on_disk"),
        )
        .with_columns(
            (pl.col("grown") * (1 + pl.col("rotated") / pl.col("up").clip(lower_bound=1))).alias("written")
        )
        .collect()
        .join(owners, on=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER])
    )  # fmt: skip
    days = max(ctx.window_days, 1e-9)
    out: dict[tuple[str, str, str, str, str], LogRate] = {}
    grouped = per_pod.group_by(_KEY).agg(
        (pl.col("written") / pl.col("seconds").clip(lower_bound=1)).max().alias("rate"),
        pl.col("written").sum().alias("written"),
        pl.col("on_disk").sum().alias("on_disk"),
    )
    for row in grouped.iter_rows(named=True):
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.OWNER_KIND], row[c.OWNER_NAME], row[c.CONTAINER])
        out[key] = LogRate(float(row["rate"]), float(row["written"]) / days, float(row["on_disk"]))
    return out


def is_debug(ctx: Context, source: str, value: str) -> bool:
    """A log-level setting that asks for debug output (``--log-level=debug``, ``LOG_LEVEL=TRACE`` ...)."""
    text = value.split("=", 1)[1] if source == "arg" and "=" in value else value
    return text.strip().strip("'\"").lower() in ctx.settings.log_debug_levels


def _production(ctx: Context, cluster: str, kind: str, namespace: str, name: str) -> bool:
    env = ctx.labels.get((cluster, kind, namespace, name), {}).get(ctx.settings.environment_label, "")
    return env.lower() in ctx.settings.production_values


def _fix(kind: str, namespace: str, name: str, container: str, source: str, key: str) -> str:
    ref = f"{RESOURCE.get(kind, kind.lower())}/{name}"
    if source == "env":
        return f"kubectl -n {namespace} set env {ref} -c {container} {key}=info"
    if source.startswith("configmap:"):
        cm = source.split(":", 1)[1]
        patch = '{"data":{"' + key + '":"info"}}'
        return (
            f"kubectl -n {namespace} patch configmap {cm} --type merge -p '{patch}' && "
            f"kubectl -n {namespace} rollout restart {ref}"
        )
    return f"kubectl -n {namespace} edit {ref}  # container {container}: arg {key} to an info level"


def _disk_cost(ctx: Context, on_disk: float) -> float | None:
    return ctx.storage_cost("", on_disk)


def _median_rate(rates: dict[tuple[str, str, str, str, str], LogRate]) -> float:
    values = sorted(r.written_per_second for r in rates.values())
    return values[len(values) // 2] if values else 0.0


def _rate_text(rate: LogRate, median: float) -> str:
    times = f" ({rate.written_per_second / median:.0f}x the median container)" if median > 0 else ""
    return (
        f"writes {rate.written_per_second / 1000:.1f} kB/s of logs{times}, {gib(rate.written_per_day)}/day; "
        f"{gib(rate.on_disk)} on disk now"
    )


def debug_logging(ctx: Context) -> list[Finding]:
    """Debug/trace log levels in production workloads, or anywhere they make a container chatty.

    ``debug-logging``: a container sets a level of ``log_debug_levels`` (env var, arg or a
    ConfigMap key it loads) and its workload is production or writes more than
    ``log_bytes_per_second``. ``chatty-logs``: any other container above that rate.
    """
    s = ctx.settings
    rates = log_rates(ctx)
    median = _median_rate(rates)
    settings = ctx.ds.table(schema.LOG_SETTINGS)
    ctx.count(SECTION, len(rates))
    out: list[Finding] = []
    debug_keys: set[tuple[str, str, str, str, str]] = set()
    for row in settings.iter_rows(named=True):
        if not is_debug(ctx, row[c.SOURCE], row[c.VALUE]):
            continue
        key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.OWNER_KIND], row[c.OWNER_NAME], row[c.CONTAINER])
        cluster, ns, kind, name, container = key
        rate = rates.get(key)
        production = _production(ctx, cluster, kind, ns, name)
        chatty = rate is not None and rate.written_per_second > s.log_bytes_per_second
        if not (production or chatty) or key in debug_keys:
            continue
        debug_keys.add(key)
        where = "env" if row[c.SOURCE] == "env" else row[c.SOURCE]
        evidence = (
            f"{row[c.KEY]}={row[c.VALUE]} ({where}, container {container})"
            if row[c.SOURCE] != "arg"
            else (f"arg {row[c.VALUE]} (container {container})")
        )
        evidence += "; production" if production else ""
        if rate is not None:
            evidence += "; " + _rate_text(rate, median)
        out.append(
            Finding(
                cluster,
                SECTION,
                "debug-logging",
                "high" if production else "medium",
                ns,
                kind,
                name,
                evidence,
                _fix(kind, ns, name, container, row[c.SOURCE], row[c.KEY]),
                monthly_cost=_disk_cost(ctx, rate.on_disk if rate else 0.0),
            )
        )
    for key, rate in sorted(rates.items()):
        if key in debug_keys or rate.written_per_second <= s.log_bytes_per_second:
            continue
        cluster, ns, kind, name, container = key
        out.append(
            Finding(
                cluster,
                SECTION,
                "chatty-logs",
                "low",
                ns,
                kind,
                name,
                f"container {container} " + _rate_text(rate, median),
                f"lower the log level or the log volume of container {container}; "
                f"kubectl -n {ns} logs {RESOURCE.get(kind, kind.lower())}/{name} -c {container} --tail=100 "
                "shows what it writes",
                monthly_cost=_disk_cost(ctx, rate.on_disk),
            )
        )
    return out


def log_volume(ctx: Context) -> pl.DataFrame:
    """Log volume per namespace: bytes written a day, bytes on disk and what the disk costs a month."""
    rates = log_rates(ctx)
    per_ns: dict[tuple[str, str], list[float]] = {}
    for (cluster, ns, *_rest), rate in rates.items():
        acc = per_ns.setdefault((cluster, ns), [0.0, 0.0, 0])
        acc[0] += rate.written_per_day
        acc[1] += rate.on_disk
        acc[2] += 1
    rows = [
        {
            c.CLUSTER: cluster,
            c.NAMESPACE: ns,
            "containers": int(n),
            "written_bytes_per_day": round(per_day),
            "on_disk_bytes": round(disk),
            "monthly_cost": _disk_cost(ctx, disk),
        }
        for (cluster, ns), (per_day, disk, n) in sorted(per_ns.items())
    ]
    schema_ = {
        c.CLUSTER: pl.String,
        c.NAMESPACE: pl.String,
        "containers": pl.Int64,
        "written_bytes_per_day": pl.Int64,
        "on_disk_bytes": pl.Int64,
        "monthly_cost": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema_) if rows else pl.DataFrame(schema=schema_)
    return frame.sort("written_bytes_per_day", descending=True)
