"""Hand-worked allocation on the 2-node cluster of alloc_handmade.py. Expected dollars are computed by hand here.

Node A: 1.00/h flat, half CPU (0.125 per core-hour on 4 cores), half memory (0.0625 per GiB-hour on 8 GiB).
Node B: unit prices 0.10/core-hour and 0.01/GiB-hour on 2 cores / 4 GiB (0.24/h).
Two 1-hour steps.

web-1/c1 (A): requests 1 core, 2 GiB; usage 0.5 then 2 cores, 1 then 3 GiB
  -> CPU max(req, use) = 1 + 2 = 3 core-h x 0.125 = 0.375; memory 2 + 3 = 5 GiB-h x 0.0625 = 0.3125
api-1/c2 (A): no requests; usage 0.5 core, 1 GiB -> 1 core-h x 0.125 + 2 GiB-h x 0.0625 = 0.25
node A: 2.00 for the window; idle CPU 1.00 - 0.5 = 0.5, idle memory 1.00 - 0.4375 = 0.5625
db-0/c3 (B) requests 1.5 cores, 1 GiB; worker-1/c4 (B) requests 1 core, 1 GiB (usage 0.2, 0.5 GiB)
  -> 2.5 cores asked on a 2-core node: over-committed 25 %, CPU charged at 2/2.5 = 0.8
  c3 CPU 1.5 x 0.10 x 0.8 x 2 h = 0.24, c4 CPU 1 x 0.10 x 0.8 x 2 h = 0.16 (node CPU 0.40: no idle)
  memory 1 GiB x 0.01 x 2 h = 0.02 each; idle memory 0.08 - 0.04 = 0.04
  over-commitment 0.5 core x 2 h = 1 core-hour, 0.10 not billed to anyone
PVC team-b/data 10 GiB "fast" (7.30/GiB-month / 730 h = 0.01/GiB-h) = 0.10/h -> 0.20,
  mounted by db-0 and api-1: 0.10 each
PV pv-old (Released) 5 GiB default class 0.73/GiB-month = 0.001/GiB-h -> 0.01 -> __unmounted__
Cluster total = 2.00 + 0.48 + 0.20 + 0.01 = 2.69
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from alloc_handmade import PRICES_YAML, dataset

from kubetally.analysis.allocation import (
    AllocationSettings,
    Overhead,
    Selector,
    SharedCost,
    allocate,
)
from kubetally.analysis.allocation.report import showback
from kubetally.model.owners import parse_owners_text
from kubetally.model.pricing import parse_price_text

PRICES = parse_price_text(PRICES_YAML)


def _run(settings: AllocationSettings, by: list[str]) -> dict[str, float]:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=settings)
    report = showback(alloc, ds.labels, by=by)
    assert report.reconciled
    key = by[0]
    return {row[key]: float(row["total_cost"]) for row in report.rows.iter_rows(named=True)} | {
        "__total__": float(report.total)
    }


def _container_costs(settings: AllocationSettings) -> dict[str, float]:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=settings)
    return {
        r["container"]: r["total_cost"]
        for r in alloc.items.group_by("container").agg(pl.col("total_cost").sum()).iter_rows(named=True)
    }


def test_by_namespace_idle_separate() -> None:
    got = _run(AllocationSettings(), ["namespace"])
    # team-a: 0.6875 + 0.18 = 0.8675 -> 86.75 cents; team-b: 0.25 + 0.26 + 0.20 = 0.71; idle 1.0625 + 0.04 = 1.1025
    # largest remainder: floors 86 + 71 + 110 + 1 = 268 of 269 cents; the missing cent goes to .75 (team-a)
    assert got == {"team-a": 0.87, "team-b": 0.71, "__idle__": 1.10, "__unmounted__": 0.01, "__total__": 2.69}


def test_container_charges_and_overcommit() -> None:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=AllocationSettings())
    costs = _container_costs(AllocationSettings())
    assert costs["c1"] == pytest.approx(0.6875)
    assert costs["c2"] == pytest.approx(0.25)
    assert costs["c3"] == pytest.approx(0.26)
    assert costs["c4"] == pytest.approx(0.18)
    assert costs["__pod__"] == pytest.approx(0.20)
    assert alloc.total_cost == pytest.approx(2.69)
    over = alloc.overcommit.to_dicts()
    assert len(over) == 1
    assert over[0]["node"] == "node-b" and over[0]["resource"] == "cpu"
    assert over[0]["overcommitted_quantity_hours"] == pytest.approx(1.0)
    assert over[0]["overcommit_ratio"] == pytest.approx(1.25)
    assert over[0]["unbilled_cost"] == pytest.approx(0.10)
    idle = alloc.items.filter(pl.col("namespace") == "__idle__")
    by_node = dict(zip(idle["node"], idle["idle_cost"], strict=True))
    assert by_node["node-a"] == pytest.approx(1.0625)
    assert by_node["node-b"] == pytest.approx(0.04)  # never negative: CPU over-commit is not booked as -0.10
    assert (alloc.items["idle_cost"] >= 0).all()


def test_efficiency_and_waste() -> None:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=AllocationSettings())
    rows = {r["container"]: r for r in showback(alloc, ds.labels, by=["container"]).rows.iter_rows(named=True)}
    # c1: CPU usage 2.5 core-h / request 2 core-h; memory 4 GiB-h / 4 GiB-h
    assert rows["c1"]["cpu_efficiency"] == pytest.approx(1.25)
    assert rows["c1"]["memory_efficiency"] == pytest.approx(1.0)
    # c4: CPU 0.4 / 2 = 0.2; memory 1 / 2 = 0.5; cost-weighted: (0.2 x 0.16 + 0.5 x 0.02) / 0.18
    assert rows["c4"]["cpu_efficiency"] == pytest.approx(0.2)
    assert rows["c4"]["memory_efficiency"] == pytest.approx(0.5)
    assert rows["c4"]["total_efficiency"] == pytest.approx((0.2 * 0.16 + 0.5 * 0.02) / 0.18, abs=1e-4)
    # waste c4: CPU (1 - 0.2) x 2 h x 0.10 x 0.8 = 0.128; memory (1 - 0.5) x 2 h x 0.01 = 0.01 -> 0.138 -> 0.14
    assert rows["c4"]["waste_cost"] == Decimal("0.14")
    # c2 has no requests: efficiency is unknown, not zero
    assert rows["c2"]["cpu_efficiency"] is None and rows["c2"]["total_efficiency"] is None


def test_idle_shared_cluster_wide() -> None:
    # idle 1.1025 spread by CPU+memory cost: c1 0.6875, c2 0.25, c3 0.26, c4 0.18 (sum 1.3775)
    got = _run(AllocationSettings(idle="share"), ["namespace"])
    team_a = 0.8675 + 1.1025 * (0.6875 + 0.18) / 1.3775
    team_b = 0.71 + 1.1025 * (0.25 + 0.26) / 1.3775
    assert got["team-a"] == pytest.approx(team_a, abs=0.006)
    assert got["team-b"] == pytest.approx(team_b, abs=0.006)
    assert "__idle__" not in got
    assert got["team-a"] + got["team-b"] + got["__unmounted__"] == pytest.approx(2.69, abs=1e-9)


def test_idle_per_node() -> None:
    costs = _container_costs(AllocationSettings(idle="node"))
    # node A idle 1.0625 over c1 (0.6875) and c2 (0.25); node B idle 0.04 over c3 (0.26) and c4 (0.18)
    assert costs["c1"] == pytest.approx(0.6875 + 1.0625 * 0.6875 / 0.9375)
    assert costs["c2"] == pytest.approx(0.25 + 1.0625 * 0.25 / 0.9375)
    assert costs["c3"] == pytest.approx(0.26 + 0.04 * 0.26 / 0.44)
    assert costs["c4"] == pytest.approx(0.18 + 0.04 * 0.18 / 0.44)


def test_shared_weighted_and_even() -> None:
    db = SharedCost(name="database", select=Selector(workloads=("team-b/StatefulSet/db",)), split="weighted")
    # db costs c3 0.26 + its half of the PVC 0.10 = 0.36; consumers c1 0.6875, c2 0.25, api-1 PVC 0.10, c4 0.18 (1.2175)
    got = _run(AllocationSettings(shared=(db,)), ["namespace"])
    assert got["team-a"] == pytest.approx(0.8675 + 0.36 * 0.8675 / 1.2175, abs=0.006)
    assert got["team-b"] == pytest.approx(0.35 + 0.36 * 0.35 / 1.2175, abs=0.006)
    even = db.model_copy(update={"split": "even"})
    # even: 3 consumer workloads (web, api, worker) get 0.12 each
    got = _run(AllocationSettings(shared=(even,)), ["namespace"])
    assert got["team-a"] == pytest.approx(0.8675 + 0.24, abs=0.006)
    assert got["team-b"] == pytest.approx(0.35 + 0.12, abs=0.006)
    assert got["__total__"] == 2.69


def test_shared_by_label_selector_and_consumers() -> None:
    db = SharedCost(
        name="database", select=Selector(labels={"app": "db"}), consumers=Selector(namespaces=("team-a",)), split="even"
    )
    # only team-a pays: web and worker get 0.18 each
    got = _run(AllocationSettings(shared=(db,)), ["namespace"])
    assert got["team-a"] == pytest.approx(0.8675 + 0.36, abs=0.006)
    assert got["team-b"] == pytest.approx(0.35, abs=0.006)


def test_fixed_overhead_even() -> None:
    ups = Overhead(name="ups", per_month=Decimal("73"), split="even")  # 0.10/h -> 0.20 over 2 h
    # 4 consumer workloads (web, api, db, worker): 0.05 each
    got = _run(AllocationSettings(overheads=(ups,)), ["namespace"])
    assert got["__total__"] == 2.89
    assert got["team-a"] == pytest.approx(0.8675 + 0.10, abs=0.006)
    assert got["team-b"] == pytest.approx(0.71 + 0.10, abs=0.006)


def test_labels_fallback_and_unallocated() -> None:
    got = _run(AllocationSettings(), ["team"])
    # web-1 has team=alpha on the pod; worker gets it from its Deployment; team-b has no team label
    assert got["alpha"] == pytest.approx(0.87)
    assert got["__unallocated__"] == pytest.approx(0.71)
    owners = parse_owners_text("owners:\n  - match: {namespaces: [team-b]}\n    team: beta\n")
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=AllocationSettings())
    rows = {
        r["team"]: r["total_cost"]
        for r in showback(alloc, ds.labels, by=["team"], owners=owners).rows.iter_rows(named=True)
    }
    assert rows["beta"] == Decimal("0.71")


def test_request_basis() -> None:
    costs = _container_costs(AllocationSettings(basis="request"))
    # c1 charged its request only: 1 core x 2 h x 0.125 + 2 GiB x 2 h x 0.0625 = 0.25 + 0.25
    assert costs["c1"] == pytest.approx(0.5)
    # c2 has no request: its usage is charged
    assert costs["c2"] == pytest.approx(0.25)


def test_daily_series_and_projection() -> None:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=AllocationSettings())
    report = showback(alloc, ds.labels, by=["namespace"])
    assert report.daily["total_cost"].sum() == Decimal("2.69")
    # 2.69 for 2 hours -> 730 h month: 981.85
    assert report.monthly_projection == Decimal("981.85")


def test_group_efficiency_ignores_containers_without_requests() -> None:
    ds = dataset()
    alloc = allocate(ds, prices=PRICES, settings=AllocationSettings())
    rows = {r["namespace"]: r for r in showback(alloc, ds.labels, by=["namespace"]).rows.iter_rows(named=True)}
    # team-b: api-1 (no requests) is left out; db-0 used 2 of 3 requested core-hours and 1 of 2 GiB-hours
    assert rows["team-b"]["cpu_efficiency"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["team-b"]["memory_efficiency"] == pytest.approx(0.5)


def test_samples_off_the_step_grid_are_charged_for_their_step() -> None:
    # a source whose samples come 17 s after each step start: same charges as on the grid
    ds = dataset()
    shifted = ds.usage.with_columns(pl.col("timestamp") + pl.duration(seconds=17)).collect()
    alloc = allocate(ds.with_frames(usage=shifted), prices=PRICES, settings=AllocationSettings())
    costs = {
        r["container"]: r["total_cost"]
        for r in alloc.items.group_by("container").agg(pl.col("total_cost").sum()).iter_rows(named=True)
    }
    assert costs["c1"] == pytest.approx(0.6875)
    assert costs["c3"] == pytest.approx(0.26)
