"""Compare the inventory frames a source built with the simulator's ground truth."""

from __future__ import annotations

import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import schema

FRAMES = (
    schema.CONTAINERS, schema.WORKLOADS, schema.NODES, schema.LABELS, schema.VOLUMES, schema.VOLUME_MOUNTS,
    schema.OBJECTS, schema.REFERENCES, schema.ANNOTATIONS, schema.LOG_SETTINGS,
)  # fmt: skip


NOT_IN_TRUTH = frozenset({"ReplicaSet", "HorizontalPodAutoscaler"})
"""Kinds the source lists as objects and the simulator's ground truth does not model as rows (k8s.py
derives them from pods and workloads); tests/waste/test_waste_kube.py checks them against the objects."""


def _comparable(spec: schema.FrameSpec, frame: pl.DataFrame) -> pl.DataFrame:
    if spec is schema.OBJECTS:
        return frame.filter(~pl.col("kind").is_in(NOT_IN_TRUTH))
    if spec is schema.REFERENCES:
        return frame.filter(~pl.col("from_kind").is_in(NOT_IN_TRUTH))
    return frame


def differences(got: Dataset, truth: Dataset) -> dict[str, str]:
    """Frame name -> what differs (rows only on one side), for every frame that is not equal."""
    out = {}
    for spec in FRAMES:
        a, b = _comparable(spec, truth.collected(spec)), _comparable(spec, got.collected(spec))
        if not a.equals(b, null_equal=True):
            only_truth = a.join(b, on=list(spec.key), how="anti", nulls_equal=True)
            only_got = b.join(a, on=list(spec.key), how="anti", nulls_equal=True)
            out[spec.name] = (
                f"{a.height} vs {b.height} rows; only in truth: {only_truth.head(3)}; only got: {only_got.head(3)}"
            )
    return out
