"""Label values and selector matches of allocation rows (pod labels, then workload, then namespace labels)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from kubetally.analysis.allocation.settings import Selector
from kubetally.model import columns as c

IDENTITY: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER, c.POD)


def label_values(ids: pl.DataFrame, labels: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """``ids`` (IDENTITY columns) with one column per label key: the pod's label, else its workload's,
    else its namespace's; null when none has it."""
    out = ids.select(IDENTITY).unique()
    for key in keys:
        of_key = labels.filter(pl.col(c.KEY) == key)
        pod = of_key.filter(pl.col(c.OBJECT_KIND) == "Pod").select(
            c.CLUSTER, c.NAMESPACE, pl.col(c.NAME).alias(c.POD), pl.col(c.VALUE).alias("_pod")
        )
        wl = of_key.select(
            c.CLUSTER,
            c.NAMESPACE,
            pl.col(c.OBJECT_KIND).alias(c.CONTROLLER_KIND),
            pl.col(c.NAME).alias(c.CONTROLLER),
            pl.col(c.VALUE).alias("_wl"),
        )
        ns = of_key.filter(pl.col(c.OBJECT_KIND) == "Namespace").select(
            c.CLUSTER, pl.col(c.NAME).alias(c.NAMESPACE), pl.col(c.VALUE).alias("_ns")
        )
        out = (
            out.join(pod.unique(subset=[c.CLUSTER, c.NAMESPACE, c.POD]), on=[c.CLUSTER, c.NAMESPACE, c.POD], how="left")
            .join(
                wl.unique(subset=[c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER]),
                on=[c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER],
                how="left",
            )
            .join(ns.unique(subset=[c.CLUSTER, c.NAMESPACE]), on=[c.CLUSTER, c.NAMESPACE], how="left")
            .with_columns(pl.coalesce("_pod", "_wl", "_ns").alias(key))
            .drop("_pod", "_wl", "_ns")
        )
    return out


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
