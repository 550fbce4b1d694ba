"""`kubetally storage`: database and table sizes, growth, when each volume fills, and what storage costs."""

from kubetally.app.storage import StorageRequest, storage
from kubetally.cligen import Command

COMMAND = Command("storage", StorageRequest, storage, spinner="reading the sizes...")
