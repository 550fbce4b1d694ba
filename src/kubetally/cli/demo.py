"""`kubetally demo`: the pipeline entry point on the built-in AuditFlow cluster.

Simulates the cluster, saves the Dataset, prints the summary, then runs every
registered demo section in order. Analyses add themselves with
:func:`demo_section` from their own command module, so this file does not grow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from kubetally.cli import legacy as app
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError


@dataclass(frozen=True)
class DemoContext:
    """What every demo section gets: the dataset, where to write files, and the console."""

    dataset: Dataset
    out_dir: Path
    console: Console


DemoSection = Callable[[DemoContext], None]
_SECTIONS: list[tuple[int, str, DemoSection]] = []


def demo_section(order: int, title: str) -> Callable[[DemoSection], DemoSection]:
    """Register ``func`` to run in `kubetally demo` (lower ``order`` first)."""

    def register(func: DemoSection) -> DemoSection:
        _SECTIONS.append((order, title, func))
        _SECTIONS.sort(key=lambda item: item[0])
        return func

    return register


def sections() -> list[tuple[int, str, DemoSection]]:
    return list(_SECTIONS)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the demo's dataset and files (replaced on each run).")
    ] = Path("out/demo"),
    days: Annotated[float, typer.Option(help="Days of history to simulate.", min=0.1, max=120)] = 14.0,
    step: Annotated[int, typer.Option(help="Sampling step in seconds.", min=10, max=3600)] = 60,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).", min=0)] = 7,
    store: Annotated[
        Path | None,
        typer.Option(help="History store (DuckDB file); default under the user data directory or $KUBETALLY_STORE."),
    ] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record this run in the history store.")] = False,
) -> None:
    """Run the whole pipeline on the built-in AuditFlow cluster (4 Raspberry Pis, k3s), no cluster needed.

    Simulates DAYS of history at STEP resolution, saves the Dataset to OUT/dataset,
    records the run in the history store and prints the summary and every analysis.
    """
    from kubetally.analysis.summary import node_summary, workload_summary
    from kubetally.app.targets import check_directory
    from kubetally.data import demo_inputs
    from kubetally.dataset import save
    from kubetally.outputs.terminal import console as make_console
    from kubetally.outputs.terminal import node_table, workload_table
    from kubetally.simulate import ScenarioConfig, simulate
    from kubetally.store import STORE_ENV, RunStore, default_path

    try:
        check_directory("--out", out)
    except ValueError as exc:
        raise KubetallyError(str(exc)) from None
    store_path = store if store is not None else default_path()
    if not no_store and store_path.is_dir():
        where = "--store" if store is not None else f"${STORE_ENV}"
        raise KubetallyError(f"{where} {store_path}: is a directory; give the path of a DuckDB file")
    console = make_console()
    config = ScenarioConfig(days=days, step_seconds=step, seed=seed)
    console.print(
        f"[bold]kubetally demo[/] — AuditFlow on a 4-node k3s Raspberry Pi cluster, "
        f"{days:g} days at {step} s steps (seed {seed})"
    )
    with console.status("simulating...") as status:

        def progress(done: int, total: int) -> None:
            status.update(f"simulating pods: {done}/{total}")

        # the demo's owners and allocation files go with the dataset, so `showback -d OUT/dataset`
        # prints the figures below
        dataset = simulate(config, progress=progress).with_info(inputs=demo_inputs())
        status.update("saving the dataset...")
        target = save(dataset, out / "dataset", overwrite=True)
    counts = dataset.counts()
    console.print(
        f"[green]✓[/] dataset saved to [bold]{target}[/] "
        f"({counts['containers']} containers, {counts['usage']:,} usage samples)"
    )
    if not no_store:
        with RunStore(store) as history:
            run_id = history.record(dataset, command="demo")
            console.print(f"[green]✓[/] run {run_id} recorded in {history.path}")
    console.print()
    console.print(node_table(node_summary(dataset)))
    console.print(workload_table(workload_summary(dataset)))
    context = DemoContext(dataset=dataset, out_dir=out, console=console)
    for _, title, section in sections():
        console.rule(f"[bold]{title}")
        section(context)


@demo_section(order=20, title="Cost: showback by team, spend without owner, cost vs value")
def _showback(ctx: DemoContext) -> None:
    from kubetally.app.showback import ShowbackRequest, showback
    from kubetally.app.source import opened_dataset
    from kubetally.outputs.cost import showback_table
    from kubetally.outputs.formats import render as render_frame

    source = ShowbackRequest(demo=True)
    opened = opened_dataset(ctx.dataset)
    by_team = showback(source.model_copy(update={"by": ("team",)}), opened)
    ctx.console.print(showback_table(by_team.report))
    ctx.console.print(
        "shared: postgresql and rabbitmq split over auditflow and auditflow-dev by cost; "
        "overhead 4.00/month split evenly; prices: built-in Raspberry Pi profiles"
    )
    unowned = by_team.unowned if by_team.unowned is not None else pl.DataFrame()
    for row in unowned.iter_rows(named=True):
        ctx.console.print(f"[yellow]no owner:[/] {row['namespace']}/{row['controller']} {row['total_cost']} USD")
    value = showback(source.model_copy(update={"by": ("criticality",)}), opened)
    ctx.console.print(
        showback_table(value.report, title="Cost vs value: spend per criticality tier next to efficiency")
    )
    path = ctx.out_dir / "showback-by-team.csv"
    path.write_text(render_frame(by_team.report.rows, "csv"))
    ctx.console.print(f"[green]✓[/] {path}")


@demo_section(order=21, title="Nodes: stranded capacity and how many Pis the workloads need")
def _nodes(ctx: DemoContext) -> None:
    from kubetally.app.nodes import NodesRequest, nodes
    from kubetally.app.source import opened_dataset
    from kubetally.outputs.registry import render

    result = nodes(NodesRequest(demo=True, recommended=True), opened_dataset(ctx.dataset))
    for item in render(result, "table"):
        ctx.console.print(item)


@demo_section(order=22, title="Export: FOCUS 1.2 cost and usage files")
def _export(ctx: DemoContext) -> None:
    from kubetally.app.export import FocusRequest, export_focus
    from kubetally.app.source import opened_dataset

    request = FocusRequest(demo=True, out=ctx.out_dir / "focus", overwrite=True)
    result = export_focus(request, opened_dataset(ctx.dataset))
    csv_path, parquet_path = result.files
    ctx.console.print(f"[green]✓[/] {result.counts['rows']} FOCUS 1.2 rows: {csv_path}, {parquet_path}")


@demo_section(order=30, title="Right-sizing: top opportunities (tiered policy)")
def _rightsize(ctx: DemoContext) -> None:
    from kubetally.app.rightsize import default_recommendations
    from kubetally.model.pricing import default_price_book
    from kubetally.outputs.formats import render as render_frame
    from kubetally.outputs.rightsizing import recommendation_table, top_opportunities, totals_line

    recs = default_recommendations(ctx.dataset, default_price_book())
    top = top_opportunities(recs, 8)
    ctx.console.print(recommendation_table(top, title="Evidence of trouble first, then the biggest savings"))
    ctx.console.print(totals_line(recs))
    target = ctx.out_dir / "rightsizing.json"
    target.write_text(render_frame(recs, "json"))
    ctx.console.print(f"all recommendations: {target}")


@demo_section(order=32, title="Storage: the growing audit_event table, when its volume fills, what retention does")
def _storage(ctx: DemoContext) -> None:
    from kubetally.app.inputs import price_book
    from kubetally.app.storage import build_report
    from kubetally.data import demo_text
    from kubetally.model.retention import parse_policy_text
    from kubetally.outputs.storage import outlook_table, tables_table, volumes_table, what_if_table

    book = price_book(None)
    policy = parse_policy_text(demo_text("retention.yaml"), where="the demo's retention policy")
    result = build_report(dataset=ctx.dataset, dsn=None, book=book, rules=policy.tables)
    ctx.console.print(tables_table(result.tables))
    ctx.console.print(volumes_table(result.volumes, book.currency))
    ctx.console.print(what_if_table(result.what_if, book.currency))
    ctx.console.print(outlook_table(result.outlook, book.currency))
    ctx.console.print(
        "The demo's policy (keep: 30d, `kubetally retention plan --policy` on a real database counts the rows; "
        "`kubetally retention cronjob` runs it nightly):\n" + demo_text("retention.yaml").split("\n", 2)[2],
        highlight=False,
        markup=False,
    )


def _repository_k8s() -> Path | None:
    """The AuditFlow manifests of a source checkout (``k8s/`` next to ``src/``), if present."""
    candidate = Path(__file__).resolve().parents[3] / "k8s"
    return candidate if candidate.is_dir() else None


@demo_section(order=40, title="Manifests: the right-sizing as a diff of k8s/")
def _manifests(ctx: DemoContext) -> None:
    import os

    from kubetally.app.rightsize import default_recommendations, manifest_plan, plan_report, plan_summary
    from kubetally.outputs.rightsizing import change_table

    directory = _repository_k8s()
    if directory is None:
        ctx.console.print("k8s/ not found (the AuditFlow manifests ship with a source checkout): skipped")
        return
    plan, notes = manifest_plan(default_recommendations(ctx.dataset, priced=False), directory, namespace=None)
    target = ctx.out_dir / "k8s-rightsizing.diff"
    target.write_text(plan.diff())
    ctx.console.print(change_table(plan.changes))
    ctx.console.print(f"{plan_summary(plan)}; the full diff: {target}")
    shown = os.path.relpath(directory)
    shown = str(directory) if shown.startswith("..") else shown
    ctx.console.print(f"apply it: kubetally rightsize --dataset {ctx.out_dir / 'dataset'} --manifests {shown} --apply")
    for line in plan_report(plan):
        ctx.console.print(line, highlight=False)
    for note in notes:
        ctx.console.print(f"[yellow]not changed:[/] {note}", highlight=False)


@demo_section(order=45, title="Scaling: HPA what-if and off-hours plans")
def _scale(ctx: DemoContext) -> None:
    from kubetally.app.scale import ScaleRequest, scale
    from kubetally.app.source import opened_dataset
    from kubetally.outputs.scaling import hpa_table, offhours_table, proposed_manifests

    result = scale(ScaleRequest(demo=True), opened_dataset(ctx.dataset))
    ctx.console.print(
        hpa_table(result.shown_hpa(), result.prices, title="HPA what-if (workloads an HPA would save on)")
    )
    ctx.console.print(
        offhours_table(result.offhours, result.prices, title="Off-hours plans for non-production workloads")
    )
    target = ctx.out_dir / "scaling.yaml"
    target.write_text(proposed_manifests(result.hpa, result.offhours))
    ctx.console.print(f"proposed HPA and downscaler annotations: {target}")


@demo_section(order=50, title="Waste: idle, unused, orphaned and chatty, with what it costs")
def _waste(ctx: DemoContext) -> None:
    from kubetally.app.source import opened_dataset
    from kubetally.app.waste import WasteRequest, waste
    from kubetally.outputs import waste as render

    result = waste(WasteRequest(demo=True), opened_dataset(ctx.dataset))
    ctx.console.print(render.tables(result.report))
    target = ctx.out_dir / "waste.json"
    target.write_text(render.to_json(result.report))
    ctx.console.print(f"every finding with its silence command: {target}")


@demo_section(order=99, title="Report for the business owner (one HTML file)")
def _report(ctx: DemoContext) -> None:
    from datetime import timedelta

    from kubetally.app.baseline import first_and_last
    from kubetally.app.insights import OverviewRequest, overview_of
    from kubetally.app.report import write_report
    from kubetally.app.source import opened_dataset

    request, opened = OverviewRequest(demo=True), opened_dataset(ctx.dataset)
    overview, _ = overview_of(request, opened)
    # what `kubetally baseline save` + `baseline diff` would say, the first week as the baseline
    changes = first_and_last(request, opened, span=timedelta(days=7))
    if changes is not None:
        t, f = changes["totals"], changes["findings"]
        ctx.console.print(
            f"since the first week (baseline diff): spend {t['monthly_before']:.2f} -> {t['monthly_after']:.2f} "
            f"{overview.currency}/month ({t['monthly_change']:+.2f}), {len(changes['workloads'])} workload(s) "
            f"changed, findings appeared {len(f['appeared'])}, resolved {len(f['resolved'])}"
        )
    path = write_report(overview, ctx.out_dir / "report.html", changes=changes)
    ctx.console.print(f"[green]✓[/] report for the business owner: [bold]{path.resolve()}[/] (open it in a browser)")
