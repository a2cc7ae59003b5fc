"""The function pack: the python-function node, registered like any third-party pack."""

from flowengine.registry import collect_nodes

NODES = collect_nodes(__name__)
