"""`kubetally collect`: read a cluster into a dataset directory (docs/collect.md)."""

from kubetally.app.collect import CollectRequest, collect
from kubetally.cligen import Command

COMMAND = Command("collect", CollectRequest, collect, spinner="collecting...")
