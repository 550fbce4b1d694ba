"""Off-hours plans: non-production workloads that idle at night or at weekends.

Demand is averaged per hour of the week in the users' time zone; an hour is idle
when its mean is at most ``idle_ratio`` of the busiest hour's. The uptime is the
span from the earliest to the latest busy hour on the busy days (plus a margin),
written in kube-downscaler's ``downscaler/uptime`` format, e.g.
``Mon-Fri 06:30-20:30 Europe/Berlin``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kubetally.analysis.scaling.demand import WORKLOAD_KEY, pod_requests, workload_demand, workload_labels
from kubetally.model import columns as c
from kubetally.model.unit_prices import UnitPrices

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GIB = 2**30
HOURS_PER_WEEK = 168


def check_timezone(value: str) -> str:
    """``value`` if it is an IANA time zone both zoneinfo and polars know (polars refuses e.g. ``Factory``)."""
    try:
        ZoneInfo(value)
        pl.select(pl.lit(datetime(2000, 1, 1, tzinfo=UTC)).dt.convert_time_zone(value))
    except (ZoneInfoNotFoundError, ValueError, pl.exceptions.PolarsError):
        raise ValueError("not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
    return value


class OffHoursSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    timezone: str = Field("Europe/Berlin", description="IANA time zone of the workloads' users.")
    production_environments: tuple[str, ...] = Field(
        ("production", "prod"), description="`environment` label values never scaled down."
    )
    idle_ratio: float = Field(
        0.1, ge=0, le=1, description="An hour is idle when its mean demand <= this share of the busiest hour's."
    )
    margin_minutes: int = Field(30, ge=0, le=180, description="Uptime starts this much earlier and ends later.")
    min_saved_ratio: float = Field(0.2, ge=0, le=1, description="Propose a plan only when it is down this share.")
    min_history_hours: float = Field(
        7 * 24.0, ge=0, le=10_000, description="History needed (a full week sees weekends)."
    )
    kinds: tuple[str, ...] = Field(("Deployment", "StatefulSet"), description="Workload kinds considered.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)


OFFHOURS_SCHEMA: dict[str, pl.DataType] = {
    c.NAMESPACE: pl.String(),
    c.KIND: pl.String(),
    c.NAME: pl.String(),
    c.ENVIRONMENT: pl.String(),
    c.DESIRED_REPLICAS: pl.Int64(),
    c.HISTORY_HOURS: pl.Float64(),
    c.UPTIME: pl.String(),
    c.UPTIME_HOURS_PER_WEEK: pl.Float64(),
    c.SAVED_RATIO: pl.Float64(),
    c.COST_PER_HOUR: pl.Float64(),
    c.MONTHLY_COST_SAVED: pl.Float64(),
    c.DEMAND_OUTSIDE_UPTIME_RATIO: pl.Float64(),
    c.STATUS: pl.String(),
    c.REASON: pl.String(),
}


def _clock(minutes: int) -> str:
    minutes = min(max(minutes, 0), 24 * 60 - 1)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_runs(days: list[int]) -> list[str]:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [f"{DAYS[run[0]]}-{DAYS[run[-1]]}" for run in runs]


def uptime_plan(hourly: pl.DataFrame, settings: OffHoursSettings) -> tuple[str, float, list[int], int, int] | None:
    """(uptime, hours per week, busy days, start minute, end minute) from (weekday 0-6, hour, demand) means.

    None when every hour is busy (nothing to switch off).
    """
    busiest = float(hourly[c.CPU_USAGE_CORES].max() or 0.0)  # type: ignore[arg-type]
    busy = hourly.filter(pl.col(c.CPU_USAGE_CORES) > settings.idle_ratio * busiest)
    if busy.is_empty():
        return None
    days = sorted({int(d) for d in busy["weekday"].to_list()})
    start = int(busy["hour"].min()) * 60 - settings.margin_minutes  # type: ignore[arg-type]
    end = (int(busy["hour"].max()) + 1) * 60 + settings.margin_minutes  # type: ignore[arg-type]
    start, end = max(start, 0), min(end, 24 * 60)
    hours = len(days) * (end - start) / 60.0
    if hours >= HOURS_PER_WEEK:
        return None
    text = ", ".join(f"{run} {_clock(start)}-{_clock(end)} {settings.timezone}" for run in _day_runs(days))
    return text, hours, days, start, end


def offhours_plans(
    *,
    usage: pl.LazyFrame,
    containers: pl.DataFrame,
    workloads: pl.DataFrame,
    labels: pl.DataFrame,
    step_seconds: int,
    settings: OffHoursSettings,
    prices: UnitPrices,
) -> pl.DataFrame:
    """One row per non-production workload (by its ``environment`` label) with a plan or why not."""
    env = workload_labels(labels, containers, "environment").rename({c.VALUE: c.ENVIRONMENT})
    candidates = (
        workloads.filter(pl.col(c.KIND).is_in(list(settings.kinds)))
        .join(env, on=list(WORKLOAD_KEY), how="inner")
        .filter(~pl.col(c.ENVIRONMENT).is_in(list(settings.production_environments)))
        .join(pod_requests(containers), on=list(WORKLOAD_KEY), how="left")
        .sort(*WORKLOAD_KEY)
    )
    if candidates.is_empty():
        return pl.DataFrame(schema=OFFHOURS_SCHEMA)
    owned = containers.join(
        candidates.select(c.NAMESPACE, pl.col(c.NAME).alias(c.OWNER_NAME)), on=[c.NAMESPACE, c.OWNER_NAME]
    )
    demand = workload_demand(usage, owned).with_columns(
        local=pl.col(c.TIMESTAMP).dt.convert_time_zone(settings.timezone)
    )
    demand = demand.with_columns(
        weekday=pl.col("local").dt.weekday() - 1, hour=pl.col("local").dt.hour().cast(pl.Int64)
    )
    groups = dict(demand.partition_by(*WORKLOAD_KEY, as_dict=True))
    empty = demand.clear()
    rows: list[dict[str, Any]] = []
    for row in candidates.iter_rows(named=True):
        key = (row[c.NAMESPACE], row[c.KIND], row[c.NAME])
        series = groups.get(key, empty)
        replicas = int(row[c.DESIRED_REPLICAS] or 0)
        cpu, memory = float(row[c.CPU_REQUEST_CORES] or 0.0), int(row[c.MEMORY_REQUEST_BYTES] or 0)
        cost_per_hour = replicas * (cpu * prices.cpu_per_core_hour + memory / GIB * prices.memory_per_gib_hour)
        history = series.height * step_seconds / 3600.0
        out: dict[str, Any] = {
            c.NAMESPACE: key[0],
            c.KIND: key[1],
            c.NAME: key[2],
            c.ENVIRONMENT: row[c.ENVIRONMENT],
            c.DESIRED_REPLICAS: replicas,
            c.HISTORY_HOURS: history,
            c.COST_PER_HOUR: cost_per_hour,
        }
        plan = None
        if replicas == 0:
            out |= {c.STATUS: "scaled-to-zero", c.REASON: "already at 0 replicas"}
        elif history < settings.min_history_hours:
            out |= {
                c.STATUS: "not-enough-data",
                c.REASON: f"history {history:.1f} h of {settings.min_history_hours:g} h required",
            }
        else:
            hourly = series.group_by("weekday", "hour").agg(pl.col(c.CPU_USAGE_CORES).mean())
            plan = uptime_plan(hourly, settings)
            if plan is None:
                out |= {c.STATUS: "always-busy", c.REASON: "busy in every hour of the week"}
        if plan is not None:
            text, hours, days, start, end = plan
            saved = 1.0 - hours / HOURS_PER_WEEK
            minute = series["local"].dt.hour().cast(pl.Int64) * 60 + series["local"].dt.minute().cast(pl.Int64)
            inside = series["weekday"].is_in(days) & (minute >= start) & (minute < end)
            total = float(series[c.CPU_USAGE_CORES].sum())
            outside = float(series.filter(~inside)[c.CPU_USAGE_CORES].sum()) / total if total > 0 else 0.0
            out |= {
                c.UPTIME: text,
                c.UPTIME_HOURS_PER_WEEK: hours,
                c.SAVED_RATIO: saved,
                c.MONTHLY_COST_SAVED: cost_per_hour * prices.hours_per_month * saved,
                c.DEMAND_OUTSIDE_UPTIME_RATIO: outside,
            }
            if saved < settings.min_saved_ratio:
                out |= {c.STATUS: "not-worth-it", c.REASON: f"down only {saved:.0%} of the week"}
            else:
                out |= {
                    c.STATUS: "recommended",
                    c.REASON: f"idle {saved:.0%} of the week; {outside:.1%} of its CPU use falls outside the uptime",
                }
        rows.append(out)
    return pl.DataFrame(rows, schema=OFFHOURS_SCHEMA)


def downscaler_annotations(uptime: str) -> dict[str, str]:
    """kube-downscaler annotations for a workload's metadata."""
    return {"downscaler/uptime": uptime}
