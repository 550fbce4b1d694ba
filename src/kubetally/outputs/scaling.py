"""Scaling output: the HPA what-if and off-hours tables, and the manifests they propose (YAML)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table
from ruamel.yaml import YAML

from kubetally.analysis.scaling import downscaler_annotations, hpa_manifest
from kubetally.model import columns as c
from kubetally.model.unit_prices import UnitPrices
from kubetally.outputs.registry import Result, register
from kubetally.outputs.terminal import workload_name

SHOWN = ("recommended", "risky")
"""The what-if rows the table shows without --all (an HPA would save on them)."""


@dataclass(frozen=True, kw_only=True)
class ScaleResult(Result):
    """The HPA what-if (best saving first), the off-hours plans and the unit prices their money is at."""

    hpa: pl.DataFrame
    offhours: pl.DataFrame
    prices: UnitPrices
    all_rows: bool = False
    """The table shows every what-if row, not only those an HPA would save on."""
    kind: ClassVar[str] = "scale"

    def data(self) -> dict[str, Any]:
        return {"prices": self.prices.model_dump(), "hpa": self.hpa, "offhours": self.offhours}

    def shown_hpa(self) -> pl.DataFrame:
        return self.hpa if self.all_rows else self.hpa.filter(pl.col(c.STATUS).is_in(SHOWN))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _money(value: float | None, currency: str) -> str:
    return "" if value is None else f"{value:+,.2f} {currency}"


def hpa_table(frame: pl.DataFrame, prices: UnitPrices, *, title: str = "HPA what-if") -> Table:
    table = Table(title=title, title_justify="left")
    for header in (
        "workload",
        "replicas",
        "request/pod",
        "HPA min-max @target",
        "replica-h fixed → HPA",
        "saved",
        "per month",
        "risk HPA/fixed",
        "status",
    ):
        table.add_column(header, justify="right" if header not in ("workload", "status") else "left")
    for row in frame.iter_rows(named=True):
        simulated = row[c.HPA_MIN] is not None
        table.add_row(
            workload_name(row[c.NAMESPACE], row[c.KIND], row[c.NAME]),
            str(row[c.DESIRED_REPLICAS]),
            "" if row[c.CPU_REQUEST_PER_POD_CORES] is None else f"{row[c.CPU_REQUEST_PER_POD_CORES] * 1000:.0f}m",
            f"{row[c.HPA_MIN]}-{row[c.HPA_MAX]} @{row[c.HPA_TARGET_PERCENT]}%" if simulated else "",
            f"{row[c.FIXED_REPLICA_HOURS]:.0f} → {row[c.HPA_REPLICA_HOURS]:.0f}" if simulated else "",
            _pct(row[c.SAVED_RATIO]),
            _money(row[c.MONTHLY_COST_SAVED], prices.currency),
            f"{_pct(row[c.RISK_RATIO])}/{_pct(row[c.FIXED_RISK_RATIO])}" if simulated else "",
            f"{row[c.STATUS]}: {row[c.REASON]}",
        )
    return table


def offhours_table(frame: pl.DataFrame, prices: UnitPrices, *, title: str = "Off-hours plans") -> Table:
    table = Table(title=title, title_justify="left")
    for header in ("workload", "environment", "downscaler/uptime", "down", "per month", "CPU outside", "status"):
        table.add_column(header, justify="right" if header in ("down", "per month", "CPU outside") else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(
            workload_name(row[c.NAMESPACE], row[c.KIND], row[c.NAME]),
            row[c.ENVIRONMENT],
            row[c.UPTIME] or "",
            _pct(row[c.SAVED_RATIO]),
            _money(row[c.MONTHLY_COST_SAVED], prices.currency),
            "" if row[c.DEMAND_OUTSIDE_UPTIME_RATIO] is None else f"{row[c.DEMAND_OUTSIDE_UPTIME_RATIO]:.1%}",
            f"{row[c.STATUS]}: {row[c.REASON]}",
        )
    return table


def proposed_manifests(hpa: pl.DataFrame, offhours: pl.DataFrame, *, include_all: bool = False) -> str:
    """YAML: an HPA per recommended what-if, and the downscaler annotation per off-hours plan."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    out = io.StringIO()
    wanted = pl.col(c.STATUS) == "recommended"
    for row in hpa.filter(wanted | pl.lit(include_all) & pl.col(c.HPA_MIN).is_not_null()).iter_rows(named=True):
        out.write(f"# HPA for {row[c.NAMESPACE]}/{row[c.NAME]}: {row[c.STATUS]}: {row[c.REASON]}\n---\n")
        doc = hpa_manifest(
            row[c.NAMESPACE],
            row[c.KIND],
            row[c.NAME],
            min_replicas=row[c.HPA_MIN],
            max_replicas=row[c.HPA_MAX],
            target=row[c.HPA_TARGET_PERCENT],
        )
        yaml.dump(doc, out)
    for row in offhours.filter(wanted).iter_rows(named=True):
        annotations = downscaler_annotations(row[c.UPTIME])
        key, value = next(iter(annotations.items()))
        out.write(
            f"# off-hours for {row[c.NAMESPACE]}/{row[c.NAME]} (kube-downscaler): {row[c.REASON]}\n"
            f"#   kubectl annotate {row[c.KIND].lower()} {row[c.NAME]} -n {row[c.NAMESPACE]} '{key}={value}'\n---\n"
        )
        patch: Any = {
            "apiVersion": "apps/v1" if row[c.KIND] in ("Deployment", "StatefulSet") else "batch/v1",
            "kind": row[c.KIND],
            "metadata": {"name": row[c.NAME], "namespace": row[c.NAMESPACE], "annotations": annotations},
        }
        yaml.dump(patch, out)
    return out.getvalue()


@register("table", ScaleResult)
def _tables(result: ScaleResult) -> list[RenderableType]:
    return [
        hpa_table(
            result.shown_hpa(), result.prices, title="HPA what-if at the right-sized request (vs fixed replicas)"
        ),
        offhours_table(result.offhours, result.prices, title="Off-hours plans for non-production workloads"),
        "HPA and annotation YAML: kubetally scale ... -o manifests; every workload: --all",
    ]


@register("manifests", ScaleResult)
def _manifests(result: ScaleResult) -> str:
    return proposed_manifests(result.hpa, result.offhours)
