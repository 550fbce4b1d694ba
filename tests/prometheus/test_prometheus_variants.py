"""Real-world variants on a real Prometheus: several clusters behind one server, dockershim pause
containers with non-default job names, a query the server refuses, and the CLI end to end."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from compare import differences
from expo_dataset import CLUSTER, REPORT, STEP, dataset

import servers
from kubetally.cli import app
from kubetally.dataset import Dataset, load
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics
from kubetally.sources.prometheus import Connection, Query, collect
from kubetally.sources.prometheus.client import PrometheusClient
from kubetally.sources.prometheus.plan import Window, chunks

pytestmark = pytest.mark.services
LOCAL_PATH = {"volume_usage": "local-path claims have no kubelet volume stats (hostPath plugin)"}


def renamed(ds: Dataset, cluster: str) -> Dataset:
    frames = {spec.name: ds.frame(spec).with_columns(pl.lit(cluster).alias(c.CLUSTER)) for spec in schema.FRAMES}
    return ds.with_frames(**frames)


def without_local_path(ds: Dataset) -> Dataset:
    claims = (
        ds.table(schema.VOLUMES).filter(pl.col(c.STORAGE_CLASS) != "local-path").select(c.CLUSTER, c.NAMESPACE, c.PVC)
    )
    usage = ds.series(schema.VOLUME_USAGE).join(claims.lazy(), on=[c.CLUSTER, c.NAMESPACE, c.PVC], how="semi")
    return ds.with_frames(volume_usage=usage)


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Dataset, Dataset]]:
    """One Prometheus holding two clusters, told apart by a `cluster` label (as a central Thanos/Mimir)."""
    work = tmp_path_factory.mktemp("two-clusters")
    a, b = renamed(dataset(), "pi-a"), renamed(dataset(), "pi-b")
    for name, ds in (("a", a), ("b", b)):
        om = work / f"{name}.om"
        with open(om, "wb") as out:
            write_openmetrics(ds, out, ExpositionOptions(cluster_label="cluster"))
        servers.backfill(om, work / "tsdb")
    with servers.prometheus(work / "tsdb") as url:
        yield url, a, b


def query_for(ds: Dataset, **kw: object) -> Query:
    window = int(ds.info.window.total_seconds())
    return Query(end=ds.info.end, window_seconds=window, step_seconds=ds.info.step_seconds, **kw)  # type: ignore[arg-type]


def test_cluster_label_splits_one_server_into_clusters(two_clusters: tuple[str, Dataset, Dataset]) -> None:
    url, a, b = two_clusters
    got = collect(Connection(url=url), query_for(a, cluster_label="cluster")).dataset
    assert sorted(got.containers.get_column(c.CLUSTER).unique()) == ["pi-a", "pi-b"]
    only_b = collect(Connection(url=url), query_for(b, cluster_label="cluster", clusters=("pi-b",))).dataset
    assert differences(without_local_path(b), only_b) == []


def test_dockershim_pause_and_renamed_jobs(tmp_path: Path) -> None:
    truth = dataset()
    om = tmp_path / "h.om"
    options = ExpositionOptions(docker_runtime=True, kubelet_job="k3s-server", ksm_job="ksm")
    with open(om, "wb") as out:
        write_openmetrics(truth, out, options)
    servers.backfill(om, tmp_path / "tsdb")
    with servers.prometheus(tmp_path / "tsdb") as url:
        q = query_for(truth, cluster_name=CLUSTER, kubelet_job="k3s-server|kubelet", ksm_job="ksm")
        got = collect(Connection(url=url), q).dataset
        assert differences(without_local_path(truth), got) == []
        with pytest.raises(SourceError, match=r"no kube_pod_info series with job=~'kube-state-metrics'"):
            collect(Connection(url=url), query_for(truth))
        wrong_job = collect(Connection(url=url), query_for(truth, ksm_job="ksm", kubelet_job="kubelet")).dataset
        assert wrong_job.usage.collect().height == 0
        assert any("no cAdvisor series with job=~'kubelet'" in note for note in wrong_job.info.notes)


def test_server_refusal_is_one_clear_line(tmp_path: Path) -> None:
    truth = dataset()
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(truth, out)
    servers.backfill(om, tmp_path / "tsdb")
    with servers.prometheus(tmp_path / "tsdb") as url, PrometheusClient(Connection(url=url)) as client:
        end = truth.info.end.timestamp()
        with pytest.raises(SourceError) as err:
            client.range("up", end - 12_000, end, 1)  # 12,001 points: over Prometheus' 11,000 limit
        assert "exceeded maximum resolution of 11,000 points per timeseries" in str(err.value)
        with pytest.raises(SourceError, match="rejected a query"):
            client.instant("sum(", end)


def test_fourteen_days_at_one_minute_stays_under_the_point_limit() -> None:
    window = Window(0, 14 * 86400, 60)
    parts = chunks(window, 11_000)
    assert [p.seconds // 60 for p in parts] == [11_000, 9_160]
    assert parts[0].start == 0 and parts[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))


def test_collect_cli_writes_a_dataset(tmp_path: Path) -> None:
    truth = dataset()
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(truth, out)
    servers.backfill(om, tmp_path / "tsdb")
    runner = CliRunner()
    with servers.prometheus(tmp_path / "tsdb") as url:
        args = ["collect", "--prometheus", url, "--out", str(tmp_path / "ds"), "--window", "1h", "--step", "5m",
                "--end", truth.info.end.strftime("%Y-%m-%dT%H:%M:%S"), "--cluster-name", CLUSTER]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        # the simulator's KSM exposition has no reclaim_policy label (as before v2.16): inferred, with a note
        assert "queries" in said and "volumes' reclaim_policy inferred" in said
        assert differences(without_local_path(truth), load(tmp_path / "ds")) == []
        # a real public dump's objects (kubectl-neat: 2 pods on a kind node) over Prometheus' history: one dataset
        dump = Path(__file__).parents[2] / "testdata" / "kube-dumps" / "kubectl-neat-list-1-raw.json"
        both = runner.invoke(app, [*args[:3], "--out", str(tmp_path / "both"), *args[5:], "--kube-dump", str(dump)])
        assert both.exit_code == 0, both.output
        merged, history = load(tmp_path / "both"), load(tmp_path / "ds")
        assert merged.collected(schema.USAGE).sort(pl.all()).equals(history.collected(schema.USAGE).sort(pl.all()))
        pods = set(merged.containers.get_column(c.POD)) - set(history.containers.get_column(c.POD))
        assert pods == {"t1", "t2"}
    bad = runner.invoke(app, ["collect", "--prometheus", "ftp://nowhere", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0


def test_analysis_commands_accept_prometheus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = dataset()
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(truth, out)
    servers.backfill(om, tmp_path / "tsdb")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_WINDOW", "1h")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_STEP", "5m")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_END", truth.info.end.isoformat())
    with servers.prometheus(tmp_path / "tsdb") as url:
        result = CliRunner().invoke(app, ["nodes", "--prometheus", url])
    assert result.exit_code == 0, result.output
    assert "pi-1" in result.output and "pi-2" in result.output


def test_labels_from_a_kubectl_dump_when_ksm_has_none(tmp_path: Path) -> None:
    truth = dataset()
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(truth, out, ExpositionOptions(label_allowlist=False))
    servers.backfill(om, tmp_path / "tsdb")
    items: dict[tuple[str, str, str], dict[str, object]] = {}
    for row in truth.labels.iter_rows(named=True):
        key = (row[c.OBJECT_KIND], row[c.NAMESPACE], row[c.NAME])
        meta = {"name": row[c.NAME], "labels": {}} | ({"namespace": row[c.NAMESPACE]} if row[c.NAMESPACE] else {})
        item = items.setdefault(key, {"kind": row[c.OBJECT_KIND], "metadata": meta})
        item["metadata"]["labels"][row[c.KEY]] = row[c.VALUE]  # type: ignore[index]
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items.values())}))
    with servers.prometheus(tmp_path / "tsdb") as url:
        got = collect(Connection(url=url), query_for(truth, cluster_name=CLUSTER), labels_from=dump).dataset
    assert differences(without_local_path(truth), got) == []
    assert any("labels read from the kubectl dump dump.json" in note for note in got.info.notes)


def test_scrape_gap_leaves_rows_unknown_not_zero(tmp_path: Path) -> None:
    """Two missed scrapes of container web (steps 3 and 4): those steps and the one after (whose counter
    delta spans the gap) have no usage rows; everything else is unchanged."""
    truth = dataset()
    gap = (pl.col(c.CONTAINER) == "web") & pl.col(c.TIMESTAMP).is_in(
        [truth.info.start + timedelta(seconds=k * STEP) for k in (3, 4)]
    )
    gappy = truth.with_frames(usage=truth.usage.filter(~gap))
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(gappy, out)
    servers.backfill(om, tmp_path / "tsdb")
    with servers.prometheus(tmp_path / "tsdb") as url:
        got = collect(Connection(url=url), query_for(truth, cluster_name=CLUSTER)).dataset
    lost = (pl.col(c.CONTAINER) == "web") & pl.col(c.TIMESTAMP).is_in(
        [truth.info.start + timedelta(seconds=k * STEP) for k in (3, 4, 5)]
    )
    expected = without_local_path(truth.with_frames(usage=truth.usage.filter(~lost)))
    assert differences(expected, got) == []


def test_resource_endpoint_and_host_network_sandboxes_round_trip(tmp_path: Path) -> None:
    """The simulator's real-world shapes (as the real kind captures of tests/realdata have them): the kubelet's
    /metrics/resource scraped beside cAdvisor, and a hostNetwork pod whose sandbox reports the node's traffic.
    CPU and memory are cAdvisor's once; the hostNetwork pod gets no pod network (the node's is counted once)."""
    truth = dataset()
    om = tmp_path / "h.om"
    options = ExpositionOptions(kubelet_resource_endpoint=True, host_network_namespaces=("batch",))
    with open(om, "wb") as out:
        write_openmetrics(truth, out, options)
    servers.backfill(om, tmp_path / "tsdb")
    with servers.prometheus(tmp_path / "tsdb") as url:
        got = collect(Connection(url=url), query_for(truth, cluster_name=CLUSTER)).dataset
    network = truth.series(schema.POD_NETWORK).filter(pl.col(c.NAMESPACE) != "batch")
    assert differences(without_local_path(truth).with_frames(pod_network=network), got) == []
    notes = " ".join(got.info.notes)
    assert "come from another kubelet endpoint than cAdvisor" in notes
    assert "1 hostNetwork pods" in notes and REPORT in notes


def ksm_round_trip(tmp_path: Path, version: str) -> tuple[Dataset, Dataset]:
    truth = dataset()
    om = tmp_path / "h.om"
    with open(om, "wb") as out:
        write_openmetrics(truth, out, ExpositionOptions(ksm_version=version))
    servers.backfill(om, tmp_path / "tsdb")
    with servers.prometheus(tmp_path / "tsdb") as url:
        return truth, collect(Connection(url=url), query_for(truth, cluster_name=CLUSTER)).dataset


def test_current_kube_state_metrics_reads_back_exactly(tmp_path: Path) -> None:
    """KSM v2.19: reclaim_policy is read (not inferred), endpoints come from kube_endpoint_address{ready}, the Job
    pod's Completed container is status_terminated_reason at kube_pod_completion_time."""
    truth, got = ksm_round_trip(tmp_path, "2.19")
    assert differences(without_local_path(truth), got) == []
    assert not any("reclaim_policy inferred" in note for note in got.info.notes)
    assert {m.family for m in got.info.missing} == {"kube_serviceaccount_info", "kube_ingress_info"}


def test_kube_state_metrics_2_7_loses_exactly_what_the_notes_say(tmp_path: Path) -> None:
    """KSM v2.7 has no qos_class family and no last_terminated_timestamp: QoS is empty and the OOM kill at 00:27:30
    is placed at the step where restarts_total went up (00:25); everything else reads back exactly."""
    truth, got = ksm_round_trip(tmp_path, "2.7")
    terms = truth.table(schema.TERMINATIONS)
    oom = pl.col(c.REASON) == "OOMKilled"
    at_step = terms.with_columns(pl.when(oom).then(pl.col(c.TIMESTAMP).dt.truncate("5m")).otherwise(c.TIMESTAMP))
    expected = without_local_path(truth).with_frames(
        containers=truth.containers.with_columns(pl.lit("").alias(c.QOS_CLASS)), terminations=at_step
    )
    assert differences(expected, got) == []
    missing = {m.family for m in got.info.missing}
    assert {"kube_pod_status_qos_class", "kube_pod_container_status_last_terminated_timestamp"} <= missing
    assert any("reclaim_policy inferred" in note for note in got.info.notes)
