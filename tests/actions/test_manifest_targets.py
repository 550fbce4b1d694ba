"""Targets from recommendations: manifests get the whole recommendation, live objects only the difference."""

from __future__ import annotations

import polars as pl

from kubetally.actions.manifests.targets import targets_from_recommendations
from kubetally.model import columns as c


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            c.NAMESPACE: ["monitoring"],
            c.OWNER_KIND: ["Deployment"],
            c.OWNER_NAME: ["kube-state-metrics"],
            c.CONTAINER: ["kube-state-metrics"],
            c.CURRENT_CPU_REQUEST_CORES: [0.01],
            c.RECOMMENDED_CPU_REQUEST_CORES: [0.01],  # already right where it runs
            c.CURRENT_CPU_LIMIT_CORES: [None],
            c.RECOMMENDED_CPU_LIMIT_CORES: [None],
            c.CURRENT_MEMORY_REQUEST_BYTES: [64 * 2**20],
            c.RECOMMENDED_MEMORY_REQUEST_BYTES: [39 * 2**20],
            c.CURRENT_MEMORY_LIMIT_BYTES: [128 * 2**20],
            c.RECOMMENDED_MEMORY_LIMIT_BYTES: [135 * 2**20],
        },
        schema_overrides={c.CURRENT_CPU_LIMIT_CORES: pl.Float64, c.RECOMMENDED_CPU_LIMIT_CORES: pl.Float64},
    )


def test_a_manifest_gets_the_whole_recommendation_a_live_patch_the_difference() -> None:
    [live], _ = targets_from_recommendations(frame())
    assert live.change == {("requests", "memory"): "39Mi", ("limits", "memory"): "135Mi"}
    # a manifest or chart may not hold what runs (drift, a chart's empty values): it gets all of it
    [whole], _ = targets_from_recommendations(frame(), whole=True)
    assert whole.change == {("requests", "cpu"): "10m", ("requests", "memory"): "39Mi", ("limits", "memory"): "135Mi"}
