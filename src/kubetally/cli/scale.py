"""`kubetally scale`: HPA what-if and off-hours plans (docs/scale.md)."""

from kubetally.app.scale import ScaleRequest, scale
from kubetally.cligen import Command

COMMAND = Command("scale", ScaleRequest, scale, spinner="replaying demand through the HPA controller...")
