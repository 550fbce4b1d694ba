"""Manifest rewriting: hand-written layouts, errors, apply, and the Online Boutique file."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests import (
    ManifestError,
    ManifestSettings,
    ResourceTarget,
    WorkloadRef,
    apply_plan,
    plan_manifests,
)

QOS_FREE = ManifestSettings(allow_qos_change=True)
"""For tests of text layouts that add requests to a BestEffort pod or remove them all."""
BOUTIQUE = Path(__file__).parents[2] / "testdata" / "online-boutique-kubernetes-manifests.yaml"
RESOURCE_LINE = re.compile(r"^\s*(?:- )?(resources|requests|limits|cpu|memory)\s*:")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def _target(name: str, container: str, ns: str = "default", kind: str = "Deployment", **values: str | None):
    change = {tuple(key.split("_")): value for key, value in values.items()}
    return ResourceTarget(WorkloadRef(ns, kind, name), container, change)


DEPLOY = """\
# top comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the name
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: "nginx:1.27"
        resources:
          requests:
            cpu: "250m"   # keep this comment
            memory: '256Mi'
          limits:
            cpu: 1
            memory: 512Mi
        env:
        - {name: A, value: "1"}
      - name: sidecar
        image: busybox
        args: [sleep, "3600"]
"""


def test_replace_keeps_quotes_comments_and_everything_else(tmp_path: Path) -> None:
    path = _write(tmp_path, "a/deploy.yaml", DEPLOY)
    plan = plan_manifests(
        tmp_path,
        [
            _target("web", "app", "shop", requests_cpu="100m", requests_memory="128Mi", limits_cpu=None),
            _target("web", "sidecar", "shop", requests_cpu="10m", requests_memory="16Mi"),
        ],
    )
    expected = DEPLOY.replace('cpu: "250m"   # keep', 'cpu: "100m"   # keep')
    expected = expected.replace("memory: '256Mi'", "memory: '128Mi'").replace("            cpu: 1\n", "")
    expected = expected.replace(
        '        args: [sleep, "3600"]\n',
        '        args: [sleep, "3600"]\n        resources:\n          requests:\n'
        "            cpu: 10m\n            memory: 16Mi\n",
    )
    assert [f.after for f in plan.files] == [expected]
    assert path.read_text() == DEPLOY  # dry run: nothing written
    assert "a/a/deploy.yaml" in plan.diff() and '+            cpu: "100m"   # keep this comment' in plan.diff()
    assert apply_plan(plan) == [path]
    assert path.read_text() == expected
    assert not list(tmp_path.rglob(".*kubetally-tmp"))


@pytest.mark.parametrize(
    ("resources", "change", "expected"),
    [
        # missing key inserted in canonical order (cpu before memory)
        (
            "resources:\n  requests:\n    memory: 1Gi\n",
            {"requests_cpu": "5m"},
            "resources:\n  requests:\n    cpu: 5m\n    memory: 1Gi\n",
        ),
        # missing section: requests go before limits
        (
            "resources:\n  limits:\n    memory: 1Gi\n",
            {"requests_memory": "512Mi"},
            "resources:\n  requests:\n    memory: 512Mi\n  limits:\n    memory: 1Gi\n",
        ),
        # empty flow mapping becomes a block
        (
            "resources: {}\n",
            {"requests_cpu": "5m", "limits_memory": "64Mi"},
            "resources:\n  requests:\n    cpu: 5m\n  limits:\n    memory: 64Mi\n",
        ),
        # flow mapping stays flow
        (
            "resources: {requests: {cpu: 1, memory: 1Gi}}\n",
            {"requests_cpu": "500m"},
            "resources: {requests: {cpu: 500m, memory: 1Gi}}\n",
        ),
        (
            "resources:\n  requests: {cpu: 1, memory: 1Gi}  # flow\n",
            {"requests_memory": "2Gi"},
            "resources:\n  requests: {cpu: 1, memory: 2Gi}  # flow\n",
        ),
        # removing the last limit removes the section
        (
            "resources:\n  requests:\n    cpu: 1\n  limits:\n    cpu: 2\n",
            {"limits_cpu": None},
            "resources:\n  requests:\n    cpu: 1\n",
        ),
        # removing everything leaves an explicit empty mapping
        ("resources:\n  limits:\n    cpu: 2\n", {"limits_cpu": None}, "resources: {}\n"),
        # null resources
        ("resources:\n", {"requests_cpu": "5m"}, "resources:\n  requests:\n    cpu: 5m\n"),
        # same quantity written differently: no change at all
        ("resources:\n  requests:\n    cpu: 1000m\n", {"requests_cpu": "1"}, None),
    ],
)
def test_resource_layouts(tmp_path: Path, resources: str, change: dict[str, str | None], expected: str | None) -> None:
    def doc(res: str) -> str:
        body = "".join("        " + line + "\n" for line in res.splitlines())
        return (
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: '0 3 * * *'\n"
            "  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
            "            -   name: job\n                image: alpine\n"
            + "".join("        " + line + "\n" for line in body.splitlines())
            + "          restartPolicy: Never\n"
        )

    _write(tmp_path, "cron.yml", doc(resources))
    plan = plan_manifests(tmp_path, [_target("nightly", "job", kind="CronJob", **change)], settings=QOS_FREE)
    if expected is None:
        assert plan.files == ()
    else:
        assert [f.after for f in plan.files] == [doc(expected)]


def test_list_kind_kustomization_namespace_and_init_containers(tmp_path: Path) -> None:
    _write(tmp_path, "base/kustomization.yaml", "namespace: batch\nresources:\n- all.yaml\n")
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata:\n    name: db\n    namespace: ignored\n"
        "  spec:\n    serviceName: db\n    selector: {matchLabels: {a: b}}\n    template:\n"
        "      metadata: {labels: {a: b}}\n      spec:\n        initContainers:\n"
        "        - name: init\n          image: x\n"
        "        containers:\n        - name: db\n          image: y\n"
    )
    _write(tmp_path, "base/all.yaml", text)
    plan = plan_manifests(
        tmp_path, [_target("db", "init", "batch", "StatefulSet", requests_cpu="10m")], settings=QOS_FREE
    )
    assert plan.workloads == (WorkloadRef("batch", "StatefulSet", "db"),)
    assert plan.files[0].after == text.replace(
        "          image: x\n",
        "          image: x\n          resources:\n            requests:\n              cpu: 10m\n",
    )


def test_crlf_no_trailing_newline_and_bom_are_kept(tmp_path: Path) -> None:
    text = (
        "\ufeffkind: DaemonSet\r\napiVersion: apps/v1\r\nmetadata:\r\n  name: agent\r\nspec:\r\n"
        "  selector: {matchLabels: {a: b}}\r\n  template:\r\n    metadata: {labels: {a: b}}\r\n"
        "    spec:\r\n      containers:\r\n      - name: a\r\n        image: x"
    )
    _write(tmp_path, "ds.yaml", text)
    plan = plan_manifests(tmp_path, [_target("agent", "a", kind="DaemonSet", limits_memory="64Mi")], settings=QOS_FREE)
    assert plan.files[0].after == text + "\r\n        resources:\r\n          limits:\r\n            memory: 64Mi"


def test_namespace_option_and_unmatched(tmp_path: Path) -> None:
    _write(tmp_path, "d.yaml", DEPLOY.replace("  namespace: shop\n", ""))
    plan = plan_manifests(
        tmp_path,
        [_target("web", "app", "prod", requests_cpu="1"), _target("gone", "x", "prod", requests_cpu="1")],
        namespace="prod",
    )
    assert len(plan.files) == 1
    assert [t.ref.name for t in plan.unmatched] == ["gone"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Deployment\nmetadata: {name: a\n", "invalid YAML"),
        ("a: 1\na: 2\n", "invalid YAML"),
        ("kind: Deployment\nmetadata: {labels: {}}\nspec: {}\n", "without metadata.name"),
    ],
)
def test_one_bad_file_is_reported_and_the_rest_proceed(tmp_path: Path, text: str, message: str) -> None:
    good = _write(tmp_path, "a-good.yaml", DEPLOY)
    bad = _write(tmp_path, "b-bad.yaml", text)
    plan = plan_manifests(tmp_path, [_target("web", "app", "shop", requests_cpu="1")])
    assert [f.path for f in plan.files] == [good]
    assert [s.path for s in plan.skipped] == [bad] and message in plan.skipped[0].reason
    with pytest.raises(ManifestError, match=f"{message}.*--strict"):
        plan_manifests(
            tmp_path, [_target("web", "app", "shop", requests_cpu="1")], settings=ManifestSettings(strict=True)
        )
    assert good.read_text() == DEPLOY and bad.read_text() == text


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("apiVersion: v2\nname: mychart\nversion: 1.0.0\n", "not a Kubernetes object"),  # a Helm Chart.yaml
        ("kind: Deployment\nmetadata: {name: a}\nspec: {}\n", "no pod template"),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n$patch: delete\n", "$patch: delete"),
    ],
)
def test_documents_that_are_not_objects_are_left_alone_with_a_note(tmp_path: Path, text: str, note: str) -> None:
    _write(tmp_path, "a-good.yaml", DEPLOY)
    _write(tmp_path, "b-other.yaml", text)
    plan = plan_manifests(tmp_path, [_target("web", "app", "shop", requests_cpu="1")])
    assert len(plan.files) == 1 and plan.skipped == ()
    assert any(note in n and "b-other.yaml" in n for n in plan.notes), plan.notes


def test_unknown_kind_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "d.yaml", DEPLOY)
    with pytest.raises(ManifestError, match="unknown workload kind 'Rollout'"):
        plan_manifests(tmp_path, [_target("web", "app", "shop", "Rollout", requests_cpu="1")])
    with pytest.raises(ManifestError, match="not a Kubernetes quantity"):
        plan_manifests(tmp_path, [_target("web", "app", "shop", requests_cpu="lots")])


def test_apply_refuses_when_file_changed_since_plan(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.yaml", DEPLOY)
    plan = plan_manifests(tmp_path, [_target("web", "app", "shop", requests_cpu="1")])
    path.write_text(DEPLOY + "# edited\n")
    with pytest.raises(ManifestError, match="changed since the plan"):
        apply_plan(plan)
    assert path.read_text() == DEPLOY + "# edited\n"


def _boutique_targets() -> list[ResourceTarget]:
    # Every container gets new requests, its CPU limit removed and a memory limit set.
    names = {
        "frontend": ["server"],
        "adservice": ["server"],
        "currencyservice": ["server"],
        "cartservice": ["server"],
        "redis-cart": ["redis"],
        "loadgenerator": ["frontend-check", "main"],
        "recommendationservice": ["server"],
        "checkoutservice": ["server"],
        "emailservice": ["server"],
        "paymentservice": ["server"],
        "shippingservice": ["server"],
        "productcatalogservice": ["server"],
    }
    return [
        _target(name, c, requests_cpu="35m", requests_memory="96Mi", limits_cpu=None, limits_memory="192Mi")
        for name, containers in names.items()
        for c in containers
    ]


@pytest.mark.skipif(not BOUTIQUE.is_file(), reason="testdata/ not present")
def test_online_boutique_only_resource_lines_change_and_stay_valid(tmp_path: Path) -> None:
    original = BOUTIQUE.read_text()
    path = _write(tmp_path, "boutique.yaml", original)
    plan = plan_manifests(tmp_path, _boutique_targets())
    assert plan.unmatched == ()
    assert len(plan.workloads) == 12
    assert apply_plan(plan) == [path]
    new = path.read_text()
    old_lines, new_lines = original.splitlines(keepends=True), new.splitlines(keepends=True)
    assert [ln for ln in old_lines if not RESOURCE_LINE.match(ln)] == [
        ln for ln in new_lines if not RESOURCE_LINE.match(ln)
    ]
    assert new.endswith("\n") and original.endswith("\n")
    docs = [d for d in YAML(typ="safe", pure=True).load_all(new) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.32", strict=True)
    workloads = [d for d in docs if d["kind"] == "Deployment"]
    assert len(workloads) == 12
    for doc in workloads:
        pod = doc["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["resources"] == {
                "requests": {"cpu": "35m", "memory": "96Mi"},
                "limits": {"memory": "192Mi"},
            }


def test_block_scalars_and_document_markers(tmp_path: Path) -> None:
    text = (
        "--- # first doc\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: edge\nspec:\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n"
        "      - name: a\n        image: x\n        args:\n        - |\n"
        "          line one\n          # not a comment: block scalar content\n"
        "      - name: b\n        image: y\n        command:\n        - >\n          run this\n\n          folded\n"
        "...\n--- !!map\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    )
    _write(tmp_path, "edge.yaml", text)
    plan = plan_manifests(
        tmp_path,
        [_target("edge", "a", requests_cpu="1"), _target("edge", "b", limits_memory="1Gi")],
        settings=QOS_FREE,
    )
    assert plan.files[0].after == text.replace(
        "block scalar content\n", "block scalar content\n        resources:\n          requests:\n            cpu: 1\n"
    ).replace(
        "          folded\n", "          folded\n        resources:\n          limits:\n            memory: 1Gi\n"
    )
