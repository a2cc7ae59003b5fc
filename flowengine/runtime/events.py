"""In-process event stream: debug output, node status, deploys, logs.

Each subscriber has a bounded buffer; a slow subscriber loses its oldest events (and they are
counted) instead of slowing the engine.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any


class Subscription:
    def __init__(self, bus: EventBus, maxlen: int):
        self._bus = bus
        self._items: deque[dict] = deque()
        self._maxlen = maxlen
        self._waiter: asyncio.Future | None = None
        self.dropped = 0

    def _push(self, event: dict) -> None:
        if len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
        self._items.append(event)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def get_nowait(self) -> dict | None:
        return self._items.popleft() if self._items else None

    async def get(self, timeout: float | None = None) -> dict | None:
        """The next event; None when woken by wake() with nothing queued."""
        if not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            finally:
                self._waiter = None
        return self._items.popleft() if self._items else None

    def wake(self) -> None:
        """Make a waiting get() return now (e.g. its consumer went away)."""
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def drain(self) -> list[dict]:
        out = list(self._items)
        self._items.clear()
        return out

    def close(self) -> None:
        self._bus._subs.discard(self)


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def subscribe(self, maxlen: int = 1000) -> Subscription:
        sub = Subscription(self, maxlen)
        self._subs.add(sub)
        return sub

    def publish(self, kind: str, node_id: str | None, data: Any) -> None:
        if not self._subs:
            return
        event = {"type": kind, "ts": time.time(), "node_id": node_id, "data": data}
        for sub in tuple(self._subs):
            sub._push(event)
