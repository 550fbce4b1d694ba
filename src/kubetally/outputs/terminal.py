"""Rich tables for the terminal, with human units (cores as m, bytes as Mi/Gi)."""

from __future__ import annotations

import sys

import polars as pl
from rich.console import Console
from rich.table import Table

from kubetally.analysis import summary as s
from kubetally.model import columns as c

MI = 2**20
PIPED_WIDTH = 160
"""Width when stdout is not a terminal (CI logs, `| less`): rich would otherwise wrap at 80."""


def console(*, stderr: bool = False) -> Console:
    """A console for command output; wide enough for our tables when piped."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def cores(value: float | None, *, millicores_below: float = 1.0) -> str:
    """Cores for people: millicores below ``millicores_below`` cores (0.1234 -> '123m'), else
    cores ('2.50'); None -> '-'. Recommendations use 10, so '1000m -> 40m' reads as one unit."""
    if value is None:
        return "-"
    if value < millicores_below:
        return f"{value * 1000:.0f}m"
    return f"{value:.2f}" if millicores_below <= 1 else f"{value:.1f}"


def mebibytes(value: float | None) -> str:
    """Bytes as Mi or Gi for people; None -> '-'."""
    if value is None:
        return "-"
    return f"{value / MI:.0f}Mi" if value < 10 * 2**30 else f"{value / 2**30:.1f}Gi"


def percent(part: float | None, whole: float | None) -> str:
    if part is None or not whole:
        return "-"
    return f"{100 * part / whole:.0f}%"


def node_table(frame: pl.DataFrame) -> Table:
    table = Table(title="Nodes: allocatable / requested / used (mean)", title_justify="left")
    for header in ("node", "pods", "CPU alloc", "CPU req", "CPU used", "mem alloc", "mem req", "mem used"):
        table.add_column(header, justify="left" if header == "node" else "right", no_wrap=True)
    for row in frame.iter_rows(named=True):
        table.add_row(
            row[c.NODE],
            str(row[s.PODS]),
            cores(row[c.CPU_ALLOCATABLE_CORES]),
            f"{cores(row[s.CPU_REQUESTED])} {percent(row[s.CPU_REQUESTED], row[c.CPU_ALLOCATABLE_CORES])}",
            f"{cores(row[s.CPU_USED_MEAN])} {percent(row[s.CPU_USED_MEAN], row[c.CPU_ALLOCATABLE_CORES])}",
            mebibytes(row[c.MEMORY_ALLOCATABLE_BYTES]),
            f"{mebibytes(row[s.MEMORY_REQUESTED])} {percent(row[s.MEMORY_REQUESTED], row[c.MEMORY_ALLOCATABLE_BYTES])}",
            f"{mebibytes(row[s.MEMORY_USED_MEAN])} {percent(row[s.MEMORY_USED_MEAN], row[c.MEMORY_ALLOCATABLE_BYTES])}",
        )
    return table


KIND_SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "CronJob": "cj", "Job": "job"}


def workload_name(namespace: str, kind: str, name: str) -> str:
    """``namespace/kind/name`` with kubectl's short kind names."""
    return f"{namespace}/{KIND_SHORT.get(kind, kind.lower())}/{name}"


def workload_table(frame: pl.DataFrame, *, title: str = "Workloads: request per pod vs usage (p95 / max)") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("workload", no_wrap=True)
    table.add_column("container", no_wrap=True)
    for header in ("pods", "CPU req", "p95", "max", "mem req", "p95", "max"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in frame.iter_rows(named=True):
        table.add_row(
            workload_name(row[c.NAMESPACE], row[c.OWNER_KIND], row[c.OWNER_NAME]),
            row[c.CONTAINER],
            str(row[s.PODS]),
            cores(row[c.CPU_REQUEST_CORES]),
            cores(row[s.CPU_P95]),
            cores(row[s.CPU_MAX]),
            mebibytes(row[c.MEMORY_REQUEST_BYTES]),
            mebibytes(row[s.MEMORY_P95]),
            mebibytes(row[s.MEMORY_MAX]),
        )
    return table


def frame_table(frame: pl.DataFrame, *, title: str | None = None) -> Table:
    """Every row and column of ``frame`` as a plain table (nulls as "-"); nothing elided."""
    table = Table(title=title)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*("-" if value is None else str(value) for value in row))
    return table
