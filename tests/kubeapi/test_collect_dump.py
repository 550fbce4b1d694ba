"""`kubetally collect --kube-dump`: kubectl output (from the test server, and a real public one) to a dataset."""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl

from kubeapi.compare import differences
from kubeapi.run import kubetally
from kubeapi.server import KubeAPIServer
from kubetally.dataset import Dataset, load
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.scenario import CLUSTER
from servers import require_binary

REAL = Path(__file__).parents[2] / "testdata" / "kube-dumps" / "kubectl-neat-list-1-raw.json"
KINDS = "namespaces,nodes,pods,services,endpointslices,configmaps,secrets,serviceaccounts,persistentvolumeclaims,persistentvolumes,storageclasses,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,horizontalpodautoscalers,ingresses"  # noqa: E501


def test_collect_kube_dump_equals_ground_truth(api: KubeAPIServer, truth: Dataset, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    out = subprocess.run([require_binary("kubectl"), "--server", api.url, "get", KINDS, "-A", "-o", "yaml"],
                         capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    (dump / "cluster.yaml").write_text(out)
    result = kubetally("collect", "--kube-dump", str(dump), "--cluster-name", CLUSTER, "--out", "ds", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = load(tmp_path / "ds")
    assert differences(got, truth) == {}
    counts = truth.counts()
    assert f"{counts['references']} references" in result.stderr
    assert "one point in time" in result.stderr


def test_real_public_dump(tmp_path: Path) -> None:
    """kubectl-neat's fixture: `kubectl get pods -o json` of two bare BestEffort pods on a kind node."""
    result = kubetally("collect", "--kube-dump", str(REAL), "--cluster-name", "kind", "--out", "ds", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ds = load(tmp_path / "ds")
    containers = ds.collected(schema.CONTAINERS)
    assert containers.select(c.POD, c.CONTAINER, c.NODE, c.QOS_CLASS, c.OWNER_KIND, c.OWNER_NAME).rows() == [
        ("t1", "t1", "116-control-plane", "BestEffort", "Pod", "t1"),
        ("t2", "t2", "116-control-plane", "BestEffort", "Pod", "t2"),
    ]
    assert containers.get_column(c.CPU_REQUEST_CORES).null_count() + (
        containers.get_column(c.CPU_REQUEST_CORES) == 0).sum() == 2  # fmt: skip
    refs = ds.collected(schema.REFERENCES).select(c.FROM_NAME, c.TO_KIND, c.TO_NAME).sort(pl.all()).rows()
    assert refs == [(p, kind, name) for p in ("t1", "t2")
                    for kind, name in (("Secret", "default-token-m7wjs"), ("ServiceAccount", "default"))]  # fmt: skip
    assert ds.info.end.isoformat() == "2020-05-29T15:59:37+00:00"  # the newest time the objects hold


def test_bad_inputs_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"kind": "List", "items": [')
    cases = {
        ("--kube-dump", "missing.json"): "missing.json: no such file or directory",
        ("--kube-dump", "bad.json"): "bad.json: not valid JSON",
        (): "give a source: --prometheus URL (history)",
        # the objects beside Prometheus' history: Prometheus is asked (and here refuses the connection)
        ("--kube-dump", str(REAL), "--prometheus", "http://127.0.0.1:1"): "cannot reach the server",
    }
    for args, message in cases.items():
        result = kubetally("collect", *args, "--out", "ds", cwd=tmp_path)
        assert result.returncode != 0
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_old_dash_o_directory_still_works_and_says_it_is_deprecated(tmp_path: Path) -> None:
    result = kubetally("collect", "--kube-dump", str(REAL), "--cluster-name", "kind", "-o", "ds", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == "warning: -o/--output is deprecated here: use --out"
    assert load(tmp_path / "ds").counts()["containers"] == 2
    # a format name where a directory is expected is refused, never written as a directory called "json"
    result = kubetally("collect", "--kube-dump", str(REAL), "-o", "json", cwd=tmp_path)
    assert result.returncode == 2 and "'json' is an output format" in result.stderr, result.stderr
    assert not (tmp_path / "json").exists()
