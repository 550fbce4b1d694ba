"""The findings frame, the facts every rule shares (labels, selectors, prices) and the money.

A rule is a function ``(ctx) -> list[Finding]``; :func:`kubetally.analysis.waste.findings` runs
them all, drops what is silenced and returns one frame. Costs are monthly, in the price book's
currency: compute at the cluster's price of a requested core-hour and GiB-hour
(:mod:`kubetally.model.unit_prices`, the rule rightsize, scale and cost-diff use), storage at the
StorageClass' price per GiB-month. Without a price book the cost is null (unknown), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Final

import polars as pl

from kubetally.analysis.waste.settings import Severity, WasteSettings
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.kube_refs import parse_selector
from kubetally.model.labels import OBJECT_ID, object_label_values
from kubetally.model.pricing import GIB, PriceBook
from kubetally.model.unit_prices import PER_CORE_HOUR, PER_GIB_HOUR, cluster_unit_prices

RULE: Final = "rule"
SECTION: Final = "section"
SEVERITY: Final = "severity"
OBJECT_KIND: Final = c.KIND
OWNER: Final = "owner"
EVIDENCE: Final = "evidence"
MONTHLY_COST: Final = "monthly_cost"
CURRENCY: Final = "currency"
REMEDIATION: Final = "remediation"
SILENCE: Final = "silence"
RELATED: Final = "related"

FINDINGS_SCHEMA: Final = {
    c.CLUSTER: pl.String,
    SECTION: pl.String,
    RULE: pl.String,
    SEVERITY: pl.String,
    c.NAMESPACE: pl.String,
    OBJECT_KIND: pl.String,
    c.NAME: pl.String,
    OWNER: pl.String,
    EVIDENCE: pl.String,
    MONTHLY_COST: pl.Float64,
    CURRENCY: pl.String,
    REMEDIATION: pl.String,
    SILENCE: pl.String,
    RELATED: pl.String,
}
"""One row per finding. ``related`` lists other objects the remediation removes (``Kind/name, ...``)."""

POD_TEMPLATE_OWNERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
RESOURCE: Final = {
    "ConfigMap": "configmap",
    "Secret": "secret",
    "Service": "service",
    "ServiceAccount": "serviceaccount",
    "PersistentVolumeClaim": "pvc",
    "PersistentVolume": "pv",
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicaSet": "replicaset",
    "Job": "job",
    "CronJob": "cronjob",
    "HorizontalPodAutoscaler": "hpa",
    "Ingress": "ingress",
    "Pod": "pod",
}
"""kubectl resource names, for the remediation and silence commands."""


@dataclass(frozen=True)
class Finding:
    cluster: str
    section: str
    rule: str
    severity: Severity
    namespace: str
    kind: str
    name: str
    evidence: str
    remediation: str
    monthly_cost: float | None = 0.0
    """Cash per month; None when it cannot be priced (no price book), 0 when it costs nothing."""
    related: tuple[str, ...] = ()


def kubectl(verb: str, kind: str, namespace: str, name: str, *rest: str) -> str:
    ns = f"-n {namespace} " if namespace else ""
    return " ".join(["kubectl", f"{ns}{verb}", RESOURCE.get(kind, kind.lower()), name, *rest])


@dataclass
class Context:
    """What the rules read: the dataset, the settings, the price book and indexes built once."""

    ds: Dataset
    settings: WasteSettings
    book: PriceBook | None
    checked: dict[str, int] = field(default_factory=dict)
    """Section -> objects checked (the score's denominator)."""
    notes: list[str] = field(default_factory=list)
    """Rules that could not judge this dataset, and why (said to the user, never a silent zero)."""

    @cached_property
    def specs_known(self) -> bool:
        """Whether the dataset holds the objects' specs (what references what, Job TTLs, owners): a
        Kubernetes API listing or a kubectl dump does; Prometheus (kube-state-metrics) does not — it has
        the objects but no reference path, so every ConfigMap and Secret would look orphaned."""
        pods = (
            self.ds.containers.height > 0
            or self.objects.filter(pl.col(c.KIND).is_in(list(POD_TEMPLATE_OWNERS))).height > 0
        )
        return not pods or self.references.height > 0

    def unjudged(self, rules: str, why: str) -> None:
        self.notes.append(f"{rules}: not judged: {why}")

    def count(self, section: str, n: int) -> None:
        self.checked[section] = self.checked.get(section, 0) + n

    @property
    def start(self) -> datetime:
        return self.ds.info.start

    @property
    def end(self) -> datetime:
        return self.ds.info.end

    @property
    def window_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @cached_property
    def labels(self) -> dict[tuple[str, str, str, str], dict[str, str]]:
        """(cluster, kind, namespace, name) -> labels."""
        out: dict[tuple[str, str, str, str], dict[str, str]] = {}
        for row in self.ds.labels.iter_rows(named=True):
            key = (row[c.CLUSTER], row[c.OBJECT_KIND], row[c.NAMESPACE], row[c.NAME])
            out.setdefault(key, {})[row[c.KEY]] = row[c.VALUE]
        return out

    @cached_property
    def annotations(self) -> dict[tuple[str, str, str, str], dict[str, str]]:
        out: dict[tuple[str, str, str, str], dict[str, str]] = {}
        for row in self.ds.table(schema.ANNOTATIONS).iter_rows(named=True):
            key = (row[c.CLUSTER], row[c.OBJECT_KIND], row[c.NAMESPACE], row[c.NAME])
            out.setdefault(key, {})[row[c.KEY]] = row[c.VALUE]
        return out

    @cached_property
    def objects(self) -> pl.DataFrame:
        return self.ds.table(schema.OBJECTS)

    @cached_property
    def references(self) -> pl.DataFrame:
        return self.ds.table(schema.REFERENCES)

    @cached_property
    def referenced(self) -> dict[tuple[str, str, str, str], set[tuple[str, str, str]]]:
        """(cluster, namespace, to_kind, to_name) -> {(from_kind, from_name, path)}."""
        out: dict[tuple[str, str, str, str], set[tuple[str, str, str]]] = {}
        for row in self.references.iter_rows(named=True):
            key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.TO_KIND], row[c.TO_NAME])
            out.setdefault(key, set()).add((row[c.FROM_KIND], row[c.FROM_NAME], row[c.PATH]))
        return out

    @cached_property
    def referring(self) -> dict[tuple[str, str, str, str], set[tuple[str, str, str]]]:
        """(cluster, namespace, from_kind, from_name) -> {(to_kind, to_name, path)}."""
        out: dict[tuple[str, str, str, str], set[tuple[str, str, str]]] = {}
        for row in self.references.iter_rows(named=True):
            key = (row[c.CLUSTER], row[c.NAMESPACE], row[c.FROM_KIND], row[c.FROM_NAME])
            out.setdefault(key, set()).add((row[c.TO_KIND], row[c.TO_NAME], row[c.PATH]))
        return out

    @cached_property
    def selectable(self) -> dict[tuple[str, str], list[tuple[str, str, dict[str, str]]]]:
        """(cluster, namespace) -> [(kind, name, labels)] of Pods and pod-template owners (what selectors match)."""
        out: dict[tuple[str, str], list[tuple[str, str, dict[str, str]]]] = {}
        for (cluster, kind, ns, name), labels in self.labels.items():
            if kind == "Pod" or kind in POD_TEMPLATE_OWNERS:
                out.setdefault((cluster, ns), []).append((kind, name, labels))
        for row in self.ds.workloads.iter_rows(named=True):
            key = (row[c.CLUSTER], row[c.NAMESPACE])
            if not any(k == row[c.KIND] and n == row[c.NAME] for k, n, _ in out.get(key, [])):
                out.setdefault(key, []).append((row[c.KIND], row[c.NAME], {}))
        return out

    def selected_by(self, cluster: str, namespace: str, selector: str) -> list[tuple[str, str]]:
        """The Pods and pod-template owners whose labels a ``key=value,...`` selector matches."""
        wanted = parse_selector(selector)
        if not wanted:
            return []
        return [
            (kind, name)
            for kind, name, labels in self.selectable.get((cluster, namespace), [])
            if all(labels.get(k) == v for k, v in wanted.items())
        ]

    def owners(self, rows: list[Finding]) -> dict[tuple[str, str, str, str], str]:
        """(cluster, kind, namespace, name) -> the team of each finding's object, by the one label rule
        (:func:`kubetally.model.labels.object_label_values`: a pod's or workload's pods first, else its own
        label, else its namespace's); empty when unknown."""
        if not rows:
            return {}
        team = self.settings.team_label
        ids = pl.DataFrame(
            [(f.cluster, f.kind, f.namespace, f.name) for f in rows], schema=list(OBJECT_ID), orient="row"
        )
        values = object_label_values(ids, self.ds.containers, self.ds.labels, [team])
        return {
            (r[c.CLUSTER], r[c.KIND], r[c.NAMESPACE], r[c.NAME]): r[team] or "" for r in values.iter_rows(named=True)
        }

    def ignored_rules(self, cluster: str, kind: str, namespace: str, name: str) -> set[str]:
        value = self.annotations.get((cluster, kind, namespace, name), {}).get(self.settings.ignore_annotation, "")
        return {part.strip() for part in value.split(",") if part.strip()}

    # -- money -------------------------------------------------------------------------------

    @cached_property
    def unit_prices(self) -> dict[str, tuple[float, float]]:
        """Cluster -> (price per core-hour, per GiB-hour): kubetally.model.unit_prices, the one rule."""
        if self.book is None or self.ds.nodes.height == 0:
            return {}
        units = cluster_unit_prices(self.book, self.ds.nodes, self.ds.labels, utilization=self.ds.node_utilization())
        return {row[c.CLUSTER]: (row[PER_CORE_HOUR], row[PER_GIB_HOUR]) for row in units.iter_rows(named=True)}

    def compute_cost(self, cluster: str, cores: float, memory_bytes: float) -> float | None:
        """Monthly cost of holding ``cores`` and ``memory_bytes`` reserved; None when unpriced."""
        if self.book is None or cluster not in self.unit_prices:
            return None
        core, gib = self.unit_prices[cluster]
        return round((cores * core + memory_bytes / GIB * gib) * float(self.book.hours_per_month), 2)

    def storage_cost(self, storage_class: str, capacity_bytes: float) -> float | None:
        if self.book is None:
            return None
        return round(float(self.book.storage.per_gib_month(storage_class)) * capacity_bytes / GIB, 2)

    @property
    def currency(self) -> str | None:
        return None if self.book is None else self.book.currency


def gib(value: float) -> str:
    """Bytes as a short GiB/MiB figure for evidence text."""
    if value >= GIB:
        return f"{value / GIB:.3g}Gi"
    return f"{value / 2**20:.3g}Mi"


def findings_frame(rows: list[Finding], ctx: Context, silence: Mapping[tuple[str, str, str, str], str]) -> pl.DataFrame:
    owners = ctx.owners(rows)
    data = [
        {
            c.CLUSTER: f.cluster,
            SECTION: f.section,
            RULE: f.rule,
            SEVERITY: f.severity,
            c.NAMESPACE: f.namespace,
            OBJECT_KIND: f.kind,
            c.NAME: f.name,
            OWNER: owners[(f.cluster, f.kind, f.namespace, f.name)],
            EVIDENCE: f.evidence,
            MONTHLY_COST: f.monthly_cost,
            CURRENCY: ctx.currency if f.monthly_cost is not None else None,
            REMEDIATION: f.remediation,
            SILENCE: silence[(f.rule, f.kind, f.namespace, f.name)],
            RELATED: ", ".join(f.related),
        }
        for f in rows
    ]
    return pl.DataFrame(data, schema=FINDINGS_SCHEMA) if data else pl.DataFrame(schema=FINDINGS_SCHEMA)
