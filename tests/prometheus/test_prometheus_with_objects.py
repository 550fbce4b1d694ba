"""Prometheus beside a Kubernetes source: objects from the API (the tests/kubeapi server, with the simulator's
objects) and history from a real Prometheus holding the same cluster's exposition without the KSM label allowlist.
The one Dataset they make is the ground truth: labels that KSM did not export come from the API, and pods the API
no longer lists keep their usage and owner from Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from compare import differences

from kubeapi.compare import NOT_IN_TRUTH
from kubeapi.compare import differences as inventory_differences
from kubeapi.server import KubeAPIServer
from kubetally.cli import app
from kubetally.dataset import Dataset, save
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.k8s import cluster_objects
from kubetally.sources.combined import objects_with_history
from kubetally.sources.kubernetes import KubeConnection, dataset_from_api, dataset_from_objects
from kubetally.sources.prometheus import Connection, Query, collect
from servers import Serve

pytestmark = pytest.mark.services
CLUSTER = "auditflow-pi"


@pytest.fixture(scope="module")
def history(serve: Serve, auditflow_short: Dataset) -> Dataset:
    truth = auditflow_short
    window = int(truth.info.window.total_seconds())
    query = Query(end=truth.info.end, window_seconds=window, step_seconds=truth.info.step_seconds, cluster_name=CLUSTER)
    return collect(Connection(url=serve("prometheus", "no_allowlist")), query).dataset


def comparable(ds: Dataset) -> Dataset:
    """Without the ReplicaSet/HPA objects the ground truth does not model as rows (tests/kubeapi/compare.py)."""
    objects = ds.table(schema.OBJECTS).filter(~pl.col(c.KIND).is_in(NOT_IN_TRUTH))
    refs = ds.table(schema.REFERENCES).filter(~pl.col(c.FROM_KIND).is_in(NOT_IN_TRUTH))
    return ds.with_frames(objects=objects, references=refs)


def test_objects_from_the_api_and_usage_from_prometheus_are_the_ground_truth(
    history: Dataset, auditflow_short: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> None:
    truth = auditflow_short
    assert history.labels.filter(pl.col(c.OBJECT_KIND) == "Pod").height == 0  # KSM without the allowlist
    assert any(note.startswith("kube_pod_labels absent") for note in history.info.notes)
    config = tmp_path_factory.mktemp("kube") / "config"
    with KubeAPIServer(cluster_objects(truth)) as api:
        api.write_kubeconfig(config)
        objects = dataset_from_api(KubeConnection(kubeconfig=config), cluster_name=CLUSTER, at=truth.info.end)
        url = api.url
    got = comparable(objects_with_history(objects, history))
    assert inventory_differences(got, truth) == {}
    assert differences(truth, got) == []
    assert got.info.start == truth.info.start and got.info.step_seconds == truth.info.step_seconds
    notes = " ".join(got.info.notes)
    assert "kube_pod_labels absent" not in notes and "reclaim_policy inferred" not in notes
    assert "one point in time" not in notes and f"objects from kubernetes:{url}" in notes
    assert {m.family for m in got.info.missing} <= {m.family for m in history.info.missing} - {"kube_pod_labels"}


def test_pods_the_dump_no_longer_lists_keep_their_owner_from_prometheus(
    history: Dataset, auditflow_short: Dataset
) -> None:
    truth = auditflow_short
    everything = cluster_objects(truth)
    finished = {
        (o["metadata"]["namespace"], o["metadata"]["name"])  # type: ignore[index]
        for o in everything
        if o["kind"] == "Pod" and o.get("status", {}).get("phase") in ("Succeeded", "Failed")  # type: ignore[union-attr]
    }
    assert finished  # the CronJob's pods, a Deployment's failed pod
    later = [o for o in everything if (o.get("metadata", {}).get("namespace"), o.get("metadata", {}).get("name"))  # type: ignore[union-attr]
             not in finished or o["kind"] != "Pod"]  # fmt: skip
    objects = dataset_from_objects(later, cluster_name=CLUSTER, source="kube-dump:later.json", at=truth.info.end)
    assert objects.containers.height < truth.containers.height
    got = objects_with_history(objects, history)
    key = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    gone = truth.containers.filter(
        pl.struct(c.NAMESPACE, c.POD).is_in([{c.NAMESPACE: n, c.POD: p} for n, p in finished])
    )
    from_prometheus = got.containers.join(gone.select(key), on=key, how="semi").sort(key)
    assert from_prometheus.equals(history.containers.join(gone.select(key), on=key, how="semi").sort(key))
    assert sorted(from_prometheus.get_column(c.POD).unique()) == sorted(p for _, p in finished)
    owners = [*key, c.OWNER_KIND, c.OWNER_NAME]
    assert from_prometheus.select(owners).equals(gone.select(owners).sort(key))
    assert "CronJob" in set(from_prometheus.get_column(c.OWNER_KIND))


def test_a_cluster_prometheus_does_not_hold_is_one_line(history: Dataset, auditflow_short: Dataset) -> None:
    two = pl.concat([history.containers, history.containers.with_columns(pl.lit("other").alias(c.CLUSTER))])
    objects = dataset_from_objects(cluster_objects(auditflow_short), cluster_name="pi-b", source="kube-dump:x")
    with pytest.raises(SourceError, match="Prometheus holds clusters auditflow-pi, other and the Kubernetes source"):
        objects_with_history(objects, history.with_frames(containers=two))


def test_showback_with_kubeconfig_beside_prometheus_is_the_ground_truths(
    serve: Serve, auditflow_short: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user runs it: `kubetally showback --kubeconfig FILE --prometheus URL`: the per-team cost is the one
    of the ground truth (team labels exist only in the API here: KSM has no label allowlist)."""
    truth = auditflow_short
    save(truth, tmp_path / "truth")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_WINDOW", f"{int(truth.info.window.total_seconds())}s")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_STEP", f"{truth.info.step_seconds}s")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_END", truth.info.end.isoformat())
    runner = CliRunner()
    expected = runner.invoke(app, ["showback", "-d", str(tmp_path / "truth"), "--by", "team", "-o", "json"])
    assert expected.exit_code == 0, expected.output
    with KubeAPIServer(cluster_objects(truth)) as api:
        config = api.write_kubeconfig(tmp_path / "config")
        url = serve("prometheus", "no_allowlist")
        got = runner.invoke(
            app, ["showback", "--kubeconfig", str(config), "--prometheus", url, "--by", "team", "-o", "json"]
        )
        alone = runner.invoke(app, ["showback", "--prometheus", url, "--by", "team", "-o", "json"])
    assert got.exit_code == 0, got.output
    assert by_team(got.stdout) == by_team(expected.stdout)
    assert by_team(alone.stdout) != by_team(expected.stdout)  # without the API, no pod has a team label


def by_team(text: str) -> dict[str, str]:
    return {row["team"]: row["total_cost"] for row in json.loads(text)}
