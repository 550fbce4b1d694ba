"""`kubetally waste`: what is idle, unused, orphaned or too chatty, with its monthly cost (docs/waste.md)."""

from __future__ import annotations

from kubetally.analysis.waste import WasteSettings, findings
from kubetally.app.waste import WasteRequest, waste
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cligen import Command
from kubetally.outputs import waste as render

COMMAND = Command("waste", WasteRequest, waste, spinner="running the waste rules...")


@demo_section(order=50, title="Waste: idle, unused, orphaned and chatty, with what it costs")
def _demo(ctx: DemoContext) -> None:
    from kubetally.model.pricing import default_price_book

    report = findings(ctx.dataset, settings=WasteSettings(), book=default_price_book())
    ctx.console.print(render.tables(report))
    target = ctx.out_dir / "waste.json"
    target.write_text(render.to_json(report))
    ctx.console.print(f"every finding with its silence command: {target}")
