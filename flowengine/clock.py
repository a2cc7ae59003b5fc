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
