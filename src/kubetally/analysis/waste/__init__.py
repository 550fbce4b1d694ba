"""Waste (pure): what is idle, unused, orphaned or too chatty, with the money it costs.

:func:`findings` runs every rule of :data:`RULES` over a Dataset and returns one frame
(:data:`FINDINGS_SCHEMA`): rule id, severity, the object, the evidence over the window, the
monthly cash cost (null without a price book), the exact remediation and how to silence it.
:func:`scores` turns it into a score per section and overall (100 = nothing found).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

import polars as pl

from kubetally.analysis.waste import compute, hygiene, lifecycle, logs, objects, storage
from kubetally.analysis.waste.core import (
    FINDINGS_SCHEMA,
    MONTHLY_COST,
    RULE,
    SECTION,
    SEVERITY,
    Context,
    Finding,
    findings_frame,
    kubectl,
)
from kubetally.analysis.waste.settings import SEVERITIES, Ignore, OrphanExclusions, Severity, WasteSettings
from kubetally.dataset import Dataset
from kubetally.model.pricing import PriceBook

Rule = Callable[[Context], list[Finding]]

RULES: dict[str, tuple[str, Rule]] = {
    "idle-workload": ("compute", compute.idle_workloads),
    "scaled-to-zero": ("compute", objects.scaled_to_zero),
    "finished-job": ("compute", lifecycle.finished_jobs),
    "old-replicaset": ("compute", lifecycle.old_replicasets),
    "unused-pvc": ("storage", objects.unused_pvcs),
    "released-pv": ("storage", objects.released_pvs),
    "oversized-pvc": ("storage", storage.oversized_pvcs),
    "growing-table": ("storage", storage.growing_tables),
    "orphaned-configmap": ("objects", objects.orphaned_configmaps_and_secrets),
    "orphaned-service": ("objects", objects.orphaned_services),
    "unused-serviceaccount": ("objects", lifecycle.unused_service_accounts),
    "hpa-missing-target": ("objects", lifecycle.hpa_missing_target),
    "debug-logging": ("logging", logs.debug_logging),
    "missing-labels": ("hygiene", hygiene.missing_labels),
    "no-requests": ("hygiene", hygiene.no_requests),
}
"""Rule function id -> (section, function). One function may emit several rule ids (orphaned-secret, chatty-logs)."""

RULE_INFO: dict[str, tuple[str, str]] = {
    "idle-workload": ("compute", "CPU below a share of the request and no network for the whole window"),
    "scaled-to-zero": ("compute", "Deployment/StatefulSet at 0 replicas for days, with the objects only it uses"),
    "finished-job": ("compute", "Complete or Failed Job without ttlSecondsAfterFinished, kept for days"),
    "old-replicaset": ("compute", "ReplicaSet at 0 replicas beyond the revision history"),
    "unused-pvc": ("storage", "PVC mounted by no pod and named by no pod template"),
    "released-pv": ("storage", "PersistentVolume Released or Available: paid for, bound to nothing"),
    "oversized-pvc": ("storage", "PVC whose used bytes stay far below its capacity"),
    "growing-table": ("storage", "database table that keeps growing"),
    "orphaned-configmap": ("objects", "ConfigMap referenced by nothing over any reference path"),
    "orphaned-secret": ("objects", "Secret referenced by nothing over any reference path"),
    "orphaned-service": ("objects", "Service with no ready endpoint whose selector matches nothing"),
    "unused-serviceaccount": ("objects", "ServiceAccount no pod or pod template runs as"),
    "hpa-missing-target": ("objects", "HorizontalPodAutoscaler whose scale target does not exist"),
    "debug-logging": ("logging", "debug/trace log level in production, or making a container chatty"),
    "chatty-logs": ("logging", "container writing more logs than the threshold"),
    "missing-labels": ("hygiene", "workload without every label of the labelling policy"),
    "no-requests": ("hygiene", "container without CPU or memory requests"),
}
"""Every rule id a finding can carry -> (section, one-line description)."""

RULE_IDS: tuple[str, ...] = tuple(RULE_INFO)
SECTIONS: tuple[str, ...] = ("compute", "storage", "objects", "logging", "hygiene")


@dataclass(frozen=True)
class WasteReport:
    findings: pl.DataFrame
    """:data:`FINDINGS_SCHEMA`, most expensive first."""
    silenced: int
    """Findings dropped by the ignore annotation or the ignore list."""
    checked: dict[str, int]
    """Section -> objects the section's rules looked at."""
    notes: tuple[str, ...] = ()
    """Rules that could not judge this dataset, and why."""


def _silence_hint(settings: WasteSettings, f: Finding) -> str:
    return kubectl("annotate", f.kind, f.namespace, f.name, f"{settings.ignore_annotation}={f.rule}")


def findings(ds: Dataset, *, settings: WasteSettings, book: PriceBook | None) -> WasteReport:
    """Every finding of every rule, minus what is silenced."""
    ctx = Context(ds, settings, book)
    raw: list[Finding] = []
    for _section, rule in RULES.values():
        raw += rule(ctx)
    kept: list[Finding] = []
    silenced = 0
    for f in raw:
        annotated = ctx.ignored_rules(f.cluster, f.kind, f.namespace, f.name)
        listed = any(i.matches(f.rule, f.namespace, f.kind, f.name) for i in settings.ignore)
        if listed or any(fnmatchcase(f.rule, pattern) for pattern in annotated):
            silenced += 1
        else:
            kept.append(f)
    hints = {(f.rule, f.kind, f.namespace, f.name): _silence_hint(settings, f) for f in kept}
    frame = findings_frame(kept, ctx, hints).sort(
        [pl.col(MONTHLY_COST).fill_null(-1), RULE, "namespace", "name"], descending=[True, False, False, False]
    )
    return WasteReport(frame, silenced, dict(ctx.checked), tuple(ctx.notes))


def log_volume(ds: Dataset, *, settings: WasteSettings, book: PriceBook | None) -> pl.DataFrame:
    """Log volume per namespace: bytes written a day, bytes on node disks and their monthly cost."""
    return logs.log_volume(Context(ds, settings, book))


SEVERITY_WEIGHT = {"info": 0.0, "low": 1.0, "medium": 2.0, "high": 3.0}


def scores(report: WasteReport) -> dict[str, int]:
    """Per section and ``overall``: 100 x (1 - weighted findings / (3 x objects checked)), as Popeye scores.

    A section with nothing checked scores 100. Weights: info 0, low 1, medium 2, high 3.
    """
    out: dict[str, int] = {}
    total_w, total_n = 0.0, 0
    for section in SECTIONS:
        rows = report.findings.filter(pl.col(SECTION) == section)
        weight = sum(SEVERITY_WEIGHT[s] for s in rows[SEVERITY].to_list())
        checked = max(report.checked.get(section, 0), rows.height)
        out[section] = 100 if checked == 0 else round(100 * (1 - weight / (3 * checked)))
        total_w += weight
        total_n += checked
    out["overall"] = 100 if total_n == 0 else round(100 * (1 - total_w / (3 * total_n)))
    return out


def at_or_above(report: WasteReport, severity: Severity) -> int:
    """Findings whose severity is ``severity`` or worse (for ``--fail-on``)."""
    worse = SEVERITIES[SEVERITIES.index(severity) :]
    return report.findings.filter(pl.col(SEVERITY).is_in(worse)).height


__all__ = [
    "FINDINGS_SCHEMA",
    "RULES",
    "RULE_IDS",
    "RULE_INFO",
    "SECTIONS",
    "SEVERITIES",
    "Ignore",
    "OrphanExclusions",
    "WasteReport",
    "WasteSettings",
    "at_or_above",
    "findings",
    "log_volume",
    "scores",
]
