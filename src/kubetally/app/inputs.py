"""Config files and the time window, declared once for every use case that needs them.

Loading happens here, once: an explicit file wins; else the file recorded with the dataset
(the demo records its owners and allocation settings); else the built-in default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator

from kubetally.analysis.allocation.settings import AllocationSettings, allocation_settings_from_text
from kubetally.app.base import Request, cli
from kubetally.app.source import Opened
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError, KubetallyError
from kubetally.model.duration import Span, format_duration
from kubetally.model.owners import Owners, parse_owners_text
from kubetally.model.price_catalog import CLOUD_CATALOG
from kubetally.model.pricing import PriceBook, cloud_what_if, default_price_book, parse_price_text
from kubetally.model.retention import RetentionPolicy, parse_policy_text


class PricesRequest(Request):
    """The price file (every command that puts money on something)."""

    prices: Path | None = Field(
        None,
        description="Price file (YAML, see docs/cost-model.md); default: built-in Pi profiles + unit prices.",
        json_schema_extra=cli(metavar="FILE"),
    )


class CloudRequest(Request):
    cloud: str | None = Field(
        None,
        description="What-if: price every node as this built-in cloud instance type "
        "(e.g. aws/t4g.large, gcp/e2-standard-2).",
        json_schema_extra=cli(metavar="TYPE"),
    )

    @field_validator("cloud")
    @classmethod
    def _known_cloud(cls, value: str | None) -> str | None:
        if value is not None and value not in CLOUD_CATALOG:
            raise ValueError(f"not in the built-in catalog ({', '.join(sorted(CLOUD_CATALOG))})")
        return value


class OwnersRequest(Request):
    owners: Path | None = Field(
        None,
        description="Owners file (YAML): team/owner/criticality where labels are missing; default: the one "
        "recorded with the dataset, if any.",
        json_schema_extra=cli(metavar="FILE"),
    )


class AllocationRequest(Request):
    allocation: Path | None = Field(
        None,
        description="Allocation settings (YAML): idle mode, shared services, overheads; default: the ones "
        "recorded with the dataset, if any.",
        json_schema_extra=cli(metavar="FILE"),
    )


class WindowRequest(Request):
    window: Span | None = Field(
        None,
        description="Only the last part of the dataset, e.g. 7d, 36h, 2w, 90m (default: all of it).",
        json_schema_extra=cli(short="-w", metavar="DURATION"),
    )


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def price_book(prices: Path | None, cloud: str | None = None) -> PriceBook:
    """The price file (or the built-in prices), optionally re-priced as a cloud instance type."""
    book = default_price_book() if prices is None else parse_price_text(_read(prices, "price file"), where=str(prices))
    return book if cloud is None else cloud_what_if(book, cloud)


def owners_of(path: Path | None, opened: Opened) -> Owners | None:
    if path is not None:
        return parse_owners_text(_read(path, "owners file"), where=str(path))
    text = opened.dataset.info.input_text("owners")
    return None if text is None else parse_owners_text(text, where="owners recorded with the dataset")


def allocation_of(path: Path | None, opened: Opened) -> AllocationSettings:
    if path is not None:
        return allocation_settings_from_text(_read(path, "allocation settings"), where=str(path))
    text = opened.dataset.info.input_text("allocation")
    if text is None:
        return AllocationSettings()
    return allocation_settings_from_text(text, where="allocation settings recorded with the dataset")


def policy_of(path: Path, tables: tuple[str, ...] = ()) -> RetentionPolicy:
    """The retention policy file, validated; ``tables`` (``--table``) narrows it to the named rules."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--policy {path}: {exc.strerror}") from None
    policy = parse_policy_text(text, where=str(path))
    if not tables:
        return policy
    chosen = [rule for rule in policy.tables if rule.table in tables or rule.qualified in tables]
    unknown = [t for t in tables if not any(t in (r.table, r.qualified) for r in policy.tables)]
    if unknown:
        names = ", ".join(r.table for r in policy.tables)
        raise KubetallyError(f"--table {', '.join(unknown)}: not in {path} (it has {names})")
    return RetentionPolicy(tables=tuple(chosen))


def recorded_inputs_note(opened: Opened, **given: Path | None) -> str | None:
    """A dim line naming the config files recorded with the dataset that are used because the
    request gives none (``given``: option name -> the file given, e.g. ``owners=request.owners``)."""
    if opened.demo:
        return None
    used = [name for name, path in given.items() if path is None and opened.dataset.info.input_text(name) is not None]
    if not used:
        return None
    flags = "/".join(f"--{name}" for name in used)
    return f"[dim]note: the {' and '.join(used)} settings recorded with the dataset are used ({flags} overrides)[/]"


@dataclass(frozen=True)
class Windowed:
    dataset: Dataset
    note: str | None


def windowed(ds: Dataset, window: timedelta | None) -> Windowed:
    """``ds`` cut to its last ``window`` (aligned to its steps); a note when the dataset is shorter."""
    if window is None:
        return Windowed(ds, None)
    shown = format_duration(window.total_seconds())
    if window >= ds.info.window:
        days = ds.info.window.total_seconds() / 86400
        return Windowed(ds, f"--window {shown} is longer than the dataset ({days:g} days): using all of it")
    step = timedelta(seconds=ds.info.step_seconds)
    if window < step:
        raise ConfigError(f"--window {shown}: shorter than one step of the dataset ({ds.info.step_seconds} s)")
    start = ds.info.end - window
    start = ds.info.start + ((start - ds.info.start) // step) * step
    return Windowed(ds.with_info(start=start), None)
