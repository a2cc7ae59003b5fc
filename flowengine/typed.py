"""Node-RED typed values: a (value, type) pair from the editor's TypedInput.

`TypedValue` compiles once at deploy (JSON parse, regex, JSONata), so a bad value is a
validation error naming the field, and evaluation per message is cheap.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from . import msgpath
from .errors import ConfigError
from .jsvalue import UNDEFINED, json_loads, to_number

if TYPE_CHECKING:
    from .node import Node

_CTX_STORE_RE = re.compile(r"^#:\((\w+)\)::(.*)$")
_ENV_REF_RE = re.compile(r"\$\{([^}]+)\}")


def parse_context_key(key: str) -> tuple[str | None, str]:
    """`#:(file)::count` -> ("file", "count"); plain keys use the default store."""
    m = _CTX_STORE_RE.match(key or "")
    return (m.group(1), m.group(2)) if m else (None, key)


def substitute_env(node: Node, text: str) -> Any:
    """An `env` typed value: a plain name, or text with `${NAME}` references."""
    if "${" not in text:
        v = node.env(text.strip())
        return UNDEFINED if v is None else v
    return _ENV_REF_RE.sub(lambda m: _env_str(node, m.group(1).strip()), text)


def _env_str(node: Node, name: str) -> str:
    v = node.env(name)
    if v is None or v is UNDEFINED:
        return ""
    from .jsvalue import to_js_string
    return to_js_string(v)


def format_date(fmt: str, now_ms: int) -> Any:
    if fmt in ("", "ms", None):
        return now_ms
    when = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)
    if fmt == "iso":
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}Z"
    if fmt == "object":
        return when.isoformat()
    return now_ms


class TypedValue:
    """A compiled typed value. `evaluate(node, msg)` gives the value for one message."""

    __slots__ = ("value", "vtype", "_compiled", "field")

    STATIC = {"str", "num", "bool", "json", "bin", "re"}

    def __init__(self, value: Any, vtype: str | None, field: str = "value"):
        self.value = "" if value is None else value
        self.vtype = vtype or "str"
        self.field = field
        self._compiled: Any = None
        v, t = self.value, self.vtype
        try:
            if t == "str":
                self._compiled = v if isinstance(v, str) else str(v)
            elif t == "num":
                n = to_number(v)
                if isinstance(n, float) and n != n:
                    raise ValueError(f"{v!r} is not a number")
                self._compiled = n
            elif t == "bool":
                self._compiled = v if isinstance(v, bool) else bool(re.fullmatch(r"true", str(v), re.I))
            elif t == "json":
                self._compiled = v if not isinstance(v, str) else json_loads(v) if v.strip() else UNDEFINED
            elif t == "bin":
                data = json_loads(v) if isinstance(v, str) and v.strip().startswith("[") else v
                self._compiled = bytes(data) if isinstance(data, list) else str(data).encode()
            elif t == "re":
                self._compiled = re.compile(str(v))
            elif t in ("msg", "flow", "global"):
                key = str(v)
                store, path = parse_context_key(key) if t != "msg" else (None, key)
                if path:
                    err = msgpath.validate(path)
                    if err:
                        raise ValueError(err)
                self._compiled = (store, path)
            elif t == "jsonata":
                from .expressions import JSONataExpression
                self._compiled = JSONataExpression(str(v), field)
            elif t in ("env", "date", "node", "cred", "nul", "pay", "payl", "prev", "full", "bool-flip"):
                self._compiled = v
            else:
                raise ValueError(f"unknown value type {t!r}")
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(field, f"invalid {t} value {v!r}: {exc}") from exc

    @property
    def is_static(self) -> bool:
        return self.vtype in self.STATIC

    def evaluate(self, node: Node, msg: dict | None) -> Any:
        t = self.vtype
        c = self._compiled
        if t in ("str", "num", "bool", "re"):
            return c
        if t == "json":
            from .message import clone_message
            return clone_message(c)
        if t == "bin":
            return c
        if t == "msg":
            return msgpath.get(msg, c[1]) if msg is not None else UNDEFINED
        if t == "flow":
            return node.flow_context.get(c[1], c[0])
        if t == "global":
            return node.global_context.get(c[1], c[0])
        if t == "env":
            return substitute_env(node, str(c))
        if t == "date":
            return format_date(str(c), int(node.clock.time() * 1000))
        if t == "jsonata":
            return c.bind(node).evaluate(msg)
        if t == "node":
            return None
        return c
