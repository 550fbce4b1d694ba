"""Kubernetes labels from a ``kubectl get ... -o json`` dump (a List), for when kube-state-metrics exports none.

``kubectl get pods,deployments,statefulsets,daemonsets,jobs,cronjobs,nodes,namespaces -A -o json > dump.json``
gives one JSON object of ``kind: List`` whose items carry ``metadata.labels``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema

KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Node", "Namespace"})
CLUSTER_SCOPED = frozenset({"Node", "Namespace"})


def labels_from_kubectl(path: Path, cluster: str) -> pl.DataFrame:
    """The labels frame of every supported object in the dump; other kinds are ignored."""
    try:
        data: Any = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not a readable `kubectl get -o json` dump: {exc}") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SourceError(f"{path}: expected a `kind: List` with items (kubectl get ... -o json)")
    rows = []
    for item in items:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            continue
        meta = item.get("metadata") or {}
        kind = str(item["kind"])
        namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace", ""))
        for key, value in (meta.get("labels") or {}).items():
            rows.append(
                {c.CLUSTER: cluster, c.OBJECT_KIND: kind, c.NAMESPACE: namespace, c.NAME: str(meta.get("name", "")),
                 c.KEY: str(key), c.VALUE: str(value)}
            )  # fmt: skip
    return pl.DataFrame(rows, schema=schema.LABELS.schema) if rows else schema.empty(schema.LABELS)
