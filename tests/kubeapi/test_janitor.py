"""`kubetally janitor` against the Kubernetes API test server (it records every request).

Dry-run sends no DELETE; --yes deletes in order with propagationPolicy Foreground and an Event
each; protected namespaces and annotations hold; the blast-radius limit aborts; a run SIGKILLed at
several points and run again finishes its plan and deletes nothing outside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubeapi.server import KubeAPIServer

Obj = dict[str, Any]
OLD = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, ns: str | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name, "creationTimestamp": OLD, **extra}
    if ns is not None:
        meta["namespace"] = ns
    return meta


def cm(name: str, ns: str, **extra: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, ns, **extra), "data": {"k": "v"}}


def deployment(name: str, ns: str, configmap: str, **extra: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, ns, **extra),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "busybox", "envFrom": [{"configMapRef":
                                                                                         {"name": configmap}}]}]},
            },
        },
    }  # fmt: skip


def namespace(name: str, **extra: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, **extra)}


TTL = {"annotations": {"janitor/ttl": "24h"}}


def cluster() -> list[Obj]:
    return [
        namespace("default"),
        namespace("kube-system"),
        namespace("scratch"),
        namespace("ci-1234", labels={"ci-run": "1234"}),
        namespace("keep-db", labels={"ci-run": "1234"}),
        # scratch: a Deployment and the ConfigMap it uses, both expired, and a fresh one
        deployment("preview", "scratch", "preview-config", **TTL),
        cm("preview-config", "scratch", **TTL),
        cm("fresh", "scratch", annotations={"janitor/ttl": "7d"}),
        cm("until-2020", "scratch", annotations={"janitor/expires": "2020-01-01"}),
        cm("forever", "scratch", annotations={"janitor/ttl": "forever"}),
        cm("bad-ttl", "scratch", annotations={"janitor/ttl": "soon"}),
        cm("protected", "scratch", annotations={"janitor/ttl": "1h", "kubetally.io/protect": "true"}),
        # protected namespaces hold whatever the annotations say
        cm("system-expired", "kube-system", **TTL),
        # CI: everything labelled ci-run=1234 (a namespace holding a protected object is kept)
        deployment("job-runner", "ci-1234", "runner-config", labels={"ci-run": "1234"}),
        cm("runner-config", "ci-1234", labels={"ci-run": "1234"}),
        cm("db-data", "keep-db", annotations={"kubetally.io/protect": "true"}),
        cm("unrelated", "default"),
    ]


@pytest.fixture
def api() -> Iterator[KubeAPIServer]:
    with KubeAPIServer(cluster()) as server:
        yield server


def janitor(api: KubeAPIServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    cmd = [sys.executable, "-m", "kubetally", "janitor", "--kubeconfig", str(config),
           "--audit-log", str(tmp_path / "audit.jsonl"), *args]  # fmt: skip
    return subprocess.run(
        cmd, check=False, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"}
    )


def deletes(api: KubeAPIServer) -> list[str]:
    return [r.path for r in api.requests if r.method == "DELETE"]


def names(api: KubeAPIServer, kind: str) -> set[str]:
    return {f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in api.objects(kind)}


def test_dry_run_prints_the_plan_and_sends_no_delete(api: KubeAPIServer, tmp_path: Path) -> None:
    result = janitor(api, tmp_path, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert deletes(api) == []
    p = json.loads(result.stdout)
    planned = [(i["kind"], i["namespace"], i["name"]) for i in p["items"]]
    assert planned == [
        ("Deployment", "scratch", "preview"),
        ("ConfigMap", "scratch", "preview-config"),
        ("ConfigMap", "scratch", "until-2020"),
    ]
    kept = {(r["namespace"], r["name"]): r["reason"] for r in p["refused"]}
    assert kept[("scratch", "protected")] == "annotated kubetally.io/protect: true"
    assert kept[("kube-system", "system-expired")] == "namespace kube-system is protected"
    assert any("janitor/ttl 'soon' is not a duration" in w for w in p["problems"])
    assert not (tmp_path / "audit.jsonl").exists()


def test_yes_deletes_in_order_with_foreground_propagation_and_events(api: KubeAPIServer, tmp_path: Path) -> None:
    result = janitor(api, tmp_path, "--yes")
    assert result.returncode == 0, result.stderr
    assert deletes(api) == [
        "/apis/apps/v1/namespaces/scratch/deployments/preview",  # the workload before the ConfigMap it uses
        "/api/v1/namespaces/scratch/configmaps/preview-config",
        "/api/v1/namespaces/scratch/configmaps/until-2020",
    ]
    bodies = [r.body for r in api.requests if r.method == "DELETE"]
    assert all(b["propagationPolicy"] == "Foreground" and b["preconditions"]["uid"] for b in bodies)
    assert names(api, "ConfigMap") >= {"scratch/fresh", "scratch/forever", "scratch/protected", "scratch/bad-ttl",
                                       "kube-system/system-expired"}  # fmt: skip
    events = [o for o in api.objects("Event") if o["reason"] == "KubetallyJanitorDelete"]
    assert {e["involvedObject"]["name"] for e in events} == {"preview", "preview-config", "until-2020"}
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["plan", "delete", "delete", "delete", "finished"]
    assert {r["result"] for r in records if r["event"] == "delete"} == {"deleted"}


def test_ci_selector_deletes_the_run_namespace_not_a_protected_one(api: KubeAPIServer, tmp_path: Path) -> None:
    result = janitor(api, tmp_path, "--selector", "ci-run=1234", "--yes")
    assert result.returncode == 0, result.stderr
    assert "/api/v1/namespaces/ci-1234" in deletes(api)
    assert deletes(api)[-1] == "/api/v1/namespaces/ci-1234"  # namespaces last
    assert "/api/v1/namespaces/keep-db" not in deletes(api)
    assert "ci-1234/runner-config" not in names(api, "ConfigMap")  # gone with its namespace
    assert "keep-db/db-data" in names(api, "ConfigMap")
    assert "kept: Namespace keep-db: holds an object annotated kubetally.io/protect: true" in result.stdout
    assert "/apis/apps/v1/namespaces/scratch/deployments/preview" not in deletes(api)  # expired, but not labelled


def test_blast_radius_aborts_the_whole_plan(api: KubeAPIServer, tmp_path: Path) -> None:
    result = janitor(api, tmp_path, "--yes", "--max-deletions", "2")
    assert result.returncode == 4
    assert "3 deletions planned, more than the limit of 2" in result.stderr
    assert deletes(api) == []
    result = janitor(api, tmp_path, "--yes", "--max-percent", "10")  # 2 of the 12 ConfigMaps
    assert result.returncode == 4 and "(--max-percent): nothing deleted" in result.stderr
    assert deletes(api) == []


@pytest.mark.parametrize("kill_after", [1, 4, 9])
def test_killed_midway_the_rerun_finishes_the_plan_and_nothing_else(tmp_path: Path, kill_after: int) -> None:
    objects = [namespace("scratch")] + [cm(f"old-{i:02d}", "scratch", **TTL) for i in range(12)]
    with KubeAPIServer(objects) as api:
        config = api.write_kubeconfig(tmp_path / "kubeconfig")
        audit = tmp_path / "audit.jsonl"
        cmd = [sys.executable, "-m", "kubetally", "janitor", "--kubeconfig", str(config), "--audit-log", str(audit),
               "--yes", "--max-percent", "100"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(deletes(api)) < kill_after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        api.add([cm("new-expired", "scratch", **TTL)])  # expired meanwhile: not in the killed run's plan
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        left = {o["metadata"]["name"] for o in api.objects("ConfigMap")}
        assert "new-expired" in left  # not in the plan of the killed run
        assert not {n for n in left if n.startswith("old-")}  # the plan is finished
        planned = {f"/api/v1/namespaces/scratch/configmaps/old-{i:02d}" for i in range(12)}
        assert set(deletes(api)) == planned
        records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
        assert records[-1]["event"] == "finished"
        assert sum(1 for r in records if r["event"] == "plan") == 1  # resumed, not re-planned


def test_the_ci_example_cleans_up_its_run(api: KubeAPIServer, tmp_path: Path) -> None:
    """examples/ci/ephemeral-namespace.yaml's clean-up step, as written, deletes the run's namespace only."""
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((Path(__file__).parents[2] / "examples/ci/ephemeral-namespace.yaml").read_text())
    steps = workflow["jobs"]["integration"]["steps"]
    cleanup = next(s for s in steps if s.get("name", "").startswith("Clean up"))
    assert cleanup["if"] == "always()"
    command = cleanup["run"].replace("${{ github.run_id }}", "1234").split()
    assert command[:2] == ["kubetally", "janitor"]
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    env = {**os.environ, "KUBECONFIG": str(config)}
    result = subprocess.run([sys.executable, "-m", *command], check=False, capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    ns_deletes = [p for p in deletes(api) if p.startswith("/api/v1/namespaces/") and p.count("/") == 4]
    assert ns_deletes == ["/api/v1/namespaces/ci-1234"]
    assert (tmp_path / "janitor-audit.jsonl").exists()
