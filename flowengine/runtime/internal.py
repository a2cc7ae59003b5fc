"""Node types the runtime creates itself: subflow ports and inert placeholders."""

from __future__ import annotations

from ..message import Message
from ..node import Node


class SubflowIn(Node):
    """A subflow instance as seen from its parent flow: hands messages to the inner nodes."""

    type = "_subflow_in"


class SubflowOut(Node):
    """One output port of a subflow instance: hands inner messages to the parent flow."""

    type = "_subflow_out"


class InertNode(Node):
    """A node kept for round-trips that does nothing (Node-RED JavaScript `function` nodes)."""

    type = "_inert"

    async def start(self) -> None:
        self.status(fill="grey", shape="ring", text="inert: needs a Python port")

    async def on_message(self, msg: Message) -> None:
        return None
