"""json: convert a message property between a JSON string and an object, as Node-RED does.

String/Buffer -> JSON.parse, object/array/number/boolean/null -> JSON.stringify, a missing
property passes through. `msg.schema` (JSON Schema) validates the object form; failures set
`msg.schemaError` and go to catch nodes. Validation uses the optional `jsonschema` package.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, js_json_dumps, json_loads, truthy

_SCHEMA_ERROR = "JSON Schema error"
_SCHEMA_COMPILE_ERROR = "JSON Schema error: failed to compile schema"
_NO_JSONSCHEMA = ("JSON Schema error: validating msg.schema needs the Python 'jsonschema' package, "
                  "which is not installed")


class JsonConfig(NodeConfig):
    action: str = Field("", description="'' converts both ways, 'str' always to a JSON string, "
                                        "'obj' always to an object")
    property: Text = Field("payload", description="message property to convert")
    pretty: JSBool = Field(False, description="indent the JSON string by 4 spaces")


def v8_parse_error(text: str, exc: json.JSONDecodeError) -> str:
    """The message V8's JSON.parse would give for the common errors (Node 20 wording)."""
    pos, why = exc.pos, exc.msg
    if why.startswith("Expecting value"):
        if not text[pos:].strip(" \t\n\r"):
            return "Unexpected end of JSON input"
        for word in ("true", "false", "null"):  # V8 reports the first wrong letter of a literal
            if text[pos] == word[0]:
                k = next((i for i, c in enumerate(word) if text[pos + i:pos + i + 1] != c), len(word))
                if pos + k >= len(text):
                    return "Unexpected end of JSON input"
                pos += k
                break
        shown = text if len(text) <= 30 else f"...{text[max(0, pos - 10):pos + 10]}..."
        return f"Unexpected token '{text[pos]}', \"{shown}\" is not valid JSON"
    if pos >= len(text):
        return "Unexpected end of JSON input"
    known = {
        "Expecting property name enclosed in double quotes": "Expected property name or '}'",
        "Expecting ':' delimiter": "Expected ':' after property name",
        "Invalid control character at": "Bad control character in string literal",
        "Invalid \\escape": "Bad escaped character",
    }
    if why.startswith("Extra data"):
        return f"Unexpected non-whitespace character after JSON at position {pos}"
    if why.startswith("Expecting ',' delimiter"):
        if _innermost_open(text, pos) == "{":
            return f"Expected ',' or '}}' after property value in JSON at position {pos}"
        return f"Expected ',' or ']' after array element in JSON at position {pos}"
    if why.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {len(text)}"
    for prefix, v8 in known.items():
        if why.startswith(prefix):
            return f"{v8} in JSON at position {pos}"
    return f"{why} in JSON at position {pos}"


def _innermost_open(text: str, end: int) -> str:
    """The innermost unclosed bracket before `end`, skipping string contents."""
    stack: list[str] = []
    in_str = escaped = False
    for c in text[:end]:
        if in_str:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            stack.append(c)
        elif c in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


class _Schema:
    """A compiled msg.schema (Node-RED uses ajv; we use jsonschema with ajv-shaped errors)."""

    def __init__(self, module: Any, schema: Any):
        cls = module.validators.validator_for(schema, default=module.Draft7Validator)
        cls.check_schema(schema)
        self._validator = cls(schema)

    def errors(self, value: Any) -> list[dict]:
        out = []
        for err in self._validator.iter_errors(value):
            path = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in err.absolute_path)
            out.append({
                "instancePath": path,
                "schemaPath": "#/" + "/".join(str(p) for p in err.absolute_schema_path),
                "keyword": err.validator,
                "params": {err.validator: err.validator_value},
                "message": err.message,
            })
        return out


class Json(Node):
    type = "json"
    color = "#debd5c"
    icon = "parser"
    category = "parser"
    Config = JsonConfig
    help = "Converts between a JSON string and its object; validates against msg.schema if given."

    def setup(self) -> None:
        cfg: JsonConfig = self.config  # type: ignore[assignment]
        if cfg.action not in ("", "str", "obj"):
            raise ConfigError("action", f"unknown action {cfg.action!r} (expected '', 'str' or 'obj')")
        self._prop = cfg.property or "payload"
        err = msgpath.validate(self._prop)
        if err:
            raise ConfigError("property", err)
        self._indent = 4 if cfg.pretty else None
        self._schema_key: str | None = None
        self._schema: _Schema | None = None

    async def on_message(self, msg: Message) -> None:
        schema: _Schema | None = None
        if truthy(msg.get("schema", UNDEFINED)):
            schema = self._compile(msg)
            if schema is None:
                return
        value = msgpath.get(msg, self._prop)
        if value is UNDEFINED:
            await self.send(msg)
            return
        action = self.config.action  # type: ignore[attr-defined]
        if isinstance(value, (str, bytes, bytearray)):
            if action == "str" and schema is None:  # already a string
                await self.send(msg)
                return
            text = _text(value)
            try:
                parsed = json_loads(text)
            except json.JSONDecodeError as exc:
                self.error(v8_parse_error(text, exc), msg)
                return
            except (ValueError, RecursionError) as exc:  # NaN/Infinity literals, absurd nesting
                self.error(str(exc), msg)
                return
            if action != "str":
                msgpath.set(msg, self._prop, parsed)
            if schema is None or self._valid(schema, parsed, msg):
                await self._pass(msg, schema)
            return
        if callable(value) and not isinstance(value, type):
            self.warn("Ignored unsupported payload type")  # JS: a function or symbol
            return
        if schema is not None and not self._valid(schema, value, msg):
            return
        if action != "obj":  # object/array/number/boolean/null -> JSON text
            try:
                msgpath.set(msg, self._prop, js_json_dumps(value, self._indent))
            except (ValueError, TypeError, RecursionError):  # circular structures
                self.error("Failed to convert payload", msg)
                return
        await self._pass(msg, schema)

    async def _pass(self, msg: Message, schema: _Schema | None) -> None:
        if schema is not None:
            msg.pop("schema", None)  # a validated message leaves without its schema
        await self.send(msg)

    def _compile(self, msg: Message) -> _Schema | None:
        """The compiled msg.schema, recompiled only when it changes; None after an error."""
        schema = msg["schema"]
        try:
            key = js_json_dumps(schema)
        except (ValueError, TypeError, RecursionError):
            key = None
        if key is not None and key == self._schema_key and self._schema is not None:
            return self._schema
        module = _jsonschema()
        if module is None:
            self.error(_NO_JSONSCHEMA, msg)
            return None
        try:
            self._schema, self._schema_key = _Schema(module, schema), key
        except Exception:  # any bad schema (wrong type, unknown draft, invalid keywords)
            self._schema, self._schema_key = None, None
            self.error(_SCHEMA_COMPILE_ERROR, msg)
            return None
        return self._schema

    def _valid(self, schema: _Schema, value: Any, msg: Message) -> bool:
        errors = schema.errors(value)
        if not errors:
            return True
        msg["schemaError"] = errors
        text = ", ".join(f"data{e['instancePath']} {e['message']}" for e in errors)
        self.error(f"{_SCHEMA_ERROR}: {text}", msg)
        return False


def _text(value: str | bytes | bytearray) -> str:
    # Buffer.toString(): UTF-8 with replacement characters, and a BOM is not whitespace
    return value if isinstance(value, str) else bytes(value).decode("utf-8", errors="replace")


_module_cache: list[Any] = []


def _jsonschema() -> Any:
    """The jsonschema module if installed (an optional dependency), else None."""
    if not _module_cache:
        try:
            _module_cache.append(importlib.import_module("jsonschema"))
        except ImportError:
            _module_cache.append(None)
    return _module_cache[0]
