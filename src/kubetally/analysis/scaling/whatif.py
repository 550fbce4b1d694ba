"""HPA what-if over every eligible workload of a Dataset (frames in, frame out)."""

from __future__ import annotations

from typing import Any

import polars as pl

from kubetally.analysis.scaling.demand import WORKLOAD_KEY, pod_requests, workload_demand, workload_labels
from kubetally.analysis.scaling.hpa import HpaSettings, hpa_row
from kubetally.model import columns as c
from kubetally.model.unit_prices import UnitPrices

HPA_SCHEMA: dict[str, pl.DataType] = {
    c.NAMESPACE: pl.String(),
    c.KIND: pl.String(),
    c.NAME: pl.String(),
    c.DESIRED_REPLICAS: pl.Int64(),
    c.CPU_REQUEST_PER_POD_CORES: pl.Float64(),
    c.MEMORY_REQUEST_PER_POD_BYTES: pl.Int64(),
    c.HISTORY_HOURS: pl.Float64(),
    c.HPA_MIN: pl.Int64(),
    c.HPA_MAX: pl.Int64(),
    c.HPA_TARGET_PERCENT: pl.Int64(),
    c.MEAN_DEMAND_CORES: pl.Float64(),
    c.PEAK_DEMAND_CORES: pl.Float64(),
    c.FIXED_REPLICA_HOURS: pl.Float64(),
    c.HPA_REPLICA_HOURS: pl.Float64(),
    c.REPLICA_HOURS_SAVED: pl.Float64(),
    c.SAVED_RATIO: pl.Float64(),
    c.COST_SAVED: pl.Float64(),
    c.MONTHLY_COST_SAVED: pl.Float64(),
    c.RISK_RATIO: pl.Float64(),
    c.FIXED_RISK_RATIO: pl.Float64(),
    c.STATUS: pl.String(),
    c.REASON: pl.String(),
}
"""One row per workload considered; what-if columns are null unless a simulation ran."""


def _recommended_per_pod(recommendations: pl.DataFrame | None) -> pl.DataFrame | None:
    if recommendations is None or recommendations.is_empty():
        return None
    return (
        recommendations.group_by(c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME)
        .agg(
            pl.col(c.RECOMMENDED_CPU_REQUEST_CORES).sum().alias("rec_cpu"),
            pl.col(c.RECOMMENDED_CPU_REQUEST_CORES).is_null().any().alias("rec_cpu_missing"),
            pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).fill_null(0).sum().alias("rec_mem"),
        )
        .rename({c.OWNER_KIND: c.KIND, c.OWNER_NAME: c.NAME})
    )


def _share(flags: pl.Series) -> float:
    return float(flags.cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]


def hpa_whatif(
    *,
    usage: pl.LazyFrame,
    containers: pl.DataFrame,
    workloads: pl.DataFrame,
    labels: pl.DataFrame,
    step_seconds: int,
    settings: HpaSettings,
    prices: UnitPrices,
    recommendations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """HPA what-if per workload at the recommended per-pod CPU request (current when none).

    ``recommendations`` is the right-sizing frame (``kubetally.model.recommendation``).
    """
    candidates = workloads.filter(pl.col(c.KIND).is_in(list(settings.kinds)))
    if candidates.is_empty():
        return pl.DataFrame(schema=HPA_SCHEMA)
    requests = pod_requests(containers)
    rec = _recommended_per_pod(recommendations)
    tiers = workload_labels(labels, containers, "finops_tier").rename({c.VALUE: c.TIER})
    frame = candidates.select(*WORKLOAD_KEY, c.DESIRED_REPLICAS, c.HPA_MIN_REPLICAS).join(
        requests, on=list(WORKLOAD_KEY), how="left"
    )
    frame = frame.join(tiers, on=list(WORKLOAD_KEY), how="left")
    if rec is not None:
        frame = frame.join(rec, on=list(WORKLOAD_KEY), how="left")
    demand = workload_demand(usage, containers.join(candidates.select(c.NAMESPACE).unique(), on=c.NAMESPACE))
    series = dict(demand.partition_by(*WORKLOAD_KEY, as_dict=True))
    rows: list[dict[str, Any]] = []
    for row in frame.sort(*WORKLOAD_KEY).iter_rows(named=True):
        key = (row[c.NAMESPACE], row[c.KIND], row[c.NAME])
        cpu, memory = row[c.CPU_REQUEST_CORES], row[c.MEMORY_REQUEST_BYTES]
        if rec is not None and row.get("rec_cpu") is not None and not row.get("rec_cpu_missing"):
            cpu, memory = row["rec_cpu"], row["rec_mem"]
        values = series.get(key)
        out: dict[str, Any] = {
            c.NAMESPACE: key[0],
            c.KIND: key[1],
            c.NAME: key[2],
            c.DESIRED_REPLICAS: row[c.DESIRED_REPLICAS],
            c.CPU_REQUEST_PER_POD_CORES: cpu,
            c.MEMORY_REQUEST_PER_POD_BYTES: memory,
            c.HISTORY_HOURS: 0.0 if values is None else values.height * step_seconds / 3600.0,
        }
        if row[c.HPA_MIN_REPLICAS] is not None:
            out |= {c.STATUS: "has-hpa", c.REASON: "already scaled by an HPA"}
        elif not row[c.DESIRED_REPLICAS]:
            out |= {c.STATUS: "scaled-to-zero", c.REASON: "0 replicas: nothing to autoscale"}
        elif cpu is None or cpu <= 0:
            out |= {c.STATUS: "no-request", c.REASON: "an HPA on CPU needs a CPU request on every container"}
        elif values is None or out[c.HISTORY_HOURS] < settings.min_history_hours:
            out |= {
                c.STATUS: "not-enough-data",
                c.REASON: f"history {out[c.HISTORY_HOURS]:.1f} h of {settings.min_history_hours:g} h required",
            }
        else:
            out |= hpa_row(
                values[c.CPU_USAGE_CORES].fill_null(0.0).to_numpy(),
                step_seconds=step_seconds,
                fixed_replicas=int(row[c.DESIRED_REPLICAS]),
                censored_ratio=_share(
                    values[c.CPU_THROTTLED_RATIO].fill_null(0.0) > settings.censored_throttling_ratio
                ),
                request_cores=float(cpu),
                memory_bytes=int(memory or 0),
                critical=row[c.TIER] == "critical",
                settings=settings,
                cpu_per_core_hour=prices.cpu_per_core_hour,
                memory_per_gib_hour=prices.memory_per_gib_hour,
                hours_per_month=prices.hours_per_month,
            )
        rows.append(out)
    return pl.DataFrame(rows, schema=HPA_SCHEMA)
