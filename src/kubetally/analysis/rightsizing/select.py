"""Which workload containers a command looks at: namespaces and a kubectl-style label selector."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.labels import workload_labels as resolved_workload_labels

_TERM = re.compile(r"^\s*(?P<neg>!)?(?P<key>[A-Za-z0-9_./-]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[A-Za-z0-9_.-]*))?\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str
    """'=' / '!=' with a value, 'exists' or '!exists'."""
    value: str = ""


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """``app=web,tier!=dev,team,!legacy`` -> requirements (set-based ``in (...)`` is not supported)."""
    out: list[Requirement] = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        m = _TERM.match(term)
        if m is None:
            raise ConfigError(f"invalid label selector term {term!r}: use key=value, key!=value, key or !key")
        if m["op"]:
            if m["neg"]:
                raise ConfigError(f"invalid label selector term {term!r}: '!' goes only before a bare key")
            out.append(Requirement(m["key"], "!=" if m["op"] == "!=" else "=", m["value"] or ""))
        else:
            out.append(Requirement(m["key"], "!exists" if m["neg"] else "exists"))
    return tuple(out)


def workload_labels(labels: pl.DataFrame, containers: pl.DataFrame) -> pl.DataFrame:
    """(cluster, namespace, owner_kind, owner_name, key, value): every label of each workload, resolved by
    the one precedence rule (:func:`kubetally.model.labels.workload_labels`)."""
    return resolved_workload_labels(containers, labels)


def select_workloads(
    frame: pl.DataFrame,
    *,
    namespaces: tuple[str, ...] = (),
    selector: tuple[Requirement, ...] = (),
    labels: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Rows of ``frame`` (with cluster/namespace/owner_kind/owner_name) in ``namespaces`` (all when
    empty) whose workload labels (from :func:`workload_labels`) satisfy every requirement."""
    out = frame.filter(pl.col(c.NAMESPACE).is_in(list(namespaces))) if namespaces else frame
    if not selector:
        return out
    wkeys = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME]
    if labels is None:
        raise ConfigError("a label selector needs the dataset's labels")
    for req in selector:
        has = labels.filter(pl.col(c.KEY) == req.key)
        if req.op == "=":
            out = out.join(has.filter(pl.col(c.VALUE) == req.value), on=wkeys, how="semi")
        elif req.op == "!=":
            out = out.join(has.filter(pl.col(c.VALUE) == req.value), on=wkeys, how="anti")
        elif req.op == "exists":
            out = out.join(has, on=wkeys, how="semi")
        else:
            out = out.join(has, on=wkeys, how="anti")
    return out
