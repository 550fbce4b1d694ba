"""Helm charts are never edited: a recommendation becomes a values suggestion (real charts: podinfo,
kube-state-metrics, under testdata/manifests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kubetally.actions.manifests import ManifestSettings, ResourceTarget, WorkloadRef, apply_plan, plan_manifests
from kubetally.model.quantity import parse_quantity

TESTDATA = Path(__file__).parents[2] / "testdata" / "manifests"


@pytest.fixture
def helm() -> str:
    """The real helm binary (scripts/install-helm); skip without it, fail under KUBETALLY_REQUIRE_SERVICES=1."""
    path = shutil.which("helm")
    if path is None:
        message = "helm not installed (scripts/install-helm)"
        if os.environ.get("KUBETALLY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"KUBETALLY_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    return path


def helm_template(helm: str, release: str, chart: Path, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run([helm, "template", release, str(chart), *args], capture_output=True, text=True, check=True)
    return [d for d in YAML(typ="safe", pure=True).load_all(out.stdout) if d]


def rendered_resources(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
    kubernetes_validate.validate(doc, "1.32", strict=True)
    [container] = doc["spec"]["template"]["spec"]["containers"]
    resources: dict[str, Any] = container["resources"]
    return {s: {r: parse_quantity(str(v)) for r, v in vals.items()} for s, vals in resources.items() if vals}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_chart_gets_a_values_suggestion_and_its_templates_stay_untouched(tmp_path: Path) -> None:
    shutil.copytree(TESTDATA / "podinfo-chart", tmp_path / "podinfo")
    files = snapshot(tmp_path)
    main = WorkloadRef("web", "Deployment", "frontend-podinfo")  # Helm's fullname RELEASE-CHART
    redis = WorkloadRef("web", "Deployment", "frontend-podinfo-redis")
    targets = [
        ResourceTarget(main, "podinfo", {("requests", "cpu"): "20m", ("limits", "memory"): "64Mi"}),
        ResourceTarget(redis, "redis", {("requests", "cpu"): "50m"}),
    ]
    plan = plan_manifests(tmp_path, targets)
    assert plan.files == () and plan.skipped == () and plan.unmatched == ()  # templates are not read as YAML
    suggestion, no_key = plan.values
    # hand-worked: values.yaml has requests 1m/16Mi and an empty limits; the recommendation sets two fields
    assert suggestion.refused is None and suggestion.values == {
        "resources": {"requests": {"cpu": "20m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
    }
    assert YAML(typ="safe", pure=True).load(suggestion.text()) == suggestion.values
    assert suggestion.text().startswith("# web/Deployment/frontend-podinfo: values for the chart in ")
    # redis's resources are written in templates/redis/deployment.yaml, not in the values
    assert no_key.refused is not None and no_key.refused.startswith("container redis: no resources key in ")
    apply_plan(plan)
    assert snapshot(tmp_path) == files


def test_a_default_the_recommendation_removes_is_set_to_null() -> None:
    ref = WorkloadRef("web", "Deployment", "podinfo")
    plan = plan_manifests(TESTDATA / "podinfo-chart", [ResourceTarget(ref, "podinfo", {("requests", "memory"): None})])
    [suggestion] = plan.values
    # Helm merges values over the chart's defaults: only `null` removes the default 16Mi
    assert suggestion.text().endswith("resources:\n  requests:\n    cpu: 1m\n    memory: null\n")


def test_containers_map_to_their_values_keys_and_qos_is_kept() -> None:
    ksm = WorkloadRef("monitoring", "Deployment", "kube-state-metrics")
    change = {("requests", "cpu"): "10m", ("requests", "memory"): "39Mi", ("limits", "memory"): "135Mi"}
    targets = [
        ResourceTarget(ksm, "kube-state-metrics", change),
        ResourceTarget(ksm, "kube-rbac-proxy-http", {("requests", "cpu"): "5m"}),
    ]
    [refused] = plan_manifests(TESTDATA / "kube-state-metrics-chart", targets).values
    # the chart's defaults are `resources: {}`: the pod is BestEffort and would become Burstable
    assert (
        refused.refused
        == "the pod's QoS class would change from BestEffort to Burstable (pass --allow-qos-change to allow it)"
    )
    settings = ManifestSettings(allow_qos_change=True)
    [suggestion] = plan_manifests(TESTDATA / "kube-state-metrics-chart", targets, settings=settings).values
    assert suggestion.values == {
        "kubeRBACProxy": {"resources": {"requests": {"cpu": "5m"}}},
        "resources": {"requests": {"cpu": "10m", "memory": "39Mi"}, "limits": {"memory": "135Mi"}},
    }


def test_real_helm_renders_the_suggestion_and_the_chart_is_untouched(tmp_path: Path, helm: str) -> None:
    chart = tmp_path / "podinfo"
    shutil.copytree(TESTDATA / "podinfo-chart", chart)
    files = snapshot(tmp_path)
    main = WorkloadRef("web", "Deployment", "frontend-podinfo")
    change = {("requests", "cpu"): "20m", ("requests", "memory"): None, ("limits", "memory"): "64Mi"}
    plan = plan_manifests(tmp_path, [ResourceTarget(main, "podinfo", change)])
    [suggestion] = plan.values
    assert suggestion.refused is None
    assert suggestion.notes[-1].startswith(f"checked with helm template frontend {chart} -f SUGGESTION: ")
    # the chart's own defaults render requests 1m/16Mi and no limits
    assert rendered_resources(helm_template(helm, "frontend", chart), "frontend-podinfo") == {
        "requests": {"cpu": Decimal("0.001"), "memory": Decimal(16 * 2**20)}
    }
    values = tmp_path / "suggestion.yaml"
    values.write_text(suggestion.text())
    after = helm_template(helm, "frontend", chart, "-f", str(values))
    # hand-worked: requests.cpu 20m, the 16Mi default removed by `memory: null`, limits.memory 64Mi
    assert rendered_resources(after, "frontend-podinfo") == {
        "requests": {"cpu": Decimal("0.02")},
        "limits": {"memory": Decimal(64 * 2**20)},
    }
    values.unlink()
    apply_plan(plan)
    assert snapshot(tmp_path) == files  # templates, values.yaml and Chart.yaml are never written


def test_a_suggestion_the_chart_does_not_render_is_refused(tmp_path: Path, helm: str) -> None:
    chart = tmp_path / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    # values.yaml has a `resources` key, but the template writes its own: the key does nothing
    (chart / "values.yaml").write_text("resources:\n  requests:\n    cpu: 100m\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-app\n"
        "spec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n"
        "    spec:\n      containers:\n      - name: app\n        image: busybox\n"
        "        resources:\n          requests:\n            cpu: 100m\n"
    )
    ref = WorkloadRef("default", "Deployment", "web-app")
    [suggestion] = plan_manifests(tmp_path, [ResourceTarget(ref, "app", {("requests", "cpu"): "20m"})]).values
    assert suggestion.refused == (
        "helm template renders container app of default/Deployment/web-app with {'requests': {'cpu': '100m'}}, "
        "not the planned {'requests': {'cpu': '20m'}}"
    )
    assert suggestion.values == {}


def test_without_helm_the_suggestion_says_it_was_not_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm on it
    ref = WorkloadRef("web", "Deployment", "frontend-podinfo")
    [suggestion] = plan_manifests(
        TESTDATA / "podinfo-chart", [ResourceTarget(ref, "podinfo", {("requests", "cpu"): "20m"})]
    ).values
    assert suggestion.refused is None
    assert suggestion.notes[-1] == "helm not found: the suggestion is not checked by rendering the chart"


def test_a_name_mapped_workload_is_checked_under_the_charts_names(helm: str) -> None:
    # the live Deployment `notification-service` is the chart's `frontend-podinfo` (--name-map); its one
    # container is the chart's one container `podinfo`, whatever each is called
    ref = WorkloadRef("auditflow", "Deployment", "notification-service")
    change = {("requests", "cpu"): "45m", ("requests", "memory"): "108Mi", ("limits", "memory"): "2028Mi"}
    settings = ManifestSettings(name_map=("notification-service=frontend-podinfo",))
    plan = plan_manifests(
        TESTDATA / "podinfo-chart", [ResourceTarget(ref, "notification-service", change)], settings=settings
    )
    [suggestion] = plan.values
    assert suggestion.refused is None and suggestion.name == "frontend-podinfo"
    assert suggestion.values == {
        "resources": {"requests": {"cpu": "45m", "memory": "108Mi"}, "limits": {"memory": "2028Mi"}}
    }
    assert suggestion.notes[-1].startswith("checked with helm template frontend ")
    assert "auditflow/Deployment/frontend-podinfo renders the recommended resources" in suggestion.notes[-1]
