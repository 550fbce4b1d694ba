"""`kubetally serve --kubeconfig FILE --prometheus URL`, as the Deployment in deploy/serve.yaml runs it (there with
--in-cluster): objects from a Kubernetes API (tests/kubeapi, the simulator's objects), history from a real
Prometheus holding the same cluster's exposition without KSM's label allowlist (so team labels exist only in the
API). /api and /metrics equal the CLI's numbers for the same sources, and the server asked the API only for what
deploy/clusterrole.yaml grants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from kubeapi.server import KubeAPIServer
from kubetally.cli import app
from kubetally.dataset import Dataset
from kubetally.simulate.k8s import cluster_objects
from servers import Serve, free_port

pytestmark = pytest.mark.services
ROLE = Path(__file__).parents[2] / "deploy" / "clusterrole.yaml"


def _env(truth: Dataset) -> dict[str, str]:
    return {
        "KUBETALLY_PROMETHEUS_WINDOW": f"{int(truth.info.window.total_seconds())}s",
        "KUBETALLY_PROMETHEUS_STEP": f"{truth.info.step_seconds}s",
        "KUBETALLY_PROMETHEUS_END": truth.info.end.isoformat(),
    }


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.5)
    pytest.fail("serve never answered")


@pytest.fixture(scope="module")
def both(serve: Serve, auditflow_short: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The CLI's JSON and serve's answers for the same two sources, and the API server's request log."""
    truth = auditflow_short
    work = tmp_path_factory.mktemp("serve-kube")
    env = _env(truth)
    with KubeAPIServer(cluster_objects(truth)) as api:
        config = api.write_kubeconfig(work / "config")
        prom = serve("prometheus", "no_allowlist")
        source = ["--kubeconfig", str(config), "--prometheus", prom]
        runner = CliRunner(env=env)
        cli = {}
        for name, args in {"showback": ["showback", "--by", "team"], "nodes": ["nodes"]}.items():
            got = runner.invoke(app, [*args, *source, "-o", "json"])
            assert got.exit_code == 0, got.output
            cli[name] = json.loads(got.stdout)
        api.clear_requests()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubetally", "serve", *source, "--listen", f"127.0.0.1:{port}", "--every", "1h"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, **env, "KUBETALLY_STORE": str(work / "h.duckdb")},
        )  # fmt: skip
        try:
            _wait(url, proc)
            served = {
                "showback": httpx.get(f"{url}/api/showback?by=team", timeout=120).json(),
                "nodes": httpx.get(f"{url}/api/nodes", timeout=120).json(),
                "metrics": httpx.get(f"{url}/metrics", timeout=120).text,
            }
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        yield {"cli": cli, "served": served, "requests": api.requests}


def test_showback_by_team_equals_the_cli(both: dict[str, Any]) -> None:
    cli = {row["team"]: row["total_cost"] for row in both["cli"]["showback"]}
    api = {row["team"]: row["total_cost"] for row in both["served"]["showback"]["rows"]}
    assert "platform" in api  # team labels exist only in the API: the Kubernetes source was read
    assert api.keys() == cli.keys()
    # to the cent (a tie between two rows may put one cent in the other: showback rounds by largest remainder)
    assert all(abs(float(api[k]) - float(cli[k])) <= 0.0100001 for k in cli), (api, cli)
    assert both["served"]["showback"]["total"] == f"{sum(float(v) for v in cli.values()):.2f}"


def test_nodes_and_metrics_equal_the_cli(both: dict[str, Any]) -> None:
    cli = {row["node"]: row for row in both["cli"]["nodes"]}
    api = {row["node"]: row for row in both["served"]["nodes"]["nodes"]}
    assert api.keys() == cli.keys() and len(cli) == 4
    metrics = {
        (s.name, s.labels.get("node", "")): s.value
        for family in text_string_to_metric_families(both["served"]["metrics"])
        for s in family.samples
    }
    for node, row in cli.items():
        for column in ("cpu_stranded_cores", "memory_stranded_bytes", "cpu_used_mean_cores"):
            assert api[node][column] == pytest.approx(row[column], rel=1e-9), (node, column)
            assert metrics[(f"kubetally_node_{column}", node)] == pytest.approx(row[column], rel=1e-9), (node, column)


def test_serve_asks_the_api_only_what_the_cluster_role_grants(both: dict[str, Any]) -> None:
    (role,) = [d for d in YAML(typ="safe").load_all(ROLE.read_text()) if d and d["kind"] == "ClusterRole"]
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}  # fmt: skip
    asked = set()
    for request in both["requests"]:
        parts = request.path.strip("/").split("/")
        if parts in (["api"], ["apis"], ["version"]) or len(parts) < 3:
            continue  # discovery: allowed to every authenticated user by the default system:discovery role
        group = "" if parts[0] == "api" else parts[1]
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        assert request.method == "GET" and len(rest) == 1, request  # a collection: the list verb
        asked.add((group, rest[0], "list"))
    # all the role grants but the fallback for clusters without EndpointSlices and what `kubetally record` reads
    unused = {("", "endpoints", "list"), ("metrics.k8s.io", "pods", "list"), ("metrics.k8s.io", "nodes", "list")}
    assert asked == granted - unused, asked ^ (granted - unused)
