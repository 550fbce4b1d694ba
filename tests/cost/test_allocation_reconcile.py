"""Property: every report reconciles with the cluster's total cost, to the cent, on random clusters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetally.analysis.allocation import AllocationSettings, Overhead, Selector, SharedCost, allocate
from kubetally.analysis.allocation.report import showback
from kubetally.dataset import Dataset, DatasetInfo
from kubetally.model.pricing import price_book_from_dict

GI = 2**30
START = datetime(2026, 3, 1, 22, tzinfo=UTC)  # windows cross midnight: several days
STEP = 1800


@st.composite
def clusters(draw: st.DrawFn) -> tuple[Dataset, dict[str, object], AllocationSettings, list[str]]:
    n_nodes = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 8))
    nodes, rules = [], []
    for i in range(n_nodes):
        cpu = draw(st.sampled_from([1.0, 2.0, 4.0]))
        mem = draw(st.sampled_from([1, 2, 8])) * GI
        nodes.append(
            {
                "cluster": "c",
                "node": f"n{i}",
                "instance_type": "",
                "arch": "arm64",
                "role": "worker",
                "cpu_capacity_cores": cpu,
                "cpu_allocatable_cores": cpu,
                "memory_capacity_bytes": mem,
                "memory_allocatable_bytes": mem,
                "pods_capacity": 10,
                "pods_allocatable": 10,
            }
        )
        rules.append(
            {
                "match": {"names": [f"n{i}"]},
                "owned": {
                    "purchase_price": draw(st.integers(0, 500)),
                    "lifetime_months": draw(st.integers(1, 60)),
                    "power_idle_watts": 2,
                    "power_max_watts": draw(st.integers(2, 20)),
                    "overhead_per_month": draw(st.integers(0, 9)),
                },
                "cpu_share": draw(st.floats(0, 1)),
            }
        )
    containers, usage, labels = [], [], []
    namespaces = ["a", "b", "c"]
    for j in range(draw(st.integers(1, 6))):
        ns = draw(st.sampled_from(namespaces))
        pod, node = f"p{j}", f"n{draw(st.integers(0, n_nodes - 1))}"
        req_cpu = draw(st.one_of(st.none(), st.floats(0.05, 3.0)))
        req_mem = draw(st.one_of(st.none(), st.integers(1, 4 * GI)))
        containers.append(
            {
                "cluster": "c",
                "namespace": ns,
                "pod": pod,
                "pod_uid": pod,
                "container": "main",
                "init_container": False,
                "node": node,
                "owner_kind": "Deployment",
                "owner_name": f"w{j % 3}",
                "cpu_request_cores": req_cpu,
                "cpu_limit_cores": None,
                "memory_request_bytes": req_mem,
                "memory_limit_bytes": None,
                "start_time": START,
                "end_time": None,
                "restarts": 0,
                "last_termination_reason": None,
                "qos_class": "Burstable",
                "image": "i",
            }
        )
        if draw(st.booleans()):
            labels.append(
                {
                    "cluster": "c",
                    "object_kind": "Pod",
                    "namespace": ns,
                    "name": pod,
                    "key": "team",
                    "value": draw(st.sampled_from(["x", "y"])),
                }
            )
        for k in range(steps):
            if draw(st.integers(0, 4)) == 0:
                continue  # the pod is not running in this step
            usage.append(
                {
                    "cluster": "c",
                    "namespace": ns,
                    "pod": pod,
                    "container": "main",
                    "timestamp": START + timedelta(seconds=k * STEP),
                    "cpu_usage_cores": draw(st.floats(0, 4.0)),
                    "memory_working_set_bytes": float(draw(st.integers(0, 6 * GI))),
                    "memory_rss_bytes": 0.0,
                    "fs_read_bytes_per_second": 0.0,
                    "fs_write_bytes_per_second": 0.0,
                    "cpu_throttled_ratio": None,
                }
            )
    volumes = [
        {
            "cluster": "c",
            "namespace": "a",
            "pvc": "v",
            "pv": "pv-v",
            "storage_class": "x",
            "capacity_bytes": draw(st.integers(1, 50)) * GI,
            "pvc_phase": "Bound",
            "pv_phase": "Bound",
            "reclaim_policy": "Delete",
            "created_at": None,
        }
    ]
    mounts = [
        {"cluster": "c", "namespace": c["namespace"], "pvc": "v", "pod": c["pod"]}
        for c in containers
        if c["namespace"] == "a" and draw(st.booleans())
    ]
    info = DatasetInfo(source="random", start=START, end=START + timedelta(seconds=steps * STEP), step_seconds=STEP)
    frames: dict[str, pl.DataFrame] = {
        "nodes": pl.DataFrame(nodes),
        "containers": pl.DataFrame(
            containers, schema_overrides={"cpu_request_cores": pl.Float64, "memory_request_bytes": pl.Int64}
        ),
        "volumes": pl.DataFrame(volumes, schema_overrides={"created_at": pl.Datetime("us", "UTC")}),
    }
    if usage:
        frames["usage"] = pl.DataFrame(usage, schema_overrides={"cpu_throttled_ratio": pl.Float64})
    if mounts:
        frames["volume_mounts"] = pl.DataFrame(mounts)
    if labels:
        frames["labels"] = pl.DataFrame(labels)
    ds = Dataset.create(info, **frames)
    book = {"currency": "EUR", "nodes": rules, "electricity_per_kwh": 0.3, "storage": {"default_per_gib_month": 0.05}}
    shared = ()
    if draw(st.booleans()):
        shared = (
            SharedCost(
                name="s",
                select=Selector(namespaces=(draw(st.sampled_from(namespaces)),)),
                split=draw(st.sampled_from(["even", "weighted"])),
            ),
        )
    overheads = ()
    if draw(st.booleans()):
        overheads = (
            Overhead(
                name="o",
                per_month=Decimal(draw(st.integers(0, 100))),
                split=draw(st.sampled_from(["even", "weighted"])),
            ),
        )
    alloc_settings = AllocationSettings(
        idle=draw(st.sampled_from(["separate", "share", "node"])),
        shared=shared,
        overheads=overheads,
        basis=draw(st.sampled_from(["max", "request"])),
    )
    by = draw(
        st.lists(st.sampled_from(["namespace", "node", "team", "controller", "pod", "cluster"]), min_size=1, max_size=3)
    )
    return ds, book, alloc_settings, by


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters())
def test_every_report_reconciles(case: tuple[Dataset, dict[str, object], AllocationSettings, list[str]]) -> None:
    ds, book, alloc_settings, by = case
    prices = price_book_from_dict(book)
    alloc = allocate(ds, prices=prices, settings=alloc_settings)
    report = showback(alloc, ds.labels, by=by)
    assert report.reconciled, report.difference
    assert sum(report.rows["total_cost"].to_list(), Decimal(0)) == report.total
    for column in ("cpu_cost", "memory_cost", "idle_cost", "pv_cost", "shared_cost", "overhead_cost"):
        assert all(v >= 0 for v in report.rows[column].to_list())
    assert (alloc.items["idle_cost"] >= -1e-12).all()
