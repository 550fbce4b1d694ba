"""`kubetally export focus`: daily allocation rows in the FinOps FOCUS 1.2 format (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubetally.analysis.allocation import allocate
from kubetally.cli import legacy as app
from kubetally.cli.costopts import AllocationOpt, PricesOpt, WindowOpt, load_allocation, load_prices, windowed
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.options import DatasetOpt, DemoOpt, PrometheusOpt, open_dataset
from kubetally.errors import ConfigError

export_app = typer.Typer(help="Export cost data in standard formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _check_out(out: Path, *, overwrite: bool) -> None:
    """Refuse an --out that is a file, or that already holds FOCUS files (unless --overwrite)."""
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise ConfigError(f"--out {out}: {path} is a file, not a directory")
            break
    existing = [p.name for p in (out / "focus-1.2.csv", out / "focus-1.2.parquet") if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"--out {out} already has {', '.join(existing)}: choose another directory, or --overwrite")


@export_app.command("focus")
def focus_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    window: WindowOpt = None,
    prices: PricesOpt = None,
    allocation: AllocationOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for focus-1.2.csv and focus-1.2.parquet.")] = Path(
        "out/focus"
    ),
    account: Annotated[str, typer.Option(help="BillingAccountId/Name (default: the cluster name).")] = "",
    provider: Annotated[str, typer.Option(help="ProviderName, PublisherName and InvoiceIssuerName.")] = "kubetally",
    overwrite: Annotated[bool, typer.Option(help="Replace the FOCUS files if OUT already has them.")] = False,
) -> None:
    """Write the allocation as FOCUS 1.2 cost-and-usage rows (one per day, workload and cost component:
    CPU, memory, storage, network, idle, shared, overhead) with the 1.3 Allocated* columns, as CSV and Parquet.
    The rows add up to the cluster's cost for the window, to the cent."""
    from kubetally.outputs.focus import focus_frame, write_focus
    from kubetally.outputs.terminal import console as make_console

    if not provider.strip():
        raise ConfigError("--provider: FOCUS needs a ProviderName; give a non-empty name (default: kubetally)")
    _check_out(out, overwrite=overwrite)
    ds, note = windowed(open_dataset(demo=demo, dataset=dataset, prometheus=prometheus), window)
    alloc = allocate(ds, prices=load_prices(prices), settings=load_allocation(allocation, demo=demo, dataset=ds))
    cluster = ds.nodes["cluster"][0] if ds.nodes.height else "cluster"
    frame = focus_frame(alloc, ds.labels, billing_account=account or cluster, provider=provider)
    csv_path, parquet_path = write_focus(frame, out)
    console = make_console()
    if note:
        console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"[green]✓[/] {frame.height} FOCUS rows, {sum(frame['BilledCost'].to_list())} {alloc.currency}: "
        f"{csv_path}, {parquet_path}"
    )


@demo_section(order=22, title="Export: FOCUS 1.2 cost and usage files")
def _demo(ctx: DemoContext) -> None:
    from kubetally.outputs.focus import focus_frame, write_focus

    alloc = allocate(ctx.dataset, prices=load_prices(None), settings=load_allocation(None, demo=True))
    frame = focus_frame(alloc, ctx.dataset.labels, billing_account="auditflow-pi")
    csv_path, parquet_path = write_focus(frame, ctx.out_dir / "focus")
    ctx.console.print(f"[green]✓[/] {frame.height} FOCUS 1.2 rows: {csv_path}, {parquet_path}")
