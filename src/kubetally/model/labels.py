"""Which value of a label a pod or a workload has: one precedence rule for every command.

A pod's value of a label key is, first found wins:

1. the pod's own label (what the pod template stamps on every pod: what Kubernetes selects on),
2. its top controller's label (Deployment, StatefulSet, DaemonSet, Job, CronJob),
3. its namespace's label.

(Reports that read an owners file apply it after these, only where all three lack the key.)

A workload's value is its most recently started pod's value under the same rule, so a
workload is attributed to the team its current pods are charged to. ``docs/cost-model.md``
("Which team") documents the rule; showback, rightsize, scale and cost-diff all call here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from kubetally.model import columns as c

POD_ID: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.POD)
"""A pod with its top controller (``owner_kind`` ``Pod`` and ``owner_name`` = pod name for bare pods)."""
WORKLOAD_ID: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME)

_NOT_CONTROLLERS = ("Pod", "Namespace", "Node")
_RANK = "_rank"
TEAM = c.TEAM
"""The label key (and owners-file field) showback, rightsize, scale and cost-diff attribute cost by."""


def resolved_value(
    key: str, *, pod: Mapping[str, str], controller: Mapping[str, str], namespace: Mapping[str, str]
) -> str | None:
    """The value of ``key`` for one pod by the precedence rule, from label mappings (a manifest's pod
    template, its controller's and its namespace's ``metadata.labels``); None when none has it."""
    for source in (pod, controller, namespace):
        value = source.get(key)
        if value is not None:
            return str(value)
    return None


def pod_labels(pods: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str] | None = None) -> pl.DataFrame:
    """POD_ID + key + value: every label key of each pod of ``pods`` (POD_ID columns) resolved by the
    precedence rule (pod, then controller, then namespace); only ``keys`` when given."""
    ids = pods.select(POD_ID).unique()
    of = labels if keys is None else labels.filter(pl.col(c.KEY).is_in(list(keys)))
    on_pod = (
        of.filter(pl.col(c.OBJECT_KIND) == "Pod")
        .select(c.CLUSTER, c.NAMESPACE, pl.col(c.NAME).alias(c.POD), c.KEY, c.VALUE)
        .join(ids, on=[c.CLUSTER, c.NAMESPACE, c.POD])
        .with_columns(pl.lit(0).alias(_RANK))
    )
    on_controller = (
        of.filter(~pl.col(c.OBJECT_KIND).is_in(_NOT_CONTROLLERS))
        .select(
            c.CLUSTER,
            c.NAMESPACE,
            pl.col(c.OBJECT_KIND).alias(c.OWNER_KIND),
            pl.col(c.NAME).alias(c.OWNER_NAME),
            c.KEY,
            c.VALUE,
        )
        .join(ids, on=[c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME])
        .with_columns(pl.lit(1).alias(_RANK))
    )
    on_namespace = (
        of.filter(pl.col(c.OBJECT_KIND) == "Namespace")
        .select(c.CLUSTER, pl.col(c.NAME).alias(c.NAMESPACE), c.KEY, c.VALUE)
        .join(ids, on=[c.CLUSTER, c.NAMESPACE])
        .with_columns(pl.lit(2).alias(_RANK))
    )
    columns = [*POD_ID, c.KEY, c.VALUE, _RANK]
    return (
        pl.concat([f.select(columns) for f in (on_pod, on_controller, on_namespace)], how="vertical")
        .sort(_RANK, maintain_order=True)
        .unique([*POD_ID, c.KEY], keep="first", maintain_order=True)
        .drop(_RANK)
    )


def pod_label_values(pods: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """POD_ID (unique rows of ``pods``) + one column per key of ``keys``: the resolved value, null when
    neither the pod, its controller nor its namespace has the label."""
    return _wide(pods.select(POD_ID).unique(), pod_labels(pods, labels, keys), POD_ID, keys)


def latest_pods(containers: pl.DataFrame) -> pl.DataFrame:
    """POD_ID: the most recently started pod of every workload in ``containers`` (ties: last pod name)."""
    return containers.group_by(WORKLOAD_ID).agg(pl.col(c.POD).sort_by([c.START_TIME, c.POD]).last()).select(POD_ID)


def workload_labels(containers: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str] | None = None) -> pl.DataFrame:
    """WORKLOAD_ID + key + value: the labels of each workload's most recently started pod, resolved by
    :func:`pod_labels` (so a workload resolves to what its current pods are charged to)."""
    return pod_labels(latest_pods(containers), labels, keys).drop(c.POD)


def workload_label_values(containers: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """WORKLOAD_ID (every workload of ``containers``) + one column per key: its resolved value or null."""
    ids = containers.select(WORKLOAD_ID).unique()
    return _wide(ids, workload_labels(containers, labels, keys), WORKLOAD_ID, keys)


def _wide(ids: pl.DataFrame, long: pl.DataFrame, on: Sequence[str], keys: Sequence[str]) -> pl.DataFrame:
    out = ids
    for key in dict.fromkeys(keys):
        values = long.filter(pl.col(c.KEY) == key).select(*on, pl.col(c.VALUE).alias(key))
        out = out.join(values, on=list(on), how="left", nulls_equal=True)
    return out


OBJECT_ID: tuple[str, ...] = (c.CLUSTER, c.KIND, c.NAMESPACE, c.NAME)
"""Any object: (cluster, kind, namespace, name); namespace empty for cluster-scoped kinds."""


def object_label_values(
    objects: pl.DataFrame, containers: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str]
) -> pl.DataFrame:
    """OBJECT_ID (unique rows of ``objects``) + one column per key, by the same precedence rule for any kind:

    - a **Pod**: :func:`pod_labels` (the pod, its controller, its namespace);
    - a **workload with pods** (top controller of pods in ``containers``): :func:`workload_labels` (its
      newest pod's values), so a Deployment and its pods are attributed to the same team;
    - **anything else** (a workload scaled to zero, a ReplicaSet, ConfigMap, Secret, PVC, Service, ...):
      its own label, then its namespace's (the controller and namespace steps of the rule; there is no pod).

    Null when none has the key. Waste attributes every finding to an owner with this.
    """
    ids = objects.select(OBJECT_ID).unique()
    of = labels.filter(pl.col(c.KEY).is_in(list(keys)))
    long = [*OBJECT_ID, c.KEY, c.VALUE, _RANK]
    pods = containers.select(POD_ID).unique()
    from_pods = (
        pod_labels(pods, of, keys)
        .select(c.CLUSTER, pl.lit("Pod").alias(c.KIND), c.NAMESPACE, pl.col(c.POD).alias(c.NAME), c.KEY, c.VALUE)
        .with_columns(pl.lit(0).alias(_RANK))
    )
    from_workloads = (
        workload_labels(containers, of, keys)
        .filter(~pl.col(c.OWNER_KIND).is_in(_NOT_CONTROLLERS))
        .select(
            c.CLUSTER,
            pl.col(c.OWNER_KIND).alias(c.KIND),
            c.NAMESPACE,
            pl.col(c.OWNER_NAME).alias(c.NAME),
            c.KEY,
            c.VALUE,
        )
        .with_columns(pl.lit(0).alias(_RANK))
    )
    own = of.select(
        c.CLUSTER, pl.col(c.OBJECT_KIND).alias(c.KIND), c.NAMESPACE, c.NAME, c.KEY, c.VALUE, pl.lit(1).alias(_RANK)
    )
    namespace = (
        of.filter(pl.col(c.OBJECT_KIND) == "Namespace")
        .select(c.CLUSTER, pl.col(c.NAME).alias(c.NAMESPACE), c.KEY, c.VALUE)
        .join(ids.select(OBJECT_ID), on=[c.CLUSTER, c.NAMESPACE])
        .select(*OBJECT_ID, c.KEY, c.VALUE, pl.lit(2).alias(_RANK))
    )
    resolved = (
        pl.concat([f.select(long).cast({_RANK: pl.Int32}) for f in (from_pods, from_workloads, own, namespace)])
        .join(ids, on=list(OBJECT_ID))
        .sort(_RANK, maintain_order=True)
        .unique([*OBJECT_ID, c.KEY], keep="first", maintain_order=True)
        .drop(_RANK)
    )
    return _wide(ids, resolved, OBJECT_ID, keys)
