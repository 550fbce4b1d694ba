"""`kubetally simulate`: the AuditFlow scenario as a dataset directory (docs/simulate.md)."""

from kubetally.app.simulate import SimulateRequest, simulate_dataset
from kubetally.cligen import Command

COMMAND = Command("simulate", SimulateRequest, simulate_dataset, spinner="simulating...")
