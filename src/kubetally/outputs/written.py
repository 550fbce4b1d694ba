"""The result of a use case that writes a dataset (collect, simulate, record): what was written, where.

Nothing goes to stdout: the lines are messages (stderr), so ``kubetally collect ... && ...`` pipes stay clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from kubetally.outputs.registry import Rendered, Result, register


@dataclass(frozen=True, kw_only=True)
class DatasetWritten(Result):
    """A dataset directory written (or grown), with its row counts and time span."""

    path: Path | None
    """None when nothing was written (e.g. a recording stopped before its first sample)."""
    counts: dict[str, int] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    files: tuple[Path, ...] = ()
    """Other files written beside the dataset (e.g. an OpenMetrics export)."""
    kind: ClassVar[str] = "dataset"

    def data(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else str(self.path),
            "counts": dict(self.counts),
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "files": [str(f) for f in self.files],
            "notes": list(self.notes),
        }


@register("table", DatasetWritten)
def _table(_: DatasetWritten) -> Rendered:
    return ""
