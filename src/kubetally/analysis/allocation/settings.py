"""Settings of the cost allocation: how idle, shared costs and overheads are handled."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kubetally.model.config import validated, yaml_mapping

IdleMode = Literal["separate", "share", "node"]
Split = Literal["even", "weighted"]
Basis = Literal["max", "request"]

IDLE: str = "__idle__"
"""Group value of node capacity nobody was charged for (idle = separate)."""
UNMOUNTED: str = "__unmounted__"
"""Group value of storage no running pod mounted."""
UNALLOCATED: str = "__unallocated__"
"""Group value of items without the label (or owner) grouped by."""
OVERHEAD: str = "__overhead__"
"""Group value of a fixed overhead that found no consumer."""
POD_LEVEL: str = "__pod__"
"""Container value of pod-level costs (volumes, network)."""


class Selector(BaseModel):
    """Pods picked by namespace, by workload or by labels. Empty picks nothing (shared) or everything (consumers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    namespaces: tuple[str, ...] = Field((), description="Namespaces, all of whose pods match.")
    workloads: tuple[str, ...] = Field((), description="Workloads as namespace/name or namespace/Kind/name.")
    labels: dict[str, str] = Field({}, description="Pod labels that must all match (workload labels as a fallback).")

    @property
    def empty(self) -> bool:
        return not (self.namespaces or self.workloads or self.labels)


class SharedCost(BaseModel):
    """Costs of some pods (e.g. a database every team uses) split over their consumers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(description="Shown in reports.")
    select: Selector = Field(description="The shared pods.")
    consumers: Selector = Field(default_factory=Selector, description="Who pays; empty = every other pod.")
    split: Split = Field("weighted", description="even: equal per consumer workload; weighted: by their cost.")


class Overhead(BaseModel):
    """A fixed monthly cost outside the nodes (a support contract, a UPS, an internet line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    per_month: Decimal = Field(ge=0, description="Amount per month, prorated to the window with hours_per_month.")
    consumers: Selector = Field(default_factory=Selector, description="Who pays; empty = every pod.")
    split: Split = Field("weighted", description="even: equal per consumer workload; weighted: by their cost.")


class AllocationSettings(BaseModel):
    """How cost is allocated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    basis: Basis = Field(
        "max",
        description="max: charge max(request, usage) per step (OpenCost); request: charge requests only "
        "(usage for containers without a request).",
    )
    idle: IdleMode = Field(
        "separate", description="separate: an __idle__ line per node; share: over all pods by cost; node: per node."
    )
    shared: tuple[SharedCost, ...] = Field((), description="Shared services whose cost is split over consumers.")
    overheads: tuple[Overhead, ...] = Field((), description="Fixed monthly overheads.")


def allocation_settings_from_text(text: str, *, where: str = "allocation settings") -> AllocationSettings:
    """Parse a YAML allocation settings file (idle, basis, shared, overheads)."""
    data = yaml_mapping(text, where=where, shape="allocation settings are a YAML mapping")
    return validated(AllocationSettings, data, where=where)
