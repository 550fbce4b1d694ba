"""`kubetally record`: sample metrics-server into a dataset directory, for clusters without Prometheus."""

from kubetally.app.record import RecordRequest, record
from kubetally.cligen import Command

COMMAND = Command("record", RecordRequest, record, spinner="recording...")
