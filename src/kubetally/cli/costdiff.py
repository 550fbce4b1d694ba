"""`kubetally cost-diff BASE HEAD`: what a change to the manifests does to requested resources and cost.

BASE and HEAD are two manifest directories or two git refs (docs/cost-diff.md).
"""

from __future__ import annotations

import json
import math
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from kubetally.actions.costdiff import CostDiffSettings, checked_out, cost_diff, requested_resources, yaml_files
from kubetally.cli import legacy as app
from kubetally.cli.options import DatasetOpt, DemoOpt, PrometheusOpt, open_dataset
from kubetally.errors import ConfigError
from kubetally.model.pricing import PriceBook, default_price_book, parse_price_text
from kubetally.model.unit_prices import book_unit_prices, unit_prices
from kubetally.outputs.costdiff import diff_table, markdown, totals
from kubetally.outputs.formats import records
from kubetally.outputs.terminal import console

OUTPUTS = ("markdown", "table", "json")


def _book(prices: Path | None) -> PriceBook:
    if prices is None:
        return default_price_book()
    try:
        return parse_price_text(prices.read_text(), where=str(prices))
    except OSError as exc:
        raise ConfigError(f"{prices}: cannot read the price file: {exc.strerror}") from None


@app.command("cost-diff")
def cost_diff_command(
    base: Annotated[str, typer.Argument(help="Base: a manifest directory or a git ref (e.g. origin/main).")],
    head: Annotated[str, typer.Argument(help="Head: a manifest directory or a git ref (e.g. HEAD).")],
    repo: Annotated[Path, typer.Option("--repo", help="Git repository for refs.")] = Path("."),
    path: Annotated[str, typer.Option("--path", help="Manifest folder inside the repository, for refs.")] = "k8s",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace of documents that set none (default: default).")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price file (docs/cost-model.md); default: built-in prices.")
    ] = None,
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    daemonset_nodes: Annotated[int, typer.Option("--daemonset-nodes", min=0, help="Nodes a DaemonSet runs on.")] = 1,
    job_hours: Annotated[
        float, typer.Option("--job-hours", min=0, max=744, help="Hours a month Jobs/CronJobs run (0: not priced).")
    ] = 0.0,
    fail_above: Annotated[
        float | None,
        typer.Option("--fail-above", help="Exit 1 when the monthly cost grows by more than this amount (CI gate)."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help=f"Output: {', '.join(OUTPUTS)}.")] = "markdown",
) -> None:
    """Change in requested CPU/memory × replicas per workload and its monthly cost, as Markdown for a PR."""
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}; choose {', '.join(OUTPUTS)}")
    if fail_above is not None and not math.isfinite(fail_above):
        raise ConfigError(f"--fail-above {fail_above}: give an amount of money (e.g. 10 or 0)")
    book = _book(prices)
    if demo or dataset is not None or prometheus is not None:
        data = open_dataset(demo=demo, dataset=dataset, prometheus=prometheus)
        unit = unit_prices(book, data.nodes, data.labels, utilization=data.node_utilization())
        source = "the cluster's nodes"
    else:
        unit = book_unit_prices(book)
        source = "the price file's unit prices" if prices else "built-in unit prices (OpenCost defaults)"
    settings = CostDiffSettings(daemonset_nodes=daemonset_nodes, job_hours_per_month=job_hours)
    with ExitStack() as stack:
        trees = []
        for ref in (base, head):
            local = Path(ref)
            trees.append(local if local.exists() else stack.enter_context(checked_out(repo, ref, path)))
        if not any(yaml_files(tree) for tree in trees):
            where = f"under --path {path!r} " if not all(Path(ref).exists() for ref in (base, head)) else ""
            raise ConfigError(f"no YAML manifests {where}in {base} or {head}: nothing to compare")
        frames = [requested_resources(tree, namespace=namespace, settings=settings) for tree in trees]
    diff = cost_diff(frames[0], frames[1], prices=unit, settings=settings)
    notes = [f"Prices from {source}."]
    if diff.filter(diff["hpa_max_base"].is_not_null() | diff["hpa_max_head"].is_not_null()).height:
        notes.append("Workloads scaled by an HPA in the tree are priced at its minReplicas (min-max shown).")
    if job_hours == 0 and diff.filter(diff["kind"].is_in(["Job", "CronJob"])).height:
        notes.append("Jobs and CronJobs are not priced (run time unknown; see --job-hours).")
    if output == "json":
        total_base, total_head, delta = totals(diff)
        payload = {
            "base": base,
            "head": head,
            "prices": unit.model_dump(),
            "monthly_cost_base": round(total_base, 2),
            "monthly_cost_head": round(total_head, 2),
            "monthly_cost_delta": round(delta, 2),
            "workloads": records(diff),
        }
        typer.echo(json.dumps(payload, indent=2))
    elif output == "table":
        out = console()
        out.print(diff_table(diff, title=f"Cost diff {base} → {head}"))
        total_base, total_head, delta = totals(diff)
        out.print(f"monthly cost {total_base:,.2f} → {total_head:,.2f} {unit.currency} ({delta:+,.2f})")
    else:
        typer.echo(markdown(diff, base=base, head=head, prices=unit, notes=notes), nl=False)
    _, _, delta = totals(diff)
    if fail_above is not None and delta > fail_above:
        console(stderr=True).print(
            f"[bold red]cost gate:[/] monthly cost grows by {delta:,.2f} {unit.currency}, "
            f"more than --fail-above {fail_above:,.2f}",
            highlight=False,
        )
        raise typer.Exit(1)
