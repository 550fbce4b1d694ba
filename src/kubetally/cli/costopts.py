"""Options and loading shared by the cost commands (showback, nodes, export focus)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from kubetally.analysis.allocation.settings import AllocationSettings, allocation_settings_from_text
from kubetally.data import demo_text
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model.owners import Owners, parse_owners_text
from kubetally.model.price_catalog import CLOUD_CATALOG
from kubetally.model.pricing import PriceBook, cloud_what_if, default_price_book, parse_price_text

PricesOpt = Annotated[
    Path | None,
    typer.Option(
        "--prices", help="Price file (YAML, see docs/cost-model.md); default: built-in Pi profiles + unit prices."
    ),
]
CloudOpt = Annotated[
    str | None,
    typer.Option(
        "--cloud",
        help="What-if: price every node as this built-in cloud instance type (e.g. aws/t4g.large, gcp/e2-standard-2).",
    ),
]
OwnersOpt = Annotated[
    Path | None,
    typer.Option("--owners", help="Owners file (YAML): team/owner/criticality where labels are missing."),
]
AllocationOpt = Annotated[
    Path | None,
    typer.Option("--allocation", help="Allocation settings (YAML): idle mode, shared services, overheads."),
]
WindowOpt = Annotated[
    str | None,
    typer.Option("--window", "-w", help="Only the last N days/hours/weeks of the dataset, e.g. 7d, 12h, 2w."),
]

_UNITS = {"h": 1, "d": 24, "w": 24 * 7}


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def load_prices(path: Path | None, cloud: str | None = None) -> PriceBook:
    book = default_price_book() if path is None else parse_price_text(_read(path, "price file"), where=str(path))
    if cloud is None:
        return book
    if cloud not in CLOUD_CATALOG:
        raise ConfigError(f"--cloud {cloud!r}: not in the built-in catalog ({', '.join(sorted(CLOUD_CATALOG))})")
    return cloud_what_if(book, cloud)


def load_owners(path: Path | None, *, demo: bool, dataset: Dataset | None = None) -> Owners | None:
    """``--owners FILE``, else the owners file recorded with the dataset, else the demo's (``--demo``)."""
    if path is not None:
        return parse_owners_text(_read(path, "owners file"), where=str(path))
    recorded = dataset.info.input_text("owners") if dataset is not None else None
    if recorded is not None:
        return parse_owners_text(recorded, where="the owners file recorded with the dataset")
    return parse_owners_text(demo_text("owners.yaml"), where="AuditFlow owners") if demo else None


def load_allocation(path: Path | None, *, demo: bool, dataset: Dataset | None = None) -> AllocationSettings:
    """``--allocation FILE``, else the settings recorded with the dataset, else the demo's, else defaults."""
    if path is not None:
        return allocation_settings_from_text(_read(path, "allocation settings"), where=str(path))
    recorded = dataset.info.input_text("allocation") if dataset is not None else None
    if recorded is not None:
        return allocation_settings_from_text(recorded, where="the allocation settings recorded with the dataset")
    if demo:
        return allocation_settings_from_text(demo_text("allocation.yaml"), where="AuditFlow allocation settings")
    return AllocationSettings()


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hdw])\s*", text)
    if match is None:
        raise ConfigError(f"--window {text!r}: write a number and h, d or w (e.g. 30d)")
    span = timedelta(hours=float(match[1]) * _UNITS[match[2]])
    if span <= timedelta(0):
        raise ConfigError(f"--window {text!r}: must be longer than zero (e.g. 30d)")
    return span


def windowed(ds: Dataset, window: str | None) -> tuple[Dataset, str | None]:
    """The dataset cut to its last ``window``; a note when the dataset is shorter."""
    if window is None:
        return ds, None
    span = parse_window(window)
    if span >= ds.info.window:
        days = ds.info.window.total_seconds() / 86400
        return ds, f"--window {window} is longer than the dataset ({days:g} days): using all of it"
    step = timedelta(seconds=ds.info.step_seconds)
    if span < step:
        raise ConfigError(f"--window {window}: shorter than one step of the dataset ({ds.info.step_seconds} s)")
    start = ds.info.end - span
    start = ds.info.start + ((start - ds.info.start) // step) * step
    return ds.with_info(start=start), None
