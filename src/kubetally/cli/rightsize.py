"""`kubetally rightsize`: right-sizing recommendations per workload container, and acting on them."""

from kubetally.app.rightsize import RightsizeRequest, rightsize, settings_help
from kubetally.cligen import Command

COMMAND = Command("rightsize", RightsizeRequest, rightsize, epilog=settings_help(), spinner="recommending...")
