"""The demo's right-sizing section: trouble first, then the biggest saving (the answer key)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from kubetally.cli.demo import DemoContext, sections
from kubetally.simulate import ScenarioConfig, simulate


def test_demo_section_30_shows_the_planted_problems(tmp_path: Path) -> None:
    import kubetally.cli  # noqa: F401  (registers every section)

    (section,) = [s for order, _, s in sections() if order == 30]
    buffer = StringIO()
    console = Console(file=buffer, width=200)
    section(DemoContext(dataset=simulate(ScenarioConfig(days=3, step_seconds=300)), out_dir=tmp_path, console=console))
    out = buffer.getvalue()
    lines = [line for line in out.splitlines() if "auditflow/deploy/" in line]
    assert "audit-log-analysis" in lines[0] and "OOM kill" in lines[0]
    assert any("notification-service" in line and "over" in line for line in lines)
    assert (tmp_path / "rightsizing.json").is_file()
