"""Analysis commands read a Kubernetes source as they read --demo/--dataset/--prometheus: a dump saved by the real
kubectl from the test server (--kube-dump), or the server itself (--kubeconfig/--context). The options are the app
layer's (SourceRequest), so every command built on it has them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from kubeapi.server import KubeAPIServer
from kubeapi.test_kubectl import DUMP_KINDS, kubectl
from kubetally.cli import app
from kubetally.dataset import Dataset
from kubetally.model import columns as c

pytestmark = pytest.mark.services


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rightsize_reads_a_dump_saved_by_kubectl(api: KubeAPIServer, truth: Dataset, tmp_path: Path) -> None:
    dump = tmp_path / "cluster.json"
    dump.write_text(kubectl(api, "get", DUMP_KINDS, "-A", "-o", "json"))
    code, out, err = run("rightsize", "--kube-dump", str(dump), "-o", "json")
    assert code == 0, err
    rows = json.loads(out)
    got = {(r["namespace"], r["owner_name"], r["container"]): (r["current_cpu_request_cores"],
           r["current_memory_request_bytes"]) for r in rows}  # fmt: skip
    # every workload the dump lists, at its newest pod's requests (ended Job pods too: a CronJob is sized by them)
    newest = truth.containers.filter(~pl.col(c.INIT_CONTAINER)).sort(c.START_TIME)
    running = newest.unique([c.NAMESPACE, c.OWNER_NAME, c.CONTAINER], keep="last")
    expected = {(r[c.NAMESPACE], r[c.OWNER_NAME], r[c.CONTAINER]): (r[c.CPU_REQUEST_CORES], r[c.MEMORY_REQUEST_BYTES])
                for r in running.iter_rows(named=True)}  # fmt: skip
    assert got == expected
    assert {r["reason"] for r in rows if r["status"] == "no-recommendation"} == {"no usage samples"}
    assert "one point in time" in err


def test_nodes_read_the_api_server_through_a_kubeconfig_context(
    api: KubeAPIServer, truth: Dataset, tmp_path: Path
) -> None:
    config = api.write_kubeconfig(tmp_path / "config", context="pi")
    two = json.loads(config.read_text())  # the current context is another cluster, unreachable: --context picks
    two["clusters"].append({"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}})
    two["contexts"].append({"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "test-user"}})
    two["current-context"] = "elsewhere"
    config.write_text(json.dumps(two))
    code, out, err = run("nodes", "--kubeconfig", str(config), "--context", "pi", "-o", "json")
    assert code == 0, err
    got = {r["node"]: (r["cpu_allocatable_cores"], r["memory_allocatable_bytes"]) for r in json.loads(out)}
    expected = {r[c.NODE]: (r[c.CPU_ALLOCATABLE_CORES], r[c.MEMORY_ALLOCATABLE_BYTES])
                for r in truth.nodes.iter_rows(named=True)}  # fmt: skip
    assert got == expected
    assert any(req.path == "/api/v1/nodes" for req in api.requests)
    assert {req.method for req in api.requests} == {"GET"}  # read-only


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("showback", ["--kube-dump", "x.json", "--kubeconfig", "cfg"], "--kube-dump or --kubeconfig, not 2"),
        ("rightsize", ["--demo", "--kube-dump", "x.json"], "source: --demo, --dataset, --prometheus, --kube"),
        ("nodes", ["--context", "pi"], "--context needs --kubeconfig"),
        ("nodes", ["--kubeconfig", "cfg", "--in-cluster"], "give one Kubernetes source: --kubeconfig or --in-cluster"),
        ("showback", ["--kubeconfig", "/nonexistent/config"], "kubeconfig /nonexistent/config: unreadable"),
        ("rightsize", ["--kube-dump", "/nonexistent/dump.json"], "/nonexistent/dump.json: no such file or directory"),
    ],
)  # fmt: skip
def test_bad_kubernetes_source_options_are_one_line(command: str, args: list[str], message: str) -> None:
    """As a user runs it (the console script: one red line, exit 2)."""
    result = subprocess.run([sys.executable, "-m", "kubetally", command, *args], capture_output=True, text=True,
                            check=False, timeout=120)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    err = result.stderr
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def test_nodes_on_a_snapshot_show_what_the_running_pods_request(api: KubeAPIServer, tmp_path: Path) -> None:
    """One point in time (a dump, no usage): requested per node is the sum of the requests of the app
    containers of the pods Running at that point, counted here straight from the objects kubectl saved."""
    dump = tmp_path / "cluster.json"
    dump.write_text(kubectl(api, "get", DUMP_KINDS, "-A", "-o", "json"))
    expected: dict[str, list[float]] = {}
    for pod in json.loads(dump.read_text())["items"]:
        if pod["kind"] != "Pod" or pod["status"].get("phase") != "Running":
            continue
        sums = expected.setdefault(pod["spec"]["nodeName"], [0.0, 0.0])
        for container in pod["spec"]["containers"]:
            requests = container.get("resources", {}).get("requests", {})
            sums[0] += _quantity(requests.get("cpu", "0"))
            sums[1] += _quantity(requests.get("memory", "0"))
    assert len(expected) == 4 and all(cpu > 0 for cpu, _ in expected.values())
    code, out, err = run("nodes", "--kube-dump", str(dump), "-o", "json")
    assert code == 0, err
    rows = json.loads(out)
    for row in rows:
        cpu, mem = expected[row["node"]]
        assert row["cpu_requested_mean_cores"] == pytest.approx(cpu) == row["cpu_requested_p95_cores"]
        assert row["memory_requested_mean_bytes"] == pytest.approx(mem)
        assert row["cpu_used_mean_cores"] is None and row["memory_used_mean_bytes"] is None  # unknown, not 0
    assert "one point in time" in err and "requested is what the pods running at that point request" in " ".join(
        err.split()
    )
    code, table, err = run("nodes", "--kube-dump", str(dump))
    assert code == 0, err
    assert "current requests" in table and "usage-based sizes" not in table  # no usage to size pods by


def test_showback_on_a_snapshot_says_it_needs_history(api: KubeAPIServer, tmp_path: Path) -> None:
    dump = tmp_path / "cluster.json"
    dump.write_text(kubectl(api, "get", DUMP_KINDS, "-A", "-o", "json"))
    code, _, err = run("showback", "--kube-dump", str(dump))
    assert code == 0, err
    said = " ".join(err.split())
    assert "one point in time: cost accrues over a window, and these objects have none (0 hours)" in said
    assert "`kubetally nodes` shows what the running pods request now" in said
