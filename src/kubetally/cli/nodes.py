"""`kubetally nodes`: node utilization, stranded capacity and a bin-packing estimate."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from kubetally.analysis.allocation import AllocationSettings, allocate
from kubetally.analysis.nodes import NodeReport, NodeSettings, node_report
from kubetally.cli import app
from kubetally.cli.costopts import CloudOpt, PricesOpt, WindowOpt, load_prices, windowed
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.options import DatasetOpt, DemoOpt, OutputFormatOpt, PrometheusOpt, open_dataset, stderr
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook


def monthly_node_costs(ds: Dataset, prices: PriceBook) -> dict[str, float]:
    """Each node's cost over the window, projected to a month (for the packing saving)."""
    alloc = allocate(ds, prices=prices, settings=AllocationSettings())
    scale = alloc.hours_per_month / alloc.window_hours if alloc.window_hours else 0.0
    per_node = alloc.nodes.group_by(c.NODE).agg(pl.col(c.NODE_COST).sum())
    return {row[c.NODE]: row[c.NODE_COST] * scale for row in per_node.iter_rows(named=True)}


def build_report(
    ds: Dataset, prices: PriceBook, percentile: float, headroom: float, *, recommended: bool = False
) -> NodeReport:
    settings = NodeSettings(percentile=percentile, headroom=headroom)
    recs = None
    if recommended:
        from kubetally.analysis.rightsizing import DEFAULT_STRATEGY
        from kubetally.cli.rightsize import build_settings, recommend

        strategy = build_settings(DEFAULT_STRATEGY, [], None)
        recs = recommend(ds, strategy=DEFAULT_STRATEGY, settings=strategy, book=prices)
    return node_report(ds, settings=settings, node_monthly_cost=monthly_node_costs(ds, prices), recommended=recs)


@app.command("nodes")
def nodes_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    window: WindowOpt = None,
    prices: PricesOpt = None,
    cloud: CloudOpt = None,
    percentile: Annotated[
        float, typer.Option(help="Percentile shown beside the mean (0-1].", min=0.01, max=1.0)
    ] = 0.95,
    headroom: Annotated[
        float | None,
        typer.Option(
            help="Headroom over observed usage for the usage-based packing table (default 0.15 = +15%).", min=0, max=2
        ),
    ] = None,
    recommended: Annotated[
        bool,
        typer.Option(
            "--recommended",
            help="Also pack the pods at the requests `kubetally rightsize` recommends (default strategy).",
        ),
    ] = False,
    output: OutputFormatOpt = "table",
) -> None:
    """Per node: allocatable, requested and used CPU/memory (mean and p95), stranded capacity (allocatable not
    requested), fragmentation (free capacity unusable because the other resource is full), and how many nodes the
    running pods need when packed first-fit-decreasing at current requests and at usage-based sizes."""
    from kubetally.outputs.cost import nodes_table, packing_table
    from kubetally.outputs.formats import render
    from kubetally.outputs.terminal import console as make_console

    if headroom is not None and output != "table":
        raise KubetallyError(f"--headroom sizes the packing table; -o {output} prints only the per-node frame")
    if recommended and output != "table":
        raise KubetallyError(
            f"--recommended adds a packing table; -o {output} prints only the per-node frame: drop one of them"
        )
    ds, note = windowed(open_dataset(demo=demo, dataset=dataset, prometheus=prometheus), window)
    book = load_prices(prices, cloud)
    report = build_report(ds, book, percentile, 0.15 if headroom is None else headroom, recommended=recommended)
    if output != "table":
        if note:
            stderr.print(f"[yellow]note:[/] {note}", highlight=False)
        typer.echo(render(report.nodes, output), nl=False)
        return
    out = make_console()
    if note:
        out.print(f"[yellow]note:[/] {note}")
    out.print(nodes_table(report))
    out.print(packing_table(report, book.currency))


@demo_section(order=21, title="Nodes: stranded capacity and how many Pis the workloads need")
def _demo(ctx: DemoContext) -> None:
    from kubetally.outputs.cost import nodes_table, packing_table

    book = load_prices(None)
    report = build_report(ctx.dataset, book, 0.95, 0.15, recommended=True)
    ctx.console.print(nodes_table(report))
    ctx.console.print(packing_table(report, book.currency))
