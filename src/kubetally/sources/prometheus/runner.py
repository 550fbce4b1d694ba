"""Run a plan's queries with a bounded number in flight, and turn results into frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import numpy as np
import polars as pl

from kubetally.model.schema import TIME, FrameSpec, empty
from kubetally.sources.prometheus.client import PrometheusClient, Series
from kubetally.sources.prometheus.plan import Chunk

END_OFFSET = 0.001
Instant = list[tuple[dict[str, str], float, int]]
"""(labels, value, chunk index) of every series of every chunk."""


def run_instant(
    client: PrometheusClient, texts: Mapping[str, Callable[[int], str]], chunk_list: list[Chunk]
) -> dict[str, Instant]:
    """Each text (a function of the chunk length in seconds) evaluated at every chunk's end.

    Evaluated 1 ms after the end: VictoriaMetrics' instant query misses a series whose only sample is
    exactly at the evaluation time (e.g. a pod's one kube_pod_deletion_timestamp sample).
    """
    jobs = [(name, i, chunk) for name in texts for i, chunk in enumerate(chunk_list)]
    with ThreadPoolExecutor(max_workers=client.conn.concurrency) as pool:
        futures = [
            (name, i, pool.submit(client.instant, texts[name](chunk.seconds), chunk.end + END_OFFSET))
            for name, i, chunk in jobs
        ]
        out: dict[str, Instant] = {name: [] for name in texts}
        try:
            for name, i, future in futures:
                out[name].extend((labels, value, i) for labels, value in future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # the first failure ends the run, not 69 retries
            raise
    return out


def iter_range(
    client: PrometheusClient, texts: Mapping[str, str], chunk_list: list[Chunk], step: int
) -> Iterator[dict[str, pl.DataFrame]]:
    """Every text as a range query over each chunk (evaluation at chunk.start + step .. chunk.end), one
    chunk at a time, the next chunk's queries already in flight while the caller processes the current
    one (at most two chunks held). Each response becomes a frame in the worker thread (every label a
    column, ``timestamp``, ``_v``), so the JSON objects are dropped as soon as they arrive."""

    def fetch(text: str, chunk: Chunk) -> pl.DataFrame:
        return generic_frame(client.range(text, chunk.start + step, chunk.end, step), step)

    with ThreadPoolExecutor(max_workers=client.conn.concurrency) as pool:

        def submit(chunk: Chunk) -> dict[str, Future[pl.DataFrame]]:
            return {name: pool.submit(fetch, text, chunk) for name, text in texts.items()}

        pending = submit(chunk_list[0]) if chunk_list else {}
        for i in range(len(chunk_list)):
            current = pending
            pending = submit(chunk_list[i + 1]) if i + 1 < len(chunk_list) else {}
            yield {name: future.result() for name, future in current.items()}


def generic_frame(result: list[Series], step: int) -> pl.DataFrame:
    """Every label of every series as a column ("" where absent)."""
    names = sorted({name for series in result for name in series["metric"]} - {"__name__"})
    return series_frame(result, names, "_v", step)


def series_frame(result: list[Series], labels: list[str], value: str, step: int) -> pl.DataFrame:
    """Long frame of ``labels`` + ``timestamp`` (eval time - step = start of the step) + ``value``.

    Missing labels become "" (Prometheus drops empty labels); non-finite values are dropped.
    """
    lengths = [len(series["values"]) for series in result]
    flat = list(chain.from_iterable(chain.from_iterable(series["values"] for series in result)))
    owners = pl.Series("_i", np.repeat(np.arange(len(result)), lengths), dtype=pl.Int64)
    label_table = pl.DataFrame(
        {"_i": range(len(result)), **{name: [series["metric"].get(name, "") for series in result] for name in labels}},
        schema={"_i": pl.Int64, **dict.fromkeys(labels, pl.String)},
    )
    frame = (
        label_table[owners]
        .drop("_i")
        .with_columns(
            pl.Series("_t", flat[0::2], dtype=pl.Float64),
            pl.Series(value, flat[1::2], dtype=pl.String).cast(pl.Float64, strict=False),
        )
    )
    return (
        frame.filter(pl.col(value).is_finite())
        .with_columns(((pl.col("_t") - step) * 1_000_000).round().cast(pl.Int64).cast(TIME).alias("timestamp"))
        .drop("_t")
    )


def to_time(epoch: float | None) -> datetime | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(round(epoch, 6), UTC)


class Sink:
    """Collects a frame's parts in memory, or spills each part to Parquet (bounded memory)."""

    def __init__(self, spill_dir: Path | None) -> None:
        self.spill_dir = spill_dir
        self.parts: dict[str, list[pl.DataFrame]] = {}
        self.counts: dict[str, int] = {}

    def add(self, spec: FrameSpec, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        if self.spill_dir is None:
            self.parts.setdefault(spec.name, []).append(frame)
            return
        n = self.counts.get(spec.name, 0)
        directory = self.spill_dir / spec.name
        directory.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(directory / f"part-{n:05d}.parquet", compression="zstd")
        self.counts[spec.name] = n + 1

    def has(self, spec: FrameSpec) -> bool:
        return bool(self.counts.get(spec.name) or self.parts.get(spec.name))

    def frame(self, spec: FrameSpec) -> pl.LazyFrame:
        if self.spill_dir is not None and self.counts.get(spec.name):
            return pl.scan_parquet(self.spill_dir / spec.name / "*.parquet")
        parts = self.parts.get(spec.name)
        return pl.concat(parts).lazy() if parts else empty(spec).lazy()
