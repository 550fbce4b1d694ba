"""`kubetally showback`: what each team, namespace, workload or label value costs."""

from kubetally.app.showback import ShowbackRequest, showback
from kubetally.cligen import Command

COMMAND = Command("showback", ShowbackRequest, showback, spinner="allocating cost...")
