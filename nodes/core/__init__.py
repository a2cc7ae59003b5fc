"""The core node pack: Node-RED's core nodes, registered through the `flowengine.nodes` entry point
like any third-party pack."""

from flowengine.registry import collect_nodes

NODES = collect_nodes(__name__)
