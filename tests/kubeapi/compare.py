"""Compare the inventory frames a source built with the simulator's ground truth."""

from __future__ import annotations

from kubetally.dataset import Dataset
from kubetally.model import schema

FRAMES = (
    schema.CONTAINERS, schema.WORKLOADS, schema.NODES, schema.LABELS, schema.VOLUMES, schema.VOLUME_MOUNTS,
    schema.OBJECTS, schema.REFERENCES,
)  # fmt: skip


def differences(got: Dataset, truth: Dataset) -> dict[str, str]:
    """Frame name -> what differs (rows only on one side), for every frame that is not equal."""
    out = {}
    for spec in FRAMES:
        a, b = truth.collected(spec), got.collected(spec)
        if not a.equals(b, null_equal=True):
            only_truth = a.join(b, on=list(spec.key), how="anti", nulls_equal=True)
            only_got = b.join(a, on=list(spec.key), how="anti", nulls_equal=True)
            out[spec.name] = (
                f"{a.height} vs {b.height} rows; only in truth: {only_truth.head(3)}; only got: {only_got.head(3)}"
            )
    return out
