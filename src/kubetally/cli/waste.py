"""`kubetally waste`: what is idle, unused, orphaned or too chatty, with its monthly cost (docs/waste.md)."""

from kubetally.app.waste import WasteRequest, waste
from kubetally.cligen import Command

COMMAND = Command("waste", WasteRequest, waste, spinner="running the waste rules...")
