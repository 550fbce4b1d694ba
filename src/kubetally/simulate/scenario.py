"""The AuditFlow scenario: the seed's platform on a small k3s Raspberry Pi cluster.

Everything here is declarative data: nodes, workloads with their containers,
requests/limits and load profiles, volumes and other objects. The engine in
``kubetally.simulate.engine`` turns it into a Dataset. The planted problems are
listed in ``kubetally.simulate.answer_key`` and described in ``docs/scenario.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MI = 2**20
GI = 2**30

CLUSTER = "auditflow-pi"
PROD = "auditflow"
DEV = "auditflow-dev"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    hardware: str
    """Board profile label (``hardware``), used by price files to match nodes."""
    cpu_cores: float
    memory_bytes: int
    role: str = "worker"
    max_pods: int = 110
    system_cpu_cores: float = 0.08
    """CPU the node uses outside pods (k3s agent, containerd, kernel)."""
    system_memory_bytes: int = 350 * MI


@dataclass(frozen=True)
class Load:
    """A container's usage profile. CPU in cores, memory in bytes.

    CPU demand = ``cpu`` × (1 - ``daily`` + ``daily`` × day shape) × weekend factor,
    plus bursts and noise. ``daily`` = 0 is flat, 1 is a full swing to 0 at night.
    """

    cpu: float
    daily: float = 0.0
    weekend: float = 1.0
    """Weekend multiplier (0.3 = weekends at 30 %)."""
    night_off: bool = False
    """Nearly 0 outside 07:00-20:00 local time (a dev workload nobody uses at night)."""
    bursts_per_day: float = 0.0
    burst: float = 2.0
    noise: float = 0.08
    memory: int = 100 * MI
    memory_daily: float = 0.05
    memory_growth_per_day: int = 0
    """Leak: working set grows by this much per day until the container restarts."""
    network_bytes_per_core_second: float = 2e6
    fs_write_bytes_per_second: float = 2e3
    log_bytes_per_second: float = 50.0


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    load: Load
    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request: int | None = None
    memory_limit: int | None = None
    init: bool = False
    log_level: str | None = None
    """The ``LOG_LEVEL`` env var the container sets; None when it sets none."""


@dataclass(frozen=True)
class WorkloadSpec:
    namespace: str
    kind: str
    name: str
    containers: tuple[ContainerSpec, ...]
    labels: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    configmaps: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    pvc_template: tuple[str, int, str] | None = None
    """StatefulSet volumeClaimTemplate: (name, bytes, storage class)."""
    service: bool = True
    hpa: tuple[int, int, float] | None = None
    """(min, max, target CPU %) when the workload has an HPA."""
    schedule: str | None = None
    """CronJob schedule; the engine runs one Job per night at 02:00 UTC."""
    job_minutes: int = 0
    rollout_day: float | None = None
    """Day of the window when a rollout replaces the ReplicaSet."""
    error_restart_day: float | None = None
    """Day of the window when the first container exits with Error and restarts."""
    node: str | None = None
    """Pin to a node (DaemonSets ignore it: one pod per node)."""


def _labels(app: str, component: str, team: str | None, env: str, tier: str | None) -> dict[str, str]:
    labels = {"app": app, "component": component, "environment": env}
    if team is not None:
        labels["team"] = team
    if tier is not None:
        labels["finops_tier"] = tier
    return labels


NODES: tuple[NodeSpec, ...] = (
    NodeSpec(
        "pi-server-1",
        "rpi5-8gb",
        4.0,
        8 * GI,
        role="control-plane",
        system_cpu_cores=0.25,
        system_memory_bytes=900 * MI,
    ),
    NodeSpec("pi-agent-1", "rpi5-8gb", 4.0, 8 * GI),
    NodeSpec("pi-agent-2", "rpi4-8gb", 4.0, 8 * GI),
    NodeSpec("pi-agent-3", "rpi4-4gb", 4.0, 4 * GI),
)

_IMG = "ghcr.io/auditflow"

AUDITFLOW: tuple[WorkloadSpec, ...] = (
    WorkloadSpec(
        PROD,
        "Deployment",
        "audit-event-generator",
        (
            ContainerSpec(
                "audit-event-generator",
                f"{_IMG}/audit-event-generator:1.4.2",
                Load(cpu=0.12, daily=0.6, weekend=0.5, bursts_per_day=3, memory=140 * MI),
                cpu_request=0.15,
                cpu_limit=0.5,
                memory_request=192 * MI,
                memory_limit=256 * MI,
                log_level="INFO",
            ),
        ),
        _labels("audit-event-generator", "data-ingestion", "core-pipeline", "production", "standard"),
        configmaps=("auditflow-config",),
        secrets=("rabbitmq-credentials",),
        error_restart_day=5.3,
    ),
    WorkloadSpec(
        PROD,
        "Deployment",
        "audit-log-analysis",
        (
            ContainerSpec(
                "audit-log-analysis",
                f"{_IMG}/audit-log-analysis:2.1.0",
                Load(
                    cpu=0.42,
                    daily=0.85,
                    weekend=0.6,
                    bursts_per_day=4,
                    burst=1.6,
                    memory=170 * MI,
                    memory_growth_per_day=45 * MI,
                    memory_daily=0.1,
                ),
                cpu_request=0.1,
                cpu_limit=0.2,
                memory_request=128 * MI,
                memory_limit=256 * MI,
                log_level="INFO",
            ),
        ),
        _labels("audit-log-analysis", "processing", "analytics", "production", "standard"),
        replicas=2,
        configmaps=("auditflow-config",),
        secrets=("postgresql-credentials", "rabbitmq-credentials"),
    ),
    WorkloadSpec(
        PROD,
        "Deployment",
        "notification-service",
        (
            ContainerSpec(
                "notification-service",
                f"{_IMG}/notification-service:0.9.7",
                Load(cpu=0.025, daily=0.5, weekend=0.7, bursts_per_day=1, memory=85 * MI),
                cpu_request=1.0,
                cpu_limit=2.0,
                memory_request=1 * GI,
                memory_limit=2 * GI,
                log_level="INFO",
            ),
        ),
        _labels("notification-service", "notifications", "notifications", "production", "standard"),
        replicas=2,
        configmaps=("auditflow-config", "notification-templates"),
        secrets=("rabbitmq-credentials", "smtp-credentials"),
    ),
    WorkloadSpec(
        PROD,
        "Deployment",
        "event-audit-dashboard",
        (
            ContainerSpec(
                "event-audit-dashboard",
                f"{_IMG}/event-audit-dashboard:3.2.1",
                Load(cpu=0.09, daily=0.8, weekend=0.3, bursts_per_day=2, memory=210 * MI),
                cpu_request=0.1,
                cpu_limit=None,
                memory_request=256 * MI,
                memory_limit=384 * MI,
                log_level="INFO",
            ),
            ContainerSpec(
                "nginx",
                "docker.io/library/nginx:1.27-alpine",
                Load(cpu=0.01, daily=0.8, weekend=0.3, memory=12 * MI, log_bytes_per_second=120),
                cpu_request=0.02,
                cpu_limit=0.1,
                memory_request=32 * MI,
                memory_limit=64 * MI,
            ),
        ),
        _labels("event-audit-dashboard", "ui", "frontend", "production", "critical"),
        configmaps=("auditflow-config", "dashboard-nginx"),
        secrets=("postgresql-credentials",),
        rollout_day=9.4,
    ),
    WorkloadSpec(
        PROD,
        "StatefulSet",
        "postgresql",
        (
            ContainerSpec(
                "init-permissions",
                "docker.io/library/busybox:1.36",
                Load(cpu=0.0, memory=1 * MI),
                cpu_request=0.01,
                memory_request=16 * MI,
                memory_limit=16 * MI,
                init=True,
            ),
            ContainerSpec(
                "postgresql",
                "docker.io/library/postgres:16.4",
                Load(
                    cpu=0.18,
                    daily=0.5,
                    weekend=0.7,
                    bursts_per_day=2,
                    memory=420 * MI,
                    memory_daily=0.15,
                    fs_write_bytes_per_second=120e3,
                ),
                cpu_request=0.25,
                cpu_limit=1.0,
                memory_request=512 * MI,
                memory_limit=1 * GI,
            ),
            ContainerSpec(
                "postgres-exporter",
                "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                Load(cpu=0.004, memory=18 * MI),
                cpu_request=0.01,
                cpu_limit=0.05,
                memory_request=32 * MI,
                memory_limit=64 * MI,
            ),
        ),
        _labels("postgresql", "database", "platform", "production", "critical"),
        secrets=("postgresql-credentials",),
        pvc_template=("data", 10 * GI, "longhorn"),
        node="pi-agent-1",
    ),
    WorkloadSpec(
        PROD,
        "StatefulSet",
        "rabbitmq",
        (
            ContainerSpec(
                "rabbitmq",
                "docker.io/library/rabbitmq:3.13-management",
                Load(cpu=0.11, daily=0.5, weekend=0.6, bursts_per_day=2, memory=330 * MI),
                cpu_request=0.2,
                cpu_limit=1.0,
                memory_request=512 * MI,
                memory_limit=768 * MI,
            ),
        ),
        _labels("rabbitmq", "messaging", "platform", "production", "critical"),
        secrets=("rabbitmq-credentials",),
        pvc_template=("data", 2 * GI, "local-path"),
        node="pi-agent-2",
    ),
    WorkloadSpec(
        PROD,
        "Deployment",
        "report-exporter",
        (
            ContainerSpec(
                "report-exporter",
                f"{_IMG}/report-exporter:0.3.0",
                Load(
                    cpu=0.0008,
                    noise=0.02,
                    memory=48 * MI,
                    memory_daily=0.0,
                    network_bytes_per_core_second=0.0,
                    fs_write_bytes_per_second=0.0,
                    log_bytes_per_second=0.5,
                ),
                cpu_request=0.25,
                cpu_limit=0.5,
                memory_request=256 * MI,
                memory_limit=512 * MI,
                log_level="INFO",
            ),
        ),
        _labels("report-exporter", "reporting", "analytics", "production", "batch"),
        configmaps=("auditflow-config",),
        secrets=("postgresql-credentials",),
    ),
    WorkloadSpec(
        PROD,
        "Deployment",
        "legacy-webhook",
        (
            ContainerSpec(
                "legacy-webhook",
                f"{_IMG}/legacy-webhook:0.1.4",
                Load(cpu=0.01, memory=40 * MI),
                cpu_request=0.1,
                cpu_limit=0.2,
                memory_request=128 * MI,
                memory_limit=128 * MI,
                log_level="INFO",
            ),
        ),
        _labels("legacy-webhook", "notifications", "notifications", "production", "standard"),
        replicas=0,
    ),
    WorkloadSpec(
        PROD,
        "CronJob",
        "audit-archiver",
        (
            ContainerSpec(
                "audit-archiver",
                f"{_IMG}/audit-archiver:1.0.3",
                Load(cpu=0.35, noise=0.1, memory=90 * MI, fs_write_bytes_per_second=400e3),
                cpu_request=0.25,
                cpu_limit=0.5,
                memory_request=128 * MI,
                memory_limit=256 * MI,
                log_level="INFO",
            ),
        ),
        _labels("audit-archiver", "archival", "core-pipeline", "production", "batch"),
        secrets=("postgresql-credentials",),
        service=False,
        schedule="0 2 * * *",
        job_minutes=20,
    ),
    WorkloadSpec(
        DEV,
        "Deployment",
        "audit-log-analysis-dev",
        (
            ContainerSpec(
                "audit-log-analysis",
                f"{_IMG}/audit-log-analysis:2.2.0-rc1",
                Load(
                    cpu=0.06,
                    daily=0.0,
                    weekend=0.05,
                    night_off=True,
                    bursts_per_day=2,
                    memory=150 * MI,
                    log_bytes_per_second=9000.0,
                    fs_write_bytes_per_second=12e3,
                ),
                cpu_request=0.1,
                cpu_limit=0.5,
                memory_request=192 * MI,
                memory_limit=384 * MI,
                log_level="DEBUG",
            ),
        ),
        _labels("audit-log-analysis", "processing", "analytics", "dev", "dev"),
        configmaps=("auditflow-dev-config",),
    ),
    WorkloadSpec(
        DEV,
        "Deployment",
        "load-tester",
        (
            ContainerSpec(
                "load-tester",
                "docker.io/grafana/k6:0.52.0",
                Load(cpu=0.03, daily=0.6, weekend=0.2, bursts_per_day=1, burst=4.0, memory=60 * MI),
                cpu_request=0.05,
                cpu_limit=0.5,
                memory_request=64 * MI,
                memory_limit=256 * MI,
            ),
        ),
        {"app": "load-tester", "environment": "dev"},
    ),
    WorkloadSpec(
        DEV,
        "Deployment",
        "mailhog",
        (ContainerSpec("mailhog", "docker.io/mailhog/mailhog:v1.0.1", Load(cpu=0.003, memory=14 * MI)),),
        _labels("mailhog", "notifications", "notifications", "dev", "dev"),
    ),
)

SYSTEM: tuple[WorkloadSpec, ...] = (
    WorkloadSpec(
        "kube-system",
        "Deployment",
        "coredns",
        (
            ContainerSpec(
                "coredns",
                "rancher/mirrored-coredns-coredns:1.11.3",
                Load(cpu=0.006, daily=0.3, memory=22 * MI),
                cpu_request=0.1,
                memory_request=70 * MI,
                memory_limit=170 * MI,
            ),
        ),
        {"k8s-app": "kube-dns"},
        configmaps=("coredns",),
        node="pi-server-1",
    ),
    WorkloadSpec(
        "kube-system",
        "Deployment",
        "traefik",
        (
            ContainerSpec(
                "traefik",
                "rancher/mirrored-library-traefik:2.11.10",
                Load(cpu=0.015, daily=0.7, weekend=0.4, memory=48 * MI, network_bytes_per_core_second=6e6),
            ),
        ),
        {"app.kubernetes.io/name": "traefik"},
        node="pi-server-1",
    ),
    WorkloadSpec(
        "kube-system",
        "Deployment",
        "metrics-server",
        (
            ContainerSpec(
                "metrics-server",
                "rancher/mirrored-metrics-server:v0.7.2",
                Load(cpu=0.008, memory=28 * MI),
                cpu_request=0.1,
                memory_request=70 * MI,
            ),
        ),
        {"k8s-app": "metrics-server"},
        node="pi-server-1",
    ),
    WorkloadSpec(
        "kube-system",
        "Deployment",
        "local-path-provisioner",
        (
            ContainerSpec(
                "local-path-provisioner", "rancher/local-path-provisioner:v0.0.30", Load(cpu=0.001, memory=10 * MI)
            ),
        ),
        {"app": "local-path-provisioner"},
        configmaps=("local-path-config",),
        service=False,
        node="pi-server-1",
    ),
    WorkloadSpec(
        "kube-system",
        "DaemonSet",
        "svclb-traefik",
        (ContainerSpec("lb-tcp-443", "rancher/klipper-lb:v0.4.9", Load(cpu=0.0005, memory=1 * MI)),),
        {"app": "svclb-traefik"},
        service=False,
    ),
    WorkloadSpec(
        "monitoring",
        "StatefulSet",
        "prometheus",
        (
            ContainerSpec(
                "prometheus",
                "quay.io/prometheus/prometheus:v2.54.1",
                Load(
                    cpu=0.16,
                    bursts_per_day=24,
                    burst=2.5,
                    memory=620 * MI,
                    memory_growth_per_day=6 * MI,
                    fs_write_bytes_per_second=60e3,
                ),
                cpu_request=0.2,
                cpu_limit=1.0,
                memory_request=768 * MI,
                memory_limit=1536 * MI,
            ),
        ),
        _labels("prometheus", "monitoring", "platform", "production", "standard"),
        pvc_template=("storage", 8 * GI, "local-path"),
        node="pi-agent-2",
    ),
    WorkloadSpec(
        "monitoring",
        "Deployment",
        "kube-state-metrics",
        (
            ContainerSpec(
                "kube-state-metrics",
                "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
                Load(cpu=0.005, memory=30 * MI),
                cpu_request=0.01,
                memory_request=64 * MI,
                memory_limit=128 * MI,
            ),
        ),
        _labels("kube-state-metrics", "monitoring", "platform", "production", "standard"),
    ),
    WorkloadSpec(
        "monitoring",
        "DaemonSet",
        "node-exporter",
        (
            ContainerSpec(
                "node-exporter",
                "quay.io/prometheus/node-exporter:v1.8.2",
                Load(cpu=0.006, memory=16 * MI),
                cpu_request=0.01,
                cpu_limit=0.2,
                memory_request=32 * MI,
                memory_limit=64 * MI,
            ),
        ),
        _labels("node-exporter", "monitoring", "platform", "production", "standard"),
    ),
    WorkloadSpec(
        "monitoring",
        "Deployment",
        "grafana",
        (
            ContainerSpec(
                "grafana",
                "docker.io/grafana/grafana:11.2.0",
                Load(cpu=0.012, daily=0.6, weekend=0.3, memory=95 * MI),
                cpu_request=0.1,
                cpu_limit=0.5,
                memory_request=128 * MI,
                memory_limit=256 * MI,
            ),
        ),
        _labels("grafana", "monitoring", "platform", "production", "standard"),
        configmaps=("grafana-dashboards",),
        secrets=("grafana-admin",),
    ),
)

WORKLOADS: tuple[WorkloadSpec, ...] = AUDITFLOW + SYSTEM

# Objects beyond the workloads' own: referenced ones and planted orphans.
CONFIGMAPS: tuple[tuple[str, str], ...] = (
    (PROD, "auditflow-config"),
    (PROD, "notification-templates"),
    (PROD, "dashboard-nginx"),
    (PROD, "notification-templates-old"),  # planted: referenced by nothing
    (DEV, "auditflow-dev-config"),
    ("kube-system", "coredns"),
    ("kube-system", "local-path-config"),
    ("monitoring", "grafana-dashboards"),
)
SECRETS: tuple[tuple[str, str], ...] = (
    (PROD, "postgresql-credentials"),
    (PROD, "rabbitmq-credentials"),
    (PROD, "smtp-credentials"),
    (PROD, "smtp-credentials-2023"),  # planted: referenced by nothing
    ("monitoring", "grafana-admin"),
)
ORPHAN_SERVICES: tuple[tuple[str, str], ...] = ((PROD, "audit-search"),)
INGRESSES: tuple[tuple[str, str, str], ...] = ((PROD, "dashboard", "event-audit-dashboard"),)

# (namespace, claim, bytes, storage class): claims no pod mounts.
UNUSED_PVCS: tuple[tuple[str, str, int, str], ...] = ((PROD, "analysis-scratch", 5 * GI, "local-path"),)
# (pv, bytes, storage class, former claim): volumes whose claim was deleted, kept by reclaimPolicy Retain.
RELEASED_PVS: tuple[tuple[str, int, str, str], ...] = (("pvc-old-reports", 20 * GI, "longhorn", "old-reports"),)

# Annotations (kind, namespace, name, key, value): the database and its volume are protected from clean-up.
PROTECTED: tuple[tuple[str, str, str, str, str], ...] = (
    ("StatefulSet", PROD, "postgresql", "kubetally.io/protect", "true"),
    ("PersistentVolumeClaim", PROD, "data-postgresql-0", "kubetally.io/protect", "true"),
)

# The growing table: postgresql's audit_event grows every day; the rest are flat.
DATABASE = "auditflow"
TABLES: tuple[tuple[str, int, int, float], ...] = (
    # (table, bytes at window start, bytes per day, bytes per row)
    ("audit_event", 1_800 * MI, 95 * MI, 620.0),
    ("notification", 120 * MI, 1 * MI, 410.0),
    ("analysis_result", 310 * MI, 3 * MI, 900.0),
)
