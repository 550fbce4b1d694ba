"""`kubetally demo`: the whole pipeline on the built-in AuditFlow cluster (docs/demo.md)."""

from kubetally.app.demo import DemoRequest, demo
from kubetally.cligen import Command

COMMAND = Command("demo", DemoRequest, demo, spinner="simulating...")
