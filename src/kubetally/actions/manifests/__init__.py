"""Rewrite the ``resources`` of workloads in a manifest directory, byte-for-byte safe.

Plan (:func:`plan_manifests`) -> show (:meth:`ManifestPlan.diff`) -> apply (:func:`apply_plan`).
"""

from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.plan import (
    FieldChange,
    FileChange,
    ManifestPlan,
    ResourceTarget,
    apply_plan,
    plan_manifests,
)
from kubetally.actions.manifests.scan import WORKLOAD_KINDS, WorkloadRef, scan

__all__ = [
    "WORKLOAD_KINDS",
    "FieldChange",
    "FileChange",
    "ManifestError",
    "ManifestPlan",
    "ResourceTarget",
    "WorkloadRef",
    "apply_plan",
    "plan_manifests",
    "scan",
]
