"""`kubetally nodes`: node utilization, stranded capacity and a bin-packing estimate."""

from kubetally.app.nodes import NodesRequest, nodes
from kubetally.cligen import Command

COMMAND = Command("nodes", NodesRequest, nodes, spinner="packing the pods onto the nodes...")
