"""A node's bounded inbox: the backpressure point between two nodes.

A plain deque plus at most one waiting consumer (the node's worker) and a FIFO of waiting
producers. It is cheaper than asyncio.Queue on the per-message path and lets the engine put a
message past capacity when blocking would deadlock (a send that closes a cycle).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Inbox:
    __slots__ = ("capacity", "_items", "_getter", "_putters", "_loop", "dropped", "drop_oldest", "_reserved",
                 "_forward", "_retired")

    def __init__(self, capacity: int, drop_oldest: bool = False):
        if capacity < 1:
            raise ValueError("inbox capacity must be >= 1")
        self.capacity = capacity
        self.drop_oldest = drop_oldest  # sources that cannot wait (camera): newest wins
        self._items: deque = deque()
        self._getter: asyncio.Future | None = None
        self._putters: deque[asyncio.Future] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0
        self._reserved = 0  # slots handed to woken producers that have not appended yet
        self._forward: Inbox | None = None  # set when the node was replaced by a partial deploy
        self._retired = False

    def __len__(self) -> int:
        return len(self._items)

    def has_space(self) -> bool:
        """True when a producer may append now without overtaking waiting producers."""
        return not self._putters and len(self._items) + self._reserved < self.capacity

    def put_nowait(self, item: Any) -> None:
        """Append regardless of capacity (cycle sends, timers); the caller decides when."""
        if self._retired:
            if self._forward is not None:
                self._forward.put_nowait(item)
            else:
                self.dropped += 1
            return
        items = self._items
        if self.drop_oldest and len(items) >= self.capacity:
            items.popleft()
            self.dropped += 1
        items.append(item)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    async def put(self, item: Any) -> None:
        """Append, waiting while the inbox is full (backpressure). Waiting producers are served
        in order: a woken producer gets the slot that woke it."""
        if self.drop_oldest or self.has_space():
            self.put_nowait(item)
            return
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        fut = loop.create_future()
        self._putters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._reserved -= 1  # woken, then cancelled: pass the slot on
                self._wake_putter()
            elif fut in self._putters:
                self._putters.remove(fut)
            raise
        self._reserved -= 1
        self.put_nowait(item)

    def _wake_putter(self) -> None:
        while self._putters and len(self._items) + self._reserved < self.capacity:
            fut = self._putters.popleft()
            if not fut.done():
                self._reserved += 1
                fut.set_result(None)

    def pop(self) -> Any:
        item = self._items.popleft()
        if self._putters:
            self._wake_putter()
        return item

    def retire(self, successor: Inbox | None) -> None:
        """The node was replaced (or removed) by a deploy: hand queued messages to its successor,
        and let producers still waiting here deliver there (or drop, with no successor)."""
        self._retired = True
        self._forward = successor
        while self._items:
            item = self._items.popleft()
            if successor is not None:
                successor.put_nowait(item)
            else:
                self.dropped += 1
        while self._putters:
            fut = self._putters.popleft()
            if not fut.done():
                self._reserved += 1
                fut.set_result(None)

    async def wait(self) -> None:
        """Wait until there is at least one item (only the node's worker calls this)."""
        if self._items:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        fut = loop.create_future()
        self._getter = fut
        try:
            await fut
        finally:
            if self._getter is fut:
                self._getter = None

    def clear(self) -> int:
        n = len(self._items)
        self._items.clear()
        self._wake_putter()
        return n
