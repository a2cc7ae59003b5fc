"""join: rebuild a split sequence (auto), collect messages into one (manual), or reduce a sequence
with a JSONata expression (reduce)."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.clock import TimerHandle
from flowengine.expressions import JSONataExpression
from flowengine.fields import JSBool, OptionalNumber, Text
from flowengine.jsvalue import UNDEFINED, compare, is_number, js_typeof, to_js_string, to_number, truthy
from flowengine.message import clone_message, new_msgid
from flowengine.typed import TypedValue

from .split import parse_byte_array, unescape_separator

DEFAULT_MAX_BUFFERED = 10_000


class JoinConfig(NodeConfig):
    mode: str = Field("auto", description="auto (reverse a split) | custom (manual) | reduce")
    build: str = Field("array", description="manual: string | buffer | array | object | merged")
    property: Text = Field("payload", description="the property of each message to join")
    propertyType: str = Field("msg", description="msg, or full to join whole messages")
    key: Text = Field("topic", description="manual object: the property holding each key")
    joiner: Text = Field("", description="manual string/buffer: text (\\n escapes) or a JSON byte array")
    joinerType: str = Field("str", description="str | bin")
    useparts: Any = Field(None, description="manual: honour msg.parts (count); missing = yes (legacy)")
    accumulate: JSBool = Field(False, description="manual: keep the group and resend on every message")
    timeout: OptionalNumber = Field(None, description="manual: seconds after the first message to send")
    count: Any = Field("", description="manual: send after this many messages")
    reduceRight: JSBool = Field(False, description="reduce in descending parts.index order")
    reduceExp: Text = Field("", description="reduce: JSONata with $A (accumulator), $I (index), $N (count)")
    reduceInit: Any = ""
    reduceInitType: str = ""
    reduceFixup: Text = Field("", description="reduce: JSONata applied once to the result ($A, $N)")


class _Group:
    """The messages of one sequence being joined."""

    __slots__ = ("kind", "is_object", "items", "length", "obj", "added", "target", "msg", "joiner", "array_len",
                 "timer", "path")

    def __init__(self, kind: Any, target: Any, msg: Message, joiner: Any, array_len: Any, path: str):
        self.kind = kind
        self.is_object = kind in ("object", "merged")
        self.items: dict[int, Any] = {}  # list kinds: index -> value (sparse, like a JS array)
        self.length = 0
        self.obj: dict[str, Any] = {}  # object and merged kinds
        self.added = 0
        self.target = target
        self.msg = msg
        self.joiner = joiner
        self.array_len = array_len
        self.timer: TimerHandle | None = None
        self.path = path

    @property
    def size(self) -> int:
        """What the group holds, for the buffer bound."""
        return len(self.obj) if self.is_object else len(self.items)


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return bytes(int(to_number(b)) & 0xFF for b in value)
    return b""


def _join_text(value: Any) -> str:
    """An element as JavaScript's Array.join prints it."""
    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return to_js_string(value)


def _js_compare(a: Any, b: Any) -> int:
    ops = compare(a, b)
    if ops is None:
        return 0
    return -1 if ops[0] < ops[1] else 1 if ops[0] > ops[1] else 0


def _as_index(value: Any) -> int | None:
    """A parts.index usable as an array position."""
    if is_number(value) and value >= 0 and float(value).is_integer():
        return int(value)
    return None


class Join(Node):
    type = "join"
    color = "#e2d96e"
    icon = "join"
    category = "sequence"
    Config = JoinConfig
    help = ("Joins a sequence of messages into one: automatically reversing a split, by count/timeout "
            "into a string, buffer, array or object, or reducing it with a JSONata expression.")

    def setup(self) -> None:
        cfg: JoinConfig = self.config  # type: ignore[assignment]
        self._mode = cfg.mode or "auto"
        if self._mode not in ("auto", "custom", "reduce"):
            raise ConfigError("mode", f"unknown mode {self._mode!r}")
        self._full = cfg.propertyType == "full"
        self._property = "payload" if self._full else (cfg.property or "payload")
        if msgpath.validate(self._property):
            raise ConfigError("property", msgpath.validate(self._property) or "")
        self._key = cfg.key or "topic"
        if msgpath.validate(self._key):
            raise ConfigError("key", msgpath.validate(self._key) or "")
        self._build = cfg.build or "array"
        if self._mode == "custom" and self._build not in ("string", "buffer", "array", "object", "merged"):
            raise ConfigError("build", f"unknown build type {self._build!r}")
        timeout = cfg.timeout if self._mode != "auto" else None
        self._timeout = timeout if timeout is not None and timeout > 0 else 0.0
        raw_count = cfg.count
        self._count_blank = raw_count == ""
        n = to_number("" if raw_count is None else raw_count)
        self._count = n if is_number(n) and n == n else 0
        self._useparts = True if cfg.useparts is None else truthy(cfg.useparts) and cfg.useparts != "false"
        self._accumulate = bool(cfg.accumulate)
        if cfg.joinerType == "bin":
            self._joiner: Any = bytes(parse_byte_array(cfg.joiner or "[]", "joiner"))
        else:
            self._joiner = unescape_separator(cfg.joiner or "")
        self._groups: dict[Any, _Group] = {}
        self._buffered = 0
        self._max = DEFAULT_MAX_BUFFERED
        # reduce mode
        self._pending: dict[Any, dict] = {}
        self._pending_count = 0
        self._reduce_exp: JSONataExpression | None = None
        self._fixup_exp: JSONataExpression | None = None
        if self._mode == "reduce":
            self._reduce_exp = JSONataExpression(cfg.reduceExp, "reduceExp")
            if cfg.reduceFixup.strip():
                self._fixup_exp = JSONataExpression(cfg.reduceFixup, "reduceFixup")
            self._init = TypedValue(cfg.reduceInit, cfg.reduceInitType or "str", "reduceInit")
            self._reduce_right = bool(cfg.reduceRight)

    async def start(self) -> None:
        self._max = int(self.host.setting("max_buffered", DEFAULT_MAX_BUFFERED) or 0)
        if self._reduce_exp is not None:
            self._reduce_exp.bind(self)
        if self._fixup_exp is not None:
            self._fixup_exp.bind(self)

    async def stop(self) -> None:
        for group in self._groups.values():
            if group.timer is not None:
                group.timer.cancel()
        self._groups.clear()
        self._pending.clear()
        self._buffered = self._pending_count = 0

    # ------------------------------------------------------------------ auto and manual
    async def on_message(self, msg: Message) -> None:
        if self._mode == "reduce":
            await self._reduce(msg)
            return
        auto = self._mode == "auto"
        parts = msg.get("parts")
        if auto:
            if not isinstance(parts, dict) or "id" not in parts:
                if "reset" in msg:
                    self._drop_all()
                else:
                    self.warn("Message missing msg.parts property - cannot join in 'auto' mode")
                return
        elif not self._useparts and "parts" in msg:
            # manual mode ignores the sequence info, keeping only an outer sequence for later
            if isinstance(parts, dict) and "parts" in parts:
                msg["parts"] = {"parts": parts["parts"]}
            else:
                del msg["parts"]
            parts = msg.get("parts")

        path = self._property
        if auto and isinstance(parts.get("property"), str) and not self._full:  # type: ignore[union-attr]
            path = parts["property"]  # type: ignore[index]
        if self._full:
            prop: Any = msg
        else:
            try:
                prop = msgpath.get(msg, path)
            except msgpath.PathError:
                self.warn(f"Message property {path} not found")
                return

        index: Any = UNDEFINED
        key: Any = UNDEFINED
        array_len: Any = UNDEFINED
        if auto:
            gid = self._group_id(parts["id"])  # type: ignore[index]
            kind = parts.get("type")  # type: ignore[union-attr]
            target = parts.get("count", UNDEFINED)  # type: ignore[union-attr]
            joiner = parts.get("ch", UNDEFINED)  # type: ignore[union-attr]
            key = parts.get("key", UNDEFINED)  # type: ignore[union-attr]
            array_len = parts.get("len", UNDEFINED)  # type: ignore[union-attr]
            index = parts.get("index", UNDEFINED)  # type: ignore[union-attr]
        else:
            gid = "_"
            kind = self._build
            target = self._count
            joiner = self._joiner
            if self._count_blank and isinstance(parts, dict):
                target = parts.get("count") or 0
            if kind == "object":
                key = msgpath.get(msg, self._key)

        groups = self._groups
        if "reset" in msg:
            self._drop(gid)
            return
        if "restartTimeout" in msg and gid in groups and self._timeout > 0:
            self._arm(gid, groups[gid])

        if kind == "object" and (key is None or key is UNDEFINED or key == ""):
            if auto:
                self.warn("Message missing 'msg.parts.key' property - cannot add to object")
            elif "complete" in msg:
                group = groups.get(gid)
                if group is not None:
                    group.msg["complete"] = msg["complete"]
                    await self._send_group(gid, group, msg)
            else:
                self.warn(f"Message missing key property 'msg.{self._key}' - cannot add to object")
            return

        group = groups.get(gid)
        if group is None:
            group = _Group(kind, target, dict(msg), joiner, array_len, path)
            groups[gid] = group
            if self._timeout > 0:
                self._arm(gid, group)

        if kind == "buffer" and prop is not UNDEFINED \
                and not isinstance(prop, (bytes, bytearray, str, list)):
            self.error(f"Cannot join {js_typeof(prop)} to buffer", msg)
            return

        if kind == "object" or kind == "merged":
            obj = group.obj
            before = len(obj)
            if kind == "object":
                obj[key if isinstance(key, str) else to_js_string(key)] = prop
            elif isinstance(prop, dict):
                for k, v in prop.items():
                    if k != "_msgid":
                        obj[k] = v
            elif prop is not None and "complete" not in msg:
                self.warn("Cannot merge non-object types")
            self._buffered += len(obj) - before
        else:
            items = group.items
            pos = index if type(index) is int and index >= 0 else _as_index(index)
            if pos is not None:
                if pos not in items:
                    self._buffered += 1
                items[pos] = prop
                if pos >= group.length:
                    group.length = pos + 1
                group.added += 1
            elif index is not UNDEFINED and to_number(index) == to_number(index):
                group.added += 1  # a position JS keeps off the array: counted, never output
            elif prop is not UNDEFINED:
                items[group.length] = prop
                group.length += 1
                group.added += 1
                self._buffered += 1
        group.msg.update(msg)

        tcnt = group.target
        if isinstance(parts, dict):
            tcnt = tcnt or parts.get("count", UNDEFINED)
        if type(tcnt) is not int:
            tcnt = to_number(tcnt) if tcnt is not UNDEFINED else 0
        current = len(group.obj) if group.is_object else group.added
        if (tcnt > 0 and current >= tcnt) or "complete" in msg:
            await self._send_group(gid, group, msg)
        elif self._max > 0 and self._buffered > self._max:
            self._drop(gid)
            self.error("too many pending messages in join node", msg)

    @staticmethod
    def _group_id(value: Any) -> Any:
        try:
            hash(value)
        except TypeError:
            return to_js_string(value)
        return value

    def _arm(self, gid: Any, group: _Group) -> None:
        if group.timer is not None:
            group.timer.cancel()
        group.timer = self.clock.call_later(self._timeout, lambda: self._on_timeout(gid, group))

    def _on_timeout(self, gid: Any, group: _Group) -> None:
        group.timer = None
        if self._groups.get(gid) is not group:
            return
        out = self._build_output(gid, group, None)
        if out is not None:
            self.send_nowait(out)

    def _drop(self, gid: Any) -> None:
        group = self._groups.pop(gid, None)
        if group is not None:
            if group.timer is not None:
                group.timer.cancel()
            self._buffered -= group.size

    def _drop_all(self) -> None:
        for gid in list(self._groups):
            self._drop(gid)

    async def _send_group(self, gid: Any, group: _Group, msg: Message) -> None:
        out = self._build_output(gid, group, msg)
        if out is not None:
            await self.send(out)

    def _build_output(self, gid: Any, group: _Group, msg: Message | None) -> Message | None:
        """The joined message; the group is removed unless accumulating."""
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        keep = self._accumulate and "complete" not in group.msg
        if not keep:
            self._groups.pop(gid, None)
            self._buffered -= group.size
        try:
            value = self._value(group, copy=keep)
        except ValueError as exc:
            self.error(str(exc), msg if msg is not None else group.msg)
            return None
        out = group.msg
        if keep or self._full:
            out = clone_message(out)  # the group (or the joined messages) live on
        try:
            msgpath.set(out, group.path, value)
        except msgpath.PathError as exc:
            self.error(str(exc), out)
            return None
        parts = out.get("parts")
        if isinstance(parts, dict) and "parts" in parts:
            out["parts"] = parts["parts"]
        else:
            out.pop("parts", None)
        out.pop("complete", None)
        out["_msgid"] = out.get("_msgid") or new_msgid()
        return out

    def _value(self, group: _Group, copy: bool) -> Any:
        kind = group.kind
        if group.is_object:
            return clone_message(group.obj) if copy else group.obj
        items = group.items
        values = [items.get(i, UNDEFINED) for i in range(group.length)] if len(items) != group.length \
            else [items[i] for i in range(group.length)]
        if kind == "string":
            joiner = group.joiner
            if isinstance(joiner, list):
                joiner = _to_bytes(joiner).decode("utf-8", errors="replace")
            elif isinstance(joiner, (bytes, bytearray)):
                joiner = bytes(joiner).decode("utf-8", errors="replace")
            elif joiner is UNDEFINED or joiner is None:
                raise ValueError("msg.parts.ch is missing: cannot join the string sequence")
            elif not isinstance(joiner, str):
                joiner = to_js_string(joiner)
            return joiner.join([_join_text(v) for v in values])
        if kind == "buffer":
            chunks = [_to_bytes(v) for v in values]
            if group.joiner is UNDEFINED or group.joiner is None:
                return b"".join(chunks)
            return _to_bytes(group.joiner).join(chunks)
        if kind == "array" and is_number(group.array_len) and group.array_len > 1:
            flat: list = []
            for v in values:
                if isinstance(v, list):
                    flat.extend(v)
                else:
                    flat.append(v)
            values = flat
        return clone_message(values) if copy else values

    # ------------------------------------------------------------------ reduce
    async def _reduce(self, msg: Message) -> None:
        parts = msg.get("parts")
        if not isinstance(parts, dict):
            await self.send(msg)
            return
        gid = self._group_id(parts.get("id", UNDEFINED))
        group = self._pending.get(gid)
        if group is None:
            group = self._pending[gid] = {"count": UNDEFINED, "msgs": []}
        if "count" in parts and group["count"] is UNDEFINED:
            group["count"] = parts["count"]
        msgs: list = group["msgs"]
        msgs.append(msg)
        self._pending_count += 1
        count = group["count"]
        if is_number(count) and len(msgs) == count:
            del self._pending[gid]
            self._pending_count -= len(msgs)
            try:
                result = self._reduce_group(msgs, count)
            except Exception as exc:  # a JSONata error ends the group, reported with the last msg
                self.error(str(exc) or type(exc).__name__, msg)
                return
            await self.send({"payload": result} if result is not UNDEFINED else {})
        elif self._max > 0 and self._pending_count > self._max:
            self._pending.clear()
            self._pending_count = 0
            self.error("too many pending messages in join node", msg)

    def _reduce_group(self, msgs: list[Message], count: Any) -> Any:
        accum = self._init.evaluate(self, {})
        ordered = sorted(msgs, key=functools.cmp_to_key(
            lambda x, y: _js_compare(x["parts"].get("index", UNDEFINED), y["parts"].get("index", UNDEFINED))),
            reverse=self._reduce_right)
        exp = self._reduce_exp
        assert exp is not None
        for m in ordered:
            accum = exp.evaluate(m, {"I": _nul(m["parts"].get("index", UNDEFINED)), "N": count, "A": _nul(accum)})
        if self._fixup_exp is not None:
            accum = self._fixup_exp.evaluate({}, {"N": count, "A": _nul(accum)})
        return accum


def _nul(value: Any) -> Any:
    return None if value is UNDEFINED else value
