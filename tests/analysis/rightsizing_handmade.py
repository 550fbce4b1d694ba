"""Hand-built right-sizing histories for tests (no simulator)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from kubetally.analysis.rightsizing import KEYS, History
from kubetally.analysis.rightsizing.history import INFO_SCHEMA, OOM_SCHEMA
from kubetally.model import columns as c

T0 = datetime(2026, 1, 5, tzinfo=UTC)
MIB = 2**20


def samples(
    pod: str,
    cpu: Sequence[float | None],
    mem: Sequence[float | None],
    *,
    step: timedelta = timedelta(minutes=1),
    start: datetime = T0,
    owner: str = "web",
    container: str = "app",
    kind: str = "Deployment",
    throttled: Sequence[float | None] | None = None,
) -> pl.DataFrame:
    n = len(cpu)
    assert len(mem) == n
    return pl.DataFrame(
        {
            c.CLUSTER: ["test"] * n,
            c.NAMESPACE: ["shop"] * n,
            c.OWNER_KIND: [kind] * n,
            c.OWNER_NAME: [owner] * n,
            c.CONTAINER: [container] * n,
            c.POD: [pod] * n,
            c.TIMESTAMP: [start + i * step for i in range(n)],
            c.CPU_USAGE_CORES: list(cpu),
            c.MEMORY_WORKING_SET_BYTES: list(mem),
            c.CPU_THROTTLED_RATIO: list(throttled) if throttled is not None else [None] * n,
        },
        schema={
            **{k: pl.String() for k in KEYS},
            c.POD: pl.String(),
            c.TIMESTAMP: pl.Datetime("us", "UTC"),
            c.CPU_USAGE_CORES: pl.Float64(),
            c.MEMORY_WORKING_SET_BYTES: pl.Float64(),
            c.CPU_THROTTLED_RATIO: pl.Float64(),
        },
    )


def info(
    *,
    owner: str = "web",
    container: str = "app",
    kind: str = "Deployment",
    cpu_request: float | None = 1.0,
    cpu_limit: float | None = None,
    memory_request: int | None = 512 * MIB,
    memory_limit: int | None = 512 * MIB,
    tier: str | None = None,
    replicas: int | None = 2,
    hpa_cpu: float | None = None,
    containers_per_pod: int = 1,
    pods: int = 1,
) -> dict[str, Any]:
    return {
        c.CLUSTER: "test",
        c.NAMESPACE: "shop",
        c.OWNER_KIND: kind,
        c.OWNER_NAME: owner,
        c.CONTAINER: container,
        c.CURRENT_CPU_REQUEST_CORES: cpu_request,
        c.CURRENT_CPU_LIMIT_CORES: cpu_limit,
        c.CURRENT_MEMORY_REQUEST_BYTES: memory_request,
        c.CURRENT_MEMORY_LIMIT_BYTES: memory_limit,
        c.TIER: tier,
        c.REPLICAS: replicas,
        c.HPA_TARGET_CPU_UTILIZATION: hpa_cpu,
        "containers_per_pod": containers_per_pod,
        c.PODS: pods,
    }


def history(
    frames: Sequence[pl.DataFrame],
    infos: Sequence[dict[str, Any]],
    *,
    ooms: Sequence[tuple[str, datetime, int | None]] = (),
    step_seconds: int = 60,
) -> History:
    """``ooms``: (owner, when, memory limit at the kill) for container "app"."""
    oom_rows = [
        {
            c.CLUSTER: "test",
            c.NAMESPACE: "shop",
            c.OWNER_KIND: "Deployment",
            c.OWNER_NAME: owner,
            c.CONTAINER: "app",
            c.TIMESTAMP: when,
            c.MEMORY_LIMIT_BYTES: limit,
        }
        for owner, when, limit in ooms
    ]
    return History(
        samples=pl.concat(list(frames)).lazy(),
        info=pl.DataFrame(list(infos), schema=INFO_SCHEMA),
        ooms=pl.DataFrame(oom_rows, schema=OOM_SCHEMA),
        step_seconds=step_seconds,
    )


def one(frame: pl.DataFrame, owner: str = "web", container: str = "app") -> dict[str, Any]:
    rows = frame.filter((pl.col(c.OWNER_NAME) == owner) & (pl.col(c.CONTAINER) == container)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]
