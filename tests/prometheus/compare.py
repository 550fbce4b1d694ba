"""Compare a collected Dataset with the ground truth: inventory exactly, series within a tolerance."""

from __future__ import annotations

import polars as pl

from kubetally.dataset import Dataset
from kubetally.model import schema

REL_TOL = 1e-9
"""Series values: the exposition puts each step's sample at the step's end and the source reads
windows of exactly one step, so no rate-window edge is involved; what remains is float rounding of
cumulative counters (a counter of 1e10 bytes carries ~1e-6 absolute error, 1e-15 relative)."""
ABS_TOL = 1e-9

INVENTORY = (
    schema.CONTAINERS, schema.TERMINATIONS, schema.WORKLOADS, schema.NODES, schema.LABELS,
    schema.VOLUMES, schema.VOLUME_MOUNTS, schema.OBJECTS,
)  # fmt: skip
SERIES = (
    schema.USAGE, schema.POD_NETWORK, schema.NODE_USAGE, schema.VOLUME_USAGE, schema.LOG_USAGE,
    schema.DATABASE_USAGE,
)  # fmt: skip


def frame_differences(spec: schema.FrameSpec, truth: pl.DataFrame, got: pl.DataFrame) -> list[str]:
    key = list(spec.key)
    problems = []
    missing = truth.join(got, on=key, how="anti", nulls_equal=True)
    extra = got.join(truth, on=key, how="anti", nulls_equal=True)
    if missing.height:
        problems.append(f"{spec.name}: {missing.height} rows missing, e.g. {missing.row(0)}")
    if extra.height:
        problems.append(f"{spec.name}: {extra.height} rows extra, e.g. {extra.row(0)}")
    joined = truth.join(got, on=key, how="inner", suffix="_got", nulls_equal=True)
    for col in spec.columns:
        if col.name in key:
            continue
        a, b = pl.col(col.name), pl.col(f"{col.name}_got")
        if col.dtype == pl.Float64():
            bad = ~(((a - b).abs() <= ABS_TOL + REL_TOL * a.abs()) | (a.is_null() & b.is_null()))
        else:
            bad = ~(a.eq_missing(b))
        wrong = joined.filter(bad)
        if wrong.height:
            row = wrong.select(*key, col.name, f"{col.name}_got").row(0)
            problems.append(f"{spec.name}.{col.name}: {wrong.height} rows differ, e.g. {row}")
    return problems


NOT_FROM_PROMETHEUS = {
    "objects.type": "schema v2; the Prometheus source does not read kube_secret_type / kube_service_spec_type yet",
    "objects.selector": "schema v2; kube-state-metrics does not export Service selectors",
}
"""Columns only the simulator and the Kubernetes sources fill (the Prometheus source leaves them empty)."""


def differences(truth: Dataset, got: Dataset, *, skip: dict[str, str] | None = None) -> list[str]:
    """Every difference, as readable lines; ``skip`` maps 'frame' or 'frame.column' to why it is skipped."""
    skip = {**NOT_FROM_PROMETHEUS, **(skip or {})}
    out = []
    for spec in (*INVENTORY, *SERIES):
        if spec.name in skip:
            continue
        a, b = truth.collected(spec), got.collected(spec)
        cols = [col.name for col in spec.columns if f"{spec.name}.{col.name}" not in skip]
        sub = schema.FrameSpec(
            spec.name, spec.description, tuple(col for col in spec.columns if col.name in cols), spec.key, spec.series
        )
        out.extend(frame_differences(sub, a.select(cols), b.select(cols)))
    return out
