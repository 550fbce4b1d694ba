"""Renderings of a waste report: terminal tables per owner, JSON/YAML, SARIF 2.1.0 and Markdown."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML

from kubetally.analysis.waste import RULE_INFO, WasteReport, scores
from kubetally.outputs.formats import records
from kubetally.outputs.registry import Result, register

UNOWNED = "(no owner)"
SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _money(value: float | None, currency: str | None) -> str:
    if value is None:
        return "unpriced"
    return f"{value:,.2f} {currency or ''}".rstrip()


def by_owner(findings: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
    """(owner, that owner's findings), the most expensive owner first; unowned findings last."""
    if findings.height == 0:
        return
    owners = (
        findings.with_columns(pl.col("owner").replace("", UNOWNED))
        .group_by("owner")
        .agg(pl.col("monthly_cost").fill_null(0).sum().alias("total"))
        .sort(["total", "owner"], descending=[True, False])
    )
    order = [o for o in owners["owner"].to_list() if o != UNOWNED] + (
        [UNOWNED] if UNOWNED in owners["owner"].to_list() else []
    )
    for owner in order:
        yield owner, findings.filter(pl.col("owner").replace("", UNOWNED) == owner)


def _per_month(total: float | None, currency: str | None) -> str:
    return "not priced" if total is None else f"{_money(total, currency)} a month"


def _total(rows: pl.DataFrame) -> float | None:
    """The sum of the priced costs; None when no finding is priced."""
    costs = rows["monthly_cost"].drop_nulls()
    return None if costs.len() == 0 else float(costs.sum())


def _object(row: Mapping[str, Any]) -> str:
    where = f"{row['namespace']}/" if row["namespace"] else ""
    return f"{where}{row['kind']}/{row['name']}"


def tables(report: WasteReport) -> Group:
    """One table per owner (team label), then the scores."""
    parts: list[Any] = []
    for owner, rows in by_owner(report.findings):
        currency = next((c for c in rows["currency"].to_list() if c), None)
        total = _total(rows)
        table = Table(title=f"owner {owner}: {rows.height} finding(s), {_per_month(total, currency)}")
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("object")
        table.add_column("per month", justify="right", no_wrap=True)
        table.add_column("evidence / remediation")
        for row in rows.iter_rows(named=True):
            detail = Text(row["evidence"])
            detail.append("\nfix: ", style="bold")
            detail.append(row["remediation"])
            detail.append("\nsilence: ", style="dim")
            detail.append(row["silence"], style="dim")
            table.add_row(
                Text(row["severity"], style=SEVERITY_STYLE.get(row["severity"], "")),
                row["rule"],
                _object(row),
                _money(row["monthly_cost"], row["currency"]),
                detail,
            )
        parts.append(table)
    if not parts:
        parts.append(Text("no waste found", style="green"))
    parts.append(Text(score_line(report)))
    if report.silenced:
        parts.append(Text(f"{report.silenced} finding(s) silenced by annotations or the ignore list"))
    return Group(*parts)


def score_line(report: WasteReport) -> str:
    s = scores(report)
    return "score (100 = nothing found): " + ", ".join(f"{k} {v}" for k, v in s.items())


def payload(report: WasteReport, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON/YAML document: scores, counts, findings (and ``extra`` sections such as log volume)."""
    total = report.findings["monthly_cost"].fill_null(0).sum() if report.findings.height else 0.0
    return {
        "scores": scores(report),
        "findings_count": report.findings.height,
        "silenced": report.silenced,
        "monthly_cost_total": round(float(total), 2),
        "findings": records(report.findings),
        "not_judged": list(report.notes),
        **(extra or {}),
    }


def to_json(report: WasteReport, extra: Mapping[str, Any] | None = None) -> str:
    return json.dumps(payload(report, extra), indent=2) + "\n"


def to_yaml(report: WasteReport, extra: Mapping[str, Any] | None = None) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(payload(report, extra), buffer)
    return buffer.getvalue()


def to_sarif(report: WasteReport, *, version: str) -> str:
    """SARIF 2.1.0: one result per finding at a logical location ``namespace/Kind/name``."""
    used = sorted(set(report.findings["rule"].to_list())) if report.findings.height else []
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": RULE_INFO[rule][1]},
            "properties": {"section": RULE_INFO[rule][0]},
        }
        for rule in used
    ]
    results = []
    for row in report.findings.iter_rows(named=True):
        results.append(
            {
                "ruleId": row["rule"],
                "level": SARIF_LEVEL[row["severity"]],
                "message": {"text": f"{_object(row)}: {row['evidence']}. Fix: {row['remediation']}"},
                "locations": [
                    {
                        "logicalLocations": [
                            {"fullyQualifiedName": _object(row), "kind": "resource", "name": row["name"]}
                        ]
                    }
                ],
                "properties": {
                    "cluster": row["cluster"],
                    "severity": row["severity"],
                    "owner": row["owner"],
                    "monthly_cost": row["monthly_cost"],
                    "currency": row["currency"],
                    "remediation": row["remediation"],
                    "silence": row["silence"],
                },
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kubetally",
                        "version": version,
                        "informationUri": "https://github.com/kubetally/kubetally",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: WasteReport) -> str:
    """A section per owner with a table of findings (for a PR comment or a wiki page)."""
    lines = ["# kubetally waste", "", score_line(report), ""]
    if report.findings.height == 0:
        lines.append("No waste found.")
    for owner, rows in by_owner(report.findings):
        currency = next((c for c in rows["currency"].to_list() if c), None)
        total = _total(rows)
        lines += [f"## {owner}: {rows.height} finding(s), {_per_month(total, currency)}", ""]
        lines += [
            "| severity | rule | object | per month | evidence | remediation | silence |",
            "|---|---|---|---:|---|---|---|",
        ]
        for row in rows.iter_rows(named=True):
            cells = [
                row["severity"],
                row["rule"],
                _object(row),
                _money(row["monthly_cost"], row["currency"]),
                row["evidence"],
                f"`{row['remediation']}`",
                f"`{row['silence']}`",
            ]
            lines.append("| " + " | ".join(_cell(str(x)) for x in cells) + " |")
        lines.append("")
    if report.silenced:
        lines.append(f"{report.silenced} finding(s) silenced by annotations or the ignore list.")
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True, kw_only=True)
class WasteResult(Result):
    """``kubetally waste``: the report and the log volume per namespace."""

    report: WasteReport
    log_volume: pl.DataFrame
    kind: ClassVar[str] = "waste"

    def data(self) -> dict[str, Any]:
        return payload(self.report, {"log_volume": records(self.log_volume)})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kubetally")
    except PackageNotFoundError:
        return "unknown"


@register("table", WasteResult)
def _table(result: WasteResult) -> list[RenderableType]:
    return [tables(result.report)]


@register("json", WasteResult)
def _json(result: WasteResult) -> str:
    return to_json(result.report, {"log_volume": records(result.log_volume)})


@register("yaml", WasteResult)
def _yaml(result: WasteResult) -> str:
    return to_yaml(result.report, {"log_volume": records(result.log_volume)})


@register("sarif", WasteResult)
def _sarif(result: WasteResult) -> str:
    return to_sarif(result.report, version=_version())


@register("markdown", WasteResult)
def _markdown(result: WasteResult) -> str:
    return to_markdown(result.report)
