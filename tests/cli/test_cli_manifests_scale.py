"""`kubetally rightsize --manifests/-o patch/-o vpa` and `kubetally scale`, end to end on a small AuditFlow."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests.invariants import qos_class, requests_over_limits
from kubetally.dataset import load, save
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.k8s import cluster_objects

K8S = Path(__file__).parents[2] / "k8s"
pytestmark = pytest.mark.slow  # several CLI subprocesses


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 7 days at 5-minute steps: enough history for the what-if and for off-hours (a full week)
    return save(simulate(ScenarioConfig(days=7, step_seconds=300)), tmp_path_factory.mktemp("ds") / "dataset")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetally", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_rightsize_manifests_dry_run_then_apply(dataset: Path, tmp_path: Path) -> None:
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    before = {p: p.read_bytes() for p in tree.rglob("*.yaml")}
    dry = run("rightsize", "--dataset", str(dataset), "--manifests", str(tree))
    # mailhog has no resources (BestEffort): giving it requests would change its QoS class, so it is
    # refused with the reason, the rest is planned, and the exit status says something was left out
    assert dry.returncode == 3, dry.stderr
    assert "auditflow-dev/Deployment/mailhog: the pod's QoS class would change from BestEffort to Burstable" in (
        " ".join(dry.stderr.split())
    )
    assert "0 files skipped, 1 objects refused" in dry.stderr
    assert "--- a/auditflow/notification-service.yaml" in dry.stdout
    assert "mailhog" not in dry.stdout
    assert "-              cpu: 1\n" in dry.stdout  # the over-provisioned 1-core request goes down
    assert "dry run:" in dry.stderr and "add --apply" in dry.stderr
    assert {p: p.read_bytes() for p in tree.rglob("*.yaml")} == before  # nothing written
    applied = run("rightsize", "--dataset", str(dataset), "--manifests", str(tree), "--apply")
    assert applied.returncode == 3, applied.stderr
    changed = [p for p in before if p.read_bytes() != before[p]]
    assert tree / "auditflow" / "notification-service.yaml" in changed
    assert tree / "auditflow-dev" / "mailhog.yaml" not in changed
    for path in changed:
        for doc in YAML(typ="safe", pure=True).load_all(path.read_text()):
            kubernetes_validate.validate(doc, "1.32", strict=True)
    allowed = run("rightsize", "--dataset", str(dataset), "--manifests", str(tree), "--apply", "--allow-qos-change")
    assert allowed.returncode == 0, allowed.stderr
    assert (tree / "auditflow-dev" / "mailhog.yaml").read_bytes() != before[tree / "auditflow-dev" / "mailhog.yaml"]
    again = run("rightsize", "--dataset", str(dataset), "--manifests", str(tree), "--allow-qos-change")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""  # applying twice changes nothing more
    assert "0 resource values" in again.stderr
    # and says so per workload, once: the repo holds the recommendation, the cluster not yet
    said = " ".join(again.stderr.split())
    assert said.count("unchanged: ") == 11 and "drift:" not in said
    assert (
        "auditflow/Deployment/notification-service: the manifest already holds the recommendation (not live yet: "
        in said
    )


def test_rightsize_manifest_options_need_manifests(dataset: Path) -> None:
    result = run("rightsize", "--dataset", str(dataset), "--strict")
    assert result.returncode == 2 and "--exclude, --strict and --name-map are for --manifests DIR" in result.stderr
    bad = run("rightsize", "--dataset", str(dataset), "--manifests", "k8s", "--name-map", "(=x")
    assert bad.returncode == 2 and "--name-map" in bad.stderr and "Traceback" not in bad.stderr


def test_rightsize_apply_needs_manifests(dataset: Path) -> None:
    result = run("rightsize", "--dataset", str(dataset), "--apply")
    assert result.returncode == 2 and "--apply needs --manifests" in result.stderr


def test_rightsize_patch_and_vpa_outputs(dataset: Path) -> None:
    patch = run("rightsize", "--dataset", str(dataset), "-n", "auditflow", "-o", "patch")
    assert patch.returncode == 0, patch.stderr
    line = next(ln for ln in patch.stdout.splitlines() if " notification-service " in ln)
    assert line.startswith("kubectl patch deployment notification-service -n auditflow --type strategic -p '")
    body = json.loads(line.split(" -p ", 1)[1].strip("'"))
    assert body["spec"]["template"]["spec"]["containers"][0]["name"] == "notification-service"
    vpa = run("rightsize", "--dataset", str(dataset), "-n", "auditflow", "-o", "vpa")
    docs = list(YAML(typ="safe", pure=True).load_all(vpa.stdout))
    assert {d["spec"]["updatePolicy"]["updateMode"] for d in docs} == {"Off"}
    assert "notification-service" in {d["metadata"]["name"] for d in docs}


def test_scale_json_and_manifests(dataset: Path) -> None:
    result = run("scale", "--dataset", str(dataset), "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    hpa = {row["name"]: row for row in data["hpa"]}
    assert hpa["audit-log-analysis"]["status"] == "recommended"  # the daily cycle
    assert hpa["audit-log-analysis"]["replica_hours_saved"] > 0
    plans = {row["name"]: row for row in data["offhours"]}
    assert plans["audit-log-analysis-dev"]["uptime"] == "Mon-Fri 06:30-20:30 Europe/Berlin"
    manifests = run("scale", "--dataset", str(dataset), "-o", "manifests").stdout
    docs = [d for d in YAML(typ="safe", pure=True).load_all(manifests) if d]
    hpas = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert "audit-log-analysis" in {d["metadata"]["name"] for d in hpas}
    for doc in hpas:
        kubernetes_validate.validate(doc, "1.32", strict=True)
    annotated = next(d for d in docs if d["kind"] == "Deployment")
    assert annotated["metadata"]["annotations"] == {"downscaler/uptime": "Mon-Fri 06:30-20:30 Europe/Berlin"}
    table = run("scale", "--dataset", str(dataset))
    assert table.returncode == 0 and "HPA what-if" in table.stdout and "Off-hours" in table.stdout


def test_demo_steps_write_the_k8s_diff_and_scaling_yaml(dataset: Path, tmp_path: Path) -> None:
    from rich.console import Console

    from kubetally.app.demo import context, step
    from kubetally.dataset import load
    from kubetally.outputs.registry import render

    out = Console(record=True, width=200)
    ctx = context(load(dataset), tmp_path)
    for key in ("manifests", "scale"):
        for item in render(step(key).run(ctx), "table"):
            out.print(item)
    diff = (tmp_path / "k8s-rightsizing.diff").read_text()
    assert "--- a/auditflow/notification-service.yaml" in diff
    assert "Proposed resource changes in k8s/" in out.export_text()
    scaling = (tmp_path / "scaling.yaml").read_text()
    assert "kind: HorizontalPodAutoscaler" in scaling and "downscaler/uptime: Mon-Fri 06:30-20:30" in scaling


def _pod_resources(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    pod = spec["template"]["spec"]
    return {c["name"]: c.get("resources") for c in pod.get("initContainers", []) + pod["containers"]}


def test_patch_commands_applied_by_real_kubectl_keep_the_invariants(dataset: Path, tmp_path: Path) -> None:
    """Every `-o patch` command, applied by the real kubectl (strategic merge, --local) to the live
    object, gives an object that validates, with requests <= limits and the same QoS class."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (kubernetes-client) not installed")
    objects = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in cluster_objects(load(dataset))
    }
    patch = run("rightsize", "--dataset", str(dataset), "-o", "patch")
    assert patch.returncode == 0, patch.stderr
    commands = [shlex.split(line) for line in patch.stdout.splitlines()]
    assert len(commands) >= 10
    kinds = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet", "cronjob": "CronJob"}
    for number, command in enumerate(commands):
        assert command[:2] == ["kubectl", "patch"] and command[4] == "-n" and command[6:8] == ["--type", "strategic"]
        live = objects[(kinds[command[2]], command[5], command[3])]
        source = tmp_path / f"{number}.json"
        source.write_text(json.dumps(live))
        done = subprocess.run(
            [kubectl, "patch", "--local", "-f", str(source), "--type", "strategic", "-p", command[9], "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECONFIG": str(tmp_path / "none")},
        )
        assert done.returncode == 0, done.stderr
        patched = json.loads(done.stdout)
        kubernetes_validate.validate(patched, "1.32", strict=True)
        after = _pod_resources(patched)
        assert all(not requests_over_limits(r) for r in after.values()), (command[3], after)
        assert qos_class(after) == qos_class(_pod_resources(live)), command[3]
        assert after != _pod_resources(live)  # each command changes something
