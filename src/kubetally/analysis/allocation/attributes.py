"""Label values and selector matches of allocation rows (the precedence rule of kubetally.model.labels)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from kubetally.analysis.allocation.settings import Selector
from kubetally.model import columns as c
from kubetally.model.labels import pod_label_values

IDENTITY: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, c.POD)
_TO_POD_ID = {c.CONTROLLER_KIND: c.OWNER_KIND, c.CONTROLLER: c.OWNER_NAME}


def label_values(ids: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """``ids`` (IDENTITY columns) with one column per label key, resolved by the one precedence rule
    (:mod:`kubetally.model.labels`: the pod's label, else its controller's, else its namespace's);
    null when none has it."""
    pods = ids.select(IDENTITY).unique().rename(_TO_POD_ID)
    return pod_label_values(pods, labels, keys).rename({v: k for k, v in _TO_POD_ID.items()}).select(*IDENTITY, *keys)


def workload_matches(spec: str) -> pl.Expr:
    """``namespace/name`` or ``namespace/Kind/name`` as an expression over allocation rows."""
    parts = spec.split("/")
    if len(parts) == 2:
        return (pl.col(c.NAMESPACE) == parts[0]) & (pl.col(c.CONTROLLER) == parts[1])
    if len(parts) == 3:
        return (
            (pl.col(c.NAMESPACE) == parts[0])
            & (pl.col(c.CONTROLLER_KIND) == parts[1])
            & (pl.col(c.CONTROLLER) == parts[2])
        )
    from kubetally.errors import ConfigError

    raise ConfigError(f"workload {spec!r}: write namespace/name or namespace/Kind/name")


def selector_mask(rows: pl.DataFrame, labels: pl.DataFrame, selector: Selector) -> pl.Series:
    """True for rows the selector picks (any of namespaces / workloads / all labels)."""
    if selector.empty:
        return pl.Series("mask", [False] * rows.height, dtype=pl.Boolean)
    expr = pl.lit(False)
    if selector.namespaces:
        expr = expr | pl.col(c.NAMESPACE).is_in(list(selector.namespaces))
    for spec in selector.workloads:
        expr = expr | workload_matches(spec)
    frame = rows
    if selector.labels:
        keys = list(selector.labels)
        values = label_values(rows, labels, keys)
        frame = rows.join(values, on=list(IDENTITY), how="left", nulls_equal=True, maintain_order="left")
        expr = expr | pl.all_horizontal([pl.col(k) == v for k, v in selector.labels.items()]).fill_null(False)
    return frame.select(expr.fill_null(False).alias("mask"))["mask"]
