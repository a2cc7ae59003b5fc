"""range: map a numeric property linearly from one range onto another."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, to_js_string, to_number

ACTIONS = ("scale", "clamp", "roll", "drop")


class RangeConfig(NodeConfig):
    minin: Any = Field("", description="input range minimum")
    maxin: Any = Field("", description="input range maximum")
    minout: Any = Field("", description="output range minimum")
    maxout: Any = Field("", description="output range maximum")
    action: str = Field("scale", description="scale | clamp (limit to the input range) | roll (wrap) | drop")
    round: JSBool = Field(False, description="round the result to the nearest integer")
    property: Text = Field("payload", description="message property to scale")


def _div(a: float, b: float) -> float:
    """JavaScript division: x/0 is ±Infinity, 0/0 is NaN."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _rem(a: float, b: float) -> float:
    """JavaScript `%`: the sign follows the dividend; x % 0 is NaN."""
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


def _js_round(x: float) -> float:
    """Math.round: halves round towards +Infinity (-2.5 -> -2)."""
    return x if not math.isfinite(x) else float(math.floor(x + 0.5))


def _as_number(value: float) -> float | int:
    # Whole results as ints, as a JS number prints (50, not 50.0).
    return int(value) if math.isfinite(value) and value.is_integer() and abs(value) < 2**53 else value


class _Missing(Exception):
    """Reading the property went through undefined/null (Node-RED throws a TypeError)."""


class Range(Node):
    type = "range"
    color = "#e2d96e"
    icon = "range"
    category = "function"
    Config = RangeConfig
    help = "Scale a number from an input range to an output range; clamp, wrap or drop values outside."

    def setup(self) -> None:
        cfg: RangeConfig = self.config  # type: ignore[assignment]
        limits = {}
        for name in ("minin", "maxin", "minout", "maxout"):
            raw = getattr(cfg, name)
            n = to_number(raw) if isinstance(raw, (str, int, float)) and str(raw).strip() != "" else math.nan
            if math.isnan(n):
                raise ConfigError(name, f"{name} must be a number, got {raw!r}")
            limits[name] = float(n)
        self.minin, self.maxin = limits["minin"], limits["maxin"]
        self.minout, self.maxout = limits["minout"], limits["maxout"]
        if cfg.action not in ACTIONS:
            raise ConfigError("action", f"unknown action {cfg.action!r}: one of {', '.join(ACTIONS)}")
        self.action = cfg.action
        self.round = cfg.round
        self.prop = cfg.property or "payload"
        err = msgpath.validate(self.prop)
        if err:
            raise ConfigError("property", err)
        self._segments = msgpath.parse(self.prop)

    def _read(self, msg: Message) -> Any:
        """The property value: UNDEFINED when only the last step is missing (the message passes);
        stepping through undefined or null on the way is an error, as in Node-RED."""
        if any(isinstance(s, msgpath.MsgRef) for s in self._segments):
            return msgpath.get(msg, self.prop)
        value: Any = msg
        for seg in self._segments:
            if value is None or value is UNDEFINED:
                raise _Missing(f"Cannot read properties of {to_js_string(value)} (reading '{seg}')")
            value = msgpath.get_segments(value, (seg,))
        return value

    def scale(self, n: float) -> float | None:
        """The mapped value, or None when `drop` discards it."""
        lo, hi = self.minin, self.maxin
        if self.action == "drop" and (n < lo or n > hi):
            return None
        if self.action == "clamp":
            n = lo if n < lo else n
            n = hi if n > hi else n
        elif self.action == "roll":
            span = hi - lo
            n = _rem(_rem(n - lo, span) + span, span) + lo
        value = _div(n - lo, hi - lo) * (self.maxout - self.minout) + self.minout
        return _js_round(value) if self.round else value

    async def on_message(self, msg: Message) -> None:
        try:
            value = self._read(msg)
        except (_Missing, msgpath.PathError) as exc:
            self.error(str(exc), msg)
            return
        if value is UNDEFINED:  # nothing to scale: pass the message on unchanged
            await self.send(msg)
            return
        if isinstance(value, (bytes, bytearray)):
            value = to_js_string(value)
        n = to_number(value)
        if isinstance(n, float) and math.isnan(n):
            # Node-RED only logs this (no catchable error) and drops the message.
            text = f"Payload is not a number: {to_js_string(value)}"
            self.log.info("[range:%s] %s", self.name or self.id, text)
            self.host.emit_event("log", self, {"level": "info", "msg": text})
            return
        result = self.scale(float(n))
        if result is None:
            return
        msgpath.set(msg, self.prop, _as_number(result))
        await self.send(msg)
