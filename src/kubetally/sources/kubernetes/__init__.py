"""The Kubernetes source: a Dataset's inventory frames from the API server or a ``kubectl get -o json`` dump.

Both give the same JSON objects; :func:`dataset_from_objects` turns them into the containers,
terminations, workloads, nodes, labels, volumes, volume_mounts, objects and references frames.
Objects are one point in time: a dataset built from them alone has no usage history (its notes
say so); usage comes from Prometheus (``--prometheus`` beside ``--kubeconfig``/``--kube-dump``)
or from ``kubetally record`` (metrics.k8s.io samples).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from kubetally.dataset import Dataset, DatasetInfo
from kubetally.model import schema
from kubetally.sources.kubernetes import inventory
from kubetally.sources.kubernetes.api import Progress, list_objects
from kubetally.sources.kubernetes.dump import read_dump
from kubetally.sources.kubernetes.objects import Cluster, Obj, timestamp
from kubetally.sources.kubernetes.references import references_frame
from kubetally.sources.kubernetes.settings import KubeConnection

__all__ = [
    "Cluster",
    "KubeConnection",
    "dataset_from_api",
    "dataset_from_dump",
    "dataset_from_objects",
    "inventory_frames",
    "read_dump",
]

INVENTORY = (
    schema.CONTAINERS, schema.TERMINATIONS, schema.WORKLOADS, schema.NODES, schema.LABELS, schema.VOLUMES,
    schema.VOLUME_MOUNTS, schema.OBJECTS, schema.REFERENCES, schema.ANNOTATIONS, schema.LOG_SETTINGS,
)  # fmt: skip
"""The frames the objects fill (the rest are time series)."""

SNAPSHOT_NOTE = (
    "one point in time: objects as of {at}, no usage history (usage comes from Prometheus: "
    "`kubetally collect --prometheus URL`, or from metrics-server: `kubetally record`)"
)


def inventory_frames(cluster: Cluster, name: str) -> dict[str, pl.DataFrame]:
    containers, terminations = inventory.pod_frames(cluster, name)
    workloads = inventory.workload_frame(cluster, name, containers)
    volumes, mounts = inventory.volume_frames(cluster, name, containers)
    return {
        schema.CONTAINERS.name: containers,
        schema.TERMINATIONS.name: terminations,
        schema.WORKLOADS.name: workloads,
        schema.NODES.name: inventory.node_frame(cluster, name),
        schema.LABELS.name: inventory.label_frame(cluster, name, workloads),
        schema.VOLUMES.name: volumes,
        schema.VOLUME_MOUNTS.name: mounts,
        schema.OBJECTS.name: inventory.object_frame(cluster, name),
        schema.REFERENCES.name: references_frame(cluster, name),
        schema.ANNOTATIONS.name: inventory.annotation_frame(cluster, name),
        schema.LOG_SETTINGS.name: inventory.log_settings_frame(cluster, name, workloads),
    }


def _latest_time(cluster: Cluster) -> datetime | None:
    """The newest timestamp the objects hold (a dump's 'as of' when none is given)."""
    newest: datetime | None = None
    for obj in cluster:
        for value in (obj.get("metadata", {}).get("creationTimestamp"), obj.get("status", {}).get("startTime")):
            when = timestamp(value)
            if when is not None and (newest is None or when > newest):
                newest = when
    return newest


def dataset_from_objects(
    objects: Iterable[Obj],
    *,
    cluster_name: str,
    source: str,
    at: datetime | None = None,
    listed: Iterable[str] = (),
    notes: Iterable[str] = (),
) -> Dataset:
    """A one-point-in-time Dataset of the objects (``at``: when they were read; default their newest time)."""
    cluster = Cluster.of(objects, listed=listed)
    when = at or _latest_time(cluster) or datetime.now(UTC)
    when = when.astimezone(UTC).replace(microsecond=0)
    info = DatasetInfo(
        source=source,
        start=when,
        end=when,
        step_seconds=60,
        notes=(*notes, SNAPSHOT_NOTE.format(at=when.isoformat())),
    )
    return Dataset.create(info, **inventory_frames(cluster, cluster_name))


def dataset_from_dump(paths: Iterable[Path], *, cluster_name: str = "default", at: datetime | None = None) -> Dataset:
    """The Dataset of one or more ``kubectl get -o json|yaml`` files or directories."""
    objects: list[Obj] = []
    names = []
    for path in paths:
        objects += read_dump(Path(path))
        names.append(str(path))
    return dataset_from_objects(objects, cluster_name=cluster_name, source=f"kube-dump:{','.join(names)}", at=at)


def dataset_from_api(
    settings: KubeConnection,
    *,
    cluster_name: str,
    progress: Progress = lambda _: None,
    at: datetime | None = None,
) -> Dataset:
    """A one-point-in-time Dataset of the cluster's objects, read from its API server now."""
    when = at or datetime.now(UTC)
    listing = list_objects(settings, progress=progress)
    return dataset_from_objects(
        listing.objects,
        cluster_name=cluster_name,
        source=f"kubernetes:{listing.server} (context {listing.context})",
        at=when,
        listed=listing.listed,
        notes=listing.notes,
    )
