"""Rewrite the ``resources`` of workloads in a manifest directory, byte-for-byte safe.

Plan (:func:`plan_manifests`) -> show (:meth:`ManifestPlan.diff`) -> apply (:func:`apply_plan`).
"""

from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.plan import (
    FieldChange,
    FileChange,
    ManifestPlan,
    ObjectReport,
    PlanFact,
    ResourceTarget,
    apply_plan,
    plan_manifests,
)
from kubetally.actions.manifests.scan import WORKLOAD_KINDS, SkippedFile, WorkloadRef, scan, scan_tree
from kubetally.actions.manifests.settings import ManifestSettings

__all__ = [
    "WORKLOAD_KINDS",
    "FieldChange",
    "FileChange",
    "ManifestError",
    "ManifestPlan",
    "ManifestSettings",
    "ObjectReport",
    "PlanFact",
    "ResourceTarget",
    "SkippedFile",
    "WorkloadRef",
    "apply_plan",
    "plan_manifests",
    "scan",
    "scan_tree",
]
