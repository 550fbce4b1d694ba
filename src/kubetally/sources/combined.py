"""One Dataset from two sources: the objects of a Kubernetes source and the history of Prometheus.

The Kubernetes API (or a ``kubectl get -o json`` dump) knows every object as it is now, with its full spec: labels
without a kube-state-metrics allowlist, QoS, ServiceAccounts, Ingresses, references. Prometheus knows the window's
history: usage, and the pods, workloads and nodes that were there before and are gone now. So:

* inventory frames are the Kubernetes source's; an object Prometheus saw and the Kubernetes source does not list
  (a pod that ended before the dump, a deleted Deployment) comes from Prometheus, so its usage keeps its owner;
  an object both know is the Kubernetes source's alone (its labels and containers are not mixed with KSM's);
* terminations are both sources' (Prometheus has the window's, the API the last one of each live container);
* time series, the window and the step are Prometheus'.

A family Prometheus lacks that the objects stand in for (labels, QoS, ServiceAccounts, Ingresses, Endpoints) is no
longer reported missing.
"""

from __future__ import annotations

import polars as pl

from kubetally.dataset import Dataset
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.kubernetes import INVENTORY, SNAPSHOT_NOTE
from kubetally.sources.prometheus.build import RECLAIM_INFERRED

IDENTITY: dict[str, tuple[str, ...]] = {
    schema.CONTAINERS.name: (c.CLUSTER, c.NAMESPACE, c.POD),
    schema.LABELS.name: (c.CLUSTER, c.OBJECT_KIND, c.NAMESPACE, c.NAME),
    schema.ANNOTATIONS.name: (c.CLUSTER, c.OBJECT_KIND, c.NAMESPACE, c.NAME),
    schema.VOLUME_MOUNTS.name: (c.CLUSTER, c.NAMESPACE, c.POD),
    schema.REFERENCES.name: (c.CLUSTER, c.NAMESPACE, c.FROM_KIND, c.FROM_NAME),
    schema.LOG_SETTINGS.name: (c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME),
}
"""Per frame, what one object is (the Kubernetes source's rows of an object replace all of Prometheus'); frames
not named here: their key. Terminations are events of both sources and are united instead."""

COVERED_BY_OBJECTS = frozenset(
    {
        "kube_pod_status_qos_class",
        "kube_pod_labels",
        "kube_serviceaccount_info",
        "kube_endpoint_address",
        "kube_ingress_info",
    }
)
"""Prometheus families whose absence the Kubernetes objects make up for."""


def objects_with_history(objects: Dataset, history: Dataset) -> Dataset:
    """The Dataset of ``objects`` (a Kubernetes source: API or dump) over ``history`` (Prometheus)."""
    kube_clusters = set(objects.containers.get_column(c.CLUSTER).unique().to_list()) or {_cluster_of(objects)}
    prom_clusters = set(history.containers.get_column(c.CLUSTER).unique().to_list())
    if len(kube_clusters) != 1:
        raise SourceError(f"the Kubernetes source holds {len(kube_clusters)} clusters; it must be one")
    (cluster,) = kube_clusters
    if prom_clusters and cluster not in prom_clusters:
        if len(prom_clusters) > 1:
            raise SourceError(
                f"Prometheus holds clusters {', '.join(sorted(prom_clusters))} and the Kubernetes source is cluster "
                f"{cluster!r}: give --cluster-name one of them (or --clusters to read one)"
            )
        history = _renamed(history, cluster)
    frames: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    for spec in INVENTORY:
        kube = objects.collected(spec)
        prom = history.collected(spec)
        if spec is schema.TERMINATIONS:
            frames[spec.name] = pl.concat([kube, prom]).unique(list(spec.key), keep="first", maintain_order=True)
            continue
        identity = list(IDENTITY.get(spec.name, spec.key))
        gone = prom.join(kube.select(identity).unique(), on=identity, how="anti", nulls_equal=True)
        frames[spec.name] = pl.concat([kube, gone])
    only_objects = SNAPSHOT_NOTE.split("{at}")[0]
    kube_notes = tuple(n for n in objects.info.notes if not n.startswith(only_objects))
    covered = {m.family for m in history.info.missing if m.family in COVERED_BY_OBJECTS}
    stale = [f"{f} absent" for f in covered]
    pvs = [c.CLUSTER, c.PV]
    if not _only_in(history.table(schema.VOLUMES), objects.table(schema.VOLUMES), pvs).height:
        stale.append(f"{{}} {RECLAIM_INFERRED}")  # every volume's policy is the API's now
    prom_notes = tuple(n for n in history.info.notes if not any(_matches(n, pattern) for pattern in stale))
    as_of = objects.info.end.isoformat()
    merged = history.with_frames(**frames).with_info(
        source=f"{history.info.source} + {objects.info.source}",
        notes=(
            *prom_notes,
            *kube_notes,
            f"objects from {objects.info.source} as of {as_of}; objects Prometheus saw that it does not list (ended "
            "pods, deleted workloads) from Prometheus",
        ),
        missing=tuple(m for m in history.info.missing if m.family not in covered),
    )
    return merged


def _only_in(a: pl.DataFrame, b: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return a.filter(pl.col(c.PV) != "").join(b.select(key).unique(), on=key, how="anti")


def _matches(note: str, pattern: str) -> bool:
    """``pattern`` is a note's start, or with ``{}`` first: a count, then the rest."""
    if pattern.startswith("{} "):
        head, _, rest = note.partition(" ")
        return head.isdigit() and rest.startswith(pattern[3:])
    return note.startswith(pattern)


def _cluster_of(ds: Dataset) -> str:
    for spec in INVENTORY:
        frame = ds.collected(spec)
        if frame.height:
            return str(frame.get_column(c.CLUSTER)[0])
    raise SourceError("the Kubernetes source lists no objects")


def _renamed(ds: Dataset, cluster: str) -> Dataset:
    frames = {spec.name: ds.frame(spec).with_columns(pl.lit(cluster).alias(c.CLUSTER)) for spec in schema.FRAMES}
    return ds.with_frames(**frames)
