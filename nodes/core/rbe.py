"""rbe (shown as "filter"): report by exception.

`rbe` passes a message only when the property's value changed (deep compare for objects),
`rbei` the same but the first value per topic is only remembered. The band modes compare
numbers with the last sent (`inout: out`) or last received (`in`) value: `deadband` passes
when |change| > gap (`deadbandEq`: >=), `narrowband` when |change| <= gap (`narrowbandEq`:
<), with the gap fixed or a percentage of the reference. msg.reset forgets the reference
(for one topic when the message has one).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, is_number, js_parse_float, to_js_string, to_number, truthy
from flowengine.message import clone_message

_FUNCS = ("rbe", "rbei", "deadband", "deadbandEq", "narrowband", "narrowbandEq")


class RbeConfig(NodeConfig):
    func: str = Field("rbe", description="rbe | rbei | deadband | deadbandEq | narrowband | narrowbandEq")
    gap: Text = Field("", description="band width: a number, or N% of the reference value")
    start: Text = Field("", description="narrowband: initial reference value (blank = first value)")
    inout: str = Field("out", description="out: compare with the last sent value; in: last received")
    septopics: JSBool = Field(True, description="keep a separate reference per topic")
    property_: Text = Field("payload", alias="property", description="message property to watch")
    topi: Text = Field("topic", description="message property holding the topic")


def _is_primitive(v: Any) -> bool:
    return isinstance(v, (str, int, float)) or v is UNDEFINED


def _strict_equal(a: Any, b: Any) -> bool:
    """JavaScript `===` on primitives (true !== 1, NaN !== NaN)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b


def _same(a: Any, b: Any) -> bool:
    """Node-RED's deep compare: arrays by element, Buffers by bytes, objects by own keys."""
    if a is b:
        return True
    if _is_primitive(a) or _is_primitive(b):
        return _strict_equal(a, b)
    if a is None or b is None:
        return False
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) \
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
    binary = (bytes, bytearray)
    if isinstance(a, binary) or isinstance(b, binary):
        return isinstance(a, binary) and isinstance(b, binary) and bytes(a) == bytes(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and _same(v, b[k]) for k, v in a.items())
    return a == b


class Rbe(Node):
    type = "rbe"
    color = "#e2d96e"
    icon = "filter"
    category = "function"
    Config = RbeConfig
    help = ("Filter: passes a message only when its value changes (report by exception), or when a "
            "number moves out of (deadband) or stays within (narrowband) a band.")

    def setup(self) -> None:
        cfg: RbeConfig = self.config  # type: ignore[assignment]
        func = cfg.func or "rbe"
        if func not in _FUNCS:
            raise ConfigError("func", f"unknown mode {func!r}; expected one of {', '.join(_FUNCS)}")
        self._func = func
        band = func not in ("rbe", "rbei")
        gap = (cfg.gap or "0").strip()
        self._percent = gap.endswith("%")
        self._gap = js_parse_float(gap) if self._percent else to_number(gap)
        if band and not (is_number(self._gap) and math.isfinite(self._gap)):
            raise ConfigError("gap", f"{cfg.gap!r} is not a number or a percentage")
        self._start: float | None = None
        if cfg.start.strip() != "" and func in ("narrowband", "narrowbandEq"):
            start = to_number(cfg.start)
            if not (is_number(start) and math.isfinite(start)):
                raise ConfigError("start", f"{cfg.start!r} is not a number")
            self._start = start
        if cfg.inout not in ("out", "in"):
            raise ConfigError("inout", "expected 'out' or 'in'")
        self._out = cfg.inout == "out"
        self._septopics = cfg.septopics
        self._property = cfg.property_ or "payload"
        self._topi = cfg.topi or "topic"
        for field, path in (("property", self._property), ("topi", self._topi)):
            err = msgpath.validate(path)
            if err:
                raise ConfigError(field, err)
        self._previous: dict[str, Any] = {}
        self._warned_full = False

    def _remember(self, key: str, value: Any) -> None:
        """Store a reference value; past the buffer limit the oldest topic is forgotten."""
        previous = self._previous
        if key not in previous:
            limit = int(self.host.setting("max_buffered", 10_000) or 0)
            if limit > 0 and len(previous) >= limit:
                if not self._warned_full:
                    self._warned_full = True
                    self.warn(f"more than {limit} topics: forgetting the oldest")
                del previous[next(iter(previous))]
        previous[key] = value

    async def on_message(self, msg: Message) -> None:
        try:
            topic = msgpath.get(msg, self._topi)
        except msgpath.PathError:
            topic = UNDEFINED
        if "reset" in msg:
            if self._septopics and isinstance(topic, str) and topic != "":
                self._previous.pop(topic, None)
            else:
                self._previous.clear()
        try:
            value = msgpath.get(msg, self._property)
        except msgpath.PathError as exc:
            self.error(exc, msg)
            return
        if value is UNDEFINED:
            return  # nothing to compare: ignored
        key = to_js_string(topic) if self._septopics and truthy(topic) else "_no_topic"
        if self._func in ("rbe", "rbei"):
            if self._changed(key, value):
                await self.send(msg)
        elif self._in_band(key, value):
            await self.send(msg)

    def _changed(self, key: str, value: Any) -> bool:
        """Remember `value`; True when it differs from the reference and should be sent."""
        previous = self._previous
        send = self._func == "rbe" or key in previous
        if _is_primitive(value):
            if _strict_equal(value, previous.get(key, UNDEFINED)):
                return False
            self._remember(key, value)
            return send
        before = previous.get(key, UNDEFINED)
        if _is_primitive(before):  # an object is compared with an empty reference object
            before = {}
            self._remember(key, before)
        if _same(value, before):
            return False
        self._remember(key, clone_message(value))
        return send

    def _in_band(self, key: str, value: Any) -> bool:
        n = js_parse_float(value)
        if math.isnan(n):
            self.warn("no number found in payload")
            return False
        func = self._func
        prev = self._previous.get(key)
        if prev is None and func in ("narrowband", "narrowbandEq"):
            prev = n if self._start is None else self._start
            self._remember(key, prev)
        if self._percent:
            gap = abs(prev * self._gap / 100) if prev is not None else 0
            if math.isnan(gap):
                gap = 0
        else:
            gap = self._gap
        if prev is None:  # the first value always passes the deadband
            prev = n - gap - 1
            self._remember(key, prev)
        diff = abs(n - prev)
        if diff == gap:
            passes = func in ("deadbandEq", "narrowband")
        elif diff > gap:
            passes = func in ("deadband", "deadbandEq")
        elif diff < gap:
            passes = func in ("narrowband", "narrowbandEq")
        else:  # NaN (infinite values): no comparison holds
            passes = False
        if passes or not self._out:
            self._remember(key, n)
        return passes
