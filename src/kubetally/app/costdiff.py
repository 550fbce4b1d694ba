"""Cost diff: what a change to the manifests does to requested resources and monthly cost (docs/cost-diff.md)."""

from __future__ import annotations

import math
from contextlib import ExitStack
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from kubetally.actions.costdiff import CostDiffSettings, checked_out, cost_diff, requested_resources, yaml_files
from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.inputs import PricesRequest, price_book
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.errors import ConfigError
from kubetally.model.unit_prices import book_unit_prices, unit_prices
from kubetally.outputs.costdiff import CostDiffResult, totals


class CostDiffRequest(PricesRequest, SourceRequest):
    """Change in requested CPU/memory × replicas per workload and its monthly cost, as Markdown for a PR.

    BASE and HEAD are two manifest directories or files, or two git refs of --repo (the manifests under
    --path). Prices: the cluster's nodes with a data source (--dataset, --prometheus, a Kubernetes
    source, --demo), else the price file's unit prices (built-in: OpenCost's defaults)."""

    source_optional: ClassVar[bool] = True

    base: str = Field(
        description="Base: a manifest directory or file, or a git ref (e.g. origin/main).",
        json_schema_extra=cli(argument=True, metavar="BASE"),
    )
    head: str = Field(
        description="Head: a manifest directory or file, or a git ref (e.g. HEAD).",
        json_schema_extra=cli(argument=True, metavar="HEAD"),
    )
    repo: Path = Field(Path("."), description="Git repository for refs.", json_schema_extra=cli(metavar="DIR"))
    path: str = Field(
        "k8s",
        description="Manifest folder (or file) inside the repository, for refs.",
        json_schema_extra=cli(metavar="PATH"),
    )
    namespace: str | None = Field(
        None,
        description="Namespace of documents that set none (default: default).",
        json_schema_extra=cli(short="-n", metavar="NAME"),
    )
    daemonset_nodes: int = like(CostDiffSettings, "daemonset_nodes")
    job_hours: float = like(CostDiffSettings, "job_hours_per_month")
    fail_above: float | None = Field(
        None,
        description="Exit 1 when the monthly cost grows by more than this amount (CI gate).",
        json_schema_extra=cli(metavar="AMOUNT"),
    )
    output: Literal["markdown", "table", "json"] = Field("markdown", json_schema_extra=cli(short="-o"))

    @field_validator("fail_above")
    @classmethod
    def _money(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("give an amount of money (e.g. 10 or 0)")
        return value


def costdiff(
    request: CostDiffRequest, opened: Opened | None = None, progress: Progress = no_progress
) -> CostDiffResult:
    book = price_book(request.prices)
    notes: tuple[str, ...] = ()
    if opened is not None or request.has_source:
        opened = opened or open_source(request, progress)
        data = opened.dataset
        unit = unit_prices(book, data.nodes, data.labels, utilization=data.node_utilization())
        source = (
            "the cluster's nodes" if data.nodes.height else "the price file's unit prices (the source has no nodes)"
        )
        notes = opened.notes
    else:
        unit = book_unit_prices(book)
        source = "the price file's unit prices" if request.prices else "built-in unit prices (OpenCost defaults)"
    settings = CostDiffSettings(daemonset_nodes=request.daemonset_nodes, job_hours_per_month=request.job_hours)
    with ExitStack() as stack:
        trees = []
        for ref in (request.base, request.head):
            local = Path(ref)
            if not local.exists():
                progress(f"checking out {ref}...")
            trees.append(local if local.exists() else stack.enter_context(checked_out(request.repo, ref, request.path)))
        if not any(yaml_files(tree) for tree in trees):
            refs = not all(Path(ref).exists() for ref in (request.base, request.head))
            where = f"under --path {request.path!r} " if refs else ""
            raise ConfigError(f"no YAML manifests {where}in {request.base} or {request.head}: nothing to compare")
        frames = [requested_resources(tree, namespace=request.namespace, settings=settings) for tree in trees]
    diff = cost_diff(frames[0], frames[1], prices=unit, settings=settings)
    about = [f"Prices from {source}."]
    if diff.filter(diff["hpa_max_base"].is_not_null() | diff["hpa_max_head"].is_not_null()).height:
        about.append("Workloads scaled by an HPA in the tree are priced at its minReplicas (min-max shown).")
    if request.job_hours == 0 and diff.filter(diff["kind"].is_in(["Job", "CronJob"])).height:
        about.append("Jobs and CronJobs are not priced (run time unknown; see --job-hours).")
    _, _, delta = totals(diff)
    gate: tuple[str, ...] = ()
    if request.fail_above is not None and delta > request.fail_above:
        gate = (
            f"[bold red]cost gate:[/] monthly cost grows by {delta:,.2f} {unit.currency}, "
            f"more than --fail-above {request.fail_above:,.2f}",
        )
    return CostDiffResult(
        diff=diff,
        base=request.base,
        head=request.head,
        prices=unit,
        about=tuple(about),
        notes=notes,
        messages=gate,
        exit_code=1 if gate else 0,
    )
