"""`kubetally collect --kubeconfig`: the live API source against the test server, checked with kubectl.

Known answers: the simulator's ground truth (the server holds exactly its objects), and what the
real kubectl reads with the same kubeconfig.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from kubeapi.compare import NOT_IN_TRUTH, differences
from kubeapi.run import kubetally
from kubeapi.server import KubeAPIServer
from kubetally.dataset import Dataset, load
from kubetally.errors import ConfigError, SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate.scenario import CLUSTER
from kubetally.sources.kubernetes import KubeConnection, dataset_from_api, dataset_from_dump
from kubetally.sources.kubernetes.api import KINDS, list_objects
from servers import require_binary

Objs = list[dict[str, object]]


def test_collect_kubeconfig_equals_ground_truth(api: KubeAPIServer, truth: Dataset, tmp_path: Path) -> None:
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    result = kubetally("collect", "--kubeconfig", str(config), "--cluster-name", CLUSTER, "--page-size", "5",
                       "--out", "ds", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert differences(load(tmp_path / "ds"), truth) == {}
    assert f"{truth.counts()['references']} references" in result.stderr
    assert "one point in time" in result.stderr
    assert {r.method for r in api.requests} == {"GET"}  # read-only
    pods = [r for r in api.requests if r.path == "/api/v1/pods"]
    n_pods = len(api.objects("Pod"))
    assert len(pods) == -(-n_pods // 5)  # pages of 5, each after the first with the previous continue token
    assert all(r.query["limit"] == ["5"] for r in pods)
    assert sum("continue" in r.query for r in pods) == len(pods) - 1


def test_kubectl_with_the_same_kubeconfig_reads_the_same(api: KubeAPIServer, tmp_path: Path) -> None:
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    kinds = ",".join(k.plural if "/" not in k.group_version else f"{k.plural}.{k.group_version.split('/')[0]}"
                     for k in KINDS)  # fmt: skip
    out = subprocess.run([require_binary("kubectl"), "--kubeconfig", str(config), "--context", "kubetally-test",
                          "get", kinds, "-A", "-o", "json"], capture_output=True, text=True, check=True,
                         timeout=60).stdout  # fmt: skip
    (tmp_path / "dump.json").write_text(out)
    via_kubectl = dataset_from_dump([tmp_path / "dump.json"], cluster_name=CLUSTER)
    live = dataset_from_api(KubeConnection(kubeconfig=config), cluster_name=CLUSTER)
    assert differences(live, via_kubectl) == {}
    assert Counter(o["kind"] for o in json.loads(out)["items"]) == Counter(
        o["kind"] for o in list_objects(KubeConnection(kubeconfig=config)).objects
    )


def test_an_expired_continue_token_restarts_the_list(api: KubeAPIServer, truth: Dataset, tmp_path: Path) -> None:
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    before = -(-len(api.objects("Namespace")) // 3) + -(-len(api.objects("Node")) // 3)
    api.compact_after(before + 1)  # etcd compacts right after the first page of pods: its continue token is stale
    got = dataset_from_api(KubeConnection(kubeconfig=config, page_size=3), cluster_name=CLUSTER)
    assert differences(got, truth) == {}  # nothing lost, nothing counted twice
    gone = [r for r in api.requests if r.status == 410]
    assert len(gone) == 1 and "continue" in gone[0].query
    after = api.requests[api.requests.index(gone[0]) + 1]
    assert gone[0].path == "/api/v1/pods"
    assert after.path == gone[0].path and "continue" not in after.query  # pods listed again from the start


def test_a_forbidden_kind_is_a_note(truth_objects: Objs, truth: Dataset, tmp_path: Path) -> None:
    with KubeAPIServer(truth_objects, forbidden=["secrets"]) as api:
        got = dataset_from_api(KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc")), cluster_name=CLUSTER)
    notes = [n for n in got.info.notes if n.startswith("could not list")]
    assert notes == ["could not list secrets (RBAC: 403 Forbidden): unknown Secrets (references to them are still "
                     "read from pods)"]  # fmt: skip
    expected = truth.collected(schema.OBJECTS).filter(pl.col(c.KIND) != "Secret")
    modelled = got.collected(schema.OBJECTS).filter(~pl.col(c.KIND).is_in(NOT_IN_TRUTH))
    assert modelled.equals(expected, null_equal=True)
    to_secrets = got.collected(schema.REFERENCES).filter(pl.col(c.TO_KIND) == "Secret")
    assert to_secrets.height == truth.collected(schema.REFERENCES).filter(pl.col(c.TO_KIND) == "Secret").height > 0


def _endpoints(slice_: dict[str, Any]) -> dict[str, Any]:
    """The v1 Endpoints object the endpoints controller keeps beside an EndpointSlice (ready addresses)."""
    ready = [{"ip": ip} for e in slice_.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") is not False
             for ip in e["addresses"]]  # fmt: skip
    meta = slice_["metadata"]
    name = meta["labels"]["kubernetes.io/service-name"]
    return {"apiVersion": "v1", "kind": "Endpoints", "subsets": [{"addresses": ready}] if ready else [],
            "metadata": {"name": name, "namespace": meta["namespace"]}}  # fmt: skip


def test_endpoints_when_endpointslices_are_forbidden(truth_objects: Objs, truth: Dataset, tmp_path: Path) -> None:
    endpoints = [_endpoints(o) for o in truth_objects if o["kind"] == "EndpointSlice"]
    services = pl.col(c.KIND) == "Service"
    expected = truth.collected(schema.OBJECTS).filter(services)
    with KubeAPIServer([*truth_objects, *endpoints], forbidden=["endpointslices"]) as api:
        got = dataset_from_api(KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc")), cluster_name=CLUSTER)
    assert got.collected(schema.OBJECTS).filter(services).equals(expected, null_equal=True)
    assert not [n for n in got.info.notes if n.startswith("could not list")]
    with KubeAPIServer(truth_objects, forbidden=["endpointslices", "endpoints"]) as api:
        got = dataset_from_api(KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kc")), cluster_name=CLUSTER)
    assert got.collected(schema.OBJECTS).filter(services).get_column(c.ENDPOINTS).null_count() == expected.height
    assert "could not list endpointslices (RBAC: 403 Forbidden): unknown Service endpoints" in got.info.notes


def test_secret_data_is_never_kept(api: KubeAPIServer, tmp_path: Path) -> None:
    secrets = api.objects("Secret")
    assert any("data" in s or "stringData" in s for s in secrets)  # the server holds data
    listing = list_objects(KubeConnection(kubeconfig=api.write_kubeconfig(tmp_path / "kubeconfig")))
    read = [o for o in listing.objects if o["kind"] == "Secret"]
    assert len(read) == len(secrets)
    assert not any(key in s for s in read for key in ("data", "stringData"))


def test_bearer_token_and_contexts(truth_objects: Objs, tmp_path: Path) -> None:
    with KubeAPIServer(truth_objects, token="s3cret") as api:
        config = api.write_kubeconfig(tmp_path / "kubeconfig")
        doc = json.loads(config.read_text())
        doc["clusters"].append({"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}})
        doc["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": "test-user"}})
        doc["current-context"] = "dead"
        config.write_text(json.dumps(doc))
        ok = list_objects(KubeConnection(kubeconfig=config, context="kubetally-test"))
        assert len(ok.objects) == len(truth_objects) and ok.notes == []
        assert {r.headers.get("Authorization") for r in api.requests} == {"Bearer s3cret"}
        with pytest.raises(SourceError, match=r"127.0.0.1:1: cannot reach the API server"):
            list_objects(KubeConnection(kubeconfig=config, retries=0))  # the current context: dead
        with pytest.raises(ConfigError, match="Context 'nope' not found"):
            list_objects(KubeConnection(kubeconfig=config, context="nope"))
        doc["users"][0]["user"]["token"] = "wrong"
        config.write_text(json.dumps(doc))
        with pytest.raises(SourceError, match="401 Unauthorized"):
            list_objects(KubeConnection(kubeconfig=config, context="kubetally-test"))


def test_bad_kube_options_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("clusters: [")
    (tmp_path / "notkc").write_text("kind: List")
    cases = {
        ("--kubeconfig", "missing"): "kubeconfig missing: unreadable: No such file or directory",
        ("--kubeconfig", "bad"): "kubeconfig bad: not valid YAML",
        ("--kubeconfig", "notkc"): "kubeconfig notkc: not a kubeconfig",
        ("--context", "x"): "--context needs --kubeconfig",
        ("--kubeconfig", "bad", "--in-cluster"): "give one Kubernetes source: --kubeconfig or --in-cluster",
        ("--kubeconfig", "bad", "--kube-dump", "bad"): "give one Kubernetes source: --kube-dump or --kubeconfig",
    }
    for args, message in cases.items():
        result = kubetally("collect", *args, "--out", "ds", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
