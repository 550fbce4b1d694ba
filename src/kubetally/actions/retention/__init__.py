"""Retention: archive old rows to verified Parquet files, journal each batch, then delete them.

See :mod:`kubetally.actions.retention.engine` for the order of the steps and why a run killed
at any point loses and duplicates nothing.
"""

from __future__ import annotations

from kubetally.actions.retention.engine import BatchPlan, RunResult, TablePlan, plan, run

__all__ = ["BatchPlan", "RunResult", "TablePlan", "plan", "run"]
