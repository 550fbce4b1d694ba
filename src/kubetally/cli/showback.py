"""`kubetally showback`: what each team, namespace, workload or label value costs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from pydantic import ValidationError

from kubetally.analysis.allocation import Allocation, AllocationSettings, Selector, SharedCost, allocate
from kubetally.analysis.allocation.report import showback, unowned
from kubetally.cli import app
from kubetally.cli.costopts import (
    AllocationOpt,
    CloudOpt,
    OwnersOpt,
    PricesOpt,
    WindowOpt,
    load_allocation,
    load_owners,
    load_prices,
    windowed,
)
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.options import DatasetOpt, DemoOpt, OutputFormatOpt, PrometheusOpt, open_dataset, stderr
from kubetally.dataset import Dataset
from kubetally.errors import KubetallyError
from kubetally.model.owners import Owners

ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        "-b",
        help="Comma-separated keys: cluster, node, namespace, controller_kind, controller, pod, container, "
        "or any label (team, app, component, environment, finops_tier); owners-file keys: team, owner, "
        "criticality, business_value.",
    ),
]


def build_settings(
    base: AllocationSettings, *, idle: str | None, basis: str | None, share: list[str], split: str
) -> AllocationSettings:
    changes: dict[str, object] = {}
    if idle is not None:
        changes["idle"] = idle
    if basis is not None:
        changes["basis"] = basis
    try:
        workloads = tuple(s for s in share if "/" in s)
        namespaces = tuple(s for s in share if "/" not in s)
        rule = SharedCost(name="shared", select=Selector(namespaces=namespaces, workloads=workloads), split=split)
        if share:
            changes["shared"] = (*base.shared, rule)
        return AllocationSettings.model_validate(base.model_dump() | changes)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = next((str(part) for part in reversed(error["loc"]) if isinstance(part, str)), "option")
        raise KubetallyError(f"--{field} {error.get('input')!r}: {error['msg']}") from None


def _check_share(share: list[str], workloads: pl.DataFrame, containers: pl.DataFrame) -> None:
    """Refuse a --share target that is not in the dataset (it would silently share nothing)."""
    owners = pl.concat(
        [
            workloads.select("namespace", "kind", "name"),
            containers.select("namespace", kind="owner_kind", name="owner_name").drop_nulls(),
        ]
    )
    namespaces = set(owners.get_column("namespace").to_list())
    names = {f"{ns}/{name}" for ns, _, name in owners.iter_rows()}
    names |= {f"{ns}/{kind}/{name}" for ns, kind, name in owners.iter_rows()}
    missing = [s for s in share if s not in (names if "/" in s else namespaces)]
    if missing:
        raise KubetallyError(
            f"--share {', '.join(missing)}: no such namespace or namespace/workload in the dataset; nothing to share"
        )


def _note_inputs(ds: Dataset, *, owners: Path | None, allocation: Path | None) -> None:
    used = [
        name
        for name, given in (("owners", owners), ("allocation", allocation))
        if given is None and ds.info.input_text(name) is not None
    ]
    if used:
        flags = "/".join(f"--{name}" for name in used)
        stderr.print(
            f"[dim]note: the {' and '.join(used)} settings recorded with the dataset are used ({flags} overrides)[/]",
            highlight=False,
        )


def unowned_workloads(alloc: Allocation, labels: pl.DataFrame, owners: Owners | None) -> pl.DataFrame:
    """Workloads with no team (label or owners file), with what they cost."""
    report = showback(alloc, labels, by=["team", "namespace", "controller"], owners=owners)
    return (
        unowned(report)
        .filter(~pl.col("namespace").str.starts_with("__"))
        .select("namespace", "controller", "total_cost")
    )


@app.command("showback")
def showback_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    by: ByOpt = "namespace",
    window: WindowOpt = None,
    prices: PricesOpt = None,
    cloud: CloudOpt = None,
    owners: OwnersOpt = None,
    allocation: AllocationOpt = None,
    idle: Annotated[
        str | None, typer.Option(help="Idle cost: separate (an __idle__ line), share (by cost), node (per node).")
    ] = None,
    basis: Annotated[
        str | None, typer.Option(help="Charge max(request, usage) per step (max, OpenCost) or requests (request).")
    ] = None,
    share: Annotated[
        list[str] | None,
        typer.Option("--share", help="A shared namespace or namespace/workload (repeatable); split over the rest."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(help="How --share is split: weighted (by cost, the default) or even (per workload)."),
    ] = None,
    daily: Annotated[bool, typer.Option("--daily", help="Print the daily series instead of window totals.")] = False,
    overcommit: Annotated[
        bool, typer.Option("--overcommit", help="List only the over-committed nodes and resources.")
    ] = False,
    unowned: Annotated[
        bool, typer.Option("--unowned", help="List only the workloads without an owner (no team label or entry).")
    ] = False,
    output: OutputFormatOpt = "table",
) -> None:
    """Cost per team, namespace, workload or label over the window: CPU, memory, volumes, idle, shared, waste,
    efficiency and a monthly projection. Every report adds up to the cluster's total cost, to the cent."""
    from kubetally.outputs.cost import overcommit_table, showback_table, window_text
    from kubetally.outputs.formats import render
    from kubetally.outputs.terminal import console as make_console
    from kubetally.outputs.terminal import frame_table

    chosen = [flag for flag, on in (("--daily", daily), ("--overcommit", overcommit), ("--unowned", unowned)) if on]
    if len(chosen) > 1:
        raise KubetallyError(f"{' and '.join(chosen)} print different reports: give only one of them")
    if split is not None and not share:
        raise KubetallyError("--split says how --share is split: give --share too")
    keys = [k.strip() for k in by.split(",") if k.strip()]
    ds, note = windowed(open_dataset(demo=demo, dataset=dataset, prometheus=prometheus), window)
    _check_share(share or [], ds.workloads, ds.containers)
    if note and (output != "table" or overcommit or unowned):
        stderr.print(f"[yellow]note:[/] {note}", highlight=False)
    settings = build_settings(
        load_allocation(allocation, demo=demo, dataset=ds),
        idle=idle,
        basis=basis,
        share=share or [],
        split=split or "weighted",
    )
    owner_map = load_owners(owners, demo=demo, dataset=ds)
    if not demo:
        _note_inputs(ds, owners=owners, allocation=allocation)
    alloc = allocate(ds, prices=load_prices(prices, cloud), settings=settings)
    matched = set(alloc.shared_sources.get_column("name").to_list())
    for rule in settings.shared:
        if rule.name not in matched:
            stderr.print(
                f"[yellow]warning:[/] shared-cost rule {rule.name!r} shares nothing: "
                "it selects no workload with cost in this window",
                highlight=False,
            )
    report = showback(alloc, ds.labels, by=keys, owners=owner_map)
    for key in keys:
        values = set(report.rows.get_column(key)) if key in report.rows.columns else set()
        if values and all(value is None or str(value).startswith("__") for value in values):
            stderr.print(
                f"[yellow]warning:[/] no workload or pod carries {key!r} (label or owners-file field): "
                "all of their cost is __unallocated__"
            )
    if overcommit:
        frame = alloc.overcommit.drop("steps")
        if frame.height == 0:
            stderr.print("no node is over-committed in the window: max(request, usage) fits every node")
        typer.echo(render(frame, "json" if output == "table" else output), nl=False)
        return
    if unowned:
        missing = unowned_workloads(alloc, ds.labels, owner_map)
        if output != "table":
            typer.echo(render(missing, output), nl=False)
            return
        make_console().print(frame_table(missing, title="Workloads without an owner (no team label or entry)"))
        return
    if output != "table":
        typer.echo(render(report.daily if daily else report.rows, output), nl=False)
        return
    out = make_console()
    for line in (note, *alloc.notes):
        if line:
            out.print(f"[yellow]note:[/] {line}")
    if daily:
        daily_rows = report.daily.sort("day", *report.by)
        out.print(frame_table(daily_rows, title=f"Daily cost by {', '.join(report.by)} (UTC days), {report.currency}"))
        return
    out.print(showback_table(report))
    mark = "[green]✓ reconciled[/]" if report.reconciled else f"[red]✗ off by {report.difference:.4f}[/]"
    out.print(
        f"cluster cost {report.total} {report.currency} over {window_text(report.window_hours)}; "
        f"projected {report.monthly_projection} {report.currency}/month; {mark}"
    )
    if alloc.overcommit.height:
        out.print(overcommit_table(alloc.overcommit, report.currency))
    if "team" in report.by:
        for row in unowned_workloads(alloc, ds.labels, owner_map).iter_rows(named=True):
            out.print(
                f"[yellow]spend without an owner:[/] {row['namespace']}/{row['controller']} "
                f"{row['total_cost']} {report.currency} (no team label, not in the owners file)"
            )


@demo_section(order=20, title="Cost: showback by team, spend without owner, cost vs value")
def _demo(ctx: DemoContext) -> None:
    from kubetally.outputs.cost import showback_table

    prices = load_prices(None)
    owners = load_owners(None, demo=True)
    settings = load_allocation(None, demo=True)
    ds = ctx.dataset
    alloc = allocate(ds, prices=prices, settings=settings)
    by_team = showback(alloc, ds.labels, by=["team"], owners=owners)
    ctx.console.print(showback_table(by_team))
    ctx.console.print(
        "shared: postgresql and rabbitmq split over auditflow and auditflow-dev by cost; "
        "overhead 4.00/month split evenly; prices: built-in Raspberry Pi profiles"
    )
    for row in unowned_workloads(alloc, ds.labels, owners).iter_rows(named=True):
        ctx.console.print(f"[yellow]no owner:[/] {row['namespace']}/{row['controller']} {row['total_cost']} USD")
    value = showback(alloc, ds.labels, by=["criticality"], owners=owners)
    ctx.console.print(showback_table(value, title="Cost vs value: spend per criticality tier next to efficiency"))
    path = ctx.out_dir / "showback-by-team.csv"
    from kubetally.outputs.formats import render

    path.write_text(render(by_team.rows, "csv"))
    ctx.console.print(f"[green]✓[/] {path}")
