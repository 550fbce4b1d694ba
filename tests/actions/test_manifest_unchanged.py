"""A workload whose manifest already holds its recommendation is reported as unchanged, with why
(and, when the cluster still runs other values, how many differ), never silently left out."""

from __future__ import annotations

from pathlib import Path

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, plan_manifests

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example/api:1
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
"""
API = WorkloadRef("shop", "Deployment", "api")
CHANGE = {("requests", "cpu"): "0.1", ("requests", "memory"): "128Mi"}  # 0.1 is 100m


def plan(tmp_path: Path, target: ResourceTarget) -> tuple[str, str, tuple[str, ...]]:
    (tmp_path / "api.yaml").write_text(MANIFEST)
    result = plan_manifests(tmp_path, [target])
    assert result.files == ()
    [report] = result.objects
    assert report.line == 1
    return report.status, report.reason or "", report.notes


def test_the_manifest_already_holds_the_recommendation(tmp_path: Path) -> None:
    live = {("requests", "cpu"): "100m", ("requests", "memory"): "128Mi"}
    status, reason, notes = plan(tmp_path, ResourceTarget(API, "api", CHANGE, live=live))
    assert (status, reason, notes) == ("unchanged", "the manifest already holds the recommendation", ())


def test_applied_but_not_deployed_says_how_many_values_differ_live(tmp_path: Path) -> None:
    live = {("requests", "cpu"): "250m", ("requests", "memory"): "128Mi", ("limits", "cpu"): "1"}
    status, reason, notes = plan(tmp_path, ResourceTarget(API, "api", CHANGE, live=live))
    # requests.cpu 100m vs 250m and limits.cpu unset vs 1: two values
    assert status == "unchanged" and notes == ()
    assert reason == "the manifest already holds the recommendation (not live yet: 2 values differ in the cluster)"


def test_only_a_sidecar_recommended_is_not_called_already_done(tmp_path: Path) -> None:
    status, reason, _ = plan(tmp_path, ResourceTarget(API, "istio-proxy", {("requests", "cpu"): "10m"}))
    assert (status, reason) == ("unchanged", "none of its recommended containers is in the manifest")
