"""Settings of a simulation run."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_END = datetime(2026, 11, 2, tzinfo=UTC)
"""A Monday, 00:00 UTC: the default window ends here so runs are reproducible."""


class ScenarioConfig(BaseModel):
    """How big and how long the simulated AuditFlow cluster is."""

    model_config = ConfigDict(frozen=True)

    days: float = Field(14.0, gt=0, le=120, description="Length of the history window, in days.")
    step_seconds: int = Field(60, ge=10, le=3600, description="Sampling step of every time series, in seconds.")
    seed: int = Field(7, ge=0, description="Random seed; the same seed gives the same dataset, byte for byte.")
    end: datetime = Field(DEFAULT_END, description="End of the window (UTC).")
    extra_workloads: int = Field(
        0, ge=0, le=20_000, description="Synthetic tenant Deployments added beside AuditFlow (the scale knob)."
    )
    nodes: int | None = Field(
        None, ge=1, le=5_000, description="Total node count; default 4 Raspberry Pis + 1 per 12 extra workloads."
    )
    replicas: int = Field(2, ge=1, le=50, description="Maximum replicas of each synthetic workload.")

    @field_validator("end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def steps(self) -> int:
        return int(self.days * 86400) // self.step_seconds
