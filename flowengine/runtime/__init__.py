"""The runtime: builds a running graph from a flow document and delivers messages."""

from .engine import Engine

__all__ = ["Engine"]
