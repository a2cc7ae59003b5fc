"""sort: sort an array held in a message property, or the messages of a sequence (msg.parts)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.expressions import JSONataExpression
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, compare, is_number, to_number

DEFAULT_MAX_BUFFERED = 10_000


class SortConfig(NodeConfig):
    target: Text = Field("payload", description="the array property to sort (targetType msg)")
    targetType: str = Field("msg", description="msg: sort an array property | seq: sort a message sequence")
    msgKey: Text = Field("payload", description="msg target: JSONata key of each element (msgKeyType jsonata)")
    msgKeyType: str = Field("elem", description="elem (the element itself) | jsonata")
    seqKey: Text = Field("payload", description="seq target: message property or JSONata key")
    seqKeyType: str = Field("msg", description="msg | jsonata")
    order: str = Field("ascending", description="ascending | descending")
    as_num: JSBool = Field(False, description="compare keys as numbers")


def strict_equals(a: Any, b: Any) -> bool:
    """JavaScript `a === b`."""
    if is_number(a) and is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, (str, bool)):
        return a == b
    return a is b


class Sort(Node):
    type = "sort"
    color = "#e2d96e"
    icon = "sort"
    category = "sequence"
    Config = SortConfig
    help = "Sorts an array in a message property, or the messages of a sequence (by msg.parts)."

    def setup(self) -> None:
        cfg: SortConfig = self.config  # type: ignore[assignment]
        self._by_prop = cfg.targetType == "msg"
        if cfg.targetType not in ("msg", "seq"):
            raise ConfigError("targetType", f"unknown target type {cfg.targetType!r}")
        self._target = cfg.target or "payload"
        if self._by_prop and msgpath.validate(self._target):
            raise ConfigError("target", msgpath.validate(self._target) or "")
        key_type = cfg.msgKeyType if self._by_prop else cfg.seqKeyType
        self._exp: JSONataExpression | None = None
        self._key_prop = cfg.seqKey or "payload"
        if key_type == "jsonata":
            field = "msgKey" if self._by_prop else "seqKey"
            self._exp = JSONataExpression(cfg.msgKey if self._by_prop else cfg.seqKey, field)
        elif not self._by_prop and msgpath.validate(self._key_prop):
            raise ConfigError("seqKey", msgpath.validate(self._key_prop) or "")
        if cfg.order not in ("ascending", "descending"):
            raise ConfigError("order", f"unknown order {cfg.order!r}")
        self._dir = 1 if cfg.order == "ascending" else -1
        self._as_num = bool(cfg.as_num)
        self._pending: dict[Any, dict] = {}
        self._pending_count = 0
        self._max = DEFAULT_MAX_BUFFERED

    async def start(self) -> None:
        self._max = int(self.host.setting("max_buffered", DEFAULT_MAX_BUFFERED) or 0)
        if self._exp is not None:
            self._exp.bind(self)

    async def stop(self) -> None:
        self._pending.clear()
        self._pending_count = 0

    def _sorted(self, items: list, key: Callable[[Any], Any]) -> list:
        """Sort with Node-RED's comparator: `===` is equal, `>` gives the direction, else the reverse."""
        conv = to_number if self._as_num else None
        keyed = [(conv(k) if conv else k, item) for item, k in ((i, key(i)) for i in items)]
        d = self._dir

        def cmp(x: tuple, y: tuple) -> int:
            a, b = x[0], y[0]
            if strict_equals(a, b):
                return 0
            ops = compare(a, b)
            return d if ops is not None and ops[0] > ops[1] else -d
        keyed.sort(key=functools.cmp_to_key(cmp))
        return [item for _, item in keyed]

    def _eval_key(self, data: Any) -> Any:
        return self._exp.evaluate(data)  # type: ignore[union-attr]

    async def on_message(self, msg: Message) -> None:
        if self._by_prop:
            data = msgpath.get(msg, self._target)
            if not isinstance(data, list):
                return  # Node-RED sends nothing when the target is not an array
            try:
                result = self._sorted(data, self._eval_key if self._exp is not None else lambda e: e)
            except Exception as exc:  # a JSONata key error: reported, the message is not sent
                self.error(f"invalid JSONata expression: {exc}", msg)
                return
            data[:] = result
            await self.send(msg)
            return
        parts = msg.get("parts")
        if not isinstance(parts, dict) or "id" not in parts or "index" not in parts:
            return
        gid = parts["id"]
        try:
            hash(gid)
        except TypeError:
            gid = repr(gid)
        group = self._pending.get(gid)
        if group is None:
            group = self._pending[gid] = {"count": UNDEFINED, "msgs": []}
        msgs: list = group["msgs"]
        msgs.append(msg)
        if "count" in parts:
            group["count"] = parts["count"]
        self._pending_count += 1
        if is_number(group["count"]) and group["count"] == len(msgs):
            del self._pending[gid]
            self._pending_count -= len(msgs)
            await self._send_group(msgs, msg)
        elif self._max > 0 and self._pending_count > self._max:
            self._pending.clear()
            self._pending_count = 0
            self.error("Too many pending messages in sort node", msg)

    async def _send_group(self, msgs: list[Message], last: Message) -> None:
        if self._exp is not None:
            key: Callable[[Any], Any] = self._eval_key
        else:
            prop = self._key_prop
            key = lambda m: msgpath.get(m, prop)  # noqa: E731
        try:
            ordered = self._sorted(msgs, key)
        except Exception as exc:
            self.error(f"invalid JSONata expression: {exc}", last)
            return
        for i, m in enumerate(ordered):
            m["parts"]["index"] = i
            await self.send(m)
