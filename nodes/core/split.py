"""split: turn one message into a sequence (string, array, object or buffer), with msg.parts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, json_loads
from flowengine.message import clone_message, new_msgid

_IMMUTABLE = (str, int, float, bool, type(None), bytes)
_PARSE_INT_RE = re.compile(r"^\s*([-+]?\d+)")
# Node-RED's separator escapes; `\e` is not a JS escape, so it becomes a plain "e".
_ESCAPES = (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"), ("\\e", "e"), ("\\f", "\f"), ("\\0", "\0"))


def js_parse_int(value: Any) -> int | None:
    """JavaScript parseInt(value, 10); None stands for NaN."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else None
    m = _PARSE_INT_RE.match(str(value))
    return int(m.group(1)) if m else None


def unescape_separator(text: str) -> str:
    """Node-RED's separator text: `\\n`, `\\r`, `\\t`, `\\f`, `\\0` typed as two characters."""
    for escaped, char in _ESCAPES:
        text = text.replace(escaped, char)
    return text


def parse_byte_array(text: Any, field: str) -> list[int]:
    """A `bin` separator: a JSON array of byte values."""
    try:
        data = json_loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        raise ConfigError(field, f"invalid byte array {text!r}: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in data):
        raise ConfigError(field, f"{text!r} is not an array of bytes")
    return [b & 0xFF for b in data]


def copier(base: Message) -> Callable[[], Message]:
    """A fast per-part copy of `base`: a shallow copy when every value is immutable, cloning only
    the mutable values otherwise (a 10k-part split must not deep-copy much per part)."""
    mutable = [k for k, v in base.items() if type(v) not in _IMMUTABLE]
    if not mutable:
        return base.copy

    def copy() -> Message:
        m = base.copy()
        for k in mutable:
            m[k] = clone_message(base[k])
        return m
    return copy


def _ceil_div(n: int, d: int) -> int:
    return -(-n // d)


class SplitConfig(NodeConfig):
    property: Text = Field("payload", description="message property to split")
    splt: Text = Field("\\n", description="separator text (str), JSON byte array (bin) or chunk length (len)")
    spltType: str = Field("str", description="str | bin | len: how strings and buffers are split")
    arraySplt: Any = Field(1, description="number of array elements per message")
    arraySpltType: str = "len"
    stream: JSBool = Field(False, description="treat messages as a stream: keep the remainder for the next")
    addname: Text = Field("", description="for objects, copy each key into this message property")


class Split(Node):
    type = "split"
    color = "#e2d96e"
    icon = "split"
    category = "sequence"
    Config = SplitConfig
    help = ("Splits a string, buffer, array or object into a sequence of messages, each with msg.parts "
            "so a join node can rebuild the original.")

    def setup(self) -> None:
        cfg: SplitConfig = self.config  # type: ignore[assignment]
        self._property = cfg.property or "payload"
        err = msgpath.validate(self._property)
        if err:
            raise ConfigError("property", err)
        self._addname = cfg.addname
        if self._addname and msgpath.validate(self._addname):
            raise ConfigError("addname", msgpath.validate(self._addname) or "")
        self._stream = bool(cfg.stream)
        self._mode = cfg.spltType or "str"
        # str mode: the separator text; bin mode: its bytes; len mode: the chunk length
        self._sep_text = ""
        self._sep_bytes = b""
        self._ch: Any = None  # what goes into parts.ch for the join at the other end
        self._len = 0
        if self._mode == "str":
            self._sep_text = unescape_separator(cfg.splt or "\\n")
            self._sep_bytes = self._sep_text.encode()
            self._ch = self._sep_text
        elif self._mode == "bin":
            array = parse_byte_array(cfg.splt, "splt")
            self._sep_bytes = bytes(array)
            self._sep_text = self._sep_bytes.decode("utf-8", errors="replace")
            self._ch = array
        elif self._mode == "len":
            n = js_parse_int(cfg.splt)
            if n is None or n < 1:
                raise ConfigError("splt", f"invalid split length: {cfg.splt}")
            self._len = n
        else:
            raise ConfigError("spltType", f"unknown split type {self._mode!r}")
        if self._mode != "len" and not self._sep_bytes:
            raise ConfigError("splt", "the separator is empty")
        n = 1 if cfg.arraySplt is None else js_parse_int(cfg.arraySplt)
        if n is None or n < 1:
            raise ConfigError("arraySplt", f"invalid array split length: {cfg.arraySplt}")
        self._array_len = n
        # stream state: text or bytes left over from the previous message, and the running index
        self._remainder = ""
        self._buffer = b""
        self._counter = 0

    async def on_message(self, msg: Message) -> None:
        prop = self._property
        value = msgpath.get(msg, prop)
        if value is UNDEFINED:
            return
        if value is None:
            self.error("Cannot convert undefined or null to object", msg)
            return
        if not isinstance(value, (str, list, dict, bytes, bytearray)):
            return  # numbers and booleans are dropped, as Node-RED does
        old_parts = msg.pop("parts", UNDEFINED)
        msg.pop("_msgid", None)
        if isinstance(value, str):
            await self._split_string(msg, value, old_parts)
        elif isinstance(value, list):
            await self._split_array(msg, value, old_parts)
        elif isinstance(value, dict):
            await self._split_object(msg, value, old_parts)
        else:
            await self._split_buffer(msg, bytes(value), old_parts)

    # ------------------------------------------------------------------ helpers
    def _template(self, msg: Message, old_parts: Any, header: dict) -> tuple[Callable[[], Message], dict]:
        """The per-part copier (message without the split value) and the parts header."""
        if old_parts is not UNDEFINED:
            header = {"parts": old_parts, **header}
        if self._property != "payload":
            header["property"] = self._property
        msgpath.delete(msg, self._property)
        return copier(msg), header

    async def _emit(self, copy: Callable[[], Message], parts: dict, value: Any) -> None:
        m = copy()
        if "parts" in parts:
            parts["parts"] = clone_message(parts["parts"])
        m["parts"] = parts
        m["_msgid"] = new_msgid()
        if self._property == "payload":
            m["payload"] = value if type(value) in _IMMUTABLE else clone_message(value)
        else:
            msgpath.set(m, self._property, value if type(value) in _IMMUTABLE else clone_message(value))
        await self.send(m)

    # ------------------------------------------------------------------ strings
    async def _split_string(self, msg: Message, text: str, old_parts: Any) -> None:
        text = self._remainder + text
        self._remainder = ""
        header: dict[str, Any] = {"id": new_msgid(), "type": "string"}
        if self._mode == "len":
            header["ch"] = ""
            header["len"] = self._len
        else:
            header["ch"] = self._ch
        copy, header = self._template(msg, old_parts, header)
        if self._mode == "len":
            self._remainder = await self._split_fixed(copy, header, text)
            return
        pieces = text.split(self._sep_text)
        await self._send_pieces(copy, header, pieces)

    async def _split_fixed(self, copy: Callable[[], Message], header: dict, data: Any) -> Any:
        """Fixed-length parts of a str or bytes; returns what stream mode keeps for next time."""
        size = self._len
        count = _ceil_div(len(data), size)
        if not self._stream:
            header["count"] = count
            self._counter = 0
        pos = 0
        for _ in range(count - 1):
            await self._emit(copy, {**header, "index": self._next()}, data[pos:pos + size])
            pos += size
        rest = data[pos:]
        if not self._stream or len(rest) == size:
            await self._emit(copy, {**header, "index": self._next()}, rest)
            return data[:0]
        return rest

    async def _send_pieces(self, copy: Callable[[], Message], header: dict, pieces: list) -> None:
        """Send separated pieces; in stream mode the last one waits for the next message."""
        if self._stream:
            for piece in pieces[:-1]:
                await self._emit(copy, {**header, "index": self._next()}, piece)
            self._remainder = pieces[-1]
            return
        self._counter = 0
        header["count"] = len(pieces)
        for i, piece in enumerate(pieces):
            await self._emit(copy, {**header, "index": i}, piece)

    def _next(self) -> int:
        i = self._counter
        self._counter = i + 1
        return i

    # ------------------------------------------------------------------ arrays and objects
    async def _split_array(self, msg: Message, array: list, old_parts: Any) -> None:
        size = self._array_len
        count = _ceil_div(len(array), size)
        header = {"id": new_msgid(), "type": "array", "count": count, "len": size}
        copy, header = self._template(msg, old_parts, header)
        prop = self._property
        if size == 1 and prop == "payload" and "parts" not in header:
            # the hot path (benchmarked): one element per message, nothing nested to copy
            pid = header["id"]
            send = self.send
            for i, elem in enumerate(array):
                m = copy()
                m["parts"] = {"id": pid, "type": "array", "count": count, "len": 1, "index": i}
                m["_msgid"] = new_msgid()
                m["payload"] = elem if type(elem) in _IMMUTABLE else clone_message(elem)
                await send(m)
            return
        for i in range(count):
            chunk = array[i * size:(i + 1) * size]
            await self._emit(copy, {**header, "index": i}, chunk[0] if size == 1 else chunk)

    async def _split_object(self, msg: Message, obj: dict, old_parts: Any) -> None:
        count = len(obj)
        header: dict[str, Any] = {"id": new_msgid(), "type": "object"}
        copy, header = self._template(msg, old_parts, header)
        addname = self._addname
        for i, (key, value) in enumerate(list(obj.items())):
            if addname:
                base = copy

                def copy_with_name(base: Callable[[], Message] = base, key: str = key) -> Message:
                    m = base()
                    msgpath.set(m, addname, key)
                    return m
                await self._emit(copy_with_name, {**header, "key": key, "index": i, "count": count}, value)
            else:
                await self._emit(copy, {**header, "key": key, "index": i, "count": count}, value)

    # ------------------------------------------------------------------ buffers
    async def _split_buffer(self, msg: Message, data: bytes, old_parts: Any) -> None:
        buff = self._buffer + data
        self._buffer = b""
        header: dict[str, Any] = {"id": new_msgid(), "type": "buffer"}
        if self._mode == "len":
            header["len"] = self._len
        else:
            header["ch"] = self._ch
        copy, header = self._template(msg, old_parts, header)
        if self._mode == "len":
            self._buffer = await self._split_fixed(copy, header, buff)
            return
        sep = self._sep_bytes
        pieces = buff.split(sep)
        if not self._stream:
            header["count"] = len(pieces)
            self._counter = 0
        for piece in pieces[:-1]:
            await self._emit(copy, {**header, "index": self._next()}, piece)
        last = pieces[-1]
        if not self._stream and last:
            # Node-RED sends the tail with count = index + 1; an empty tail (data ending with the
            # separator) is not sent although it was counted.
            index = self._next()
            await self._emit(copy, {**header, "index": index, "count": index + 1}, last)
            self._counter += 1
        else:
            self._buffer = last
