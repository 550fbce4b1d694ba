"""`kubetally janitor`: delete what has expired or is wasted, or apply the off-hours plan — dry-run by default."""

from kubetally.app.janitor import JanitorRequest, janitor
from kubetally.cligen import Command

COMMAND = Command("janitor", JanitorRequest, janitor, spinner="listing the cluster's objects...")
