"""Sample grids: gauges that hold a value over time (KSM, info series).

A *piece* is (owner key, rendered labels, value, from, to): the series has ``value``
at every grid time ``t`` with ``from <= t < to``. Grid times are
``start + j * step`` for ``j = 1..steps`` (the end of each step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from kubetally.simulate.exposition._text import SERIES, Family, Spool, T, V

NEVER = 1 << 62
"""An open end of a piece."""


@dataclass(frozen=True)
class Grid:
    start: int
    step: int
    steps: int

    @property
    def end(self) -> int:
        return self.start + self.step * self.steps

    def first_index(self, alive_from: float) -> int:
        """The first j whose step [t-step, t) ends after ``alive_from``."""
        j = int((alive_from - self.start) // self.step) + 1
        return max(j, 1)

    def last_index(self, alive_to: float | None) -> int:
        if alive_to is None:
            return self.steps
        j = -int(-(alive_to - self.start) // self.step)
        return min(j, self.steps)

    def span(self, alive_from: float, alive_to: float | None) -> tuple[int, int]:
        """(first, last) grid time of an object alive over [from, to); at least one sample in the window."""
        first, last = self.first_index(alive_from), self.last_index(alive_to)
        if first > last:
            first = last = min(max(first, 1), self.steps)
        return self.start + first * self.step, self.start + last * self.step


@dataclass
class Pieces:
    """Collects pieces for several families, keyed by an owner with a [first, last] grid span."""

    rows: dict[str, list[tuple[int, str, float, int, int]]] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)

    def add(self, family: Family, owner: int, labels: str, value: float, lo: int = 0, hi: int = NEVER) -> None:
        self.families.setdefault(family.name, family)
        self.rows.setdefault(family.name, []).append((owner, labels, float(value), lo, hi))

    def write(self, spool: Spool, grid: Grid, spans: Sequence[tuple[int, int]], order: Sequence[Family]) -> None:
        """Expand every piece over its owner's span (spans[owner] = first, last grid time)."""
        if not spans:
            return
        span_frame = pl.DataFrame(
            {"_o": list(range(len(spans))), "_a": [s[0] for s in spans], "_z": [s[1] for s in spans]},
            schema={"_o": pl.Int64, "_a": pl.Int64, "_z": pl.Int64},
        )
        for family in order:
            rows = self.rows.get(family.name)
            if not rows:
                continue
            pieces = pl.DataFrame(
                rows,
                schema={"_o": pl.Int64, SERIES: pl.String, V: pl.Float64, "_lo": pl.Int64, "_hi": pl.Int64},
                orient="row",
            ).join(span_frame, on="_o")
            lo = pl.max_horizontal("_a", "_lo")
            first = lo + (grid.step - (lo - grid.start) % grid.step) % grid.step
            last = pl.min_horizontal("_z", pl.col("_hi") - 1)
            frame = (
                pieces.with_columns(first.alias("_f"), last.alias("_l"))
                .filter(pl.col("_f") <= pl.col("_l"))
                .with_columns(pl.int_ranges("_f", pl.col("_l") + 1, grid.step).alias(T))
                .explode(T)
                .select(SERIES, T, V)
            )
            spool.write(family, frame)
        self.rows.clear()
