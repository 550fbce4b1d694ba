"""The demo's waste section: the planted items with costs, by owner, and the JSON with every silence command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from rich.console import Console

from kubetally.app.demo import context, step
from kubetally.outputs.registry import render
from kubetally.simulate import ScenarioConfig, simulate


def test_demo_waste_section_lists_the_planted_items(tmp_path: Path) -> None:
    result = step("waste").run(context(simulate(ScenarioConfig()), tmp_path))
    buffer = StringIO()
    console = Console(file=buffer, width=200)
    for item in render(result, "table"):
        console.print(item)
    out = buffer.getvalue()
    for planted in ("report-exporter", "audit-log-analysis-dev", "smtp-credentials-2023", "audit-search",
                    "pvc-old-reports", "data-postgresql-0"):  # fmt: skip
        assert planted in out
    assert "owner analytics:" in out and "USD a month" in out and "score (100 = nothing found)" in out
    doc = json.loads((tmp_path / "waste.json").read_text())
    assert len(doc["findings"]) == 11 and all(f["silence"] for f in doc["findings"])
