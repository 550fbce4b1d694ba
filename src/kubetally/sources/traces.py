"""Public production usage traces (Bitbrains GWA-T-12, Google cluster-data 2011) as replay frames.

Each VM or job is one workload container: namespace = the trace name, owner = ``vm-001`` /
``job-<id>``, one pod. The frame has the backtest's replay schema
(``kubetally.analysis.backtest.REPLAY_SCHEMA``): usage plus the operator's own size at every sample.

Defects handled (see the traces' README): duplicate (entity, timestamp) rows keep the first; rows
with a provisioned size of 0 (VM off) are dropped; memory usage 0 is missing (null), not zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from kubetally.errors import SourceError
from kubetally.model import columns as c

KIB = 1024

BITBRAINS_COLUMNS = {
    "vm_id": pl.Int64,
    "month": pl.String,
    "timestamp_s": pl.Int64,
    "cpu_cores": pl.Float64,
    "cpu_capacity_mhz": pl.Float64,
    "cpu_usage_mhz": pl.Float64,
    "cpu_usage_pct": pl.Float64,
    "mem_capacity_kb": pl.Float64,
    "mem_usage_kb": pl.Float64,
}
GOOGLE_COLUMNS = {
    "job_id": pl.Int64,
    "day": pl.Int64,
    "slot": pl.Int64,
    "timestamp_s": pl.Int64,
    "cpu_pct": pl.Float64,
    "mem_pct": pl.Float64,
}

TRACE_STEP_SECONDS = 300


def _check(path: Path, expected: Mapping[str, pl.DataType | type[pl.DataType]]) -> pl.LazyFrame:
    if not path.is_file():
        raise SourceError(f"{path}: no such trace file")
    try:
        lazy = pl.scan_csv(path, schema_overrides=dict(expected))
        names = lazy.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"{path}: unreadable CSV: {exc}") from None
    missing = [n for n in expected if n not in names]
    if missing:
        raise SourceError(f"{path}: not a known trace file, lacks column(s) {', '.join(missing)}")
    return lazy


def _identity(namespace: str, owner: pl.Expr) -> list[pl.Expr]:
    return [
        pl.lit(namespace).alias(c.CLUSTER),
        pl.lit(namespace).alias(c.NAMESPACE),
        pl.lit("Deployment").alias(c.OWNER_KIND),
        owner.alias(c.OWNER_NAME),
        pl.lit("main").alias(c.CONTAINER),
        owner.alias(c.POD),
    ]


def bitbrains_replay(path: Path) -> pl.DataFrame:
    """The Bitbrains Rnd file: CPU cores used = MHz used / (MHz provisioned / vCPUs); memory KB x 1024.

    The operator's size (vCPUs, memory capacity) is both request and limit, as for a VM.
    """
    return _bitbrains(_check(path, BITBRAINS_COLUMNS)).sort(c.OWNER_NAME, c.TIMESTAMP).collect()


def _bitbrains(lazy: pl.LazyFrame) -> pl.LazyFrame:
    owner = pl.format("vm-{}", pl.col("vm_id").cast(pl.String).str.pad_start(3, "0"))
    return (
        lazy.filter((pl.col("cpu_cores") > 0) & (pl.col("cpu_capacity_mhz") > 0) & (pl.col("mem_capacity_kb") > 0))
        .unique(["vm_id", "timestamp_s"], keep="first", maintain_order=True)
        .select(
            *_identity("bitbrains", owner),
            pl.from_epoch("timestamp_s", time_unit="s")
            .dt.cast_time_unit("us")
            .dt.replace_time_zone("UTC")
            .alias(c.TIMESTAMP),
            (pl.col("cpu_usage_mhz") / (pl.col("cpu_capacity_mhz") / pl.col("cpu_cores"))).alias(c.CPU_USAGE_CORES),
            pl.when(pl.col("mem_usage_kb") > 0).then(pl.col("mem_usage_kb") * KIB).alias(c.MEMORY_WORKING_SET_BYTES),
            pl.col("cpu_cores").alias(c.CPU_REQUEST_CORES),
            pl.col("cpu_cores").alias(c.CPU_LIMIT_CORES),
            (pl.col("mem_capacity_kb") * KIB).cast(pl.Int64).alias(c.MEMORY_REQUEST_BYTES),
            (pl.col("mem_capacity_kb") * KIB).cast(pl.Int64).alias(c.MEMORY_LIMIT_BYTES),
        )
    )


def google_replay(
    path: Path, *, machine_cores: float = 1.0, machine_memory_bytes: int = 2**30, headroom: float = 0.0
) -> pl.DataFrame:
    """The Google 2011 job file: usage in % of one normalised machine, scaled to
    ``machine_cores`` / ``machine_memory_bytes``.

    The trace carries no requests, so the "operator's size" is the job's own peak over the
    whole trace x (1 + ``headroom``): a hindsight (oracle) size that never OOMs and has no slack at
    the peak — the most frugal *static* size possible, not a real operator's choice.
    """
    return (
        _google(_check(path, GOOGLE_COLUMNS), machine_cores, machine_memory_bytes, headroom)
        .sort(c.OWNER_NAME, c.TIMESTAMP)
        .collect()
    )


def _google(lazy: pl.LazyFrame, machine_cores: float, machine_memory_bytes: int, headroom: float) -> pl.LazyFrame:
    owner = pl.format("job-{}", pl.col("job_id").cast(pl.String))
    base = lazy.unique(["job_id", "timestamp_s"], keep="first", maintain_order=True).select(
        *_identity("google2011", owner),
        (pl.datetime(2011, 5, 1, time_zone="UTC") + pl.duration(seconds=pl.col("timestamp_s"))).alias(c.TIMESTAMP),
        (pl.col("cpu_pct") / 100 * machine_cores).alias(c.CPU_USAGE_CORES),
        pl.when(pl.col("mem_pct") > 0)
        .then(pl.col("mem_pct") / 100 * machine_memory_bytes)
        .alias(c.MEMORY_WORKING_SET_BYTES),
    )
    # each job's peaks over the whole trace, by a grouped pass joined back (streams, unlike a window)
    peaks = base.group_by(c.OWNER_NAME).agg(
        (pl.col(c.CPU_USAGE_CORES).max() * (1 + headroom)).alias(c.CPU_REQUEST_CORES),
        (pl.col(c.MEMORY_WORKING_SET_BYTES).max() * (1 + headroom)).ceil().cast(pl.Int64).alias(c.MEMORY_REQUEST_BYTES),
    )
    return base.join(peaks, on=c.OWNER_NAME, how="left").with_columns(
        pl.col(c.CPU_REQUEST_CORES).alias(c.CPU_LIMIT_CORES),
        pl.col(c.MEMORY_REQUEST_BYTES).alias(c.MEMORY_LIMIT_BYTES),
    )


def load_trace(path: Path) -> pl.DataFrame:
    """A trace file as a replay frame, recognised by its header (Bitbrains or Google 2011), in memory."""
    return _replay(path).sort(c.OWNER_NAME, c.TIMESTAMP).collect()


def scan_trace(path: Path, directory: Path) -> pl.LazyFrame:
    """:func:`load_trace` without holding the trace: the replay frame is written, streaming, to a Parquet
    file in ``directory`` (the caller's to delete) and scanned lazily, so a backtest reads only the
    entities of its batch (same rows, not sorted)."""
    target = directory / f"{path.name}.replay.parquet"
    try:
        _replay(path).sink_parquet(target, engine="streaming")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"{path}: unreadable CSV: {str(exc).splitlines()[0]}") from None
    return pl.scan_parquet(target)


def _replay(path: Path) -> pl.LazyFrame:
    if not path.is_file():
        raise SourceError(f"{path}: no such trace file")
    try:
        names = pl.scan_csv(path).collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"{path}: unreadable CSV: {exc}") from None
    if "vm_id" in names:
        return _bitbrains(_check(path, BITBRAINS_COLUMNS))
    if "job_id" in names:
        return _google(_check(path, GOOGLE_COLUMNS), 1.0, 2**30, 0.0)
    raise SourceError(f"{path}: unknown trace format (expected the Bitbrains or Google 2011 columns)")
