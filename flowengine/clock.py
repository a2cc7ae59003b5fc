"""Time for nodes: everything time-based goes through a Clock so tests can fake it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch."""

    def monotonic(self) -> float:
        """Monotonic seconds, for durations."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run `callback` (in the event loop) after `delay` seconds."""

    async def sleep(self, delay: float) -> None: ...


class RealClock:
    """The clock the engine uses in production: asyncio's loop timers."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))


class Interval:
    """setInterval on a node's clock: `fn` runs every `period` seconds until cancelled."""

    __slots__ = ("_clock", "period", "_fn", "_handle", "active")

    def __init__(self, clock: Clock, period: float, fn: Callable[[], object]):
        self._clock = clock
        self.period = max(period, 0.001)  # like Node.js, a non-positive interval means 1 ms
        self._fn = fn
        self.active = True
        self._handle: TimerHandle = clock.call_later(self.period, self._tick)

    def _tick(self) -> None:
        if not self.active:
            return
        self._handle = self._clock.call_later(self.period, self._tick)
        self._fn()

    def cancel(self) -> None:
        self.active = False
        self._handle.cancel()
