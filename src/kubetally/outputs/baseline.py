"""Baselines: a summary of a stable period, kept to compare a later window with (seed section 3.1).

:func:`baseline_of` turns an Overview into a :class:`Baseline` (per workload and per team: cost per
month, mean requested CPU and memory, p95 CPU and peak memory, efficiency; and the waste
findings). The history store (:mod:`kubetally.store`) saves and loads it by name.
:func:`compare` says what changed between a baseline and the current window: cost, efficiency,
requests, workloads added/removed, findings appeared/resolved. Windows of different lengths are
compared per month (each window's amounts projected to the book's month).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl

from kubetally.model import columns as c
from kubetally.model.baseline import FINDING, FINDING_SCHEMA, WORKLOAD, WORKLOAD_SCHEMA, Baseline
from kubetally.model.quantity import format_cpu, format_memory
from kubetally.outputs.overview import Overview

CPU_CHANGE = 0.005
"""Request changes below half a millicore (or 1 MiB) are noise, not a change."""
MEMORY_CHANGE = 2**20
COST_CHANGE = 0.01


def _safe_ratio(used: str, requested: str) -> pl.Expr:
    return pl.when(pl.col(requested) > 0).then(pl.col(used) / pl.col(requested)).otherwise(None)


def baseline_of(ov: Overview, *, name: str, saved_at: datetime) -> Baseline:
    """The baseline summary of ``ov``'s window."""
    hours = ov.window_hours or 1.0
    amounts = ov.amounts.group_by(*WORKLOAD).agg(
        pl.col("team").first(),
        pl.col(c.TOTAL_COST).sum(),
        pl.col(c.CPU_REQUEST_CORE_HOURS, c.MEMORY_REQUEST_GIB_HOURS).sum(),
        pl.col(c.CPU_USAGE_REQUESTED_CORE_HOURS, c.MEMORY_USAGE_REQUESTED_GIB_HOURS).sum(),
    )
    usage = (
        ov.rightsizing.rename({c.OWNER_KIND: c.CONTROLLER_KIND, c.OWNER_NAME: c.CONTROLLER})
        .group_by(*WORKLOAD)
        .agg(
            pl.col(c.CPU_USAGE_P95_CORES).sum().alias("cpu_p95_cores"),
            pl.col(c.MEMORY_PEAK_BYTES).cast(pl.Float64).sum().alias("memory_peak_bytes"),
        )
    )
    workloads = (
        amounts.join(usage, on=list(WORKLOAD), how="left")
        .select(
            *WORKLOAD,
            "team",
            (pl.col(c.TOTAL_COST) * ov.month_factor).alias("monthly_cost"),
            (pl.col(c.CPU_REQUEST_CORE_HOURS) / hours).alias("cpu_request_cores"),
            (pl.col(c.MEMORY_REQUEST_GIB_HOURS) * 2**30 / hours).alias("memory_request_bytes"),
            "cpu_p95_cores",
            "memory_peak_bytes",
            _safe_ratio(c.CPU_USAGE_REQUESTED_CORE_HOURS, c.CPU_REQUEST_CORE_HOURS).alias("cpu_efficiency"),
            _safe_ratio(c.MEMORY_USAGE_REQUESTED_GIB_HOURS, c.MEMORY_REQUEST_GIB_HOURS).alias("memory_efficiency"),
        )
        .cast(WORKLOAD_SCHEMA)
        .sort(*WORKLOAD)
    )
    findings = (
        ov.waste.findings.select(*FINDING, "owner", "monthly_cost")
        .with_columns(pl.col("owner").fill_null(""))
        .cast(FINDING_SCHEMA)
        .sort(*FINDING)
    )
    info = ov.dataset.info
    return Baseline(
        name=name,
        saved_at=saved_at,
        window_start=info.start,
        window_end=info.end,
        source=info.source,
        currency=ov.currency,
        workloads=workloads,
        findings=findings,
    )


def _team_totals(workloads: pl.DataFrame) -> pl.DataFrame:
    return workloads.group_by("team").agg(
        pl.col("monthly_cost").sum(),
        pl.col("cpu_request_cores").sum(),
        pl.col("memory_request_bytes").sum(),
        # efficiency weighted by request, like the showback's
        pl.when(pl.col("cpu_request_cores").filter(pl.col("cpu_efficiency").is_not_null()).sum() > 0)
        .then(
            (pl.col("cpu_efficiency") * pl.col("cpu_request_cores")).sum()
            / pl.col("cpu_request_cores").filter(pl.col("cpu_efficiency").is_not_null()).sum()
        )
        .otherwise(None)
        .alias("cpu_efficiency"),
    )


def _round(value: Any, digits: int = 2) -> float | None:
    """Rounded; None for unknown (None or NaN), and no negative zero."""
    if value is None or math.isnan(float(value)):
        return None
    return round(float(value), digits) + 0.0


def _cpu(cores: float) -> str:
    return format_cpu(round(cores, 3))


def _memory(num_bytes: float) -> str:
    return format_memory(round(num_bytes))


def _what(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    parts = []
    formats: tuple[tuple[str, float, Callable[[float], str]], ...] = (
        ("cpu_request_cores", CPU_CHANGE, _cpu),
        ("memory_request_bytes", MEMORY_CHANGE, _memory),
    )
    for column, threshold, fmt in formats:
        old, new = before[column] or 0.0, after[column] or 0.0
        if abs(new - old) >= threshold:
            label = "CPU" if column.startswith("cpu") else "memory"
            parts.append(f"{label} requests {fmt(old)} → {fmt(new)}")
    change = (after["monthly_cost"] or 0.0) - (before["monthly_cost"] or 0.0)
    if parts or abs(change) >= COST_CHANGE:
        parts.append(f"cost {change:+.2f}/month")
    return parts


def compare(base: Baseline, now: Baseline) -> dict[str, Any]:
    """What changed from ``base`` to ``now`` (JSON-ready; the report's "since the baseline" section)."""
    keys = list(WORKLOAD)
    joined = base.workloads.join(now.workloads, on=keys, how="full", suffix="_now", coalesce=True)
    workloads: list[dict[str, Any]] = []
    for row in joined.sort(keys).iter_rows(named=True):
        before = {k: row[k] for k in WORKLOAD_SCHEMA if k not in keys}
        after = {k: row[f"{k}_now"] for k in WORKLOAD_SCHEMA if k not in keys}
        if str(row[c.CONTROLLER]).startswith("__"):
            continue
        team = after["team"] or before["team"]
        if before["team"] is None:
            what = ["new workload"]
        elif after["team"] is None:
            what = ["gone"]
        else:
            what = _what(before, after)
        if what:
            workloads.append(
                {
                    c.CLUSTER: row[c.CLUSTER],
                    c.NAMESPACE: row[c.NAMESPACE],
                    c.CONTROLLER_KIND: row[c.CONTROLLER_KIND],
                    c.CONTROLLER: row[c.CONTROLLER],
                    "team": team,
                    "what": "; ".join(what),
                    "monthly_change": _round((after["monthly_cost"] or 0.0) - (before["monthly_cost"] or 0.0)),
                    "cpu_request_cores_before": _round(before["cpu_request_cores"], 4),
                    "cpu_request_cores_after": _round(after["cpu_request_cores"], 4),
                    "memory_request_bytes_before": _round(before["memory_request_bytes"], 0),
                    "memory_request_bytes_after": _round(after["memory_request_bytes"], 0),
                    "cpu_efficiency_before": _round(before["cpu_efficiency"], 4),
                    "cpu_efficiency_after": _round(after["cpu_efficiency"], 4),
                }
            )
    teams_joined = _team_totals(base.workloads).join(
        _team_totals(now.workloads), on="team", how="full", suffix="_now", coalesce=True
    )
    teams = [
        {
            "team": r["team"],
            "monthly_before": _round(r["monthly_cost"] or 0.0),
            "monthly_after": _round(r["monthly_cost_now"] or 0.0),
            "monthly_change": _round((r["monthly_cost_now"] or 0.0) - (r["monthly_cost"] or 0.0)),
            "efficiency_before": _round(r["cpu_efficiency"], 4),
            "efficiency_after": _round(r["cpu_efficiency_now"], 4),
        }
        for r in teams_joined.sort("team").iter_rows(named=True)
    ]
    teams.sort(key=lambda t: -abs(t["monthly_change"] or 0.0))
    old = {tuple(r[k] for k in FINDING): r for r in base.findings.iter_rows(named=True)}
    new = {tuple(r[k] for k in FINDING): r for r in now.findings.iter_rows(named=True)}

    def listed(rows: dict[tuple[Any, ...], dict[str, Any]], keys_: set[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return [{k: rows[key][k] for k in (*FINDING, "owner", "monthly_cost")} for key in sorted(keys_)]

    before_total = float(base.workloads.get_column("monthly_cost").sum())
    after_total = float(now.workloads.get_column("monthly_cost").sum())
    return {
        "baseline": base.meta(),
        "current": now.meta(),
        "totals": {
            "monthly_before": round(before_total, 2),
            "monthly_after": round(after_total, 2),
            "monthly_change": round(after_total - before_total, 2),
        },
        "teams": teams,
        "workloads": sorted(workloads, key=lambda w: -abs(w["monthly_change"] or 0.0)),
        "findings": {
            "appeared": listed(new, set(new) - set(old)),
            "resolved": listed(old, set(old) - set(new)),
        },
    }
