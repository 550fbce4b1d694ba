"""HPA what-if: replay the total demand through the HPA controller at the recommended request.

The controller is the one in ``k8s.io/kubernetes/pkg/controller/podautoscaler``
(algorithm as documented on kubernetes.io, "Horizontal Pod Autoscaling"):
``desired = ceil(current × utilization / target)``, no change while the ratio is
within the tolerance (10 %), scale-up at once, scale-down to the highest
recommendation of the stabilization window (300 s), clamped to min/max. It acts
once per data step here (the real controller syncs every 15 s), and new pods are
assumed ready at once — both documented in ``docs/scale.md``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kubetally.model import columns as c

GIB = 2**30


class HpaSettings(BaseModel):
    """How the HPA what-if searches for a spec and when it recommends one."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    targets: tuple[int, ...] = Field(
        (100, 90, 80, 70, 60, 50),
        min_length=1,
        description="Candidate CPU utilization targets, percent; the highest within max_risk_ratio wins.",
    )
    tolerance: float = Field(0.1, ge=0, le=1, description="HPA tolerance: no scaling while |ratio - 1| <= this.")
    scale_down_stabilization_seconds: int = Field(
        300, ge=0, le=86_400, description="Scale down to the highest recommendation of this window."
    )
    min_replicas: int = Field(1, ge=1, le=1000, description="minReplicas of the recommended HPA.")
    critical_min_replicas: int = Field(2, ge=1, le=1000, description="minReplicas when finops_tier is critical.")
    max_risk_ratio: float = Field(
        0.02, ge=0, le=1, description="Highest share of time a pod may use more than its CPU request."
    )
    min_saved_ratio: float = Field(
        0.05, ge=0, le=1, description="Recommend an HPA only when it saves at least this share of replica-hours."
    )
    censored_throttling_ratio: float = Field(
        0.5, ge=0, le=1, description="A step whose throttled ratio exceeds this hides demand above the CPU limit."
    )
    min_history_hours: float = Field(24.0, ge=0, le=10_000, description="History needed for a what-if.")
    kinds: tuple[str, ...] = Field(("Deployment",), description="Workload kinds considered.")


def simulate_hpa(
    demand: np.ndarray,
    *,
    step_seconds: int,
    request_cores: float,
    min_replicas: int,
    max_replicas: int,
    target_percent: float,
    initial_replicas: int,
    tolerance: float = 0.1,
    stabilization_seconds: int = 300,
) -> np.ndarray:
    """Replicas in effect during every step of ``demand`` (total cores, all pods together)."""
    values = np.asarray(demand, dtype=np.float64).tolist()  # plain floats: the loop is 5x faster than on numpy scalars
    out: list[int] = []
    window = max(1, stabilization_seconds // step_seconds) if stabilization_seconds > 0 else 1
    recent: deque[int] = deque(maxlen=window)
    current = min(max(initial_replicas, min_replicas), max_replicas)
    target = target_percent / 100.0
    for value in values:
        out.append(current)
        ratio = value / (current * request_cores) / target
        desired = current if abs(ratio - 1.0) <= tolerance else math.ceil(current * ratio - 1e-9)
        desired = min(max(desired, min_replicas), max_replicas)
        recent.append(desired)
        current = desired if desired >= current else min(current, max(recent))
    replicas = np.asarray(out, dtype=np.int64)
    return replicas


def hpa_manifest(namespace: str, kind: str, name: str, *, min_replicas: int, max_replicas: int, target: int) -> Any:
    """An ``autoscaling/v2`` HorizontalPodAutoscaler on CPU utilization (plain data)."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "kubetally"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def _risk(demand: np.ndarray, replicas: np.ndarray, request: float) -> float:
    return float(np.mean(demand / (replicas * request) > 1.0 + 1e-9)) if len(demand) else 0.0


def _evaluate(
    demand: np.ndarray, step: int, request: float, fixed: int, min_r: int, target: int, settings: HpaSettings
) -> tuple[int, np.ndarray]:
    max_r = max(min_r, math.ceil(float(demand.max()) / (request * target / 100.0) - 1e-9))
    replicas = simulate_hpa(
        demand,
        step_seconds=step,
        request_cores=request,
        min_replicas=min_r,
        max_replicas=max_r,
        target_percent=target,
        initial_replicas=fixed,
        tolerance=settings.tolerance,
        stabilization_seconds=settings.scale_down_stabilization_seconds,
    )
    return max_r, replicas


def hpa_row(
    demand: np.ndarray,
    *,
    step_seconds: int,
    fixed_replicas: int,
    censored_ratio: float = 0.0,
    request_cores: float,
    memory_bytes: int,
    critical: bool,
    settings: HpaSettings,
    cpu_per_core_hour: float,
    memory_per_gib_hour: float,
    hours_per_month: float = 730.0,
) -> dict[str, Any]:
    """The what-if for one workload: the best HPA spec and what it saves versus fixed replicas.

    ``censored_ratio`` is the share of steps where throttling hid demand above the CPU limit.
    """
    hours = len(demand) * step_seconds / 3600.0
    pod_hour = request_cores * cpu_per_core_hour + memory_bytes / GIB * memory_per_gib_hour
    min_r = settings.critical_min_replicas if critical else settings.min_replicas
    if fixed_replicas <= min_r:
        return {
            c.MEAN_DEMAND_CORES: float(demand.mean()),
            c.PEAK_DEMAND_CORES: float(demand.max()),
            c.STATUS: "not-worth-it",
            c.REASON: f"runs {fixed_replicas} replica(s), the HPA minimum here: an HPA could only add pods",
        }
    chosen: tuple[int, int, np.ndarray, float] | None = None
    for target in sorted(settings.targets, reverse=True):
        max_r, replicas = _evaluate(demand, step_seconds, request_cores, fixed_replicas, min_r, target, settings)
        risk = _risk(demand, replicas, request_cores)
        chosen = (target, max_r, replicas, risk)
        if risk <= settings.max_risk_ratio:
            break
    assert chosen is not None
    target, max_r, replicas, risk = chosen
    fixed_rh = fixed_replicas * hours
    hpa_rh = float(replicas.sum()) * step_seconds / 3600.0
    saved_rh = fixed_rh - hpa_rh
    saved_ratio = saved_rh / fixed_rh if fixed_rh else 0.0
    cost_saved = saved_rh * pod_hour
    if risk > settings.max_risk_ratio:
        status, reason = "risky", f"even at {target}% target, pods exceed their request {risk:.1%} of the time"
    elif saved_ratio < 0:
        status, reason = "not-worth-it", f"would add {-saved_ratio:.0%} replica-hours at a {target}% target"
    elif saved_ratio < settings.min_saved_ratio:
        status, reason = "not-worth-it", f"saves {saved_ratio:.0%} of replica-hours (< {settings.min_saved_ratio:.0%})"
    else:
        status, reason = "recommended", f"saves {saved_ratio:.0%} of replica-hours; pods over request {risk:.1%}"
    if censored_ratio > 0:
        reason += f"; CPU-throttled in {censored_ratio:.0%} of steps: real peaks are higher (raise the limit first)"
    return {
        c.HPA_MIN: min_r,
        c.HPA_MAX: max_r,
        c.HPA_TARGET_PERCENT: target,
        c.MEAN_DEMAND_CORES: float(demand.mean()),
        c.PEAK_DEMAND_CORES: float(demand.max()),
        c.FIXED_REPLICA_HOURS: fixed_rh,
        c.HPA_REPLICA_HOURS: hpa_rh,
        c.REPLICA_HOURS_SAVED: saved_rh,
        c.SAVED_RATIO: saved_ratio,
        c.COST_SAVED: cost_saved,
        c.MONTHLY_COST_SAVED: cost_saved * hours_per_month / hours if hours else 0.0,
        c.RISK_RATIO: risk,
        c.FIXED_RISK_RATIO: _risk(demand, np.full(len(demand), fixed_replicas), request_cores),
        c.STATUS: status,
        c.REASON: reason,
    }
