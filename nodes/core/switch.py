"""switch: route each message to the outputs whose rule matches a property of it.

Rules compare with JavaScript semantics (`==`, `<`, String(x), typeof) because that is what
Node-RED flows rely on. With `repair`, or a `tail` rule, messages of a sequence (`msg.parts`)
are held until the whole group has arrived.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, clone_message, msgpath, new_msgid
from flowengine.expressions import JSONataExpression
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import (
    UNDEFINED,
    compare,
    is_number,
    js_typeof,
    json_loads,
    loose_equals,
    to_js_string,
    to_number,
    truthy,
)
from flowengine.typed import TypedValue

OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "btwn", "cont", "regex", "true", "false", "null", "nnull",
             "empty", "nempty", "istype", "head", "tail", "index", "hask", "jsonata_exp", "else")
_TOO_MANY = "Too many pending messages in switch node"


class SwitchRule(NodeConfig):
    t: str = Field("eq", description="operator: " + " | ".join(OPERATORS))
    v: Any = Field(None, description="value to compare with (typed by vt)")
    vt: str | None = Field(None, description="type of v: str num bool msg flow global env jsonata prev re")
    v2: Any = Field(None, description="second value (btwn, index)")
    v2t: str | None = None
    case: Any = Field(False, description="regex: ignore case")


class SwitchConfig(NodeConfig):
    property: Text = Field("payload", description="the property to test")
    propertyType: str = Field("msg", description="msg | flow | global | env | jsonata")
    rules: list[SwitchRule] = Field(default_factory=list, description="one output port per rule")
    checkall: Any = Field("true", description='"true": every matching rule; "false": stop at the first match')
    repair: JSBool = Field(False, description="re-sequence msg.parts of the messages leaving each port")
    outputs: Any = None


# ---------------------------------------------------------------- JavaScript comparisons


def _prim(value: Any) -> Any:
    """Buffers compare as their text, as JS ToPrimitive turns them into strings."""
    return to_js_string(value) if isinstance(value, (bytes, bytearray)) else value


def _utf16(s: str) -> Any:
    # JS orders strings by UTF-16 code units; only astral characters make that differ.
    return s.encode("utf-16-be") if any(ord(c) > 0xFFFF for c in s) else s


def _operands(a: Any, b: Any) -> tuple[Any, Any] | None:
    pair = compare(_prim(a), _prim(b))
    if pair is not None and isinstance(pair[0], str):
        return _utf16(pair[0]), _utf16(pair[1])
    return pair


def js_lt(a: Any, b: Any) -> bool:
    p = _operands(a, b)
    return p is not None and p[0] < p[1]


def js_lte(a: Any, b: Any) -> bool:
    p = _operands(a, b)
    return p is not None and p[0] <= p[1]


def js_eq(a: Any, b: Any) -> bool:
    if isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)):
        return a is b
    return loose_equals(_prim(a), _prim(b))


def _js_index_key(key: str, length: int) -> bool:
    return key.isdigit() and (key == "0" or not key.startswith("0")) and int(key) < length


def has_own(value: Any, key: str) -> bool:
    """`value.hasOwnProperty(key)` for JSON-like values."""
    if isinstance(value, dict):
        return key in value
    if isinstance(value, (list, str)):
        return key == "length" or _js_index_key(key, len(value))
    if isinstance(value, (bytes, bytearray)):
        return _js_index_key(key, len(value))
    return False


def _field(value: Any, key: str) -> Any:
    return value.get(key, UNDEFINED) if isinstance(value, dict) else UNDEFINED


def _sub(a: Any, b: Any) -> float:
    x, y = to_number(a), to_number(b)
    return x - y if is_number(x) and is_number(y) else math.nan


def _is_empty(a: Any) -> bool | None:
    """True/False for strings, arrays, buffers and objects; None for anything else."""
    if isinstance(a, (str, list, bytes, bytearray, dict)):
        return len(a) == 0
    return None


def _is_type(a: Any, kind: Any) -> bool:
    if kind == "array":
        return isinstance(a, list)
    if kind == "buffer":
        return isinstance(a, (bytes, bytearray))
    if kind == "json":  # JSON.parse(String(a)) succeeds: numbers, booleans, null and [1] count
        if a is UNDEFINED:
            return False
        try:
            json_loads(to_js_string(a))
        except ValueError:
            return False
        return True
    if kind == "null":
        return a is None
    return a is not None and not isinstance(a, (list, bytes, bytearray)) and js_typeof(a) == kind


def _parts_index(parts: Any) -> Any:
    if parts is None or parts is UNDEFINED:  # Node-RED throws reading parts.index: an error
        raise TypeError("Cannot read properties of undefined (reading 'index'): msg.parts is missing")
    return _field(parts, "index")


def _test(t: str, a: Any, b: Any, c: Any, rx: re.Pattern | None, parts: Any) -> bool:
    if t == "eq":
        return js_eq(a, b)
    if t == "neq":
        return not js_eq(a, b)
    if t == "lt":
        return js_lt(a, b)
    if t == "lte":
        return js_lte(a, b)
    if t == "gt":
        return js_lt(b, a)
    if t == "gte":
        return js_lte(b, a)
    if t == "btwn":
        return (js_lte(b, a) and js_lte(a, c)) or (js_lte(a, b) and js_lte(c, a))
    if t == "cont":
        return to_js_string(b) in to_js_string(a)
    if t == "regex":
        return rx is not None and rx.search(to_js_string(a)) is not None
    if t == "true":
        return a is True
    if t == "false":
        return a is False
    if t == "null":
        return a is None or a is UNDEFINED
    if t == "nnull":
        return a is not None and a is not UNDEFINED
    if t == "empty":
        return _is_empty(a) is True
    if t == "nempty":
        return _is_empty(a) is False
    if t == "istype":
        return _is_type(a, b)
    if t == "head":
        return js_lt(_parts_index(parts), to_number(b))
    if t == "tail":
        index = _parts_index(parts)
        return js_lte(_sub(_field(parts, "count"), to_number(b)), index)
    if t == "index":
        index = _parts_index(parts)
        return js_lte(to_number(b), index) and js_lte(index, to_number(c))
    if t == "hask":
        present = a is not None and a is not UNDEFINED
        return present and js_typeof(b) != "object" and has_own(a, to_js_string(b))
    if t == "jsonata_exp":
        return b is True
    return a is True  # else: `a` is the "nothing matched yet" flag


# ---------------------------------------------------------------- JavaScript regular expressions

_CLASS_ESC = {"d": "0-9", "w": "A-Za-z0-9_"}
_ESC = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}


def js_regex(source: str, ignore_case: bool = False) -> re.Pattern:
    """Compile a JavaScript RegExp source with Python's engine, translating the syntax that
    differs: named groups, `$` (end of input only), ASCII `\\d`/`\\w`, `[^]` and `[]`."""
    out: list[str] = []
    i, n, in_class = 0, len(source), False
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n:
            nxt = source[i + 1]
            if in_class and nxt in _CLASS_ESC:
                out.append(_CLASS_ESC[nxt])
            elif not in_class and nxt in _ESC:
                out.append(_ESC[nxt])
            elif not in_class and nxt == "k" and source.startswith("<", i + 2) and ">" in source[i + 3:]:
                end = source.index(">", i + 3)
                out.append(f"(?P={source[i + 3:end]})")
                i = end + 1
                continue
            else:
                out.append(c + nxt)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append("\\[" if c == "[" else c)
        elif c == "[":
            if source.startswith("[^]", i):
                out.append(r"[\s\S]")
                i += 3
                continue
            if source.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            in_class = True
            out.append(c)
            if source.startswith("[^", i):
                out.append("^")
                i += 1
        elif c == "$":
            out.append(r"\Z")
        elif c == "(" and source.startswith("(?<", i) and not source.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(c)
        i += 1
    return re.compile("".join(out), re.IGNORECASE if ignore_case else 0)


# ---------------------------------------------------------------- rule operands


class _Operand:
    """One rule value (v or v2), resolved per message the way Node-RED's switch resolves it."""

    __slots__ = ("kind", "const", "typed", "expr")

    def __init__(self, kind: str, const: Any = UNDEFINED, typed: TypedValue | None = None,
                 expr: JSONataExpression | None = None):
        self.kind = kind  # "const" | "prev" | "typed" | "msg" | "jsonata"
        self.const = const
        self.typed = typed
        self.expr = expr

    @property
    def is_static(self) -> bool:
        return self.kind == "const"

    def value(self, node: Switch, msg: Message, bindings: dict | None = None) -> Any:
        kind = self.kind
        if kind == "const":
            return self.const
        if kind == "prev":
            return node.previous
        if kind == "msg":
            try:
                return msgpath.get(msg, self.const)
            except msgpath.PathError:
                return UNDEFINED
        if kind == "jsonata":
            return self.expr.bind(node).evaluate(msg, bindings)  # type: ignore[union-attr]
        return self.typed.evaluate(node, msg)  # type: ignore[union-attr]


def _number_or_str(value: Any) -> str:
    """The type Node-RED assumes for an untyped value: num if Number(v) is a number."""
    n = to_number(value)
    return "str" if isinstance(n, float) and math.isnan(n) else "num"


def _compile_operand(value: Any, vtype: str | None, field: str, second: bool) -> _Operand:
    vt = vtype or _number_or_str(value)
    if vt == "prev":
        return _Operand("prev")
    if vt == "jsonata":
        return _Operand("jsonata", expr=JSONataExpression(to_js_string(value), field))
    if vt == "num":
        return _Operand("const", to_number(value))
    if vt == "str":
        return _Operand("const", to_js_string(value))
    if vt == "bool":
        return _Operand("const", re.fullmatch(r"true", to_js_string(value), re.IGNORECASE) is not None)
    if vt in ("json", "null") and not second:
        return _Operand("const", vt)  # istype rules: v and vt both name the type
    if vt == "msg":
        path = to_js_string(value)
        err = msgpath.validate(path)
        if err:
            raise ConfigError(field, err)
        return _Operand("msg", path)
    if vt == "re":
        try:
            return _Operand("const", js_regex(to_js_string(value)))
        except re.error as exc:
            raise ConfigError(field, f"invalid regular expression: {exc}") from exc
    if vt in ("flow", "global", "env", "date", "bin", "json"):
        typed = TypedValue(value, vt, field)
        if typed.is_static:
            return _Operand("const", typed.evaluate(None, None))  # type: ignore[arg-type]
        return _Operand("typed", typed=typed)
    return _Operand("const", value)  # istype names and other types are used as written


class _Rule:
    __slots__ = ("t", "v1", "v2", "ignore_case", "regex", "_cache")

    def __init__(self, rule: SwitchRule, index: int):
        field = f"rules[{index}]"
        if rule.t not in OPERATORS:
            raise ConfigError(f"{field}.t", f"unknown switch rule {rule.t!r}")
        self.t = rule.t
        sent = rule.model_fields_set
        self.v1 = _compile_operand(rule.v if "v" in sent else UNDEFINED, rule.vt, f"{field}.v", False)
        if rule.v2t in ("prev", "jsonata") or "v2" in sent:
            self.v2 = _compile_operand(rule.v2 if "v2" in sent else UNDEFINED, rule.v2t, f"{field}.v2", True)
        else:
            self.v2 = _Operand("const")
        self.ignore_case = truthy(rule.case)
        self.regex: re.Pattern | None = None
        self._cache: dict[str, re.Pattern] = {}
        if self.t == "regex" and self.v1.is_static:
            try:
                self.regex = self._compile(self.v1.const)
            except re.error as exc:
                raise ConfigError(f"{field}.v", f"invalid regular expression: {exc}") from exc

    def _compile(self, pattern: Any) -> re.Pattern:
        flags = re.IGNORECASE if self.ignore_case else 0
        if isinstance(pattern, re.Pattern):  # a `re` typed value, already translated
            return re.compile(pattern.pattern, flags)
        # new RegExp(undefined) is the empty pattern, which matches everything
        return js_regex("" if pattern is UNDEFINED else to_js_string(pattern), self.ignore_case)

    def regex_for(self, pattern: Any) -> re.Pattern:
        """The regex of a pattern that comes from the message: compiled once, cache bounded."""
        if self.regex is not None:
            return self.regex
        key = pattern.pattern if isinstance(pattern, re.Pattern) else "" if pattern is UNDEFINED \
            else to_js_string(pattern)
        rx = self._cache.get(key)
        if rx is None:
            rx = self._compile(pattern)  # re.error reaches the caller: reported with the msg
            if len(self._cache) >= 64:
                self._cache.clear()
            self._cache[key] = rx
        return rx


class _Group:
    __slots__ = ("msgs", "count")

    def __init__(self) -> None:
        self.msgs: list[Message] = []
        self.count: Any = UNDEFINED


def _has_parts(msg: Message) -> bool:
    parts = msg.get("parts")
    return isinstance(parts, dict) and "id" in parts and "index" in parts


def _group_key(gid: Any) -> str:
    return gid if isinstance(gid, str) else to_js_string(gid)


class Switch(Node):
    type = "switch"
    color = "#e2d96e"
    icon = "switch"
    category = "function"
    Config = SwitchConfig
    help = "Route messages by property value: one output per rule, JavaScript comparison semantics."

    @classmethod
    def output_count(cls, config: NodeConfig) -> int:
        return len(config.rules)  # type: ignore[attr-defined]

    def setup(self) -> None:
        cfg: SwitchConfig = self.config  # type: ignore[assignment]
        ptype = cfg.propertyType or "msg"
        self._prop_expr: JSONataExpression | None = None
        self._prop_typed: TypedValue | None = None
        self._prop_path = ""
        if ptype == "jsonata":
            self._prop_expr = JSONataExpression(cfg.property, "property")
        elif ptype == "msg":
            err = msgpath.validate(cfg.property)
            if err:
                raise ConfigError("property", err)
            self._prop_path = cfg.property
        else:
            self._prop_typed = TypedValue(cfg.property, ptype, "property")
        self._rules = [_Rule(r, i) for i, r in enumerate(cfg.rules)]
        # Node-RED: a missing checkall means "true"; only the string "false" stops at the first match.
        self._first_only = cfg.checkall == "false"
        self._repair = cfg.repair
        self._needs_count = cfg.repair or any(r.t == "tail" for r in self._rules)
        self.previous: Any = None
        self._clear_pending()

    def _clear_pending(self) -> None:
        self._pending_in: dict[str, _Group] = {}
        self._pending_out: dict[str, list[list]] = {}
        self._received: dict[str, int] = {}
        self._pending_count = 0

    async def stop(self) -> None:
        self._clear_pending()

    def _max_pending(self) -> int:
        return int(self.host.setting("max_buffered", 10000) or 0)

    def _over_limit(self, msg: Message) -> bool:
        limit = self._max_pending()
        if limit > 0 and self._pending_count > limit:
            self._clear_pending()
            self.error(_TOO_MANY, msg)
            return True
        return False

    # ------------------------------------------------------------------ messages
    async def on_message(self, msg: Message) -> None:
        has_parts = _has_parts(msg)
        if self._needs_count and has_parts:
            await self._add_to_pending(msg)
        else:
            await self._process(msg, has_parts)

    async def _add_to_pending(self, msg: Message) -> None:
        parts = msg["parts"]
        key = _group_key(parts["id"])
        group = self._pending_in.setdefault(key, _Group())
        group.msgs.append(msg)
        self._pending_count += 1
        if self._over_limit(msg):
            return
        if "count" in parts:
            group.count = parts["count"]
        if is_number(group.count) and group.count == len(group.msgs):
            # The group is complete: every part now knows the count (tail needs it).
            del self._pending_in[key]
            self._pending_count -= len(group.msgs)
            for m in group.msgs:
                m["parts"]["count"] = group.count
                await self._process(m, True)

    async def _process(self, msg: Message, has_parts: bool) -> None:
        try:
            prop = self._property(msg)
        except Exception as exc:  # Node-RED only warns about a failing property expression
            self.warn(f"Invalid JSONata expression: {exc}")
            return
        try:
            onward = self._apply_rules(msg, prop, has_parts)
        except Exception as exc:
            self.error(exc, msg)
            return
        if not self._repair or not has_parts:
            await self.send(onward)
        else:
            await self._collect_for_group(onward, msg)

    def _property(self, msg: Message) -> Any:
        if self._prop_expr is not None:
            return self._prop_expr.bind(self).evaluate(msg)
        if self._prop_typed is not None:
            return self._prop_typed.evaluate(self, msg)
        try:
            return msgpath.get(msg, self._prop_path)
        except msgpath.PathError:
            return UNDEFINED

    def _apply_rules(self, msg: Message, prop: Any, has_parts: bool) -> list:
        if not self._rules:
            return []
        onward: list = []
        nothing_matched = True
        parts = msg.get("parts", UNDEFINED)
        for rule in self._rules:
            bindings = None
            if rule.t == "jsonata_exp" and has_parts:
                bindings = {"I": _field(parts, "index"), "N": _field(parts, "count")}
                bindings = {k: None if v is UNDEFINED else v for k, v in bindings.items()}
            v1 = rule.v1.value(self, msg, bindings)
            v2 = rule.v2.value(self, msg)
            a = prop
            if rule.t == "else":
                a, nothing_matched = nothing_matched, True
            rx = rule.regex_for(v1) if rule.t == "regex" else None
            if _test(rule.t, a, v1, v2, rx, parts):
                onward.append(msg)
                nothing_matched = False
                if self._first_only:
                    break
            else:
                onward.append(None)
        self.previous = prop
        return onward

    # ------------------------------------------------------------------ repair (re-sequencing)
    async def _collect_for_group(self, onward: list, msg: Message) -> None:
        parts = msg["parts"]
        key = _group_key(parts["id"])
        self._received[key] = self._received.get(key, 0) + 1
        onwards = self._pending_out.setdefault(key, [])
        onwards.append(onward)
        self._pending_count += 1
        if is_number(parts.get("count")) and self._received[key] == parts["count"]:
            del self._pending_out[key]
            del self._received[key]
            self._pending_count -= len(onwards)
            await self._send_group(onwards, len(onward))
        self._over_limit(msg)

    async def _send_group(self, onwards: list[list], port_count: int) -> None:
        # As Node-RED: the port count is that of the last message's result, and a port past
        # the end of a shorter result (checkall "false") still counts towards parts.count.
        counts = [sum(1 for o in onwards if j >= len(o) or o[j] is not None) for j in range(port_count)]
        ids = [new_msgid() for _ in range(port_count)]
        indexes = [0] * port_count
        for onward in onwards:
            ports: list = []
            for j in range(port_count):
                m = onward[j] if j < len(onward) else None
                if m is None:
                    ports.append(None)
                    continue
                out = clone_message(m)
                out["parts"].update(id=ids[j], index=indexes[j], count=counts[j])
                indexes[j] += 1
                ports.append(out)
            await self.send(ports)


__all__ = ["Switch", "SwitchConfig", "SwitchRule", "js_regex", "js_lt", "js_lte", "js_eq", "has_own"]
