"""The AuditFlow answer key: the over-provisioned service gets a large reduction, the throttled and
OOM-killed one an increase (never a decrease), with every strategy."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest

from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, history_from_frames, recommendations
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.answer_key import Problem, planted


@cache
def dataset() -> Dataset:
    return simulate(ScenarioConfig(days=4, step_seconds=300))


@cache
def recs(name: str) -> pl.DataFrame:
    ds = dataset()
    h = history_from_frames(
        containers=ds.containers,
        usage=ds.usage,
        terminations=ds.table(schema.TERMINATIONS),
        workloads=ds.workloads,
        labels=ds.labels,
        step_seconds=ds.info.step_seconds,
    )
    strategy = STRATEGIES[name]
    return recommendations(h, strategy=strategy, settings=strategy.settings_model(), evidence=EvidenceSettings())


def row(frame: pl.DataFrame, namespace: str, kind: str, name: str, container: str | None) -> dict[str, object]:
    rows = frame.filter(
        (pl.col(c.NAMESPACE) == namespace)
        & (pl.col(c.OWNER_KIND) == kind)
        & (pl.col(c.OWNER_NAME) == name)
        & (pl.col(c.CONTAINER) == (container or name))
    ).to_dicts()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_over_provisioned_service_gets_a_large_reduction(name: str) -> None:
    (p,) = planted(Problem.OVER_PROVISIONED)
    r = row(recs(name), p.namespace, p.kind, p.name, p.container)
    assert r[c.STATUS] == "over-provisioned"
    # the answer key: "right-sizing cuts both requests by more than 80%"
    assert r[c.RECOMMENDED_CPU_REQUEST_CORES] <= 0.2 * r[c.CURRENT_CPU_REQUEST_CORES]
    assert r[c.RECOMMENDED_MEMORY_REQUEST_BYTES] <= 0.3 * r[c.CURRENT_MEMORY_REQUEST_BYTES]
    assert r[c.CPU_SAVING_CORES] > 0 and r[c.MEMORY_SAVING_BYTES] > 0


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_throttled_oom_killed_service_gets_an_increase_never_a_decrease(name: str) -> None:
    (p,) = planted(Problem.THROTTLED_AND_OOM_KILLED)
    r = row(recs(name), p.namespace, p.kind, p.name, p.container)
    assert r[c.STATUS] == "under-provisioned"
    assert r[c.OOM_KILLS] >= 1
    assert r[c.RECOMMENDED_MEMORY_REQUEST_BYTES] >= r[c.CURRENT_MEMORY_REQUEST_BYTES]
    assert r[c.RECOMMENDED_MEMORY_LIMIT_BYTES] > r[c.CURRENT_MEMORY_LIMIT_BYTES]
    assert r[c.RECOMMENDED_CPU_REQUEST_CORES] >= r[c.CURRENT_CPU_REQUEST_CORES]
    limit = r[c.RECOMMENDED_CPU_LIMIT_CORES]
    assert limit is None or limit > r[c.CURRENT_CPU_LIMIT_CORES]
    assert "OOM kill" in str(r[c.EVIDENCE]) and "CPU throttled" in str(r[c.EVIDENCE])


def test_container_without_requests_is_under_provisioned() -> None:
    (p,) = planted(Problem.NO_REQUESTS)
    r = row(recs("tiered"), p.namespace, p.kind, p.name, p.container)
    assert r[c.CURRENT_CPU_REQUEST_CORES] is None
    assert r[c.RECOMMENDED_CPU_REQUEST_CORES] is not None and r[c.RECOMMENDED_MEMORY_REQUEST_BYTES] is not None
    assert r[c.STATUS] == "under-provisioned"


def test_tiers_come_from_the_finops_tier_label() -> None:
    frame = recs("tiered")
    (p,) = planted(Problem.MISSING_LABELS)
    assert row(frame, p.namespace, p.kind, p.name, p.container)[c.TIER] is None
    assert row(frame, "auditflow", "StatefulSet", "postgresql", None)[c.TIER] == "critical"


def test_no_nan_anywhere() -> None:
    for name in STRATEGIES:
        frame = recs(name)
        floats = frame.select(pl.selectors.float())
        assert not any(floats.select(pl.all().is_nan().any()).row(0))
