"""Test helpers shipped with the package: a fake clock and a flow harness.

    async with FlowHarness(flow, clock=FakeClock()) as h:
        await h.inject("change1", {"payload": 1})
        msgs = await h.received("out", 1)        # "out" is a `helper` node wired in the flow
        await h.advance(5)                       # run timers 5 s ahead, instantly

A `helper` node (type "helper") collects what reaches it, like node-red-node-test-helper's.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

from .clock import TimerHandle
from .message import Message
from .node import Node
from .registry import Registry, default_registry


class _FakeTimer:
    __slots__ = ("when", "seq", "callback", "cancelled")

    def __init__(self, when: float, seq: int, callback: Callable[[], object]):
        self.when, self.seq, self.callback, self.cancelled = when, seq, callback, False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _FakeTimer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class FakeClock:
    """A clock that only moves when told: `await clock.advance(seconds)`."""

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = start
        self._mono = 1000.0
        self._timers: list[_FakeTimer] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _FakeTimer(self._mono + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, delay: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.call_later(delay, lambda: fut.done() or fut.set_result(None))
        await fut

    def set_time(self, epoch_seconds: float) -> None:
        """Jump wall time (for cron tests) without running timers."""
        self._now = epoch_seconds

    async def advance(self, seconds: float, settle: Callable[[], Any] | None = None) -> None:
        """Move time forward, running every timer that falls due, in order."""
        target = self._mono + seconds
        while self._timers and self._timers[0].when <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now += timer.when - self._mono
            self._mono = timer.when
            timer.callback()
            await _settle_loop()
            if settle is not None:
                await settle()
        self._now += target - self._mono
        self._mono = target
        await _settle_loop()

    @property
    def pending(self) -> int:
        return sum(1 for t in self._timers if not t.cancelled)


async def _settle_loop(rounds: int = 5) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


class HelperNode(Node):
    """Collects every message it receives (a test sink)."""

    type = "helper"
    outputs = 0

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()

    async def on_message(self, msg: Message) -> None:
        self.messages.append(msg)
        self._arrived.set()


class FlowHarness:
    """Run a flow in-process and talk to it."""

    def __init__(self, flow: list[dict], *, clock: Any = None, registry: Registry | None = None,
                 extra_types: list[type[Node]] | None = None, inbox_capacity: int = 64,
                 settings: dict[str, Any] | None = None, contexts: Any = None):
        from .runtime.engine import Engine

        registry = registry or default_registry()
        if registry.get("helper") is None:
            registry.register(HelperNode, "testing")
        for cls in extra_types or []:
            registry.register(cls, "testing")
        self.flow = _with_defaults(flow, registry)
        self.clock = clock
        self.engine = Engine(registry, clock=clock, inbox_capacity=inbox_capacity,
                             settings=settings, contexts=contexts)

    async def __aenter__(self) -> FlowHarness:
        await self.engine.open()
        await self.engine.deploy(self.flow)
        await _settle_loop()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.engine.close()

    def node(self, node_id: str) -> Node:
        return self.engine.nodes[node_id]

    async def inject(self, node_id: str, msg: Message) -> None:
        await self.engine.inject(node_id, msg)
        await self.settle()

    async def settle(self, timeout: float = 2.0) -> None:
        """Wait until every inbox is empty (real time, bounded)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0)
            if any(len(n._inbox) for n in self.engine.nodes.values()):
                quiet = 0
            else:
                quiet += 1
                if quiet >= 5:
                    return

    async def advance(self, seconds: float) -> None:
        if not isinstance(self.clock, FakeClock):
            raise RuntimeError("advance() needs the harness to run with a FakeClock")
        await self.clock.advance(seconds, settle=self.settle)
        await self.settle()

    def messages(self, helper_id: str) -> list[Message]:
        return self.engine.nodes[helper_id].messages  # type: ignore[attr-defined]

    async def received(self, helper_id: str, count: int, timeout: float = 2.0) -> list[Message]:
        """Wait (real time, bounded) until the helper holds `count` messages; return them all."""
        helper = self.engine.nodes[helper_id]
        deadline = time.monotonic() + timeout
        while len(helper.messages) < count:  # type: ignore[attr-defined]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"helper {helper_id!r} got {len(helper.messages)} messages, "  # type: ignore[attr-defined]
                                     f"expected {count}: {helper.messages}")  # type: ignore[attr-defined]
            helper._arrived.clear()  # type: ignore[attr-defined]
            try:
                await asyncio.wait_for(helper._arrived.wait(), remaining)  # type: ignore[attr-defined]
            except TimeoutError:
                continue
        await self.settle()
        return helper.messages  # type: ignore[attr-defined]

    def events(self, maxlen: int = 10_000) -> Any:
        return self.engine.events.subscribe(maxlen)


def _with_defaults(flow: list[dict], registry: Registry) -> list[dict]:
    """Tests may omit tabs, x/y and wires: add what Node-RED's editor would have written.
    Config node types (mqtt-broker, ...) get no x/y, as in a real export."""
    out = [dict(n) for n in flow]
    has_tab = any(n.get("type") == "tab" for n in out)
    if not has_tab:
        out.insert(0, {"id": "tab", "type": "tab", "label": "test"})
    tab_ids = {n["id"] for n in out if n.get("type") in ("tab", "subflow")}
    default_tab = next(n["id"] for n in out if n.get("type") == "tab")
    for n in out:
        cls = registry.get(n.get("type", ""))
        if n.get("type") in ("tab", "subflow", "group") or (cls is not None and cls.is_config):
            continue
        n.setdefault("z", default_tab if n.get("z") is None else n["z"])
        if n["z"] not in tab_ids:
            n["z"] = default_tab
        n.setdefault("x", 0)
        n.setdefault("y", 0)
        n.setdefault("wires", [])
    return out
