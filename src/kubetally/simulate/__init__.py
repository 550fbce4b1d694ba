"""The AuditFlow simulator: a seeded, deterministic k3s Raspberry Pi cluster as ground truth.

``simulate(ScenarioConfig())`` returns the Dataset directly; the planted problems
and the findings they must produce are in :mod:`kubetally.simulate.answer_key`.
"""

from kubetally.simulate.config import ScenarioConfig
from kubetally.simulate.engine import simulate

__all__ = ["ScenarioConfig", "simulate"]
