"""`kubetally cost-diff BASE HEAD`: what a change to the manifests does to requested resources and cost."""

from kubetally.app.costdiff import CostDiffRequest, costdiff
from kubetally.cligen import Command

COMMAND = Command("cost-diff", CostDiffRequest, costdiff, spinner="pricing both trees...")
