"""The demo's right-sizing section: trouble first, then the biggest saving (the answer key)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from kubetally.app.demo import context, step
from kubetally.outputs.registry import render
from kubetally.simulate import ScenarioConfig, simulate


def test_demo_rightsize_step_shows_the_planted_problems(tmp_path: Path) -> None:
    result = step("rightsize").run(context(simulate(ScenarioConfig(days=3, step_seconds=300)), tmp_path))
    buffer = StringIO()
    console = Console(file=buffer, width=200)
    for item in render(result, "table"):
        console.print(item)
    out = buffer.getvalue()
    lines = [line for line in out.splitlines() if "auditflow/deploy/" in line]
    assert "audit-log-analysis" in lines[0] and "OOM kill" in lines[0]
    assert any("notification-service" in line and "over" in line for line in lines)
    assert (tmp_path / "rightsizing.json").is_file()
