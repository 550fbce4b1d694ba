"""The answer key: every problem planted in the AuditFlow scenario and the finding it must produce.

Tests read this as data; ``docs/scenario.md`` describes the same entries (a test
checks that every entry is documented there).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kubetally.simulate.scenario import CLUSTER, DEV, PROD


class Problem(StrEnum):
    OVER_PROVISIONED = "over-provisioned"
    THROTTLED_AND_OOM_KILLED = "throttled-and-oom-killed"
    IDLE = "idle"
    SCALED_TO_ZERO = "scaled-to-zero"
    UNUSED_PVC = "unused-pvc"
    RELEASED_PV = "released-pv"
    ORPHANED_CONFIGMAP = "orphaned-configmap"
    ORPHANED_SECRET = "orphaned-secret"
    ORPHANED_SERVICE = "orphaned-service"
    DEBUG_LOGGING = "debug-logging"
    GROWING_TABLE = "growing-table"
    MISSING_LABELS = "missing-labels"
    NO_REQUESTS = "no-requests"
    OFF_HOURS = "off-hours"
    DAILY_CYCLE = "daily-cycle"


@dataclass(frozen=True)
class Planted:
    problem: Problem
    namespace: str
    kind: str
    name: str
    finding: str
    """What a correct analysis reports."""
    container: str | None = None
    cluster: str = CLUSTER


PLANTED: tuple[Planted, ...] = (
    Planted(
        Problem.OVER_PROVISIONED,
        PROD,
        "Deployment",
        "notification-service",
        "requests 1 CPU / 1Gi per replica but uses ~25m CPU (p95 < 60m) and ~85Mi: the lowest efficiency "
        "and the largest waste cost of the platform; right-sizing cuts both requests by more than 80%",
        container="notification-service",
    ),
    Planted(
        Problem.THROTTLED_AND_OOM_KILLED,
        PROD,
        "Deployment",
        "audit-log-analysis",
        "CPU limit 200m against a demand of ~0.4 cores at peak: throttled in more than half of the samples; "
        "memory leaks ~45Mi/day against a 256Mi limit: OOMKilled every 1-2 days (terminations with reason "
        "OOMKilled, counter resets). Right-sizing must raise memory and raise or remove the CPU limit, never lower",
        container="audit-log-analysis",
    ),
    Planted(
        Problem.DAILY_CYCLE,
        PROD,
        "Deployment",
        "audit-log-analysis",
        "2 replicas with a strong daily cycle (night ~15% of the day's peak): an HPA at the recommended request "
        "saves replica-hours versus the fixed count",
        container="audit-log-analysis",
    ),
    Planted(
        Problem.IDLE,
        PROD,
        "Deployment",
        "report-exporter",
        "running but idle: ~1m CPU and no network for the whole window while requesting 250m / 256Mi",
        container="report-exporter",
    ),
    Planted(
        Problem.SCALED_TO_ZERO,
        PROD,
        "Deployment",
        "legacy-webhook",
        "spec.replicas 0 for the whole window: no pods; a clean-up candidate together with its Service",
    ),
    Planted(
        Problem.UNUSED_PVC,
        PROD,
        "PersistentVolumeClaim",
        "analysis-scratch",
        "a Bound 5Gi claim that no pod mounts: storage paid for nothing",
    ),
    Planted(
        Problem.RELEASED_PV,
        "",
        "PersistentVolume",
        "pvc-old-reports",
        "a 20Gi volume in phase Released (reclaimPolicy Retain) whose claim was deleted",
    ),
    Planted(
        Problem.ORPHANED_CONFIGMAP,
        PROD,
        "ConfigMap",
        "notification-templates-old",
        "referenced by no pod",
    ),
    Planted(
        Problem.ORPHANED_SECRET,
        PROD,
        "Secret",
        "smtp-credentials-2023",
        "referenced by no pod",
    ),
    Planted(
        Problem.ORPHANED_SERVICE,
        PROD,
        "Service",
        "audit-search",
        "a Service with 0 endpoints whose selector matches no pod",
    ),
    Planted(
        Problem.DEBUG_LOGGING,
        DEV,
        "Deployment",
        "audit-log-analysis-dev",
        "DEBUG logging: writes ~9 kB/s of logs in office hours (over 100x the platform's median container), "
        "so its on-disk logs sit at the kubelet rotation cap (50Mi) and rotate every ~20 minutes",
        container="audit-log-analysis",
    ),
    Planted(
        Problem.OFF_HOURS,
        DEV,
        "Deployment",
        "audit-log-analysis-dev",
        "a dev workload busy only Mon-Fri 07:00-20:00 Europe/Berlin and ~idle otherwise: an off-hours "
        "schedule saves about 60% of its replica-hours",
        container="audit-log-analysis",
    ),
    Planted(
        Problem.GROWING_TABLE,
        PROD,
        "StatefulSet",
        "postgresql",
        "table audit_event of database auditflow grows ~95Mi/day (1.8Gi at the window start) while the other "
        "tables are flat: a retention/archive candidate; the longhorn data volume fills accordingly",
        container="postgresql",
    ),
    Planted(
        Problem.MISSING_LABELS,
        DEV,
        "Deployment",
        "load-tester",
        "has app and environment labels but no team and no finops_tier: its cost lands in __unallocated__ "
        "when grouping by team and it is listed as spend without an owner",
    ),
    Planted(
        Problem.NO_REQUESTS,
        DEV,
        "Deployment",
        "mailhog",
        "container without requests or limits (QoS BestEffort): charged only for its usage, invisible to the scheduler",
        container="mailhog",
    ),
)


def planted(problem: Problem) -> tuple[Planted, ...]:
    """The entries for one kind of problem."""
    return tuple(p for p in PLANTED if p.problem is problem)
