"""Kustomize trees: the value is written into the file that sets it for that overlay, never into a
base other overlays render; what ``kubectl kustomize`` renders changes only in those values.

The real tree is metrics-server's (testdata/manifests/metrics-server: one base, three overlays,
components with strategic-merge and JSON 6902 patches) and kustomize's own helloWorld example
(testdata/manifests/kustomize-helloworld: namePrefix overlays over one base); the small trees below are hand-written
for namePrefix/namespace, an overlay's own resource patch, a base only one overlay uses, and
patches kubetally cannot follow.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, apply_plan, plan_manifests
from kubetally.actions.manifests.invariants import qos_class
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.model.quantity import parse_quantity

TESTDATA = Path(__file__).parents[2] / "testdata" / "manifests"
METRICS = WorkloadRef("kube-system", "Deployment", "metrics-server")

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kubernetes-client) not installed")


def render(folder: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True).stdout
    return [d for d in YAML(typ="safe", pure=True).load_all(out) if d]


def containers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pod = doc["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}


def quantities(resources: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    return {s: {r: parse_quantity(str(v)) for r, v in vals.items()} for s, vals in resources.items() if vals}


def without_resources(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for doc in docs:
        if doc["kind"] == "Deployment":
            for c in containers(doc).values():
                c.pop("resources", None)
    return docs


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def metrics(tmp_path: Path) -> Path:
    tree = tmp_path / "metrics-server"
    shutil.copytree(TESTDATA / "metrics-server", tree)
    return tree


def test_a_base_shared_by_three_overlays_gets_a_patch_in_each_overlay(metrics: Path) -> None:
    overlays = ["release", "release-ha", "test"]
    before = {o: render(metrics / "overlays" / o) for o in overlays}
    base = (metrics / "base" / "deployment.yaml").read_bytes()
    change = {("requests", "cpu"): "50m", ("limits", "memory"): "300Mi"}
    plan = plan_manifests(metrics, [ResourceTarget(METRICS, "metrics-server", change)])
    assert sorted((o.file.parent.name, o.status) for o in plan.objects) == [(o, "changed") for o in overlays]
    assert sorted(f.display for f in plan.files) == sorted(
        f"overlays/{o}/{name}" for o in overlays for name in ("kustomization.yaml", "kubetally-resources.yaml")
    )
    apply_plan(plan)
    assert (metrics / "base" / "deployment.yaml").read_bytes() == base  # the shared base is never edited
    assert (
        (metrics / "overlays/release/kustomization.yaml")
        .read_text()
        .endswith("- ../../components/release\npatches:\n- path: kubetally-resources.yaml\n")
    )
    for overlay in overlays:
        after = render(metrics / "overlays" / overlay)
        deployment = next(d for d in after if d["kind"] == "Deployment")
        resources = containers(deployment)["metrics-server"]["resources"]
        # hand-worked: base requests 100m/200Mi, no limits; the patch sets requests.cpu and limits.memory
        assert quantities(resources) == {
            "requests": {"cpu": Decimal("0.05"), "memory": Decimal(200 * 2**20)},
            "limits": {"memory": Decimal(300 * 2**20)},
        }
        assert qos_class({"m": resources}) == "Burstable"
        for doc in after:
            kubernetes_validate.validate(doc, "1.32", strict=True)
        assert without_resources(after) == without_resources(before[overlay])
    again = plan_manifests(metrics, [ResourceTarget(METRICS, "metrics-server", change)])
    assert [o.status for o in again.objects] == ["unchanged"] * 3 and again.files == ()
    [unchanged] = again.facts()  # said once, for the three overlays, with why
    assert (unchanged.kind, unchanged.text) == ("unchanged", "the manifest already holds the recommendation")
    assert sorted(Path(w).parent.name for w in unchanged.where) == overlays


def test_what_three_overlays_share_is_said_once_with_paths_under_dir(
    metrics: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(metrics.parent)
    live = {("requests", "cpu"): "100m", ("requests", "memory"): "70Mi", ("limits", "memory"): None}
    change = {("requests", "cpu"): "10m", ("requests", "memory"): "34Mi", ("limits", "memory"): "130Mi"}
    plan = plan_manifests(Path("metrics-server"), [ResourceTarget(METRICS, "metrics-server", change, live=live)])
    facts = plan.facts()
    where = tuple(f"metrics-server/overlays/{o}/kustomization.yaml" for o in ("release-ha", "release", "test"))
    # the base sets requests 100m/200Mi: one drift fact (requests.memory) and one "written to a patch" fact
    assert [(f.kind, f.text, f.where) for f in facts] == [
        (
            "note",
            "drift: container metrics-server: requests.memory 200Mi in the manifest, 70Mi live; "
            "checked against the manifest (what will run)",
            where,
        ),
        (
            "note",
            "values set in metrics-server/base/deployment.yaml (other overlays use it too): "
            "written to a patch in the overlay, kubetally-resources.yaml",
            where,
        ),
    ]
    assert not any("defined 3 times" in n for n in plan.notes)  # overlays rendering one base is normal
    assert str(facts[0]).startswith("kube-system/Deployment/metrics-server: drift: ") and "(in 3 places: " in str(
        facts[0]
    )


def test_an_overlay_given_as_dir_never_edits_the_base_outside_it(metrics: Path) -> None:
    files = snapshot(metrics)
    plan = plan_manifests(
        metrics / "overlays" / "release", [ResourceTarget(METRICS, "metrics-server", {("requests", "cpu"): "60m"})]
    )
    assert [f.display for f in plan.files] == ["kustomization.yaml", "kubetally-resources.yaml"]
    apply_plan(plan)
    changed = {k for k, v in snapshot(metrics).items() if files.get(k) != v}
    assert changed == {"overlays/release/kustomization.yaml", "overlays/release/kubetally-resources.yaml"}
    deployment = next(d for d in render(metrics / "overlays/release") if d["kind"] == "Deployment")
    assert containers(deployment)["metrics-server"]["resources"] == {"requests": {"cpu": "60m", "memory": "200Mi"}}


BASE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  selector:
    matchLabels: {app: guestbook-ui}
  template:
    metadata:
      labels: {app: guestbook-ui}
    spec:
      containers:
      - name: guestbook-ui
        image: gcr.io/heptio-images/ks-guestbook-demo:0.2
        resources:
          requests:
            cpu: 100m   # base
            memory: 64Mi
          limits:
            cpu: 500m
"""
PROD_PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  template:
    spec:
      containers:
      - name: guestbook-ui
        resources:
          limits:
            cpu: "1"  # prod may burst
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def guestbook(root: Path, *, staging: bool = True) -> None:
    files = {
        "base/kustomization.yaml": "resources:\n- deployment.yaml\n",
        "base/deployment.yaml": BASE,
        "overlays/prod/kustomization.yaml": (
            "namePrefix: prod-\nnamespace: shop\nresources:\n- ../../base\npatches:\n- path: limits.yaml\n"
        ),
        "overlays/prod/limits.yaml": PROD_PATCH,
    }
    if staging:
        files["overlays/staging/kustomization.yaml"] = "nameSuffix: -staging\nresources:\n- ../../base\n"
    write(root, files)


def test_prefix_namespace_and_an_overlay_patch_write_into_the_overlay(tmp_path: Path) -> None:
    guestbook(tmp_path)
    staging = render(tmp_path / "overlays/staging")
    base = (tmp_path / "base/deployment.yaml").read_text()
    prod = WorkloadRef("shop", "Deployment", "prod-guestbook-ui")
    targets = [
        ResourceTarget(prod, "guestbook-ui", {("requests", "cpu"): "250m", ("limits", "cpu"): "750m"}),
        ResourceTarget(
            WorkloadRef("default", "Deployment", "guestbook-ui"), "guestbook-ui", {("requests", "cpu"): "1m"}
        ),
    ]
    plan = plan_manifests(tmp_path, targets)
    # the name as rendered: the base's own name matches nothing (kustomize renames it)
    assert [str(t.ref) for t in plan.unmatched] == ["default/Deployment/guestbook-ui"]
    assert [f.display for f in plan.files] == ["overlays/prod/limits.yaml"]
    apply_plan(plan)
    assert (tmp_path / "base/deployment.yaml").read_text() == base
    assert (tmp_path / "overlays/prod/limits.yaml").read_text() == PROD_PATCH.replace(
        '          limits:\n            cpu: "1"  # prod may burst\n',
        '          requests:\n            cpu: 250m\n          limits:\n            cpu: "750m"  # prod may burst\n',
    )
    [deployment] = render(tmp_path / "overlays/prod")
    assert deployment["metadata"] == {"name": "prod-guestbook-ui", "namespace": "shop"}
    resources = containers(deployment)["guestbook-ui"]["resources"]
    assert resources == {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "750m"}}
    assert render(tmp_path / "overlays/staging") == staging


def test_a_base_only_one_overlay_uses_is_edited_where_the_value_is(tmp_path: Path) -> None:
    guestbook(tmp_path, staging=False)
    prod = WorkloadRef("shop", "Deployment", "prod-guestbook-ui")
    plan = plan_manifests(tmp_path, [ResourceTarget(prod, "guestbook-ui", {("requests", "memory"): "48Mi"})])
    assert [f.display for f in plan.files] == ["base/deployment.yaml"]
    [report] = plan.objects
    assert report.status == "changed" and report.file.name == "deployment.yaml" and report.line == 1, report
    apply_plan(plan)
    assert "            memory: 48Mi\n" in (tmp_path / "base/deployment.yaml").read_text()
    [deployment] = render(tmp_path / "overlays/prod")
    assert containers(deployment)["guestbook-ui"]["resources"]["requests"] == {"cpu": "100m", "memory": "48Mi"}


def test_a_request_above_the_rendered_limit_raises_the_limit_in_the_overlay(tmp_path: Path) -> None:
    guestbook(tmp_path)
    prod = WorkloadRef("shop", "Deployment", "prod-guestbook-ui")
    plan = plan_manifests(tmp_path, [ResourceTarget(prod, "guestbook-ui", {("requests", "cpu"): "1500m"})])
    [report] = plan.objects
    # the limit that runs is the overlay's 1 CPU (not the base's 500m): it is raised there, with a note
    assert any("limits.cpu raised from 1 to 1500m" in n for n in report.notes), report
    apply_plan(plan)
    [deployment] = render(tmp_path / "overlays/prod")
    assert containers(deployment)["guestbook-ui"]["resources"]["limits"] == {"cpu": "1500m"}


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        (
            "patches:\n- target: {kind: Deployment, name: guestbook-ui}\n  patch: |\n"
            "    - op: replace\n      path: /spec/template/spec/containers/0/resources/requests/cpu\n      value: 2\n",
            "a JSON patch in",
        ),
        (
            "patches:\n- target: {kind: Deployment}\n  patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n"
            "    metadata: {name: any}\n    spec: {template: {spec: {containers: [{name: guestbook-ui, "
            "resources: {limits: {cpu: 2}}}]}}}\n",
            "an inline patch in",
        ),
    ],
)
def test_patches_kubetally_cannot_follow_refuse_the_edit(tmp_path: Path, patch: str, reason: str) -> None:
    write(
        tmp_path, {"base/kustomization.yaml": "resources:\n- deployment.yaml\n" + patch, "base/deployment.yaml": BASE}
    )
    files = snapshot(tmp_path)
    ref = WorkloadRef("default", "Deployment", "guestbook-ui")
    plan = plan_manifests(tmp_path, [ResourceTarget(ref, "guestbook-ui", {("requests", "cpu"): "50m"})])
    [report] = plan.objects
    assert report.status == "refused" and report.reason is not None and reason in report.reason, report
    apply_plan(plan)
    assert snapshot(tmp_path) == files


def test_a_component_deleting_a_workload_removes_it_from_the_render(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": "resources:\n- deployment.yaml\ncomponents:\n- ../drop\n",
            "app/deployment.yaml": BASE,
            "drop/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n"
                "    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: guestbook-ui\n"
                "    $patch: delete\n"
            ),
        },
    )
    assert render(tmp_path / "app") == []
    ref = WorkloadRef("default", "Deployment", "guestbook-ui")
    plan = plan_manifests(tmp_path, [ResourceTarget(ref, "guestbook-ui", {("requests", "cpu"): "50m"})])
    assert plan.files == () and [str(t.ref) for t in plan.unmatched] == [str(ref)]


def test_a_kubectl_error_on_the_edited_copy_names_the_users_files(metrics: Path) -> None:
    from kubetally.actions.manifests.kustomize import render_problem
    from kubetally.actions.manifests.lines import ManifestError

    overlay = (metrics / "overlays" / "release").resolve()
    broken = {overlay / "kustomization.yaml": "resources:\n- ../../no-such-base\n"}
    with pytest.raises(ManifestError) as caught:
        render_problem(overlay, metrics.resolve(), broken, {}, version="1.32", default_namespace="default")
    message = str(caught.value)
    assert "kubetally-render-" not in message  # the temporary copy kubectl rendered is never shown
    assert str(metrics.resolve()) in message


@pytest.fixture
def helloworld(tmp_path: Path) -> Path:
    tree = tmp_path / "helloworld"
    shutil.copytree(TESTDATA / "kustomize-helloworld", tree)
    return tree


HELLO_DEV = WorkloadRef("default", "Deployment", "dev-the-deployment")
HELLO_STG = WorkloadRef("default", "Deployment", "stg-secondary-the-deployment")
HELLO_CHANGE = {("requests", "cpu"): "20m", ("requests", "memory"): "32Mi", ("limits", "memory"): "64Mi"}


def test_real_kustomize_example_prefixed_overlays_of_one_base(helloworld: Path) -> None:
    """kustomize's own helloWorld example (namePrefix dev- and stg-secondary- over one base): each
    overlay's workload is found by its rendered name, its values go into that overlay, the shared base
    and the other overlay render as before; the base's own name matches nothing."""
    before = {o: render(helloworld / "overlays" / o) for o in ("dev", "stg-secondary")}
    base = snapshot(helloworld / "base")
    unprefixed = WorkloadRef("default", "Deployment", "the-deployment")
    targets = [
        ResourceTarget(HELLO_DEV, "the-container", HELLO_CHANGE),
        ResourceTarget(unprefixed, "the-container", HELLO_CHANGE),
    ]
    # BestEffort (no resources in the example) becomes Burstable: refused unless allowed
    refused = plan_manifests(helloworld, targets[:1])
    [report] = refused.objects
    assert report.status == "refused" and "QoS" in (report.reason or ""), report
    plan = plan_manifests(helloworld, targets, settings=ManifestSettings(allow_qos_change=True))
    assert [str(t.ref) for t in plan.unmatched] == ["default/Deployment/the-deployment"]
    assert [(o.file.parent.name, o.status) for o in plan.objects] == [("dev", "changed")]
    assert all(f.display.startswith("overlays/dev/") for f in plan.files), [f.display for f in plan.files]
    apply_plan(plan)
    assert snapshot(helloworld / "base") == base  # the shared base is never edited
    assert render(helloworld / "overlays/stg-secondary") == before["stg-secondary"]
    after = render(helloworld / "overlays/dev")
    [deployment] = [d for d in after if d["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "dev-the-deployment"
    resources = containers(deployment)["the-container"]["resources"]
    assert resources == {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
    assert qos_class({name: c.get("resources") for name, c in containers(deployment).items()}) == "Burstable"
    assert without_resources(after) == without_resources(before["dev"])  # nothing else changed
    kubernetes_validate.validate(deployment, "1.32", strict=True)
    # a second plan with the same values changes nothing
    again = plan_manifests(helloworld, targets[:1], settings=ManifestSettings(allow_qos_change=True))
    assert [o.status for o in again.objects] == ["unchanged"] and not again.files
