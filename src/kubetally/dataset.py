"""The Dataset: the frames of ``kubetally.model.schema`` plus what window they cover.

Inventory frames are held in memory; time series are ``polars.LazyFrame`` so that
a 1,000-workload, 14-day, 1-minute history can be scanned from Parquet without
loading it whole. Save/load is a directory: one Parquet file per frame and
``manifest.json``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from kubetally.errors import DatasetError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.schema import FRAMES, FRAMES_BY_NAME, SCHEMA_VERSION, FrameSpec
from kubetally.model.unit_prices import node_utilization

MANIFEST = "manifest.json"
INPUTS = ("prices", "owners", "allocation", "policy")
"""Configuration files a dataset can carry (DatasetInfo.inputs)."""
FORMAT = "kubetally-dataset"
MIN_SCHEMA_VERSION = 1
"""The oldest schema :func:`load` reads; older-version frames are upgraded (see :func:`_upgraded`)."""


@dataclass(frozen=True)
class MissingFamily:
    """A metric family the source looked for and did not find, and what its absence costs."""

    family: str
    why: str
    """Why it is probably absent (exporter version, a resource not enabled, a flag not set)."""
    cost: str
    """What the analyses lose: which columns or frames are unknown because of it."""

    def to_json(self) -> dict[str, str]:
        return {"family": self.family, "why": self.why, "cost": self.cost}


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset covers and where it came from."""

    source: str
    start: datetime
    end: datetime
    step_seconds: int
    schema_version: int = SCHEMA_VERSION
    notes: tuple[str, ...] = ()
    """Degradations the source noticed (e.g. "pod labels absent: no allowlist")."""
    missing: tuple[MissingFamily, ...] = ()
    """Metric families looked for and absent (Prometheus source); empty for other sources. Optional in
    the manifest: a manifest without it reads as none missing."""
    inputs: tuple[tuple[str, str], ...] = ()
    """Configuration the dataset's figures were made with, as (name, YAML text) with name one of
    INPUTS (the demo records its owners and allocation files). A command uses them when its own
    option is not given, so a saved dataset replays the same figures. Optional in the manifest."""

    def input_text(self, name: str) -> str | None:
        """The recorded configuration file ``name`` (one of INPUTS), or None."""
        return dict(self.inputs).get(name)

    @property
    def window(self) -> timedelta:
        return self.end - self.start

    @property
    def steps(self) -> int:
        return int(self.window.total_seconds()) // self.step_seconds

    @property
    def snapshot(self) -> bool:
        """Objects at one point in time (a Kubernetes API read or a dump without history): no window,
        no usage; what is known is what runs at ``end`` and what it requests."""
        return self.start == self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "source": self.source,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_seconds": self.step_seconds,
            "notes": list(self.notes),
            "missing": [m.to_json() for m in self.missing],
            **({"inputs": dict(self.inputs)} if self.inputs else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> DatasetInfo:
        if data.get("format") != FORMAT:
            raise DatasetError(f"{where}: not a kubetally dataset manifest (format is {data.get('format')!r})")
        version = data.get("schema_version")
        if not isinstance(version, int):
            raise DatasetError(f"{where}: schema_version missing or not an integer")
        if version > SCHEMA_VERSION:
            raise DatasetError(
                f"{where}: dataset schema version {version} is newer than this kubetally supports "
                f"({SCHEMA_VERSION}); upgrade kubetally to read it"
            )
        if version < MIN_SCHEMA_VERSION:
            raise DatasetError(
                f"{where}: dataset schema version {version} is older than {MIN_SCHEMA_VERSION}; collect it again"
            )
        try:
            return cls(
                source=str(data["source"]),
                start=datetime.fromisoformat(data["start"]),
                end=datetime.fromisoformat(data["end"]),
                step_seconds=int(data["step_seconds"]),
                schema_version=version,
                notes=tuple(str(n) for n in data.get("notes", [])),
                missing=tuple(
                    MissingFamily(str(m["family"]), str(m["why"]), str(m["cost"])) for m in data.get("missing", [])
                ),
                inputs=_inputs(data.get("inputs", {}), where),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: invalid manifest field: {exc}") from None


def _inputs(data: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DatasetError(f"{where}: inputs must map a name to the text of a configuration file")
    unknown = sorted(set(data) - set(INPUTS))
    if unknown:
        raise DatasetError(f"{where}: unknown inputs {', '.join(unknown)} (known: {', '.join(INPUTS)})")
    return tuple((name, data[name]) for name in INPUTS if name in data)


def conform(frame: pl.DataFrame | pl.LazyFrame, spec: FrameSpec) -> pl.LazyFrame:
    """Check a frame has the spec's columns and cast them to the spec's types.

    Extra columns are dropped; a missing column is an error naming it.
    """
    lazy = frame.lazy()
    present = lazy.collect_schema()
    missing = [name for name in spec.names if name not in present]
    if missing:
        raise DatasetError(f"frame {spec.name!r} lacks column(s) {', '.join(missing)}")
    return lazy.select(
        [
            pl.col(col.name) if present[col.name] == col.dtype else pl.col(col.name).cast(col.dtype)
            for col in spec.columns
        ]
    )


@dataclass(frozen=True)
class Dataset:
    """All frames of one collection run. Build with :meth:`create`."""

    info: DatasetInfo
    _tables: Mapping[str, pl.DataFrame] = field(repr=False)
    _series: Mapping[str, pl.LazyFrame] = field(repr=False)

    @classmethod
    def create(cls, info: DatasetInfo, **frames: pl.DataFrame | pl.LazyFrame) -> Dataset:
        unknown = set(frames) - set(FRAMES_BY_NAME)
        if unknown:
            raise DatasetError(f"unknown frame(s): {', '.join(sorted(unknown))}")
        tables: dict[str, pl.DataFrame] = {}
        series: dict[str, pl.LazyFrame] = {}
        for spec in FRAMES:
            given = frames.get(spec.name)
            lazy = schema.empty(spec).lazy() if given is None else conform(given, spec)
            if spec.series:
                series[spec.name] = lazy
            else:
                tables[spec.name] = lazy.collect()
        return cls(info, tables, series)

    def table(self, spec: FrameSpec) -> pl.DataFrame:
        """An inventory frame (held in memory)."""
        return self._tables[spec.name]

    def series(self, spec: FrameSpec) -> pl.LazyFrame:
        """A time-series frame, lazily (collect it, or aggregate it first)."""
        return self._series[spec.name]

    def frame(self, spec: FrameSpec) -> pl.LazyFrame:
        return self._series[spec.name] if spec.series else self._tables[spec.name].lazy()

    # Shorthands for the frames analyses read most.
    @property
    def containers(self) -> pl.DataFrame:
        return self._tables[schema.CONTAINERS.name]

    @property
    def workloads(self) -> pl.DataFrame:
        return self._tables[schema.WORKLOADS.name]

    @property
    def nodes(self) -> pl.DataFrame:
        return self._tables[schema.NODES.name]

    @property
    def labels(self) -> pl.DataFrame:
        return self._tables[schema.LABELS.name]

    @property
    def usage(self) -> pl.LazyFrame:
        return self._series[schema.USAGE.name]

    @property
    def usage_hourly(self) -> pl.LazyFrame:
        """Hourly summaries of usage (:mod:`kubetally.model.hourly`); empty unless the source made them."""
        return self._series[schema.USAGE_HOURLY.name]

    @property
    def node_usage(self) -> pl.LazyFrame:
        return self._series[schema.NODE_USAGE.name]

    def node_utilization(self) -> pl.DataFrame:
        """(cluster, node, cpu_utilization_ratio): each node's mean CPU utilization over the window, which
        prices requests (:func:`kubetally.model.unit_prices.node_utilization`)."""
        window = (pl.col(c.TIMESTAMP) >= self.info.start) & (pl.col(c.TIMESTAMP) < self.info.end)
        return node_utilization(self.nodes, self.node_usage.filter(window), self.usage.filter(window), self.containers)

    def with_frames(self, **frames: pl.DataFrame | pl.LazyFrame) -> Dataset:
        """A copy with some frames replaced (validated like :meth:`create`)."""
        merged: dict[str, pl.DataFrame | pl.LazyFrame] = {**self._tables, **self._series, **frames}
        return Dataset.create(self.info, **merged)

    def with_info(self, **changes: Any) -> Dataset:
        return replace(self, info=replace(self.info, **changes))

    def collected(self, spec: FrameSpec) -> pl.DataFrame:
        """A frame collected and sorted by its key: the canonical form for comparison."""
        return self.frame(spec).sort(list(spec.key)).collect()

    def equals(self, other: Dataset) -> bool:
        """True if both hold the same info and the same rows (order-insensitive)."""
        if self.info != other.info:
            return False
        return all(self.collected(spec).equals(other.collected(spec), null_equal=True) for spec in FRAMES)

    def counts(self) -> dict[str, int]:
        """Row count of every frame."""
        return {spec.name: int(self.frame(spec).select(pl.len()).collect().item()) for spec in FRAMES}


def save(dataset: Dataset, directory: Path, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` to ``directory`` (Parquet per frame + manifest.json), atomically.

    The directory is written under a temporary name and renamed into place, so a
    failed save never leaves half a dataset behind.
    """
    directory = Path(directory)
    if directory.exists():
        if not overwrite:
            raise DatasetError(f"{directory} already exists: choose another directory, or replace it with --overwrite")
        if not (directory / MANIFEST).exists():
            raise DatasetError(f"{directory} exists and is not a kubetally dataset; refusing to replace it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for spec in FRAMES:
            target = staging / f"{spec.name}.parquet"
            if spec.series:
                dataset.series(spec).sink_parquet(target, compression="zstd")
            else:
                dataset.table(spec).write_parquet(target, compression="zstd")
        (staging / MANIFEST).write_text(json.dumps(dataset.info.to_json(), indent=2) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def replace_frames(dataset: Dataset, directory: Path) -> Path:
    """Write ``dataset`` into ``directory`` in place, frame by frame (each atomically), the manifest last.

    For a dataset directory that holds other files too (``kubetally record``'s store): unlike
    :func:`save` it never removes the directory. A reader sees each frame either before or after.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for spec in FRAMES:
        target = directory / f"{spec.name}.parquet"
        staging = directory / f".{spec.name}.parquet.tmp"
        if spec.series:
            dataset.series(spec).sink_parquet(staging, compression="zstd")
        else:
            dataset.table(spec).write_parquet(staging, compression="zstd")
        os.replace(staging, target)
    staging = directory / f".{MANIFEST}.tmp"
    staging.write_text(json.dumps(dataset.info.to_json(), indent=2) + "\n")
    os.replace(staging, directory / MANIFEST)
    return directory


def load(directory: Path) -> Dataset:
    """Read a dataset saved by :func:`save`. Series stay lazy (scanned from Parquet)."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    if directory.exists() and not directory.is_dir():
        raise DatasetError(f"{directory}: is a file, not a dataset directory")
    if not directory.is_dir():
        raise DatasetError(f"{directory}: no such dataset directory")
    if not manifest.is_file():
        raise DatasetError(f"{directory}: not a kubetally dataset (no {MANIFEST})")
    try:
        raw = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{manifest}: unreadable manifest: {exc}") from None
    if not isinstance(raw, dict):
        raise DatasetError(f"{manifest}: manifest is not a JSON object")
    info = DatasetInfo.from_json(raw, str(manifest))
    frames: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    upgraded: list[str] = []
    for spec in FRAMES:
        path = directory / f"{spec.name}.parquet"
        if not path.is_file():
            if info.schema_version < 2 and spec.name in V2_FRAMES:
                upgraded.append(f"{spec.name} (absent)")
                continue
            if info.schema_version < 3 and spec.name in V3_FRAMES:
                continue  # derived from usage: absent is empty, nothing unknown
            raise DatasetError(f"{directory}: frame file {path.name} is missing")
        try:
            lazy = pl.scan_parquet(path)
            found = lazy.collect_schema()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DatasetError(f"{path}: unreadable Parquet: {exc}") from None
        if info.schema_version < SCHEMA_VERSION:
            lazy, added = _upgraded(lazy, spec, found)
            found = lazy.collect_schema()
            upgraded += [f"{spec.name}.{name}" for name in added]
        wrong = [f"{n} ({found.get(n)} != {t})" for n, t in spec.schema.items() if found.get(n) != t]
        if wrong:
            raise DatasetError(f"{path}: columns do not match schema v{SCHEMA_VERSION}: {', '.join(wrong)}")
        frames[spec.name] = lazy
    if info.schema_version < SCHEMA_VERSION:
        note = f"dataset schema v{info.schema_version} read as v{SCHEMA_VERSION}; unknown (null or empty): " + (
            ", ".join(upgraded) or "nothing"
        )
        info = replace(info, schema_version=SCHEMA_VERSION, notes=(*info.notes, note))
    return Dataset.create(info, **frames)


V2_FRAMES = frozenset({schema.ANNOTATIONS.name, schema.LOG_SETTINGS.name})
"""Frames that schema v2 added; a v1 dataset has them empty."""
V3_FRAMES = frozenset({schema.USAGE_HOURLY.name})
"""Frames that schema v3 added (summaries of usage); an older dataset has them empty."""


def _upgraded(lazy: pl.LazyFrame, spec: FrameSpec, found: pl.Schema) -> tuple[pl.LazyFrame, list[str]]:
    """A frame of an older schema with the columns added since: null where nullable, else empty strings.

    Only columns added in later versions are filled in; a column of the wrong type is still an error.
    """
    added = [col for col in spec.columns if col.name not in found]
    if not added:
        return lazy, []
    filled = [
        pl.lit(None if col.nullable or col.dtype != pl.String() else "", col.dtype).alias(col.name) for col in added
    ]
    return lazy.with_columns(filled), [col.name for col in added]


def utc(ts: datetime) -> datetime:
    """``ts`` as an aware UTC datetime (naive values are taken as UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
