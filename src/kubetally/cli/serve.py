"""`kubetally serve`: /metrics, the JSON API and the web dashboard."""

from kubetally.app.serve import ServeRequest, serve
from kubetally.cligen import Command

COMMAND = Command("serve", ServeRequest, serve, spinner="computing...")
