"""The right-sizing recommendation frame: the stable contract between the
recommendation engine (``kubetally.analysis.rightsizing``), its outputs
(``kubetally rightsize -o json``) and the manifest rewriter.

One row per (cluster, namespace, owner_kind, owner_name, container).

Null semantics of the ``current_*`` / ``recommended_*`` columns: null means
"not set" — for a ``recommended_*`` column, "remove this field from the
manifest" (e.g. no CPU limit). When there is nothing to recommend
(``status == "no-recommendation"``, or ``cpu_status`` / ``memory_status`` is
``"no-recommendation"`` for one resource) the ``recommended_*`` values of that
resource are copied from ``current_*``, so applying a row never changes what
the engine could not judge. ``reason`` always says why.

Adding a column is a compatible change; renaming or removing one, or changing
its meaning, bumps ``RECOMMENDATION_SCHEMA_VERSION``.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from kubetally.model import columns as c
from kubetally.model.schema import Column, FrameSpec

RECOMMENDATION_SCHEMA_VERSION = 1


class Status(StrEnum):
    """Verdict for one resource (cpu_status, memory_status) or the whole row (status)."""

    OVER_PROVISIONED = "over-provisioned"
    """The recommendation lowers the request (frees capacity)."""
    UNDER_PROVISIONED = "under-provisioned"
    """The recommendation raises the request or limit (risk: throttling, OOM kills, eviction)."""
    OK = "ok"
    """Current values are within the strategy's tolerance of the recommendation (or equal after rounding)."""
    NO_RECOMMENDATION = "no-recommendation"
    """Not enough evidence to recommend anything; see ``reason``."""


_S = pl.String()
_F = pl.Float64()
_I = pl.Int64()


def _col(name: str, dtype: pl.DataType, description: str, *, nullable: bool = False) -> Column:
    return Column(name, dtype, description, nullable)


RECOMMENDATIONS = FrameSpec(
    "recommendations",
    "Right-sizing recommendation per workload container (all pods of the top controller).",
    (
        _col(c.CLUSTER, _S, "cluster name"),
        _col(c.NAMESPACE, _S, "namespace"),
        _col(c.OWNER_KIND, _S, "top controller kind: Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod"),
        _col(c.OWNER_NAME, _S, "top controller name (the pod name for bare pods)"),
        _col(c.CONTAINER, _S, "container name (init containers are not recommended)"),
        _col(c.STRATEGY, _S, "strategy that produced the row: simple, vpa or tiered (+ ':' tier policy name)"),
        _col(c.TIER, _S, "finops_tier label of the workload; null when unlabelled", nullable=True),
        _col(
            c.REPLICAS,
            _I,
            "desired replicas at the end of the window (used for savings); null if unknown",
            nullable=True,
        ),
        _col(c.PODS, _I, "distinct pods whose history was used"),
        _col(c.CURRENT_CPU_REQUEST_CORES, _F, "CPU request now, cores (latest pod); null = not set", nullable=True),
        _col(c.CURRENT_CPU_LIMIT_CORES, _F, "CPU limit now, cores; null = not set", nullable=True),
        _col(c.CURRENT_MEMORY_REQUEST_BYTES, _I, "memory request now, bytes; null = not set", nullable=True),
        _col(c.CURRENT_MEMORY_LIMIT_BYTES, _I, "memory limit now, bytes; null = not set", nullable=True),
        _col(
            c.RECOMMENDED_CPU_REQUEST_CORES,
            _F,
            "recommended CPU request, cores (5m/10m steps); null = unset",
            nullable=True,
        ),
        _col(c.RECOMMENDED_CPU_LIMIT_CORES, _F, "recommended CPU limit, cores; null = remove/no limit", nullable=True),
        _col(
            c.RECOMMENDED_MEMORY_REQUEST_BYTES,
            _I,
            "recommended memory request, bytes (whole Mi); null = unset",
            nullable=True,
        ),
        _col(
            c.RECOMMENDED_MEMORY_LIMIT_BYTES,
            _I,
            "recommended memory limit, bytes (whole Mi); null = remove",
            nullable=True,
        ),
        _col(
            c.CPU_REQUEST_CHANGE_CORES,
            _F,
            "recommended - current CPU request per container; null if either unset",
            nullable=True,
        ),
        _col(
            c.MEMORY_REQUEST_CHANGE_BYTES,
            _I,
            "recommended - current memory request per container; null if either unset",
            nullable=True,
        ),
        _col(
            c.CPU_SAVING_CORES,
            _F,
            "(current - recommended) CPU request x replicas; negative = costs more; null if unknown",
            nullable=True,
        ),
        _col(
            c.MEMORY_SAVING_BYTES,
            _I,
            "(current - recommended) memory request x replicas; null if unknown",
            nullable=True,
        ),
        _col(c.CPU_STATUS, _S, "over-provisioned, under-provisioned, ok or no-recommendation (CPU)"),
        _col(c.MEMORY_STATUS, _S, "over-provisioned, under-provisioned, ok or no-recommendation (memory)"),
        _col(
            c.STATUS,
            _S,
            "row verdict: under-provisioned if either resource is, else over-provisioned if either is, "
            "else ok; no-recommendation only when neither resource has one",
        ),
        _col(c.REASON, _S, "one line: why this recommendation, or why none (e.g. 'history 3.0 h of 24 h required')"),
        _col(c.DATA_POINTS, _I, "usage samples used (all pods)"),
        _col(c.HISTORY_HOURS, _F, "hours between the first and last sample used"),
        _col(c.OOM_KILLS, _I, "OOMKilled terminations in the window (terminations frame)"),
        _col(c.MEMORY_PEAK_BYTES, _F, "highest working set of any pod, bytes; null without samples", nullable=True),
        _col(
            c.MEMORY_PEAK_LIMIT_RATIO,
            _F,
            "memory_peak_bytes / current memory limit; null without a limit",
            nullable=True,
        ),
        _col(
            c.CPU_USAGE_P95_CORES,
            _F,
            "highest per-pod 95th percentile of CPU usage, cores; null without samples",
            nullable=True,
        ),
        _col(
            c.CPU_THROTTLED_RATIO,
            _F,
            "mean throttled CFS periods / periods where a CPU limit is set; null without data",
            nullable=True,
        ),
        _col(c.EVIDENCE, _S, "OOM kills, memory near limit and CPU throttling that shaped the result; empty if none"),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER),
)


def empty_recommendations() -> pl.DataFrame:
    """An empty recommendation frame with the stable schema."""
    return pl.DataFrame(schema=RECOMMENDATIONS.schema)
