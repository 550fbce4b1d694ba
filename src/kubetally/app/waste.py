"""Waste: what is idle, unused, orphaned or too chatty, with its monthly cost (docs/waste.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import polars as pl
from pydantic import AfterValidator, Field

from kubetally.analysis.waste import RULE_IDS, SEVERITIES, WasteReport, WasteSettings, at_or_above, findings, log_volume
from kubetally.analysis.waste.settings import Severity, waste_settings_from_text
from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.inputs import PricesRequest, price_book
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError, KubetallyError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.outputs.waste import WasteResult


def _known_rule(value: str) -> str:
    if value not in RULE_IDS:
        raise ValueError(f"no such rule; the rules are {', '.join(RULE_IDS)}")
    return value


class WasteRequest(PricesRequest, SourceRequest):
    """Find idle, unused, orphaned and chatty things, each with its monthly cost, the fix and how to silence it.

    Each finding names the rule, the object, the evidence over the window, what it costs a month
    (with the price book; "unpriced" without nodes to price), the exact kubectl command that fixes
    it and the annotation that silences it. Findings are grouped by owner (the team label)."""

    kube_dump: tuple[Path, ...] = Field(
        (),
        description="Read objects from `kubectl get -o json|yaml` output (file or directory, repeatable): one point "
        "in time, so the rules over usage (idle, logs, growth) have nothing to judge.",
        json_schema_extra=cli(metavar="FILE|DIR"),
    )
    config: Path | None = Field(
        None,
        description="Waste settings (YAML): thresholds, the labelling policy, orphan exclusions and an ignore list "
        "(docs/waste.md).",
        json_schema_extra=cli(metavar="FILE"),
    )
    output: Literal["table", "json", "yaml", "sarif", "markdown"] = Field("table", json_schema_extra=cli(short="-o"))
    namespace: tuple[str, ...] = Field(
        (), description="Only this namespace (repeatable).", json_schema_extra=cli(short="-n")
    )
    owner: tuple[str, ...] = Field((), description="Only findings of this owner (team label; repeatable).")
    rule: tuple[Annotated[str, AfterValidator(_known_rule)], ...] = Field(
        (), description=f"Only this rule (repeatable): {', '.join(RULE_IDS)}."
    )
    fail_on: Severity | None = Field(
        None, description=f"Exit 1 when a finding is at this severity or worse ({', '.join(SEVERITIES)}); for CI."
    )


def _open(request: WasteRequest, progress: Progress) -> Opened:
    if not request.kube_dump or request.prometheus is not None:  # the app layer's Kubernetes sources
        return open_source(request, progress)
    from kubetally.sources.kubernetes import dataset_from_dump

    for path in request.kube_dump:
        if not path.exists():
            raise ConfigError(f"--kube-dump {path}: no such file or directory")
    ds = dataset_from_dump(list(request.kube_dump))
    return Opened(ds, notes=ds.info.notes)


def _settings(path: Path | None) -> WasteSettings:
    if path is None:
        return WasteSettings()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it: {exc.strerror}") from None
    return waste_settings_from_text(text, where=str(path))


def _check_namespaces(namespaces: tuple[str, ...], data: Dataset) -> None:
    """Refuse a ``--namespace`` the dataset has no object in (a typo would print "no waste found")."""
    if not namespaces:
        return
    known: set[str] = set()
    for spec in (schema.CONTAINERS, schema.WORKLOADS, schema.OBJECTS, schema.VOLUMES):
        known |= set(data.table(spec)[c.NAMESPACE].to_list())
    unknown = [n for n in namespaces if n not in known]
    if unknown:
        raise KubetallyError(
            f"--namespace {', '.join(unknown)}: no such namespace in the dataset "
            f"(it has {', '.join(sorted(n for n in known if n))})"
        )


def waste(request: WasteRequest, opened: Opened | None = None, progress: Progress = no_progress) -> WasteResult:
    settings = _settings(request.config)
    book = price_book(request.prices)
    opened = opened or _open(request, progress)
    data = opened.dataset
    _check_namespaces(request.namespace, data)
    progress("running the waste rules...")
    report = findings(data, settings=settings, book=book)
    frame = report.findings
    if request.namespace:
        frame = frame.filter(pl.col(c.NAMESPACE).is_in(request.namespace))
    if request.owner:
        frame = frame.filter(pl.col("owner").is_in(request.owner))
    if request.rule:
        frame = frame.filter(pl.col("rule").is_in(request.rule))
    report = WasteReport(frame, report.silenced, report.checked, report.notes)
    exit_code = 0
    warnings: tuple[str, ...] = ()
    if request.fail_on is not None and (worse := at_or_above(report, request.fail_on)):
        exit_code = 1
        warnings = (f"{worse} finding(s) at {request.fail_on} or worse (--fail-on {request.fail_on})",)
    return WasteResult(
        report=report,
        log_volume=log_volume(data, settings=settings, book=book),
        notes=tuple(dict.fromkeys((*opened.notes, *data.info.notes, *report.notes))),
        warnings=warnings,
        exit_code=exit_code,
    )
