"""`kubetally export focus`: daily allocation rows in the FinOps FOCUS 1.2 format (docs/export.md)."""

from kubetally.app.export import FocusRequest, export_focus
from kubetally.cligen import Command

COMMANDS = (Command("focus", FocusRequest, export_focus, group="export", spinner="reading the cluster..."),)
