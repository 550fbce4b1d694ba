"""The real kubectl against the test server: it lists and gets every kind, and its saved output is a dump.

Proves the server speaks the protocol as real clients see it (discovery, paginated lists with
``continue``, get, tables, 403 and 410), and that ``kubectl get -o json|yaml`` output read back by
the dump source gives the simulator's ground truth (inventory and references).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from kubeapi.compare import differences
from kubeapi.resources import RESOURCES
from kubeapi.server import KubeAPIServer
from kubetally.dataset import Dataset
from kubetally.simulate.scenario import CLUSTER
from kubetally.sources.kubernetes import dataset_from_dump
from servers import require_binary

SERVED = [r for r in RESOURCES if r.group != "metrics.k8s.io"]
DUMP_KINDS = (
    "namespaces,nodes,pods,services,endpointslices,configmaps,secrets,serviceaccounts,persistentvolumeclaims,"
    "persistentvolumes,storageclasses,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,"
    "horizontalpodautoscalers,ingresses"
)


def kubectl(api: KubeAPIServer, *args: str) -> str:
    result = subprocess.run([require_binary("kubectl"), "--server", api.url, *args], capture_output=True, text=True,
                            check=False, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kubectl_lists_and_gets_every_kind(api: KubeAPIServer, truth_objects: list[dict[str, object]]) -> None:
    expected = Counter(str(o["kind"]) for o in truth_objects)
    for res in SERVED:
        listed = json.loads(kubectl(api, "get", f"{res.plural}.{res.group}" if res.group else res.plural, "-A",
                                    "-o", "json", "--chunk-size=4"))  # fmt: skip
        assert listed["kind"] == "List"
        served = [o for o in listed["items"] if o["apiVersion"] == res.group_version]
        assert len(served) == (expected[res.kind] if res.kind != "Event" else 0), res.kind
        for obj in served[:1]:
            args = ["-n", obj["metadata"]["namespace"]] if res.namespaced else []
            got = json.loads(kubectl(api, "get", res.plural if not res.group else f"{res.plural}.{res.group}",
                                     obj["metadata"]["name"], *args, "-o", "json"))  # fmt: skip
            assert got["metadata"]["uid"] == obj["metadata"]["uid"]
    pages = [r for r in api.requests if r.path == "/api/v1/pods" and "continue" in r.query]
    assert len(pages) == -(-expected["Pod"] // 4) - 1  # every page after the first carried the continue token


def test_kubectl_prints_tables(api: KubeAPIServer) -> None:
    out = kubectl(api, "get", "pods", "-n", "auditflow")
    assert out.splitlines()[0].split() == ["NAME", "AGE"]
    assert any(line.startswith("postgresql-0 ") for line in out.splitlines())


def test_kubectl_sees_403_and_410(truth_objects: list[dict[str, object]]) -> None:
    with KubeAPIServer(truth_objects, forbidden=["secrets"], validate=False) as api:
        result = subprocess.run([require_binary("kubectl"), "--server", api.url, "get", "secrets", "-A"],
                                capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
        assert result.returncode != 0
        assert 'secrets is forbidden: User "system:serviceaccount:kubetally:kubetally" cannot list resource' in (
            result.stderr)  # fmt: skip
        api.compact_after(1)
        result = subprocess.run(
            [require_binary("kubectl"), "--server", api.url, "get", "pods", "-A", "-o", "json", "--chunk-size=5"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode != 0
        assert "The provided continue parameter is too old" in result.stderr


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_kubectl_output_is_a_dump_equal_to_ground_truth(
    api: KubeAPIServer, truth: Dataset, tmp_path: Path, fmt: str
) -> None:
    dump = tmp_path / f"cluster.{fmt}"
    dump.write_text(kubectl(api, "get", DUMP_KINDS, "-A", "-o", fmt))
    got = dataset_from_dump([dump], cluster_name=CLUSTER)
    assert differences(got, truth) == {}


def test_dump_in_several_files(api: KubeAPIServer, truth: Dataset, tmp_path: Path) -> None:
    for kinds in DUMP_KINDS.split(","):
        (tmp_path / f"{kinds}.json").write_text(kubectl(api, "get", kinds, "-A", "-o", "json"))
    got = dataset_from_dump([tmp_path], cluster_name=CLUSTER)
    assert differences(got, truth) == {}
