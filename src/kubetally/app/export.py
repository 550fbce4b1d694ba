"""Export: the allocation as FinOps FOCUS 1.2 cost-and-usage rows (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from kubetally.analysis.allocation import allocate
from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.inputs import AllocationRequest, PricesRequest, WindowRequest, allocation_of, price_book, windowed
from kubetally.app.source import Opened, SourceRequest, open_source
from kubetally.app.targets import check_directory, not_a_format
from kubetally.outputs.written import DatasetWritten

FOCUS_FILES = ("focus-1.2.csv", "focus-1.2.parquet")


class FocusRequest(AllocationRequest, PricesRequest, WindowRequest, SourceRequest):
    """Write the allocation as FOCUS 1.2 cost-and-usage rows (one per day, workload and cost component: CPU,
    memory, storage, network, idle, shared, overhead) with the 1.3 Allocated* columns, as CSV and Parquet. The
    rows add up to the cluster's cost for the window, to the cent."""

    out: Path = Field(
        Path("out/focus"),
        description="Directory for focus-1.2.csv and focus-1.2.parquet.",
        json_schema_extra=cli(metavar="DIR"),
    )
    account: str = Field("", description="BillingAccountId/Name (default: the cluster name).")
    provider: str = Field("kubetally", description="ProviderName, PublisherName and InvoiceIssuerName.")
    overwrite: bool = Field(False, description="Replace the FOCUS files if OUT already has them.")

    @model_validator(mode="after")
    def _provider_and_out(self) -> FocusRequest:
        if not self.provider.strip():
            raise ValueError("--provider: FOCUS needs a ProviderName; give a non-empty name (default: kubetally)")
        not_a_format("--out", self.out)
        check_directory("--out", self.out)
        existing = [name for name in FOCUS_FILES if (self.out / name).exists()]
        if existing and not self.overwrite:
            raise ValueError(
                f"--out {self.out} already has {', '.join(existing)}: choose another directory, or --overwrite"
            )
        return self


def export_focus(
    request: FocusRequest, opened: Opened | None = None, progress: Progress = no_progress
) -> DatasetWritten:
    """Allocate the window and write its FOCUS rows to ``request.out``."""
    from kubetally.outputs.focus import focus_frame, write_focus

    opened = opened or open_source(request, progress)
    cut = windowed(opened.dataset, request.window)
    ds, book = cut.dataset, price_book(request.prices)
    progress("allocating...")
    alloc = allocate(ds, prices=book, settings=allocation_of(request.allocation, opened))
    cluster = ds.nodes["cluster"][0] if ds.nodes.height else "cluster"
    frame = focus_frame(alloc, ds.labels, billing_account=request.account or cluster, provider=request.provider)
    csv_path, parquet_path = write_focus(frame, request.out)
    line = (
        f"[green]✓[/] {frame.height} FOCUS rows, {sum(frame['BilledCost'].to_list())} {alloc.currency}: "
        f"{csv_path}, {parquet_path}"
    )
    notes = tuple(n for n in (*opened.notes, cut.note) if n)
    return DatasetWritten(
        path=request.out, counts={"rows": frame.height}, files=(csv_path, parquet_path), notes=notes, messages=(line,)
    )
