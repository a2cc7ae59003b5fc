"""catch, status, complete, link in/out/call, junction and comment.

catch/status/complete receive their messages from the engine (it knows the scopes); they
just pass them on. Link out -> link in wires are made by the engine at deploy.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowengine import Message, Node, NodeConfig
from flowengine.fields import JSBool, OptionalNumber


class ScopeConfig(NodeConfig):
    scope: list[str] | str | None = Field(None, description="node ids, 'group', or empty for the whole flow")


class CatchConfig(ScopeConfig):
    uncaught: JSBool = Field(False, description="only errors no other catch node handled")


class Catch(Node):
    type = "catch"
    color = "#e49191"
    icon = "alert"
    category = "common"
    inputs = 0
    Config = CatchConfig
    help = "Receives errors thrown by nodes in its scope, with msg.error set."

    async def on_message(self, msg: Message) -> None:
        await self.send(msg)


class Status(Node):
    type = "status"
    color = "#94c1d0"
    icon = "status"
    category = "common"
    Config = ScopeConfig
    help = "Receives status updates of nodes in its scope, with msg.status set."


class CompleteConfig(NodeConfig):
    scope: list[str] = Field(default_factory=list, description="nodes whose completion triggers this")
    uncaught: JSBool = False


class Complete(Node):
    type = "complete"
    color = "#c0edc0"
    icon = "check"
    category = "common"
    Config = CompleteConfig
    help = "Triggered when a node in its scope finishes handling a message."


class LinkConfig(NodeConfig):
    links: list[str] = Field(default_factory=list, description="ids of the link nodes this one connects to")
    mode: str = Field("link", description="link out: 'link' (send to link in nodes) or 'return' (to the caller)")


class LinkIn(Node):
    type = "link in"
    color = "#dddddd"
    icon = "link-in"
    category = "common"
    inputs = 0  # it receives from link out / link call nodes, never by a wire
    Config = LinkConfig
    help = "Receives from link out / link call nodes, on any flow."


class LinkOut(Node):
    type = "link out"
    color = "#dddddd"
    icon = "link-out"
    category = "common"
    outputs = 0  # it sends to link in nodes, never by a wire
    Config = LinkConfig
    help = "Sends to link in nodes (mode link) or back to the link call that sent the message (mode return)."

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        return 0

    async def on_message(self, msg: Message) -> None:
        if self.config.mode != "return":  # type: ignore[attr-defined]
            await self.send(msg)
            return
        stack = msg.get("_linkSource")
        if not isinstance(stack, list) or not stack:
            self.warn("link out (return): message did not come from a link call; dropped")
            return
        entry = stack.pop()
        caller = self.host.find_node(entry.get("node", "")) if isinstance(entry, dict) else None
        if caller is None or not isinstance(caller, LinkCall):
            self.warn("link out (return): the calling link call node no longer exists; dropped")
            return
        await caller.returned(entry.get("id"), msg)


class LinkCallConfig(NodeConfig):
    links: list[str] = Field(default_factory=list)
    linkType: str = Field("static", description="static (fixed target) or dynamic (msg.target)")
    timeout: OptionalNumber = Field(30, description="seconds to wait for the return; 0 = no limit")


class LinkCall(Node):
    type = "link call"
    color = "#dddddd"
    icon = "link-call"
    category = "common"
    Config = LinkCallConfig
    help = "Calls a link in flow and waits for a link out in return mode to answer."

    def setup(self) -> None:
        self._pending: dict[str, tuple[Message, Any]] = {}
        self._seq = 0

    async def on_message(self, msg: Message) -> None:
        cfg: LinkCallConfig = self.config  # type: ignore[assignment]
        if cfg.linkType == "dynamic":
            name = msg.get("target")
            target = self.host.find_link_in(str(name)) if isinstance(name, str) else None  # type: ignore[attr-defined]
            if target is None:
                self.error(f"target link-in node '{name}' not found", msg)
                return
        else:
            target = self.host.find_node(cfg.links[0]) if cfg.links else None
            if target is None:
                self.error("link call: no target link in node", msg)
                return
        limit = int(self.host.setting("max_buffered", 10_000) or 0)
        if limit and len(self._pending) >= limit:
            self.error(f"link call: {len(self._pending)} calls are waiting for a return; message dropped", msg)
            return
        self._seq += 1
        event_id = f"{self.id}:{self._seq}"
        stack = msg.get("_linkSource")
        if not isinstance(stack, list):
            stack = msg["_linkSource"] = []
        stack.append({"id": event_id, "node": self.id})
        timeout = cfg.timeout if cfg.timeout is not None else 30
        timer = self.clock.call_later(timeout, lambda: self._timed_out(event_id)) if timeout > 0 else None
        self._pending[event_id] = (msg, timer)
        await self._deliver(target, msg)

    def _timed_out(self, event_id: str) -> None:
        entry = self._pending.pop(event_id, None)
        if entry is not None:
            self.error("timeout", entry[0])

    async def returned(self, event_id: str | None, msg: Message) -> None:
        entry = self._pending.pop(event_id or "", None)
        if entry is None:
            return  # already timed out
        if entry[1] is not None:
            entry[1].cancel()
        if not msg.get("_linkSource"):
            msg.pop("_linkSource", None)
        await self.send(msg)

    async def stop(self) -> None:
        for _, timer in self._pending.values():
            if timer is not None:
                timer.cancel()
        self._pending.clear()


class Junction(Node):
    type = "junction"
    color = "#d9d9d9"
    icon = "junction"
    category = "common"
    help = "A wiring point that passes messages through."


class Comment(Node):
    type = "comment"
    color = "#ffffff"
    icon = "comment"
    category = "common"
    inputs = 0
    outputs = 0
    help = "A note on the canvas; does nothing."
