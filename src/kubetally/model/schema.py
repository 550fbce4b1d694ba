"""The Dataset contract: every frame, its columns, units and meaning.

Every source produces these frames and every analysis reads only them. The
documentation in ``docs/dataset.md`` is checked against this module by a test.
Bump ``SCHEMA_VERSION`` whenever a column is added, removed or changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kubetally.model import columns as c

SCHEMA_VERSION = 3

TIME = pl.Datetime("us", "UTC")
"""Every timestamp in a Dataset: microseconds, UTC."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class FrameSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    series: bool = False
    """True for time series: rows at ``step`` intervals, read lazily."""

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {col.name: col.dtype for col in self.columns}

    @property
    def names(self) -> list[str]:
        return [col.name for col in self.columns]


def _col(name: str, dtype: pl.DataType, description: str, *, nullable: bool = False) -> Column:
    return Column(name, dtype, description, nullable)


_S = pl.String()
_F = pl.Float64()
_I = pl.Int64()
_B = pl.Boolean()

_CLUSTER = _col(c.CLUSTER, _S, "cluster name (the configured cluster label, or the source's name)")
_NS = _col(c.NAMESPACE, _S, "namespace")
_POD = _col(c.POD, _S, "pod name")
_CONTAINER = _col(c.CONTAINER, _S, "container name")
_NODE = _col(c.NODE, _S, "node name")
_TS = _col(c.TIMESTAMP, TIME, "start of the step the sample stands for (UTC)")

CONTAINERS = FrameSpec(
    "containers",
    "One row per container of every pod seen in the window (init containers included).",
    (
        _CLUSTER,
        _NS,
        _POD,
        _col(c.POD_UID, _S, "pod UID"),
        _CONTAINER,
        _col(c.INIT_CONTAINER, _B, "true for init containers"),
        _NODE,
        _col(c.OWNER_KIND, _S, "top controller kind: Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod (bare)"),
        _col(c.OWNER_NAME, _S, "top controller name (the pod name for bare pods)"),
        _col(c.CPU_REQUEST_CORES, _F, "CPU request in cores; null when not set", nullable=True),
        _col(c.CPU_LIMIT_CORES, _F, "CPU limit in cores; null when not set", nullable=True),
        _col(c.MEMORY_REQUEST_BYTES, _I, "memory request in bytes; null when not set", nullable=True),
        _col(c.MEMORY_LIMIT_BYTES, _I, "memory limit in bytes; null when not set", nullable=True),
        _col(c.START_TIME, TIME, "pod start (UTC)"),
        _col(c.END_TIME, TIME, "pod end (UTC); null while running at the end of the window", nullable=True),
        _col(c.RESTARTS, _I, "container restarts in the pod's life"),
        _col(
            c.LAST_TERMINATION_REASON,
            _S,
            "last termination reason (OOMKilled, Error, Completed); null if none",
            nullable=True,
        ),
        _col(c.QOS_CLASS, _S, "Guaranteed, Burstable or BestEffort"),
        _col(c.IMAGE, _S, "container image"),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER),
)

USAGE = FrameSpec(
    "usage",
    "Container usage at a fixed step. Network is per pod: see pod_network.",
    (
        _CLUSTER,
        _NS,
        _POD,
        _CONTAINER,
        _TS,
        _col(c.CPU_USAGE_CORES, _F, "CPU in cores: rate of container_cpu_usage_seconds_total over the step"),
        _col(c.MEMORY_WORKING_SET_BYTES, _F, "memory working set in bytes (what eviction and kubectl top use)"),
        _col(c.MEMORY_RSS_BYTES, _F, "resident set size in bytes"),
        _col(c.FS_READ_BYTES_PER_SECOND, _F, "filesystem reads, bytes/s"),
        _col(c.FS_WRITE_BYTES_PER_SECOND, _F, "filesystem writes, bytes/s"),
        _col(
            c.CPU_THROTTLED_RATIO,
            _F,
            "throttled CFS periods / CFS periods over the step; null when the container has no CPU limit",
            nullable=True,
        ),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP),
    series=True,
)

USAGE_HOURLY = FrameSpec(
    "usage_hourly",
    "Hourly summaries of container usage, per container, usage column and hour: the exact count, sum, min and "
    "max of the step samples and their counts in logarithmic buckets (kubetally.model.sketch, relative accuracy "
    "0.5%), from which percentiles over any window are merged (within 0.5% of the exact ones). A source that "
    "does not read every sample (Prometheus remote read) fills this frame instead of usage.",
    (
        _CLUSTER,
        _NS,
        _POD,
        _CONTAINER,
        _col(
            c.METRIC,
            _S,
            "the usage column summarised: cpu_usage_cores, memory_working_set_bytes or cpu_throttled_ratio",
        ),
        _col(c.HOUR, TIME, "start of the hour (UTC)"),
        _col(c.COUNT, _I, "step samples in the hour (null values are not counted)"),
        _col(c.SUM, _F, "sum of the samples"),
        _col(c.MIN, _F, "lowest sample"),
        _col(c.MAX, _F, "highest sample"),
        _col(c.FIRST, TIME, "timestamp of the hour's first sample"),
        _col(c.LAST, TIME, "timestamp of the hour's last sample"),
        _col(
            c.BUCKETS,
            pl.List(pl.Int32()),
            "ascending bucket indices i: bucket i holds the values in (g^(i-1), g^i], g = 1.005/0.995; "
            "-2147483648 holds the values <= 1e-9",
        ),
        _col(c.BUCKET_COUNTS, pl.List(pl.UInt32()), "samples in each of those buckets"),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.METRIC, c.HOUR),
    series=True,
)

POD_NETWORK = FrameSpec(
    "pod_network",
    "Pod network at a fixed step (containers of a pod share one network namespace).",
    (
        _CLUSTER,
        _NS,
        _POD,
        _TS,
        _col(c.NETWORK_RECEIVE_BYTES_PER_SECOND, _F, "bytes/s received"),
        _col(c.NETWORK_TRANSMIT_BYTES_PER_SECOND, _F, "bytes/s transmitted"),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.TIMESTAMP),
    series=True,
)

TERMINATIONS = FrameSpec(
    "terminations",
    "Every container termination seen in the window (OOM kills, errors, completions).",
    (
        _CLUSTER,
        _NS,
        _POD,
        _CONTAINER,
        _col(c.TIMESTAMP, TIME, "when the container terminated (UTC)"),
        _col(c.REASON, _S, "OOMKilled, Error, Completed, ..."),
        _col(c.MEMORY_LIMIT_BYTES, _I, "memory limit at the time; null when none", nullable=True),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP),
)

WORKLOADS = FrameSpec(
    "workloads",
    "Top controllers (and bare pods) with their desired replicas and HPA.",
    (
        _CLUSTER,
        _NS,
        _col(c.KIND, _S, "Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod"),
        _col(c.NAME, _S, "controller name"),
        _col(c.DESIRED_REPLICAS, _I, "spec.replicas at the end of the window (DaemonSet: scheduled nodes)"),
        _col(c.HPA_MIN_REPLICAS, _I, "HPA minReplicas; null without an HPA", nullable=True),
        _col(c.HPA_MAX_REPLICAS, _I, "HPA maxReplicas; null without an HPA", nullable=True),
        _col(c.HPA_TARGET_CPU_UTILIZATION, _F, "HPA CPU target in percent of request; null if none", nullable=True),
        _col(c.CREATED_AT, TIME, "creation time (UTC)", nullable=True),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.KIND, c.NAME),
)

NODES = FrameSpec(
    "nodes",
    "Nodes with capacity and allocatable resources.",
    (
        _CLUSTER,
        _NODE,
        _col(c.INSTANCE_TYPE, _S, "node.kubernetes.io/instance-type (k3s sets 'k3s'); empty if unknown"),
        _col(c.ARCH, _S, "kubernetes.io/arch"),
        _col(c.ROLE, _S, "control-plane or worker"),
        _col(c.CPU_CAPACITY_CORES, _F, "CPU capacity, cores"),
        _col(c.CPU_ALLOCATABLE_CORES, _F, "CPU allocatable, cores"),
        _col(c.MEMORY_CAPACITY_BYTES, _I, "memory capacity, bytes"),
        _col(c.MEMORY_ALLOCATABLE_BYTES, _I, "memory allocatable, bytes"),
        _col(c.PODS_CAPACITY, _I, "pod capacity"),
        _col(c.PODS_ALLOCATABLE, _I, "allocatable pods"),
    ),
    key=(c.CLUSTER, c.NODE),
)

NODE_USAGE = FrameSpec(
    "node_usage",
    "Whole-node usage at a fixed step (node-exporter), including what is not in any pod.",
    (
        _CLUSTER,
        _NODE,
        _TS,
        _col(c.CPU_USAGE_CORES, _F, "busy CPU in cores (all modes but idle and iowait)"),
        _col(c.MEMORY_USED_BYTES, _F, "MemTotal - MemAvailable, bytes"),
        _col(c.NETWORK_RECEIVE_BYTES_PER_SECOND, _F, "bytes/s received on physical interfaces"),
        _col(c.NETWORK_TRANSMIT_BYTES_PER_SECOND, _F, "bytes/s transmitted on physical interfaces"),
    ),
    key=(c.CLUSTER, c.NODE, c.TIMESTAMP),
    series=True,
)

LABELS = FrameSpec(
    "labels",
    "Kubernetes labels of pods, workloads, nodes, namespaces and the objects frame's objects, one row per label.",
    (
        _CLUSTER,
        _col(
            c.OBJECT_KIND,
            _S,
            "Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, Node, Namespace or a kind of the objects frame",
        ),
        _col(c.NAMESPACE, _S, "namespace; empty for cluster-scoped objects"),
        _col(c.NAME, _S, "object name"),
        _col(c.KEY, _S, "label key, unsanitized (app.kubernetes.io/name)"),
        _col(c.VALUE, _S, "label value"),
    ),
    key=(c.CLUSTER, c.OBJECT_KIND, c.NAMESPACE, c.NAME, c.KEY),
)

VOLUMES = FrameSpec(
    "volumes",
    "PersistentVolumeClaims and PersistentVolumes, joined where bound.",
    (
        _CLUSTER,
        _col(c.NAMESPACE, _S, "PVC namespace; empty for a PV without a claim"),
        _col(c.PVC, _S, "claim name; empty for a PV without a claim"),
        _col(c.PV, _S, "volume name; empty for an unbound claim"),
        _col(c.STORAGE_CLASS, _S, "StorageClass; empty if none"),
        _col(c.CAPACITY_BYTES, _I, "requested (PVC) or provisioned (PV) capacity, bytes"),
        _col(c.PVC_PHASE, _S, "Bound, Pending or Lost; empty without a claim"),
        _col(c.PV_PHASE, _S, "Available, Bound, Released or Failed; empty without a volume"),
        _col(c.RECLAIM_POLICY, _S, "Delete or Retain; empty without a volume"),
        _col(c.CREATED_AT, TIME, "creation time (UTC)", nullable=True),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.PVC, c.PV),
)

VOLUME_MOUNTS = FrameSpec(
    "volume_mounts",
    "Which pod mounts which claim (the pod's start/end time says when).",
    (_CLUSTER, _NS, _col(c.PVC, _S, "claim name"), _POD),
    key=(c.CLUSTER, c.NAMESPACE, c.PVC, c.POD),
)

VOLUME_USAGE = FrameSpec(
    "volume_usage",
    "Used bytes of mounted claims (kubelet volume stats); claims without stats have no rows.",
    (_CLUSTER, _NS, _col(c.PVC, _S, "claim name"), _TS, _col(c.USED_BYTES, _F, "used bytes")),
    key=(c.CLUSTER, c.NAMESPACE, c.PVC, c.TIMESTAMP),
    series=True,
)

OBJECTS = FrameSpec(
    "objects",
    "Objects for reference checks: ConfigMap, Secret, Service, ServiceAccount, Ingress, Job, ReplicaSet, "
    "HorizontalPodAutoscaler and Gateway (Istio, where the CRD exists).",
    (
        _CLUSTER,
        _col(c.KIND, _S, "object kind"),
        _NS,
        _col(c.NAME, _S, "object name"),
        _col(c.CREATED_AT, TIME, "creation time (UTC)", nullable=True),
        _col(c.ENDPOINTS, _I, "ready endpoint addresses (Services only)", nullable=True),
        _col(c.STATUS, _S, "Job: Complete, Failed or Active; empty otherwise"),
        _col(c.FINISHED_AT, TIME, "Job completion time (UTC)", nullable=True),
        _col(
            c.OWNER_KIND,
            _S,
            "kind of the controlling ownerReference (ReplicaSet: Deployment; Job: CronJob); empty if none",
        ),
        _col(c.OWNER_NAME, _S, "name of the controlling ownerReference; empty if none"),
        _col(
            c.TYPE,
            _S,
            "Secret type (Opaque, kubernetes.io/service-account-token, helm.sh/release.v1 ...) or Service type "
            "(ClusterIP, NodePort, LoadBalancer, ExternalName); empty for other kinds",
        ),
        _col(
            c.SELECTOR,
            _S,
            "Service spec.selector as sorted 'key=value' pairs joined by ','; empty when the Service has no selector",
        ),
        _col(c.REPLICAS, _I, "ReplicaSet spec.replicas; null for other kinds", nullable=True),
        _col(
            c.REVISION,
            _I,
            "ReplicaSet revision (annotation deployment.kubernetes.io/revision); null if absent",
            nullable=True,
        ),
        _col(
            c.TTL_SECONDS_AFTER_FINISHED,
            _I,
            "Job spec.ttlSecondsAfterFinished; null when not set or not a Job",
            nullable=True,
        ),
    ),
    key=(c.CLUSTER, c.KIND, c.NAMESPACE, c.NAME),
)

REFERENCES = FrameSpec(
    "references",
    "What references what, within a namespace, by which path: Pods and pod templates (Deployment, StatefulSet, "
    "DaemonSet, ReplicaSet, Job, CronJob) -> ConfigMap/Secret/PersistentVolumeClaim/ServiceAccount; "
    "ServiceAccount -> Secret; Ingress -> Service/Secret; Gateway -> Secret; Service -> Pod; "
    "HorizontalPodAutoscaler -> its scale target; CronJob -> Job; Job -> Pod. Paths of one manifest: "
    "kubetally.model.kube_refs; the rest: kubetally.sources.kubernetes.references.",
    (
        _CLUSTER,
        _NS,
        _col(c.FROM_KIND, _S, "referring object kind"),
        _col(c.FROM_NAME, _S, "referring object name"),
        _col(c.TO_KIND, _S, "referenced object kind"),
        _col(c.TO_NAME, _S, "referenced object name"),
        _col(
            c.PATH,
            _S,
            "how: volume, projected, env, envFrom (prefixed init:/ephemeral: for those containers), "
            "imagePullSecrets, serviceAccountName, volumeClaimTemplate, tls, backend, credentialName, "
            "scaleTargetRef, selector, owner",
        ),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.FROM_KIND, c.FROM_NAME, c.TO_KIND, c.TO_NAME, c.PATH),
)

ANNOTATIONS = FrameSpec(
    "annotations",
    "Annotations kubetally acts on (keys under kubetally.io/, janitor/ and downscaler/), of any object, one row each.",
    (
        _CLUSTER,
        _col(c.OBJECT_KIND, _S, "object kind"),
        _col(c.NAMESPACE, _S, "namespace; empty for cluster-scoped objects"),
        _col(c.NAME, _S, "object name"),
        _col(c.KEY, _S, "annotation key"),
        _col(c.VALUE, _S, "annotation value"),
    ),
    key=(c.CLUSTER, c.OBJECT_KIND, c.NAMESPACE, c.NAME, c.KEY),
)

LOG_SETTINGS = FrameSpec(
    "log_settings",
    "Where a workload's containers set a log level: env vars and ConfigMap keys whose name contains 'log', "
    "'debug', 'trace' or 'verbos', and args that mention those words.",
    (
        _CLUSTER,
        _NS,
        _col(c.OWNER_KIND, _S, "top controller kind (as in containers)"),
        _col(c.OWNER_NAME, _S, "top controller name"),
        _CONTAINER,
        _col(c.SOURCE, _S, "env, arg or configmap:<name>"),
        _col(c.KEY, _S, "env var or ConfigMap key; the arg's position for args"),
        _col(c.VALUE, _S, "the value as written"),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER, c.SOURCE, c.KEY),
)

LOG_USAGE = FrameSpec(
    "log_usage",
    "Container log bytes on the node's disk (kubelet_container_log_filesystem_used_bytes).",
    (_CLUSTER, _NS, _POD, _CONTAINER, _TS, _col(c.LOG_BYTES, _F, "log bytes on disk")),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.TIMESTAMP),
    series=True,
)

DATABASE_USAGE = FrameSpec(
    "database_usage",
    "Database and table sizes from postgres_exporter-style series.",
    (
        _CLUSTER,
        _NS,
        _col(c.POD, _S, "database server pod"),
        _col(c.DATABASE, _S, "database name"),
        _col(c.TABLE, _S, "table name; empty for the whole database"),
        _TS,
        _col(c.SIZE_BYTES, _F, "size on disk, bytes"),
        _col(c.ROWS, _F, "live rows; null for a whole database", nullable=True),
    ),
    key=(c.CLUSTER, c.NAMESPACE, c.POD, c.DATABASE, c.TABLE, c.TIMESTAMP),
    series=True,
)

FRAMES: tuple[FrameSpec, ...] = (
    CONTAINERS,
    USAGE,
    USAGE_HOURLY,
    POD_NETWORK,
    TERMINATIONS,
    WORKLOADS,
    NODES,
    NODE_USAGE,
    LABELS,
    VOLUMES,
    VOLUME_MOUNTS,
    VOLUME_USAGE,
    OBJECTS,
    REFERENCES,
    ANNOTATIONS,
    LOG_SETTINGS,
    LOG_USAGE,
    DATABASE_USAGE,
)
FRAMES_BY_NAME = {spec.name: spec for spec in FRAMES}


def empty(spec: FrameSpec) -> pl.DataFrame:
    """An empty frame with the spec's schema."""
    return pl.DataFrame(schema=spec.schema)
