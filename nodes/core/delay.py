"""delay: hold each message for a while, or limit the rate at which messages pass.

Modes (`pauseType`): `delay` (fixed), `delayv` (msg.delay), `random`, `rate` (all messages,
queued or dropped), `queue` / `timed` (newest message per topic, released on a fixed
interval), `burst` (at most N messages per window). msg.reset discards what is held,
msg.flush releases it now. A message leaves the node's custody (self.done) when it is sent,
dropped or discarded, so complete nodes fire when the delay actually emits.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig
from flowengine.clock import Interval, TimerHandle
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import is_number, js_parse_float, to_number

_DELAY_UNITS = {"milliseconds": 1, "seconds": 1000, "minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}
_RATE_UNITS = {"second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
_MODES = ("delay", "delayv", "random", "rate", "queue", "timed", "burst")


class DelayConfig(NodeConfig):
    pauseType: str = Field("delay", description="delay | delayv | random | rate | queue | timed | burst")
    timeout: Text = Field("5", description="fixed delay (also the default for delayv)")
    timeoutUnits: str = Field("seconds", description="milliseconds | seconds | minutes | hours | days")
    rate: Text = Field("1", description="messages per nbRateUnits x rateUnits")
    nbRateUnits: Text = Field("1", description="how many rateUnits the rate is counted over")
    rateUnits: str = Field("second", description="second | minute | hour | day")
    randomFirst: Text = Field("1", description="shortest random delay")
    randomLast: Text = Field("5", description="longest random delay")
    randomUnits: str = Field("seconds", description="milliseconds | seconds | minutes | hours | days")
    drop: JSBool = Field(False, description="rate: drop messages inside the interval instead of queueing")
    allowrate: JSBool = Field(False, description="msg.rate (ms) may change the rate")
    outputs: int = Field(1, description="2 = dropped/replaced messages leave on a second output")


def _config_number(value: str, field: str, required: bool) -> float:
    n = to_number(value)
    if isinstance(n, float) and math.isnan(n):
        if required:
            raise ConfigError(field, f"{value!r} is not a number")
        return 0
    return n


def _has_content(msg: Message) -> bool:
    """More than a bare _msgid (what Node-RED checks with Object.keys(msg).length > 1)."""
    return any(k != "_msgid" for k in msg)


def _topic_key(topic: Any) -> tuple:
    """Topics match with JavaScript `===`: same type and value; objects only by identity."""
    if isinstance(topic, bool):
        return ("b", topic)
    if is_number(topic):
        return ("n", float(topic))
    if isinstance(topic, str):
        return ("s", topic)
    if topic is None:
        return ("z",)
    return ("o", id(topic))


def _flush_count(flush: Any, held: int) -> int:
    """msg.flush: a number releases that many (rounded down), anything else releases all."""
    if is_number(flush) and not isinstance(flush, bool):
        if math.isnan(flush):
            return 0
        return min(math.floor(flush), held) if math.isfinite(flush) else (held if flush > 0 else 0)
    return held


class Delay(Node):
    type = "delay"
    color = "#e6e0f8"
    icon = "timer"
    category = "function"
    Config = DelayConfig
    manual_done = True
    help = ("Delays each message passing through the node, or limits the rate at which they pass. "
            "msg.reset discards held messages; msg.flush releases them now.")

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        return 2 if getattr(config, "outputs", 1) == 2 else 1

    def setup(self) -> None:
        cfg: DelayConfig = self.config  # type: ignore[assignment]
        mode = cfg.pauseType or "delay"
        if mode not in _MODES:
            raise ConfigError("pauseType", f"unknown mode {mode!r}; expected one of {', '.join(_MODES)}")
        self._mode = mode
        self._timeout_ms = _config_number(cfg.timeout, "timeout", mode in ("delay", "delayv")) \
            * _DELAY_UNITS.get(cfg.timeoutUnits, 1000)
        if mode in ("delay", "delayv") and self._timeout_ms < 0:
            raise ConfigError("timeout", "the delay cannot be negative")
        rate_based = mode in ("rate", "queue", "timed", "burst")
        rate = _config_number(cfg.rate, "rate", rate_based)
        if rate_based and rate <= 0:
            raise ConfigError("rate", "the rate must be a positive number")
        periods = to_number(cfg.nbRateUnits)
        if not (is_number(periods) and periods > 0):  # blank or 0 counts as one unit, as Node-RED does
            periods = 1
        unit = _RATE_UNITS.get(cfg.rateUnits, 1000)
        self._fixed_rate = unit / rate * periods if rate > 0 else 0.0  # ms between messages
        self._rate = self._fixed_rate
        self._burst = rate
        self._burst_window = periods * unit
        rand_units = _DELAY_UNITS.get(cfg.randomUnits, 1000)
        self._random_first = _config_number(cfg.randomFirst, "randomFirst", mode == "random") * rand_units
        self._random_last = _config_number(cfg.randomLast, "randomLast", mode == "random") * rand_units
        self._two_outputs = cfg.outputs == 2
        self._drop = cfg.drop
        self._allowrate = cfg.allowrate
        # delay / delayv / random: pending timers in arrival order
        self._pending: dict[int, tuple[Message, TimerHandle]] = {}
        self._ids = itertools.count()
        # rate: FIFO of held messages; queue / timed: newest message per topic, oldest topic first
        self._buffer: deque[Message] = deque()
        self._topics: dict[tuple, Message] = {}
        self._interval: Interval | None = None
        self._last_sent: float | None = None
        self._busy: TimerHandle | None = None
        self._inflight = 0
        self._burst_timers: deque[TimerHandle] = deque()
        self._warned_full = False

    @property
    def _max(self) -> int:
        return int(self.host.setting("max_buffered", 10_000) or 0)

    def _full(self, held: int) -> bool:
        limit = self._max
        if limit > 0 and held >= limit:
            if not self._warned_full:
                self._warned_full = True
                self.warn(f"more than {limit} messages held: dropping new messages")
            return True
        return False

    async def start(self) -> None:
        if self._mode in ("queue", "timed"):
            self._interval = Interval(self.clock, self._rate / 1000, self._topic_tick)
        elif self._mode == "burst":
            self.status(fill="green", shape="ring", text="")

    async def on_message(self, msg: Message) -> None:
        mode = self._mode
        if mode in ("delay", "delayv", "random"):
            await self._on_delay(msg)
        elif mode == "rate":
            if self._drop:
                await self._on_rate_drop(msg)
            else:
                await self._on_rate_queue(msg)
        elif mode == "burst":
            await self._on_burst(msg)
        else:
            await self._on_topic(msg)

    async def stop(self) -> None:
        for msg, handle in self._pending.values():
            handle.cancel()
            self.done(msg)
        self._pending.clear()
        if self._interval is not None:
            self._interval.cancel()
            self._interval = None
        if self._busy is not None:
            self._busy.cancel()
            self._busy = None
        for handle in self._burst_timers:
            handle.cancel()
        self._burst_timers.clear()
        for msg in [*self._buffer, *self._topics.values()]:
            self.done(msg)
        self._buffer.clear()
        self._topics.clear()
        self.status({})

    # ------------------------------------------------------------------ delay / delayv / random
    def _shows_count(self) -> bool:
        """Node-RED only reports the queue length for longer delays (random checks the fixed
        timeout, a quirk kept for fidelity); delayv always reports it."""
        if self._mode == "delay":
            return self._timeout_ms > 1000
        if self._mode == "random":
            return self._timeout_ms >= 1000
        return True

    def _wait_ms(self, msg: Message) -> float:
        if self._mode == "delay":
            return self._timeout_ms
        if self._mode == "delayv":
            wait = self._timeout_ms
            if "delay" in msg:
                d = js_parse_float(msg["delay"])
                if not math.isnan(d):
                    wait = d
            return max(wait, 0)
        return self._random_first + (self._random_last - self._random_first) * random.random()

    async def _on_delay(self, msg: Message) -> None:
        bare_flush = "flush" in msg and all(k in ("_msgid", "flush") for k in msg)
        if bare_flush:
            self.done(msg)  # a control message only: never forwarded
        elif self._full(len(self._pending)):
            self.done(msg)
        else:
            key = next(self._ids)
            handle = self.clock.call_later(self._wait_ms(msg) / 1000, lambda: self._release(key))
            self._pending[key] = (msg, handle)
        count_status = {"fill": "blue", "shape": "dot"}
        if self._mode == "delay":
            if "reset" in msg:
                self._clear_pending()
            elif "flush" in msg:
                await self._flush_pending(msg["flush"])
            elif self._shows_count():
                self.status(count_status, text=len(self._pending))
            return
        if "reset" in msg:
            self._clear_pending()
        if "flush" in msg:
            await self._flush_pending(msg["flush"])
        if self._shows_count():
            self.status(count_status, text=len(self._pending))

    def _take(self, key: int) -> Message | None:
        """Remove a pending message that is leaving now (status as Node-RED updates it)."""
        entry = self._pending.pop(key, None)
        if entry is None:
            return None
        msg, handle = entry
        handle.cancel()
        if self._mode == "delay" and self._shows_count():
            self.status(fill="blue", shape="dot", text=len(self._pending))
        elif self._mode == "delayv" and not self._pending:
            self.status({})
        return msg

    def _sent(self, msg: Message) -> None:
        if self._mode != "delay" and self._shows_count():
            self.status(fill="blue", shape="dot", text=len(self._pending))
        self.done(msg)

    def _release(self, key: int) -> None:
        msg = self._take(key)
        if msg is not None:
            self.send_nowait(msg)
            self._sent(msg)

    def _clear_pending(self) -> None:
        for msg, handle in self._pending.values():
            handle.cancel()
            self.done(msg)
        self._pending.clear()
        self.status(fill="blue", shape="ring", text=0)

    async def _flush_pending(self, flush: Any) -> None:
        for key in list(self._pending)[:max(_flush_count(flush, len(self._pending)), 0)]:
            msg = self._take(key)
            if msg is not None:
                await self.send(msg)
                self._sent(msg)
        self.status(fill="blue", shape="dot", text=len(self._pending))

    # ------------------------------------------------------------------ rate limit (all messages)
    def _msg_rate(self, msg: Message) -> float | None:
        if not self._allowrate or "rate" not in msg:
            return None
        r = js_parse_float(msg["rate"])
        return None if math.isnan(r) else r

    def _start_interval(self) -> None:
        if self._interval is not None:
            self._interval.cancel()
        self._interval = Interval(self.clock, self._rate / 1000, self._rate_tick)

    def _stop_interval(self) -> None:
        if self._interval is not None:
            self._interval.cancel()
            self._interval = None

    def _rate_tick(self) -> None:
        if not self._buffer:
            self._stop_interval()  # idle: the next message passes at once
        else:
            msg = self._buffer.popleft()
            if _has_content(msg):
                self.send_nowait(msg)
            self.done(msg)
        self._report_depth()

    def _report_depth(self) -> None:
        """Queue length as status, at most every half second (as Node-RED does)."""
        if self._busy is None:
            self._busy = self.clock.call_later(0.5, self._show_depth)

    def _show_depth(self) -> None:
        self._busy = None
        held = len(self._buffer) if self._mode == "rate" else len(self._topics)
        self.status(fill="blue", shape="dot", text=held)

    async def _on_rate_queue(self, msg: Message) -> None:
        has_flush = "flush" in msg
        flush = msg.pop("flush", None)
        has_reset = "reset" in msg
        held = False  # msg is in the buffer and will be completed when it leaves
        if _has_content(msg):
            rate = self._msg_rate(msg)
            if self._interval is not None:
                if rate is not None and rate != self._rate:
                    self._rate = rate
                    self._start_interval()
                if not self._full(len(self._buffer)):
                    if msg.get("toFront") is True:
                        self._buffer.appendleft(msg)
                    else:
                        self._buffer.append(msg)
                    held = True
                    self._report_depth()
            else:
                if rate is not None:
                    self._rate = rate
                if has_reset:
                    if has_flush:
                        self._buffer.append(msg)
                        held = True
                else:
                    await self.send(msg)
                self._report_depth()
                self._start_interval()
        if has_flush:
            count = _flush_count(flush, len(self._buffer))
            if count == 0:
                self._stop_interval()
            else:
                for _ in range(max(count, 0)):
                    out = self._buffer.popleft()
                    out.pop("flush", None)
                    out.pop("reset", None)
                    if _has_content(out):
                        await self.send(out)
                    if out is msg:
                        held = False
                    self.done(out)
                self._start_interval()
            self.status(fill="blue", shape="dot", text=len(self._buffer))
        if has_reset:
            if not has_flush:
                self._stop_interval()
                self._last_sent = None
            for out in self._buffer:
                if out is not msg:
                    self.done(out)
            self._buffer.clear()
            held = False
            self._rate = self._fixed_rate
            self.status(fill="blue", shape="ring", text=0)
        if not held:
            self.done(msg)

    async def _on_rate_drop(self, msg: Message) -> None:
        if "reset" in msg:
            if "flush" not in msg:
                self._last_sent = None
            self._rate = self._fixed_rate
            self.status(fill="blue", shape="ring", text=0)
        else:
            rate = self._msg_rate(msg)
            if rate is not None:
                self._rate = rate
            now = self.clock.monotonic()
            if self._last_sent is None or (now - self._last_sent) * 1000 > self._rate:
                self._last_sent = now
                await self.send(msg)
            elif self._two_outputs:
                await self.send([None, msg])
        self.done(msg)

    # ------------------------------------------------------------------ burst
    async def _on_burst(self, msg: Message) -> None:
        if "reset" in msg:
            for handle in self._burst_timers:
                handle.cancel()
            self._burst_timers.clear()
            self._inflight = 0
            self.status(fill="green", shape="ring", text="")
        elif self._inflight < self._burst:
            self._inflight += 1
            await self.send(msg)
            self._burst_timers.append(self.clock.call_later(self._burst_window / 1000, self._burst_expire))
        else:
            if self._two_outputs:
                await self.send([None, msg])
            self.status(fill="red", shape="dot", text="")
        self.done(msg)

    def _burst_expire(self) -> None:
        if self._burst_timers:
            self._burst_timers.popleft()
        if self._inflight == self._burst:
            self.status(fill="green", shape="ring", text="")
        self._inflight = max(self._inflight - 1, 0)

    # ------------------------------------------------------------------ per-topic queue / timed
    def _topic_tick(self) -> None:
        if self._mode == "queue":
            if self._topics:
                key = next(iter(self._topics))
                msg = self._topics.pop(key)
                self.send_nowait(msg)
                self.done(msg)
        else:
            held = list(self._topics.values())
            self._topics.clear()
            for msg in held:
                self.send_nowait(msg)
                self.done(msg)
        self._report_depth()

    def _restart_topic_interval(self) -> None:
        if self._interval is not None:
            self._interval.cancel()
        self._interval = Interval(self.clock, self._rate / 1000, self._topic_tick)

    async def _on_topic(self, msg: Message) -> None:
        rate = self._msg_rate(msg)
        if rate is not None and rate != self._rate:
            self._rate = rate
            self._restart_topic_interval()
        if "topic" not in msg:
            msg["topic"] = "_none_"  # Node-RED marks (and emits) topic-less messages this way
        key = _topic_key(msg["topic"])
        old = self._topics.get(key)
        if old is not None:  # a newer message replaces the held one, keeping its turn
            if self._two_outputs:
                await self.send([None, old])
            self.done(old)
            self._topics[key] = msg
        elif self._full(len(self._topics)):
            self.done(msg)
        else:
            self._topics[key] = msg
            self._report_depth()
        if "flush" in msg:
            for _ in range(max(_flush_count(msg["flush"], len(self._topics)), 0)):
                out = self._topics.pop(next(iter(self._topics)))
                out.pop("flush", None)
                out.pop("reset", None)
                if any(k not in ("_msgid", "topic") for k in out):
                    await self.send(out)
                self.done(out)
            self.status({})
        if "reset" in msg:
            for out in self._topics.values():
                self.done(out)
            self._topics.clear()
            if self._rate != self._fixed_rate:
                self._rate = self._fixed_rate
                self._restart_topic_interval()
            self.status(text="reset")
