"""`kubetally waste`: what is idle, unused, orphaned or too chatty, with its monthly cost (docs/waste.md)."""

from __future__ import annotations

from kubetally.app.waste import WasteRequest, waste
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cligen import Command

COMMAND = Command("waste", WasteRequest, waste, spinner="running the waste rules...")


@demo_section(order=50, title="Waste: idle, unused, orphaned and chatty, with what it costs")
def _demo(ctx: DemoContext) -> None:
    from kubetally.app.source import opened_dataset
    from kubetally.outputs import waste as render

    result = waste(WasteRequest(demo=True), opened_dataset(ctx.dataset))
    ctx.console.print(render.tables(result.report))
    target = ctx.out_dir / "waste.json"
    target.write_text(render.to_json(result.report))
    ctx.console.print(f"every finding with its silence command: {target}")
