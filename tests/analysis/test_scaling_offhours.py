"""Off-hours plans: a hand-made office-hours week with a hand-worked schedule and saving, and AuditFlow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from kubetally.analysis.scaling import OffHoursSettings, UnitPrices, offhours_plans
from kubetally.model import columns as c
from kubetally.model import schema

GIB = 2**30
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday in winter: Europe/Berlin is UTC+1
PRICES = UnitPrices(cpu_per_core_hour=0.04, memory_per_gib_hour=0.005)


def _container(ns: str, name: str, cpu: float, memory: int) -> dict:
    row = dict.fromkeys(schema.CONTAINERS.names)
    row |= {
        c.CLUSTER: "k",
        c.NAMESPACE: ns,
        c.POD: f"{name}-1",
        c.POD_UID: f"uid-{name}",
        c.CONTAINER: "app",
        c.INIT_CONTAINER: False,
        c.NODE: "n1",
        c.OWNER_KIND: "Deployment",
        c.OWNER_NAME: name,
        c.CPU_REQUEST_CORES: cpu,
        c.MEMORY_REQUEST_BYTES: memory,
        c.START_TIME: MONDAY - timedelta(days=30),
        c.RESTARTS: 0,
        c.QOS_CLASS: "Burstable",
        c.IMAGE: "x",
    }
    return row


def _frames() -> dict[str, pl.DataFrame]:
    containers = pl.DataFrame(
        [_container("dev", "office-app", 0.5, GIB), _container("prod", "shop", 0.5, GIB)],
        schema=schema.CONTAINERS.schema,
    )
    rows = []
    for hour in range(7 * 24):  # one week, hourly
        ts = MONDAY + timedelta(hours=hour)
        local = ts + timedelta(hours=1)
        busy = local.weekday() < 5 and 8 <= local.hour < 18  # Mon-Fri 08:00-18:00 Berlin
        for name in ("office-app", "shop"):
            usage = dict.fromkeys(schema.USAGE.names, 0.0)
            usage |= {
                c.CLUSTER: "k",
                c.NAMESPACE: "dev" if name == "office-app" else "prod",
                c.POD: f"{name}-1",
                c.CONTAINER: "app",
                c.TIMESTAMP: ts,
                c.CPU_USAGE_CORES: 0.2 if busy else 0.001,
                c.CPU_THROTTLED_RATIO: None,
            }
            rows.append(usage)
    usage = pl.DataFrame(rows, schema=schema.USAGE.schema)
    workloads = pl.DataFrame(
        [
            {c.CLUSTER: "k", c.NAMESPACE: ns, c.KIND: "Deployment", c.NAME: name, c.DESIRED_REPLICAS: 1}
            for ns, name in (("dev", "office-app"), ("prod", "shop"))
        ]
    ).with_columns(
        pl.lit(None, pl.Int64).alias(c.HPA_MIN_REPLICAS),
        pl.lit(None, pl.Int64).alias(c.HPA_MAX_REPLICAS),
        pl.lit(None, pl.Float64).alias(c.HPA_TARGET_CPU_UTILIZATION),
        pl.lit(None, schema.TIME).alias(c.CREATED_AT),
    )
    labels = pl.DataFrame(
        [
            {
                c.CLUSTER: "k",
                c.OBJECT_KIND: "Deployment",
                c.NAMESPACE: "dev",
                c.NAME: "office-app",
                c.KEY: "environment",
                c.VALUE: "staging",
            },
            {
                c.CLUSTER: "k",
                c.OBJECT_KIND: "Pod",
                c.NAMESPACE: "prod",
                c.NAME: "shop-1",
                c.KEY: "environment",
                c.VALUE: "production",
            },
        ]
    )
    return {"containers": containers, "usage": usage, "workloads": workloads, "labels": labels}


def test_office_hours_week_gets_a_schedule_and_saving() -> None:
    f = _frames()
    plans = offhours_plans(
        usage=f["usage"].lazy(),
        containers=f["containers"],
        workloads=f["workloads"],
        labels=f["labels"],
        step_seconds=3600,
        settings=OffHoursSettings(),
        prices=PRICES,
    )
    assert plans[c.NAME].to_list() == ["office-app"]  # production (from the pod label) is never scaled down
    row = plans.row(0, named=True)
    # busy hours 08-17 local on Mon-Fri, 30 min margin each side
    assert row[c.UPTIME] == "Mon-Fri 07:30-18:30 Europe/Berlin"
    assert row[c.UPTIME_HOURS_PER_WEEK] == pytest.approx(55.0)  # 5 days x 11 h
    assert row[c.SAVED_RATIO] == pytest.approx(113 / 168)
    assert row[c.COST_PER_HOUR] == pytest.approx(0.5 * 0.04 + 1 * 0.005)  # 0.025 per hour, 1 replica
    assert row[c.MONTHLY_COST_SAVED] == pytest.approx(0.025 * 730 * 113 / 168)
    # idle hours (0.001 x 113) over all CPU (0.2 x 50 + 0.001 x 118): what the schedule would cut off
    assert row[c.DEMAND_OUTSIDE_UPTIME_RATIO] == pytest.approx(0.113 / (10.0 + 0.118))
    assert row[c.STATUS] == "recommended"


def test_short_history_is_not_enough() -> None:
    f = _frames()
    plans = offhours_plans(
        usage=f["usage"].lazy().head(24),
        containers=f["containers"],
        workloads=f["workloads"],
        labels=f["labels"],
        step_seconds=3600,
        settings=OffHoursSettings(),
        prices=PRICES,
    )
    assert plans[c.STATUS].to_list() == ["not-enough-data"]
    assert plans[c.UPTIME].to_list() == [None]


@pytest.mark.slow
def test_auditflow_dev_workload_gets_an_off_hours_plan() -> None:
    from kubetally.simulate import ScenarioConfig, simulate
    from kubetally.simulate.answer_key import PLANTED, Problem

    ds = simulate(ScenarioConfig(days=7, step_seconds=300))  # the week after the DST change: Berlin is UTC+1
    plans = offhours_plans(
        usage=ds.usage,
        containers=ds.containers,
        workloads=ds.workloads,
        labels=ds.labels,
        step_seconds=ds.info.step_seconds,
        settings=OffHoursSettings(),
        prices=PRICES,
    )
    planted = next(p for p in PLANTED if p.problem == Problem.OFF_HOURS)
    row = plans.filter(pl.col(c.NAME) == planted.name).row(0, named=True)
    # the answer key: busy Mon-Fri 07:00-20:00 Europe/Berlin, ~60 % of replica-hours saved
    assert row[c.UPTIME] == "Mon-Fri 06:30-20:30 Europe/Berlin"
    assert row[c.SAVED_RATIO] == pytest.approx(1 - 70 / 168)
    assert row[c.STATUS] == "recommended"
    assert set(plans[c.NAMESPACE].to_list()) == {"auditflow-dev"}  # production namespaces are never planned
