"""Resource targets from the right-sizing recommendation frame (``kubetally.model.recommendation``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from kubetally.actions.manifests.plan import ResourceTarget
from kubetally.actions.manifests.scan import WORKLOAD_KINDS, WorkloadRef
from kubetally.actions.manifests.textedit import Field
from kubetally.model import columns as c
from kubetally.model.quantity import format_cpu, format_memory

_FIELDS: tuple[tuple[Field, str, str, Callable[[float], str]], ...] = (
    (("requests", "cpu"), c.CURRENT_CPU_REQUEST_CORES, c.RECOMMENDED_CPU_REQUEST_CORES, format_cpu),
    (("limits", "cpu"), c.CURRENT_CPU_LIMIT_CORES, c.RECOMMENDED_CPU_LIMIT_CORES, format_cpu),
    (("requests", "memory"), c.CURRENT_MEMORY_REQUEST_BYTES, c.RECOMMENDED_MEMORY_REQUEST_BYTES, format_memory),
    (("limits", "memory"), c.CURRENT_MEMORY_LIMIT_BYTES, c.RECOMMENDED_MEMORY_LIMIT_BYTES, format_memory),
)


@dataclass(frozen=True)
class Skipped:
    ref: WorkloadRef
    container: str
    reason: str


def _cpu_text(value: float) -> str:
    return format_cpu(round(value, 6))


def targets_from_recommendations(
    frame: pl.DataFrame, *, include_unchanged: bool = False, whole: bool = False
) -> tuple[list[ResourceTarget], list[Skipped]]:
    """One target per row whose recommended values differ from the current ones.

    A null recommended value where the current one is set means "remove the field"
    (e.g. no CPU limit). Rows for kinds kubetally cannot rewrite (bare Pods) are skipped.
    ``include_unchanged`` keeps rows without a change too (the whole pod, for its QoS class).
    ``whole`` (for manifests and charts, which may differ from what runs) asks for every recommended
    value, not only those that differ from the live ones: a manifest that drifted from the cluster,
    or a chart whose values are empty, gets the recommendation, not half of it.
    """
    targets: list[ResourceTarget] = []
    skipped: list[Skipped] = []
    for row in frame.iter_rows(named=True):
        ref = WorkloadRef(row[c.NAMESPACE], row[c.OWNER_KIND], row[c.OWNER_NAME])
        change: dict[Field, str | None] = {}
        live: dict[Field, str | None] = {}
        for fld, current_col, recommended_col, fmt in _FIELDS:
            current, recommended = row[current_col], row[recommended_col]
            if current is None:
                live[fld] = None
            else:
                live[fld] = _cpu_text(float(current)) if fld[1] == "cpu" else fmt(int(current))
            if current == recommended and not (whole and recommended is not None):
                continue
            if recommended is None:
                change[fld] = None
            elif fld[1] == "cpu":
                change[fld] = _cpu_text(float(recommended))
            else:
                change[fld] = fmt(int(recommended))
        if not change and not include_unchanged and not whole:
            continue
        if ref.kind not in WORKLOAD_KINDS:
            skipped.append(Skipped(ref, row[c.CONTAINER], f"{ref.kind} objects are not rewritten (no controller)"))
            continue
        cluster = str(row.get(c.CLUSTER) or "")
        targets.append(ResourceTarget(ref, row[c.CONTAINER], change, live=live, cluster=cluster))
    return targets, skipped
