"""Right-sizing recommendations (pure): strategies ``tiered`` (default, per finops_tier),
``simple`` (KRR), ``vpa`` (the documented VPA target) and ``vpa-source`` (what the VPA
recommender's code does), with evidence and people-rounding.

Use :func:`history_from_frames` then :func:`recommendations`; the result frame is
:data:`kubetally.model.recommendation.RECOMMENDATIONS`.
"""

from __future__ import annotations

from kubetally.analysis.rightsizing.base import EvidenceSettings, Strategy, StrategySettings, usage_summary
from kubetally.analysis.rightsizing.engine import recommendations, round_cpu_expr, round_memory_expr
from kubetally.analysis.rightsizing.history import KEYS, History, history_from_dataset, history_from_frames
from kubetally.analysis.rightsizing.simple import SimpleSettings, SimpleStrategy
from kubetally.analysis.rightsizing.tiered import TieredSettings, TieredStrategy, TierPolicy
from kubetally.analysis.rightsizing.vpa import VpaSettings, VpaStrategy
from kubetally.analysis.rightsizing.vpa_source import VpaSourceSettings, VpaSourceStrategy

STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (TieredStrategy(), SimpleStrategy(), VpaStrategy(), VpaSourceStrategy())
}
"""Strategy name -> strategy; the first is the default."""
DEFAULT_STRATEGY = "tiered"

__all__ = [
    "DEFAULT_STRATEGY",
    "KEYS",
    "STRATEGIES",
    "EvidenceSettings",
    "History",
    "SimpleSettings",
    "SimpleStrategy",
    "Strategy",
    "StrategySettings",
    "TierPolicy",
    "TieredSettings",
    "TieredStrategy",
    "VpaSettings",
    "VpaSourceSettings",
    "VpaSourceStrategy",
    "VpaStrategy",
    "history_from_dataset",
    "history_from_frames",
    "recommendations",
    "round_cpu_expr",
    "round_memory_expr",
    "usage_summary",
]
