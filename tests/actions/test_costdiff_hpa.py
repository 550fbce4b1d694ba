"""cost-diff reads HorizontalPodAutoscalers in the tree: a scaled workload counts its minReplicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.actions.costdiff import CostDiffSettings, cost_diff, requested_resources
from kubetally.analysis.scaling import UnitPrices

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - {name: api, image: api, resources: {requests: {cpu: "1", memory: 1Gi}}}
"""
HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 5
"""


def test_hpa_min_replicas_are_priced(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    (tmp_path / "base" / "api.yaml").write_text(DEPLOY)
    (tmp_path / "head" / "api.yaml").write_text(DEPLOY + HPA)
    settings = CostDiffSettings()
    base = requested_resources(tmp_path / "base", namespace=None, settings=settings)
    head = requested_resources(tmp_path / "head", namespace=None, settings=settings)
    assert head.select("replicas", "hpa_max").row(0) == (2, 5)
    diff = cost_diff(
        base, head, prices=UnitPrices(cpu_per_core_hour=0.04, memory_per_gib_hour=0.0), settings=settings
    ).row(0, named=True)
    # 3 pods of 1 core -> 2 pods at minReplicas: -1 core x 0.04 x 730 h = -29.20 a month
    assert diff["change"] == "changed"
    assert diff["monthly_cost_delta"] == pytest.approx(-29.2)
    assert (diff["replicas_base"], diff["replicas_head"], diff["hpa_max_head"]) == (3, 2, 5)
