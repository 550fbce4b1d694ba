"""Scaling what-ifs (pure): HPA replay on total demand, and off-hours plans for non-production workloads."""

from kubetally.analysis.scaling.demand import pod_requests, workload_demand, workload_labels
from kubetally.analysis.scaling.hpa import HpaSettings, hpa_manifest, hpa_row, simulate_hpa
from kubetally.analysis.scaling.offhours import (
    OFFHOURS_SCHEMA,
    OffHoursSettings,
    downscaler_annotations,
    offhours_plans,
    uptime_plan,
)
from kubetally.analysis.scaling.whatif import HPA_SCHEMA, hpa_whatif
from kubetally.model.unit_prices import UnitPrices

__all__ = [
    "HPA_SCHEMA",
    "OFFHOURS_SCHEMA",
    "HpaSettings",
    "OffHoursSettings",
    "UnitPrices",
    "downscaler_annotations",
    "hpa_manifest",
    "hpa_row",
    "hpa_whatif",
    "offhours_plans",
    "pod_requests",
    "simulate_hpa",
    "uptime_plan",
    "workload_demand",
    "workload_labels",
]
