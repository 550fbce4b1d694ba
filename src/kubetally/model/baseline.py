"""A baseline: the summary of a period that a later window is compared with (kubetally.outputs.baseline).

Its record lives here, below the history store that saves it and the outputs that build and
compare it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from kubetally.model import columns as c

WORKLOAD = (c.CLUSTER, c.NAMESPACE, c.CONTROLLER_KIND, c.CONTROLLER)
FINDING = ("rule", "kind", c.NAMESPACE, "name")
WORKLOAD_SCHEMA = pl.Schema(
    {
        c.CLUSTER: pl.String(),
        c.NAMESPACE: pl.String(),
        c.CONTROLLER_KIND: pl.String(),
        c.CONTROLLER: pl.String(),
        "team": pl.String(),
        "monthly_cost": pl.Float64(),
        "cpu_request_cores": pl.Float64(),
        "memory_request_bytes": pl.Float64(),
        "cpu_p95_cores": pl.Float64(),
        "memory_peak_bytes": pl.Float64(),
        "cpu_efficiency": pl.Float64(),
        "memory_efficiency": pl.Float64(),
    }
)
FINDING_SCHEMA = pl.Schema(
    {
        "rule": pl.String(),
        "kind": pl.String(),
        c.NAMESPACE: pl.String(),
        "name": pl.String(),
        "owner": pl.String(),
        "monthly_cost": pl.Float64(),
    }
)


@dataclass(frozen=True)
class Baseline:
    name: str
    saved_at: datetime
    window_start: datetime
    window_end: datetime
    source: str
    currency: str
    workloads: pl.DataFrame
    """:data:`WORKLOAD_SCHEMA`; the ``__idle__``/``__unmounted__`` lines are workloads too (their cost only)."""
    findings: pl.DataFrame
    """:data:`FINDING_SCHEMA`."""

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "saved_at": self.saved_at.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "source": self.source,
            "currency": self.currency,
        }
