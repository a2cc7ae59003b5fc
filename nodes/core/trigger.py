"""trigger: send one message at once, then optionally a second one after a delay.

While a trigger is running further messages are ignored, or restart the timer (`extend`).
A negative duration repeats the first message every interval until reset. `bytopic: topic`
keeps a separate trigger per value of the `topic` property. msg.reset (or a payload equal to
the `reset` setting) stops the running trigger without sending anything.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.clock import Interval, TimerHandle
from flowengine.expressions import make_renderer, parse_mustache
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, js_parse_float, to_js_string, truthy
from flowengine.message import clone_message
from flowengine.typed import TypedValue

_UNITS = {"ms": 1, "s": 1000, "min": 60_000, "hr": 3_600_000}


class TriggerConfig(NodeConfig):
    op1: Any = Field("1", description="first message payload (sent at once)")
    op1type: str = Field("str", description="str | num | bool | json | bin | date | env | flow | global | "
                                            "jsonata | pay (original payload) | nul (send nothing)")
    op2: Any = Field("0", description="second message payload (sent after the duration)")
    op2type: str = Field("str", description="as op1type, plus payl (latest message)")
    duration: Text = Field("250", description="time before the second message; negative = repeat op1")
    units: str = Field("ms", description="ms | s | min | hr")
    extend: JSBool = Field(False, description="a new message restarts the timer")
    overrideDelay: JSBool = Field(False, description="msg.delay (ms) overrides the duration")
    reset: Text = Field("", description="a payload equal to this resets the trigger")
    bytopic: str = Field("all", description="all | topic: one trigger per topic")
    topic: Text = Field("topic", description="message property holding the topic (bytopic: topic)")
    outputs: int = Field(1, description="2 = the second message leaves on output 2")


class _Op:
    """One of the two output values, compiled at deploy."""

    __slots__ = ("kind", "typed", "template", "vtype", "_renderer")

    def __init__(self, value: Any, vtype: str, field: str, default: str):
        if not truthy(value):  # Node-RED replaces an empty value with the default ("1" / "0")
            value = default
        vtype = vtype or "str"
        if vtype == "val":  # pre-1.0 flows
            vtype = "bool" if value in ("true", "false") else "null" if value == "null" else "str"
        self.vtype = vtype
        self.typed: TypedValue | None = None
        self.template: Any = None
        self._renderer: Any = None  # made on first use: only templated values pay for pystache
        if vtype in ("nul", "pay", "payl", "null"):
            self.kind = vtype
        elif vtype == "str" and "{{" in to_js_string(value):
            self.kind = "template"
            try:
                self.template = parse_mustache(to_js_string(value))
            except Exception as exc:
                raise ConfigError(field, f"invalid mustache template: {exc}") from exc
        else:
            self.kind = "typed"
            self.typed = TypedValue(value, vtype, field)

    def evaluate(self, node: Node, msg: Message) -> Any:
        if self.kind == "template":
            if self._renderer is None:
                self._renderer = make_renderer()
            return self._renderer.render(self.template, msg)
        if self.kind == "typed":
            return self.typed.evaluate(node, msg)  # type: ignore[union-attr]
        if self.kind in ("pay", "payl"):
            return clone_message(msg.get("payload", UNDEFINED))
        return None  # "null"


def _set_payload(msg: Message, value: Any) -> None:
    if value is UNDEFINED:
        msg.pop("payload", None)
    else:
        msg["payload"] = value


class _Running:
    """The state of one trigger (one topic): its timer and the second payload."""

    __slots__ = ("timer", "m2")

    def __init__(self) -> None:
        self.timer: TimerHandle | Interval | None = None  # None while running with duration 0
        self.m2: Any = UNDEFINED

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Trigger(Node):
    type = "trigger"
    color = "#e6e0f8"
    icon = "trigger"
    category = "function"
    Config = TriggerConfig
    help = ("Sends a message when triggered, then optionally a second message after a delay unless "
            "extended or reset.")

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        return 2 if getattr(config, "outputs", 1) == 2 else 1

    def setup(self) -> None:
        cfg: TriggerConfig = self.config  # type: ignore[assignment]
        self._op1 = _Op(cfg.op1, cfg.op1type, "op1", "1")
        self._op2 = _Op(cfg.op2, cfg.op2type, "op2", "0")
        duration = js_parse_float(cfg.duration)
        if math.isnan(duration):
            duration = 250
        self._loop = duration < 0
        if cfg.units not in _UNITS and cfg.units:
            raise ConfigError("units", f"unknown unit {cfg.units!r}; expected ms, s, min or hr")
        self._duration_ms = abs(duration) * _UNITS.get(cfg.units, 1)
        self._extend = cfg.extend and not self._loop
        self._override = cfg.overrideDelay
        self._reset = cfg.reset
        if cfg.bytopic not in ("all", "topic"):
            raise ConfigError("bytopic", "expected 'all' or 'topic'")
        self._bytopic = cfg.bytopic == "topic"
        self._topic_prop = cfg.topic or "topic"
        if self._bytopic:
            err = msgpath.validate(self._topic_prop)
            if err:
                raise ConfigError("topic", err)
        self._two_outputs = cfg.outputs == 2
        self._running: dict[str, _Running] = {}
        self._latest: dict[str, Message] = {}  # payl: the newest message per topic
        self._warned_full = False

    async def stop(self) -> None:
        for state in self._running.values():
            state.cancel()
        self._running.clear()
        self._latest.clear()
        self.status({})

    def _topic_of(self, msg: Message) -> str:
        if not self._bytopic:
            return "_none"
        try:
            topic = msgpath.get(msg, self._topic_prop)
        except msgpath.PathError:
            return "_none"
        return to_js_string(topic) if truthy(topic) else "_none"

    def _is_reset(self, msg: Message) -> bool:
        if "reset" in msg:
            return True
        payload = msg.get("payload", UNDEFINED)
        return self._reset != "" and payload is not None and payload is not UNDEFINED \
            and to_js_string(payload) == self._reset

    def _full(self) -> bool:
        limit = int(self.host.setting("max_buffered", 10_000) or 0)
        if limit > 0 and len(self._running) >= limit:
            if not self._warned_full:
                self._warned_full = True
                self.warn(f"more than {limit} topics triggered at once: ignoring new topics")
            return True
        return False

    async def on_message(self, msg: Message) -> None:
        key = self._topic_of(msg)
        state = self._running.get(key)
        if self._is_reset(msg):
            if state is not None:
                state.cancel()
                del self._running[key]
            self._latest.pop(key, None)
            self.status({})
            return
        if state is None and self._full():
            return
        if self._op2.kind == "payl":
            self._latest[key] = clone_message(msg)
        duration = self._duration_ms
        if self._override and "delay" in msg:
            d = js_parse_float(msg["delay"])
            if not math.isnan(d):
                duration = d
        if state is None or self._loop:
            await self._trigger(key, state, msg, duration)
        elif self._extend and duration > 0:
            if self._op2.kind == "payl":
                state.m2 = clone_message(msg.get("payload", UNDEFINED))
            state.cancel()
            state.timer = self.clock.call_later(duration / 1000, partial(self._fire_extended, key, state, msg))
        # otherwise: a trigger is running and this message is ignored

    async def _trigger(self, key: str, state: _Running | None, msg: Message, duration: float) -> None:
        op1, op2 = self._op1, self._op2
        try:
            m2 = UNDEFINED if op2.kind == "nul" else op2.evaluate(self, msg)
            if op1.kind not in ("pay", "payl", "nul"):
                _set_payload(msg, op1.evaluate(self, msg))
        except Exception as exc:
            self.error(exc, msg)
            return
        if state is None:
            state = self._running[key] = _Running()
        state.m2 = m2
        send_first = op1.kind != "nul"
        # the timer keeps its own copy: the first message may be changed downstream meanwhile
        held = clone_message(msg) if send_first else msg
        state.cancel()
        if duration == 0:
            pass  # runs until reset, never sends a second message
        elif self._loop:
            if send_first:
                state.timer = Interval(self.clock, abs(duration) / 1000,
                                       lambda: self.send_nowait(clone_message(held)))
        else:
            state.timer = self.clock.call_later(max(duration, 0) / 1000, partial(self._fire, key, state, held))
        self.status(fill="blue", shape="dot", text=" ")
        if send_first:
            await self.send(msg)

    def _second_value(self, state: _Running, msg: Message) -> bool:
        """Context values are read again when the second message is due."""
        if self._op2.kind == "typed" and self._op2.vtype in ("flow", "global"):
            try:
                state.m2 = self._op2.evaluate(self, msg)
            except Exception as exc:
                self.error(exc)
                return False
        return True

    def _emit_second(self, msg: Message) -> None:
        self.send_nowait([None, msg] if self._two_outputs else msg)

    def _fire(self, key: str, state: _Running, held: Message) -> None:
        if self._running.get(key) is not state:
            return
        del self._running[key]
        latest = self._latest.pop(key, None)
        state.timer = None
        if self._op2.kind != "nul" and self._second_value(state, held):
            if self._op2.kind == "payl" and latest is not None:
                out = latest  # the newest message received while the trigger ran, as it was
            else:
                out = held
                _set_payload(out, state.m2)
            self._emit_second(out)
        self.status({})

    def _fire_extended(self, key: str, state: _Running, msg: Message) -> None:
        if self._running.get(key) is not state:
            return
        del self._running[key]
        self._latest.pop(key, None)
        state.timer = None
        if self._op2.kind != "nul" and self._second_value(state, msg):
            out = clone_message(msg)  # the last (extending) message carries the second payload
            _set_payload(out, state.m2)
            self._emit_second(out)
        self.status({})
