"""Cost allocation (pure): node prices -> containers, volumes, idle, shared costs; showback reports.

``allocate`` does the step-level work; ``report`` aggregates by any keys and rounds to cents
so that every report reconciles with the cluster's total cost.
"""

from kubetally.analysis.allocation.core import Allocation, allocate
from kubetally.analysis.allocation.settings import (
    IDLE,
    OVERHEAD,
    POD_LEVEL,
    UNALLOCATED,
    UNMOUNTED,
    AllocationSettings,
    Overhead,
    Selector,
    SharedCost,
)

__all__ = [
    "IDLE",
    "OVERHEAD",
    "POD_LEVEL",
    "UNALLOCATED",
    "UNMOUNTED",
    "Allocation",
    "AllocationSettings",
    "Overhead",
    "Selector",
    "SharedCost",
    "allocate",
]
