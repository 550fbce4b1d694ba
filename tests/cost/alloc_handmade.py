"""A hand-worked 2-node cluster (used by the allocation tests). Every number is stated here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from kubetally.dataset import Dataset, DatasetInfo

GI = 2**30
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = 3600  # 1 hour
T0, T1 = START, START + timedelta(hours=1)

PRICES_YAML = """
currency: USD
hours_per_month: 730
nodes:
  - match: {names: [node-a]}
    per_hour: 1.00          # 0.5/h CPU (0.125 per core-hour), 0.5/h memory (0.0625 per GiB-hour)
    cpu_share: 0.5
  - match: {selector: {pool: small}}
    unit: {cpu_per_core_hour: 0.10, memory_per_gib_hour: 0.01}   # node-b: 0.20 + 0.04 per hour
storage:
  default_per_gib_month: 0.73   # 0.001 per GiB-hour
  classes: {fast: 7.30}          # 0.01 per GiB-hour
"""


def _container(
    ns: str, pod: str, container: str, node: str, kind: str, owner: str, cpu: float | None, mem: int | None
) -> dict[str, object]:
    return {
        "cluster": "c1",
        "namespace": ns,
        "pod": pod,
        "pod_uid": pod + "-uid",
        "container": container,
        "init_container": False,
        "node": node,
        "owner_kind": kind,
        "owner_name": owner,
        "cpu_request_cores": cpu,
        "cpu_limit_cores": None,
        "memory_request_bytes": mem,
        "memory_limit_bytes": None,
        "start_time": START,
        "end_time": None,
        "restarts": 0,
        "last_termination_reason": None,
        "qos_class": "Burstable",
        "image": "img",
    }


def _usage(ns: str, pod: str, container: str, ts: datetime, cpu: float, mem_gib: float) -> dict[str, object]:
    return {
        "cluster": "c1",
        "namespace": ns,
        "pod": pod,
        "container": container,
        "timestamp": ts,
        "cpu_usage_cores": cpu,
        "memory_working_set_bytes": mem_gib * GI,
        "memory_rss_bytes": mem_gib * GI,
        "fs_read_bytes_per_second": 0.0,
        "fs_write_bytes_per_second": 0.0,
        "cpu_throttled_ratio": None,
    }


def dataset() -> Dataset:
    nodes = pl.DataFrame(
        [
            {
                "cluster": "c1",
                "node": "node-a",
                "instance_type": "k3s",
                "arch": "arm64",
                "role": "worker",
                "cpu_capacity_cores": 4.0,
                "cpu_allocatable_cores": 4.0,
                "memory_capacity_bytes": 8 * GI,
                "memory_allocatable_bytes": 8 * GI,
                "pods_capacity": 110,
                "pods_allocatable": 110,
            },
            {
                "cluster": "c1",
                "node": "node-b",
                "instance_type": "k3s",
                "arch": "arm64",
                "role": "worker",
                "cpu_capacity_cores": 2.0,
                "cpu_allocatable_cores": 2.0,
                "memory_capacity_bytes": 4 * GI,
                "memory_allocatable_bytes": 4 * GI,
                "pods_capacity": 110,
                "pods_allocatable": 110,
            },
        ]
    )
    containers = pl.DataFrame(
        [
            _container("team-a", "web-1", "c1", "node-a", "Deployment", "web", 1.0, 2 * GI),
            _container("team-b", "api-1", "c2", "node-a", "Deployment", "api", None, None),
            _container("team-b", "db-0", "c3", "node-b", "StatefulSet", "db", 1.5, 1 * GI),
            _container("team-a", "worker-1", "c4", "node-b", "Deployment", "worker", 1.0, 1 * GI),
        ]
    )
    usage = pl.DataFrame(
        [
            _usage("team-a", "web-1", "c1", T0, 0.5, 1.0),
            _usage("team-a", "web-1", "c1", T1, 2.0, 3.0),
            _usage("team-b", "api-1", "c2", T0, 0.5, 1.0),
            _usage("team-b", "api-1", "c2", T1, 0.5, 1.0),
            _usage("team-b", "db-0", "c3", T0, 1.0, 0.5),
            _usage("team-b", "db-0", "c3", T1, 1.0, 0.5),
            _usage("team-a", "worker-1", "c4", T0, 0.2, 0.5),
            _usage("team-a", "worker-1", "c4", T1, 0.2, 0.5),
        ]
    )
    volumes = pl.DataFrame(
        [
            {
                "cluster": "c1",
                "namespace": "team-b",
                "pvc": "data",
                "pv": "pv-data",
                "storage_class": "fast",
                "capacity_bytes": 10 * GI,
                "pvc_phase": "Bound",
                "pv_phase": "Bound",
                "reclaim_policy": "Delete",
                "created_at": None,
            },
            {
                "cluster": "c1",
                "namespace": "",
                "pvc": "",
                "pv": "pv-old",
                "storage_class": "slow",
                "capacity_bytes": 5 * GI,
                "pvc_phase": "",
                "pv_phase": "Released",
                "reclaim_policy": "Retain",
                "created_at": None,
            },
        ],
        schema_overrides={"created_at": pl.Datetime("us", "UTC")},
    )
    mounts = pl.DataFrame(
        [
            {"cluster": "c1", "namespace": "team-b", "pvc": "data", "pod": "db-0"},
            {"cluster": "c1", "namespace": "team-b", "pvc": "data", "pod": "api-1"},
        ]
    )
    labels = pl.DataFrame(
        [
            {
                "cluster": "c1",
                "object_kind": "Node",
                "namespace": "",
                "name": "node-b",
                "key": "pool",
                "value": "small",
            },
            {
                "cluster": "c1",
                "object_kind": "Pod",
                "namespace": "team-a",
                "name": "web-1",
                "key": "team",
                "value": "alpha",
            },
            {
                "cluster": "c1",
                "object_kind": "Deployment",
                "namespace": "team-a",
                "name": "worker",
                "key": "team",
                "value": "alpha",
            },
            {"cluster": "c1", "object_kind": "Pod", "namespace": "team-b", "name": "db-0", "key": "app", "value": "db"},
        ]
    )
    info = DatasetInfo(source="handmade", start=START, end=START + timedelta(hours=2), step_seconds=STEP)
    return Dataset.create(
        info, nodes=nodes, containers=containers, usage=usage, volumes=volumes, volume_mounts=mounts, labels=labels
    )
