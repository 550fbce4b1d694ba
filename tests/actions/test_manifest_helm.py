"""Helm charts are never edited: a recommendation becomes a values suggestion (real charts: podinfo,
kube-state-metrics, under testdata/manifests)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

from kubetally.actions.manifests import ManifestSettings, ResourceTarget, WorkloadRef, apply_plan, plan_manifests

TESTDATA = Path(__file__).parents[2] / "testdata" / "manifests"


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
