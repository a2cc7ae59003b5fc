"""inject: send a message once, on an interval, or on a cron schedule."""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.cron import CronError, compile_cron, next_fire
from flowengine.fields import JSBool, OptionalNumber, Text
from flowengine.jsvalue import UNDEFINED
from flowengine.typed import TypedValue


class InjectConfig(NodeConfig):
    props: list[dict] | None = Field(None, description="[{p, v, vt}]: properties to set on the message")
    payload: Any = ""
    payloadType: str = "date"
    topic: Text = ""
    repeat: OptionalNumber = Field(None, ge=0, description="seconds between messages; blank = no repeat")
    crontab: Text = Field("", description="cron expression (5 or 6 fields)")
    once: JSBool = Field(False, description="send once after start")
    onceDelay: OptionalNumber = Field(0.1, ge=0, description="seconds after start for the first message")


class Inject(Node):
    type = "inject"
    color = "#a6bbcf"
    icon = "inject"
    category = "common"
    inputs = 0
    Config = InjectConfig
    help = "Injects a message into the flow: manually, at start, on an interval or a cron schedule."

    def setup(self) -> None:
        cfg: InjectConfig = self.config  # type: ignore[assignment]
        props = cfg.props
        if props is None:  # Node-RED < 1.1 shape
            props = [{"p": "payload"}, {"p": "topic", "vt": "str"}]
        self._props: list[tuple[str, TypedValue]] = []
        for i, prop in enumerate(props):
            p = prop.get("p")
            if not isinstance(p, str) or not p:
                raise ConfigError(f"props[{i}].p", "property name missing")
            if msgpath.validate(p):
                raise ConfigError(f"props[{i}].p", msgpath.validate(p) or "")
            if p == "payload" and "v" not in prop:
                value, vtype = cfg.payload, cfg.payloadType
            elif p == "topic" and "v" not in prop:
                value, vtype = cfg.topic, "str"
            else:
                value, vtype = prop.get("v", ""), prop.get("vt", "str")
            self._props.append((p, TypedValue(value, vtype, f"props[{i}].v")))
        self._cron = None
        if cfg.crontab.strip():
            try:
                self._cron = compile_cron(cfg.crontab.strip())
            except CronError as exc:
                raise ConfigError("crontab", str(exc)) from exc
        if cfg.repeat is not None and cfg.repeat > 2_147_483:
            raise ConfigError("repeat", "repeat interval is longer than ~24.8 days")
        self._timer: Any = None
        self._once_timer: Any = None
        self._outbox: deque[Message] = deque()
        self._sender: Any = None
        self._dropped = 0
        self._max_queued = max(1, int(self.host.setting("max_buffered", 10_000))) if self.host else 10_000

    async def start(self) -> None:
        cfg: InjectConfig = self.config  # type: ignore[assignment]
        if cfg.once:
            self._once_timer = self.clock.call_later(cfg.onceDelay or 0.1, self._fire_once)
        elif cfg.repeat:
            self._schedule_repeat()
        if self._cron is not None:
            self._schedule_cron()

    def _fire_once(self) -> None:
        self._fire()
        if self.config.repeat:  # type: ignore[attr-defined]
            self._schedule_repeat()

    def _schedule_repeat(self) -> None:
        def tick() -> None:
            self._schedule_repeat()
            self._fire()
        self._timer = self.clock.call_later(self.config.repeat, tick)  # type: ignore[attr-defined]

    def _schedule_cron(self, after: float | None = None) -> None:
        now = self.clock.time()
        # After a firing, look past the slot just fired: the timer may run a little early on
        # the wall clock, and the same slot must not fire twice.
        when = next_fire(self._cron, max(now, after or now))
        if when is None:
            return

        def tick() -> None:
            self._fire()
            self._schedule_cron(after=when)
        self._cron_timer = self.clock.call_later(when - now, tick)

    def build_message(self, overrides: list[dict] | None = None) -> Message:
        msg: Message = {}
        props = self._props
        if overrides:
            props = [(o["p"], TypedValue(o.get("v", ""), o.get("vt", "str"), "props")) for o in overrides]
        for p, tv in props:
            value = tv.evaluate(self, msg)
            if value is not UNDEFINED:
                msgpath.set(msg, p, value)
        return msg

    def _fire(self) -> None:
        try:
            msg = self.build_message()
        except Exception as exc:
            self.error(exc)
            return
        # One sender task drains a bounded queue: ticks keep their order while the flow
        # downstream is slow, and a flow stuck for hours cannot pile up tasks.
        if len(self._outbox) >= self._max_queued:
            self._outbox.popleft()
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                self.warn(f"the flow is not keeping up with this inject: {self._dropped} messages dropped")
        self._outbox.append(msg)
        if self._sender is None or self._sender.done():
            self._sender = self.spawn(self._drain())

    async def _drain(self) -> None:
        while self._outbox:
            await self.send(self._outbox.popleft())

    async def trigger(self, overrides: list[dict] | None = None) -> None:
        """Fire now (the editor's button, POST /inject/:id)."""
        await self.send(self.build_message(overrides))

    async def stop(self) -> None:
        for t in (self._timer, self._once_timer, getattr(self, "_cron_timer", None)):
            if t is not None:
                t.cancel()
