"""The simulator against its own answer key (docs/scenario.md)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.answer_key import PLANTED, Problem, planted
from kubetally.simulate.scenario import GI, MI


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return simulate(ScenarioConfig())


def _usage(ds: Dataset, namespace: str, owner: str, container: str) -> pl.DataFrame:
    pods = ds.containers.filter(
        (pl.col(c.NAMESPACE) == namespace) & (pl.col(c.OWNER_NAME) == owner) & (pl.col(c.CONTAINER) == container)
    ).select(c.POD)
    return (
        ds.usage.filter((pl.col(c.NAMESPACE) == namespace) & (pl.col(c.CONTAINER) == container))
        .collect()
        .join(pods, on=c.POD)
    )


def _one(problem: Problem) -> tuple[str, str, str]:
    (entry,) = planted(problem)
    return entry.namespace, entry.name, entry.container or entry.name


def test_window_and_step(ds: Dataset) -> None:
    assert ds.info.window == timedelta(days=14)
    assert ds.info.step_seconds == 60
    assert ds.nodes.height == 4
    assert set(ds.nodes.get_column(c.ARCH)) == {"arm64"}


def test_over_provisioned_uses_a_few_percent(ds: Dataset) -> None:
    u = _usage(ds, *_one(Problem.OVER_PROVISIONED))
    assert u.get_column(c.CPU_USAGE_CORES).quantile(0.95) < 0.06  # request is 1 core
    assert u.get_column(c.MEMORY_WORKING_SET_BYTES).max() < 110 * MI  # request is 1Gi


def test_throttled_and_oom_killed(ds: Dataset) -> None:
    ns, owner, container = _one(Problem.THROTTLED_AND_OOM_KILLED)
    u = _usage(ds, ns, owner, container)
    throttled_share = (u.get_column(c.CPU_THROTTLED_RATIO) > 0.25).mean()
    assert throttled_share is not None and throttled_share > 0.5
    terms = ds.table(schema.TERMINATIONS).filter(pl.col(c.CONTAINER) == container, pl.col(c.NAMESPACE) == ns)
    assert terms.filter(pl.col(c.REASON) == "OOMKilled").height >= 2 * 5  # both replicas, every 1-2 days
    rows = ds.containers.filter(pl.col(c.OWNER_NAME) == owner, pl.col(c.NAMESPACE) == ns)
    assert set(rows.get_column(c.LAST_TERMINATION_REASON)) == {"OOMKilled"}
    assert rows.get_column(c.RESTARTS).min() >= 5
    # Working set reaches the limit right before each kill, then starts again from the base (a reset).
    one_pod = u.filter(pl.col(c.POD) == u.get_column(c.POD)[0]).sort(c.TIMESTAMP)
    ws = one_pod.get_column(c.MEMORY_WORKING_SET_BYTES)
    assert ws.max() == 256 * MI
    drops = (ws.diff() < -50 * MI).sum()
    assert drops >= 5


def test_idle_deployment_has_no_cpu_and_no_network(ds: Dataset) -> None:
    ns, owner, container = _one(Problem.IDLE)
    u = _usage(ds, ns, owner, container)
    assert u.get_column(c.CPU_USAGE_CORES).max() < 0.002
    pods = u.get_column(c.POD).unique()
    net = ds.series(schema.POD_NETWORK).filter(pl.col(c.POD).is_in(pods.to_list())).collect()
    assert net.height > 0
    assert net.get_column(c.NETWORK_RECEIVE_BYTES_PER_SECOND).max() == 0


def test_scaled_to_zero_has_no_pods(ds: Dataset) -> None:
    ns, owner, _ = _one(Problem.SCALED_TO_ZERO)
    row = ds.workloads.filter(pl.col(c.NAME) == owner, pl.col(c.NAMESPACE) == ns)
    assert row.get_column(c.DESIRED_REPLICAS).to_list() == [0]
    assert ds.containers.filter(pl.col(c.OWNER_NAME) == owner).height == 0


def test_unused_pvc_and_released_pv(ds: Dataset) -> None:
    volumes = ds.table(schema.VOLUMES)
    mounts = ds.table(schema.VOLUME_MOUNTS)
    (unused,) = planted(Problem.UNUSED_PVC)
    row = volumes.filter(pl.col(c.PVC) == unused.name)
    assert row.get_column(c.PVC_PHASE).to_list() == ["Bound"]
    assert mounts.filter(pl.col(c.PVC) == unused.name).height == 0
    (released,) = planted(Problem.RELEASED_PV)
    row = volumes.filter(pl.col(c.PV) == released.name)
    assert row.select(c.PV_PHASE, c.PVC, c.RECLAIM_POLICY).row(0) == ("Released", "", "Retain")


@pytest.mark.parametrize("problem", [Problem.ORPHANED_CONFIGMAP, Problem.ORPHANED_SECRET, Problem.ORPHANED_SERVICE])
def test_orphans_exist_and_nothing_references_them(ds: Dataset, problem: Problem) -> None:
    (entry,) = planted(problem)
    objects = ds.table(schema.OBJECTS).filter(pl.col(c.KIND) == entry.kind, pl.col(c.NAME) == entry.name)
    assert objects.height == 1
    refs = ds.table(schema.REFERENCES)
    assert refs.filter(pl.col(c.TO_KIND) == entry.kind, pl.col(c.TO_NAME) == entry.name).height == 0
    if entry.kind == "Service":
        assert objects.get_column(c.ENDPOINTS).to_list() == [0]
        assert refs.filter(pl.col(c.FROM_KIND) == "Service", pl.col(c.FROM_NAME) == entry.name).height == 0


def test_other_configmaps_are_referenced(ds: Dataset) -> None:
    refs = ds.table(schema.REFERENCES).filter(pl.col(c.TO_KIND) == "ConfigMap")
    assert "auditflow-config" in refs.get_column(c.TO_NAME).to_list()


def test_debug_logging_writes_far_more_logs(ds: Dataset) -> None:
    _ns, owner, container = _one(Problem.DEBUG_LOGGING)
    logs = ds.series(schema.LOG_USAGE).collect()
    pods = ds.containers.filter(pl.col(c.OWNER_NAME) == owner).get_column(c.POD)
    mine = logs.filter(pl.col(c.POD).is_in(pods.to_list()), pl.col(c.CONTAINER) == container)
    # At the kubelet rotation cap (5 x 10Mi) and rotating many times a day.
    assert mine.get_column(c.LOG_BYTES).max() <= 50 * MI
    assert mine.get_column(c.LOG_BYTES).min() >= 40 * MI - 1
    rotations = (mine.sort(c.TIMESTAMP).get_column(c.LOG_BYTES).diff() < 0).sum()
    assert rotations > 14 * 10
    others = logs.filter(~pl.col(c.POD).is_in(pods.to_list()))
    other_rotations = (
        others.sort(c.POD, c.CONTAINER, c.TIMESTAMP)
        .group_by(c.POD, c.CONTAINER)
        .agg((pl.col(c.LOG_BYTES).diff() < 0).sum().alias("n"))
        .get_column("n")
        .max()
    )
    assert rotations > 10 * other_rotations


def test_growing_table(ds: Dataset) -> None:
    db = ds.table(schema.DATABASE_USAGE) if not schema.DATABASE_USAGE.series else ds.series(schema.DATABASE_USAGE)
    frame = db.collect() if isinstance(db, pl.LazyFrame) else db
    per_table = frame.group_by(c.TABLE).agg(
        (pl.col(c.SIZE_BYTES).max() - pl.col(c.SIZE_BYTES).min()).alias("growth"), pl.col(c.SIZE_BYTES).min()
    )
    growth = dict(zip(per_table.get_column(c.TABLE), per_table.get_column("growth"), strict=True))
    assert growth["audit_event"] > 13 * 90 * MI
    assert growth["audit_event"] > 10 * max(v for k, v in growth.items() if k not in ("audit_event", ""))


def test_missing_labels_and_no_requests(ds: Dataset) -> None:
    _ns, owner, _ = _one(Problem.MISSING_LABELS)
    keys = ds.labels.filter(pl.col(c.OBJECT_KIND) == "Deployment", pl.col(c.NAME) == owner).get_column(c.KEY)
    assert "team" not in keys.to_list() and "finops_tier" not in keys.to_list()
    _, owner, container = _one(Problem.NO_REQUESTS)
    row = ds.containers.filter(pl.col(c.OWNER_NAME) == owner, pl.col(c.CONTAINER) == container)
    assert row.select(c.CPU_REQUEST_CORES, c.MEMORY_REQUEST_BYTES, c.QOS_CLASS).row(0) == (None, None, "BestEffort")


def test_labelled_workloads_carry_the_seed_labels(ds: Dataset) -> None:
    pods = ds.labels.filter(pl.col(c.OBJECT_KIND) == "Pod", pl.col(c.NAMESPACE) == "auditflow")
    per_pod = pods.group_by(c.NAME).agg(pl.col(c.KEY))
    for keys in per_pod.get_column(c.KEY).to_list():
        assert {"app", "component", "team", "environment", "finops_tier"} <= set(keys)


def test_rollout_replaces_a_replicaset(ds: Dataset) -> None:
    pods = ds.containers.filter(pl.col(c.OWNER_NAME) == "event-audit-dashboard", pl.col(c.CONTAINER) == "nginx")
    assert pods.height == 2
    hashes = {name.rsplit("-", 2)[1] for name in pods.get_column(c.POD)}
    assert len(hashes) == 2
    ended = pods.filter(pl.col(c.END_TIME).is_not_null())
    assert ended.height == 1
    started = pods.filter(pl.col(c.END_TIME).is_null()).get_column(c.START_TIME)[0]
    assert ended.get_column(c.END_TIME)[0] == started


def test_daily_and_weekly_cycle(ds: Dataset) -> None:
    u = _usage(ds, "auditflow", "event-audit-dashboard", "event-audit-dashboard")
    hourly = u.with_columns(
        ((pl.col(c.TIMESTAMP).dt.hour() + 1) % 24).alias("hour"), pl.col(c.TIMESTAMP).dt.weekday().alias("dow")
    )
    day = hourly.filter(pl.col("hour").is_between(13, 16), pl.col("dow") <= 5)
    night = hourly.filter(pl.col("hour").is_between(2, 4), pl.col("dow") <= 5)
    weekend = hourly.filter(pl.col("hour").is_between(13, 16), pl.col("dow") >= 6)
    day_mean = day.get_column(c.CPU_USAGE_CORES).mean()
    assert day_mean > 4 * night.get_column(c.CPU_USAGE_CORES).mean()
    assert day_mean > 2 * weekend.get_column(c.CPU_USAGE_CORES).mean()


def test_every_container_has_usage_every_step_while_alive(ds: Dataset) -> None:
    per = ds.usage.group_by(c.POD, c.CONTAINER).len().collect()
    running = ds.containers.filter(pl.col(c.END_TIME).is_null(), ~pl.col(c.INIT_CONTAINER))
    full = per.join(running.select(c.POD, c.CONTAINER, c.START_TIME), on=[c.POD, c.CONTAINER])
    for n, start in full.select("len", c.START_TIME).iter_rows():
        alive = ds.info.end - max(start, ds.info.start)
        assert n == -(-int(alive.total_seconds()) // ds.info.step_seconds)


def test_node_usage_covers_pod_usage(ds: Dataset) -> None:
    pods = ds.usage.group_by(c.TIMESTAMP).agg(pl.col(c.CPU_USAGE_CORES).sum()).collect()
    nodes = ds.node_usage.group_by(c.TIMESTAMP).agg(pl.col(c.CPU_USAGE_CORES).sum().alias("node")).collect()
    joined = pods.join(nodes, on=c.TIMESTAMP)
    assert (joined.get_column("node") >= joined.get_column(c.CPU_USAGE_CORES)).all()


def test_answer_key_is_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "scenario.md").read_text()
    for entry in PLANTED:
        assert f"`{entry.problem.value}`" in text, entry.problem
        assert entry.name in text, entry.name


def test_scale_knob_keeps_behaviour() -> None:
    big = simulate(ScenarioConfig(days=1, step_seconds=600, extra_workloads=60))
    assert big.workloads.height == 21 + 60
    assert big.nodes.height == 4 + 5
    capacity = big.nodes.get_column(c.MEMORY_ALLOCATABLE_BYTES).sum()
    assert capacity > 8 * GI
    u = _usage(big, *_one(Problem.OVER_PROVISIONED))
    assert u.get_column(c.CPU_USAGE_CORES).quantile(0.95) < 0.06
