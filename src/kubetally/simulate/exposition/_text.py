"""Streaming OpenMetrics text: one temp file per family, concatenated at the end.

Sources are processed in batches of pods, but OpenMetrics wants every family
contiguous. Each family's lines go to its own spool file as batches are made,
and :meth:`Spool.finish` copies the spools to the output in chunks; memory is
bounded by one batch, never by the whole text.
"""

from __future__ import annotations

import codecs
import io
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, cast

import polars as pl

from kubetally.model.promql import check_label_name, escape_label_value

FamilyType = Literal["counter", "gauge"]
Format = Literal["openmetrics", "vm-jsonl"]
"""``openmetrics``: the text exposition. ``vm-jsonl``: VictoriaMetrics ``/api/v1/import`` JSON lines, one
line per series (per batch) with arrays of values and millisecond timestamps: labels are written once."""

_LABEL_START = r'(^|",)([a-zA-Z_][a-zA-Z0-9_]*)="'
"""A label pair's start in a rendered label set: ``k="`` at the start or after ``",``."""

SERIES = "_series"
"""Column holding a rendered label set (``a="x",b="y"``)."""
T = "_t"
"""Column holding a sample's timestamp in whole seconds."""
V = "_v"
"""Column holding a sample's value."""


@dataclass(frozen=True)
class Family:
    name: str
    type: FamilyType
    help: str

    @property
    def sample_name(self) -> str:
        return f"{self.name}_total" if self.type == "counter" else self.name


def render_labels(labels: Mapping[str, str]) -> str:
    """``a="x",b="y"``; empty values are left out (Prometheus stores them as absent)."""
    return ",".join(f'{check_label_name(k)}="{escape_label_value(v)}"' for k, v in labels.items() if v)


def join_labels(*parts: str) -> str:
    return ",".join(p for p in parts if p)


@dataclass
class Stats:
    families: int = 0
    series: int = 0
    samples: int = 0
    bytes: int = 0


def _openmetrics(family: Family, data: pl.DataFrame) -> pl.DataFrame:
    """One ``name{labels} value t`` line per sample."""
    return data.select(
        pl.concat_str(
            [
                pl.lit(family.sample_name + "{"),
                pl.col(SERIES),
                pl.lit("} "),
                pl.col(V).cast(pl.Float64).cast(pl.String),
                pl.lit(" "),
                pl.col(T).cast(pl.Int64).cast(pl.String),
            ]
        ).alias("line")
    )


def _jsonl(family: Family, data: pl.DataFrame) -> pl.DataFrame:
    """One ``{"metric":{..},"values":[..],"timestamps":[..]}`` line per series of ``data`` (sorted by series, time).

    The rendered label set becomes JSON members in place: label names are checked identifiers and the
    OpenMetrics escapes of a value (backslash, double quote, newline) are JSON's own.
    """
    metric = pl.col(SERIES).str.replace_all(_LABEL_START, '${1}"${2}":"')
    return (
        data.group_by(SERIES, maintain_order=True)
        .agg(
            pl.col(V).cast(pl.Float64).cast(pl.String).str.join(",").alias("_vs"),
            (pl.col(T).cast(pl.Int64) * 1000).cast(pl.String).str.join(",").alias("_ts"),
        )
        .select(
            pl.concat_str(
                [
                    pl.lit('{"metric":{"__name__":"' + family.sample_name + '"'),
                    pl.when(pl.col(SERIES) == "").then(pl.lit("")).otherwise(pl.lit(",") + metric),
                    pl.lit('},"values":['),
                    pl.col("_vs"),
                    pl.lit('],"timestamps":['),
                    pl.col("_ts"),
                    pl.lit("]}"),
                ]
            ).alias("line")
        )
    )


class Spool:
    """Collects lines per family in temp files; :meth:`finish` writes the exposition."""

    def __init__(self, directory: Path | None = None, fmt: Format = "openmetrics") -> None:
        self._fmt = fmt
        self._tmp = tempfile.TemporaryDirectory(prefix="kubetally-om-", dir=directory)
        self._order: list[Family] = []
        self._files: dict[str, IO[bytes]] = {}
        self._series: dict[str, int] = {}
        self._samples: dict[str, int] = {}

    def _file(self, family: Family) -> IO[bytes]:
        handle = self._files.get(family.name)
        if handle is None:
            self._order.append(family)
            handle = open(Path(self._tmp.name) / f"{len(self._order):04d}.om", "wb")  # noqa: SIM115
            self._files[family.name] = handle
            self._series[family.name] = 0
            self._samples[family.name] = 0
        return handle

    def write(self, family: Family, frame: pl.DataFrame) -> None:
        """Write ``frame`` (columns SERIES, T, V); samples are sorted by series then time."""
        if frame.height == 0:
            return
        handle = self._file(family)
        data = frame.select(SERIES, T, V).sort(SERIES, T)
        lines = _jsonl(family, data) if self._fmt == "vm-jsonl" else _openmetrics(family, data)
        lines.write_csv(handle, include_header=False, quote_style="never")
        self._series[family.name] += data.get_column(SERIES).n_unique()
        self._samples[family.name] += data.height

    def write_rows(self, family: Family, rows: Iterable[tuple[str, int, float]]) -> None:
        """Write a few samples given as (labels, t, v) tuples."""
        items = list(rows)
        if items:
            self.write(
                family,
                pl.DataFrame(items, schema={SERIES: pl.String, T: pl.Int64, V: pl.Float64}, orient="row"),
            )

    def finish(self, out: IO[str] | IO[bytes]) -> Stats:
        """Write every family (``# HELP``, ``# TYPE``, samples) and ``# EOF`` to ``out``."""
        stats = Stats()
        binary = not isinstance(out, io.TextIOBase)
        headers = self._fmt == "openmetrics"
        try:
            for family in self._order:
                handle = self._files[family.name]
                handle.close()
                if headers:
                    header = f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.type}\n"
                    stats.bytes += self._emit(out, header, binary)
                with open(handle.name, "rb") as src:
                    stats.bytes += self._copy(src, out, binary)
                stats.families += 1
                stats.series += self._series[family.name]
                stats.samples += self._samples[family.name]
            if headers:
                stats.bytes += self._emit(out, "# EOF\n", binary)
        finally:
            self.close()
        return stats

    @staticmethod
    def _emit(out: IO[str] | IO[bytes], text: str, binary: bool) -> int:
        data = text.encode()
        if binary:
            cast(IO[bytes], out).write(data)
        else:
            cast(IO[str], out).write(text)
        return len(data)

    @staticmethod
    def _copy(src: IO[bytes], out: IO[str] | IO[bytes], binary: bool) -> int:
        if binary:
            before = src.seek(0, 2)
            src.seek(0)
            shutil.copyfileobj(src, out, 1 << 20)  # type: ignore[misc]
            return before
        total = 0
        decoder = codecs.getincrementaldecoder("utf-8")()
        while chunk := src.read(1 << 20):
            cast(IO[str], out).write(decoder.decode(chunk))
            total += len(chunk)
        cast(IO[str], out).write(decoder.decode(b"", final=True))
        return total

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._tmp.cleanup()
