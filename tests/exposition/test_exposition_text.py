"""OpenMetrics exposition of a hand-made Dataset: parsed, backfilled, and checked by hand.

Expected values are worked out from tests/exposition/expo_dataset.py's docstring.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
from expo_dataset import OOM_AT, STEP, T0, WEB, dataset
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics

Sample = tuple[str, dict[str, str], float, float]


def _text(**options: object) -> str:
    buf = io.StringIO()
    write_openmetrics(dataset(), buf, ExpositionOptions(**options))  # type: ignore[arg-type]
    return buf.getvalue()


def _samples(text: str) -> list[Sample]:
    out: list[Sample] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.append((s.name, dict(s.labels), float(s.value), float(s.timestamp)))
    return out


def _series(
    samples: list[Sample], name: str, **match: str
) -> dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]:
    found: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = defaultdict(list)
    for n, labels, value, ts in samples:
        if n == name and all(labels.get(k, "") == v for k, v in match.items()):
            found[tuple(sorted(labels.items()))].append((ts, value))
    return found


@pytest.fixture(scope="module")
def default_text() -> str:
    return _text()


@pytest.fixture(scope="module")
def samples(default_text: str) -> list[Sample]:
    return _samples(default_text)


def test_official_parser_accepts_every_variant() -> None:
    for options in ({}, {"label_allowlist": False}, {"container_label_lost": True}, {"docker_runtime": True},
                    {"cluster_label": "cluster", "kubelet_job": "k3s-server"}):  # fmt: skip
        text = _text(**options)
        assert text.endswith("# EOF\n")
        families = list(text_string_to_metric_families(text))
        assert len(families) > 40, options


def test_families_are_contiguous_and_timestamps_are_seconds(default_text: str) -> None:
    names: list[str] = []
    for line in default_text.splitlines():
        if line.startswith("# TYPE"):
            names.append(line.split()[2])
    assert len(names) == len(set(names))
    stamps = {int(line.rsplit(" ", 1)[1]) for line in default_text.splitlines() if not line.startswith("#")}
    assert min(stamps) == T0 and max(stamps) == T0 + 12 * STEP  # seconds, inside the window


def test_cpu_counter_is_cumulative_and_resets_with_a_new_id_after_the_oom_kill(samples: list[Sample]) -> None:
    web = _series(samples, "container_cpu_usage_seconds_total", container="web")
    assert len(web) == 2  # one series per container instance
    by_start = sorted(web.values(), key=lambda pts: pts[0][0])
    first, second = by_start
    # 0.1 cores x 300 s = 30 cpu-seconds a step; a 0 at the start of the first step.
    assert first == [(T0 + i * STEP, 30.0 * i) for i in range(7)]
    # OOM at 00:27:30 -> the new container starts with the step at 00:30 (T0 + 6 steps).
    assert OOM_AT.timestamp() == T0 + 5 * STEP + 150
    assert second == [(T0 + 6 * STEP + i * STEP, 30.0 * i) for i in range(7)]
    ids = {dict(k)["name"] for k in web}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)


def test_three_kinds_of_cadvisor_series(samples: list[Sample]) -> None:
    cpu = _series(samples, "container_cpu_usage_seconds_total", pod=WEB)
    kinds = defaultdict(int)
    for key in cpu:
        labels = dict(key)
        if "container" in labels:
            kinds["container"] += 1
        elif "image" in labels and "pause" in labels["image"]:
            kinds["pause"] += 1
        else:
            kinds["pod"] += 1
            assert labels["id"] == "/kubepods/burstable/pod11111111-1111-1111-1111-111111111111"
    assert kinds == {"container": 3, "pause": 1, "pod": 1}  # web x2 (restart), log-shipper
    # The pod-level series is the sum of its containers (0.1 + 0.02 cores) and never resets.
    pod_level = next(v for k, v in cpu.items() if "image" not in dict(k))
    assert pod_level[-1] == (T0 + 12 * STEP, pytest.approx(0.12 * STEP * 12))


def test_network_only_on_the_pause_series(samples: list[Sample]) -> None:
    rx = _series(samples, "container_network_receive_bytes_total")
    assert rx and all("container" not in dict(k) and dict(k)["interface"] == "eth0" for k in rx)
    web = next(v for k, v in rx.items() if dict(k)["pod"] == WEB)
    assert web[1] == (T0 + STEP, 1000.0 * STEP)
    assert web[0] == (T0, 0.0) and web[-1] == (T0 + 12 * STEP, 1000.0 * STEP * 12)


def test_cfs_counters_only_where_a_cpu_limit_exists(samples: list[Sample]) -> None:
    periods = _series(samples, "container_cpu_cfs_periods_total")
    assert {dict(k)["container"] for k in periods} == {"web", "postgres"}
    throttled = _series(samples, "container_cpu_cfs_throttled_periods_total", container="web")
    first = min(throttled.values(), key=lambda pts: pts[0][0])
    # 25 % of 10 periods/s x 300 s = 750 throttled periods a step.
    assert first[:3] == [(T0, 0.0), (T0 + STEP, 750.0), (T0 + 2 * STEP, 1500.0)]


def test_ksm_series_with_target_label_pollution(samples: list[Sample]) -> None:
    info = _series(samples, "kube_pod_info", pod=WEB)
    (key,) = info
    labels = dict(key)
    assert labels["container"] == "kube-state-metrics" and labels["created_by_kind"] == "ReplicaSet"
    assert labels["created_by_name"] == "web-6d4b9c7f8" and labels["node"] == "pi-1"
    owners = _series(samples, "kube_replicaset_owner", replicaset="web-6d4b9c7f8")
    assert [dict(k)["owner_name"] for k in owners] == ["web"]
    alloc = _series(samples, "kube_node_status_allocatable", node="pi-1", resource="memory")
    (akey,) = alloc
    assert dict(akey)["namespace"] == "monitoring" and dict(akey)["unit"] == "byte"
    assert alloc[akey][0][1] == 8 * 2**30 - 256 * 2**20
    req = _series(samples, "kube_pod_container_resource_requests", container="web", resource="cpu")
    assert [v for pts in req.values() for _, v in pts][:1] == [0.25]
    assert not _series(samples, "kube_pod_container_resource_requests", container="log-shipper")
    reason = _series(samples, "kube_pod_container_status_last_terminated_reason", container="web")
    (rkey,) = reason
    assert dict(rkey)["reason"] == "OOMKilled" and reason[rkey][0][0] == T0 + 6 * STEP


def test_pod_labels_are_prefixed_and_sanitized_and_absent_without_allowlist(samples: list[Sample]) -> None:
    labels = _series(samples, "kube_pod_labels", pod="report-29012345-xk2lp")
    assert [dict(k)["label_app_kubernetes_io_name"] for k in labels] == ["report"]
    without = _samples(_text(label_allowlist=False))
    assert not [s for s in without if s[0].endswith("_labels")]


def test_lost_container_label_leaves_only_pod_level_cadvisor_series() -> None:
    lost = _samples(_text(container_label_lost=True))
    cadvisor = [s for s in lost if s[0].startswith("container_")]
    assert cadvisor and all("container" not in s[1] and "image" not in s[1] for s in cadvisor)
    assert not [s for s in cadvisor if "network" in s[0]]
    assert [s for s in lost if s[0] == "kube_pod_container_info"]  # KSM still knows the containers


def test_dockershim_pause_has_container_pod() -> None:
    docker = _samples(_text(docker_runtime=True))
    rx = [s for s in docker if s[0] == "container_network_receive_bytes_total"]
    assert rx and all(s[1]["container"] == "POD" for s in rx)


def test_volume_stats_absent_for_local_path(samples: list[Sample]) -> None:
    used = _series(samples, "kubelet_volume_stats_used_bytes")
    assert [dict(k)["persistentvolumeclaim"] for k in used] == ["scratch"]
    assert {dict(k)["metrics_path"] for k in used} == {"/metrics"}


def test_node_exporter_has_no_node_label_and_busy_cpu_adds_up(samples: list[Sample]) -> None:
    cpu = _series(samples, "node_cpu_seconds_total", instance="10.0.0.10:9100")
    assert cpu and all("node" not in dict(k) for k in cpu)
    busy_end = sum(pts[-1][1] for k, pts in cpu.items() if dict(k)["mode"] != "idle")
    assert busy_end == pytest.approx(1.0 * STEP * 12)  # pi-1 is busy 1 core all hour


def test_postgres_sizes(samples: list[Sample]) -> None:
    size = _series(samples, "pg_database_size_bytes", datname="shop")
    (key,) = size
    assert dict(key)["pod"] == "db-0" and size[key][0] == (T0 + STEP, 50.0 * 2**20)
    assert _series(samples, "pg_stat_user_tables_n_live_tup", relname="orders")


def test_cluster_label_and_job_names_are_configurable() -> None:
    text = _text(cluster_label="cluster", kubelet_job="k3s-server")
    got = _samples(text)
    assert all(s[1].get("cluster") == "handmade" for s in got)
    assert {s[1]["job"] for s in got if s[0].startswith("container_")} == {"k3s-server"}


def test_streams_to_binary_files_and_is_deterministic(tmp_path: Path, default_text: str) -> None:
    path = tmp_path / "out.om"
    with open(path, "wb") as out:
        stats = write_openmetrics(dataset(), out)
    assert path.read_text() == default_text
    assert stats.bytes == path.stat().st_size
    assert stats.samples == sum(1 for line in default_text.splitlines() if not line.startswith("#"))
