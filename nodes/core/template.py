"""template: render a mustache (or plain) template into a message property or context.

Rendering goes through pystache with mustache.js's rules where they differ from pystache's:
names resolve like mustache.js (msg first, then `flow.x` / `global.x` / `flow[store].x` /
`env.NAME`, missing names render ""), values print as JavaScript's String() does, and
sections use JavaScript truthiness.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.expressions import mustache_escape
from flowengine.fields import Text
from flowengine.jsvalue import UNDEFINED, json_loads, to_js_string, truthy
from flowengine.typed import parse_context_key, substitute_env

_CONTEXT_NAME = re.compile(r"^(flow|global)(\[(\w+)\])?\.(.+)", re.DOTALL)
_ENV_NAME = re.compile(r"^env\.(.+)", re.DOTALL)
_PARSE_CACHE_MAX = 32


class TemplateConfig(NodeConfig):
    field: Text = Field("payload", description="where the result goes")
    fieldType: str = Field("msg", description="msg | flow | global")
    syntax: str = Field("mustache", description="mustache | plain")
    template: Text = Field("", description="the template; when empty, msg.template is used")
    output: str = Field("str", description="str | json | yaml: parse the rendered text")
    format: str = Field("handlebars", description="editor highlighting only")


# ---------------------------------------------------------------- mustache.js value rules


class _EmptyObject(dict):
    """`{}` is truthy in JavaScript: a section over it renders once."""

    def __bool__(self) -> bool:
        return True


class _EmptyBuffer(bytes):
    def __bool__(self) -> bool:
        return True


class _NaN(float):
    """NaN is falsy in JavaScript: an inverted section over it renders."""

    def __bool__(self) -> bool:
        return False


def _js_view(value: Any) -> Any:
    """Adjust the few values whose Python truthiness differs from JavaScript's."""
    if type(value) is dict and not value:
        return _EmptyObject()
    if isinstance(value, (bytes, bytearray)) and not value:
        return _EmptyBuffer()
    if type(value) is float and math.isnan(value):
        return _NaN("nan")
    return value


def _to_str(value: Any) -> str:
    """What `{{x}}` prints: String(x), but nothing for null/undefined."""
    if value is None or value is UNDEFINED:
        return ""
    return to_js_string(value)


def _index(key: str, length: int) -> int | None:
    if key.isdigit() and (key == "0" or not key.startswith("0")) and int(key) < length:
        return int(key)
    return None


def _has(obj: Any, key: str) -> bool:
    """mustache.js hasProperty (objects) or primitiveHasOwnProperty (strings)."""
    if isinstance(obj, dict):
        return key in obj
    if isinstance(obj, (list, str, bytes, bytearray)):
        return key == "length" or _index(key, len(obj)) is not None
    return False


def _prop(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    if isinstance(obj, (list, str, bytes, bytearray)):
        if key == "length":
            return len(obj)
        i = _index(key, len(obj))
        return obj[i] if i is not None else UNDEFINED
    return UNDEFINED


def lookup(views: list, name: str) -> Any:
    """Resolve a tag name against the view stack (innermost last) as mustache.js does: a dotted
    name must resolve fully within one view, else the next outer view is tried."""
    if name == ".":
        return views[-1]
    dotted = name.find(".") > 0
    names = name.split(".")
    for view in reversed(views):
        if dotted:
            value, hit, i = view, False, 0
            while value is not None and value is not UNDEFINED and i < len(names):
                if i == len(names) - 1:
                    hit = _has(value, names[i])
                value = _prop(value, names[i])
                i += 1
        else:
            hit = not isinstance(view, str) and _has(view, name)  # primitives have no named keys here
            value = _prop(view, name)
        if hit:
            return value
    return UNDEFINED


def json_escape(text: str) -> str:
    """Escape a string for insertion between JSON quotes, as Node-RED's json output mode does."""
    return (text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
            .replace("\f", "\\f").replace("\b", "\\b"))


def check_tags(template: str) -> None:
    """mustache.js rejects an unclosed `{{` tag; pystache would print it as text."""
    if "{{=" in template:  # custom delimiters: leave it to the parser
        return
    i = template.find("{{")
    while i >= 0:
        close = "}}}" if template.startswith("{{{", i) else "}}"
        j = template.find(close, i + 2)
        if j < 0:
            raise ValueError(f"Unclosed tag at {len(template)}")
        i = template.find("{{", j + len(close))


def parse_template(template: str) -> Any:
    from pystache.parser import parse

    check_tags(template)
    return parse(template, raise_on_mismatch=True)


def _make_engine(resolve: Any) -> Any:
    from pystache.renderengine import RenderEngine

    class _Engine(RenderEngine):
        def fetch_section_data(self, context: Any, name: str) -> list:
            data = self.resolve_context(context, name)
            if not truthy(data):
                return []
            return data if isinstance(data, list) else [data]

    return _Engine(literal=str, escape=mustache_escape, resolve_context=resolve,
                   resolve_partial=lambda _name: "", to_str=_to_str)


class Template(Node):
    type = "template"
    color = "#f3b567"
    icon = "template"
    category = "function"
    Config = TemplateConfig
    help = "Render a mustache template with msg, flow, global and env values into a property."

    def setup(self) -> None:
        cfg: TemplateConfig = self.config  # type: ignore[assignment]
        self.field = cfg.field or "payload"
        self.field_type = cfg.fieldType or "msg"
        self.syntax = cfg.syntax or "mustache"
        self.output = cfg.output or "str"
        if self.field_type not in ("msg", "flow", "global"):
            raise ConfigError("fieldType", f"unknown target type {self.field_type!r}: msg, flow or global")
        if self.syntax not in ("mustache", "plain"):
            raise ConfigError("syntax", f"unknown syntax {self.syntax!r}: mustache or plain")
        if self.output not in ("str", "json", "yaml"):
            raise ConfigError("output", f"unknown output {self.output!r}: str, json or yaml")
        if self.output == "yaml":
            try:
                import yaml  # noqa: F401
            except ImportError as exc:
                raise ConfigError("output", "YAML output needs PyYAML (pip install pyyaml)") from exc
        if self.field_type == "msg":
            err = msgpath.validate(self.field)
            self._store, self._key = None, self.field
        else:
            self._store, self._key = parse_context_key(self.field)
            err = msgpath.validate(self._key)
        if err:
            raise ConfigError("field", err)
        self.template: str = cfg.template
        self._parsed: Any = None
        if self.syntax == "mustache" and self.template != "":
            try:
                self._parsed = parse_template(self.template)
            except Exception as exc:
                raise ConfigError("template", f"invalid mustache template: {exc}") from exc
        self._escape_json = self.output == "json"
        self._cache: dict[str, Any] = {}
        self._engine: Any = None

    # ------------------------------------------------------------------ rendering
    def _resolve(self, stack: Any, name: str) -> Any:
        views = stack._stack  # pystache's ContextStack: the msg, then one view per open section
        value = lookup(views, name)
        if value is not UNDEFINED:
            # Only lookups outside any section escape strings for JSON (as Node-RED does).
            if self._escape_json and len(views) == 1 and isinstance(value, str):
                value = json_escape(value)
            return _js_view(value)
        m = _ENV_NAME.match(name)
        if m:
            return _js_view(substitute_env(self, m.group(1)))
        m = _CONTEXT_NAME.match(name)
        if m:
            ctx = self.flow_context if m.group(1) == "flow" else self.global_context
            return _js_view(ctx.get(m.group(4), m.group(3)))
        return ""

    def render(self, parsed: Any, msg: Message) -> str:
        from pystache.context import ContextStack

        if self._engine is None:
            self._engine = _make_engine(self._resolve)
        return parsed.render(self._engine, ContextStack(msg))

    def _parse_runtime(self, template: Any) -> Any:
        """A template from msg.template: parsed per distinct text, cache bounded."""
        if not isinstance(template, str):
            kind = "null" if template is None else type(template).__name__
            raise TypeError(f'Invalid template! Template should be a "string" but "{kind}" was given')
        parsed = self._cache.get(template)
        if parsed is None:
            parsed = parse_template(template)
            if len(self._cache) >= _PARSE_CACHE_MAX:
                self._cache.clear()
            self._cache[template] = parsed
        return parsed

    def _convert(self, value: Any) -> Any:
        if self.output == "json":
            return json_loads(value if isinstance(value, str) else to_js_string(value))
        if self.output == "yaml":
            import yaml

            return yaml.safe_load(value if isinstance(value, str) else to_js_string(value))
        return value

    async def on_message(self, msg: Message) -> None:
        template: Any = self.template
        parsed = self._parsed
        if template == "" and "template" in msg:
            template, parsed = msg["template"], None
        try:
            if self.syntax == "mustache":
                if parsed is None:
                    parsed = self._parse_runtime(template)
                value: Any = self.render(parsed, msg)
            else:
                value = template
            value = self._convert(value)
            if self.field_type == "msg":
                msgpath.set(msg, self.field, value)
            else:
                ctx = self.flow_context if self.field_type == "flow" else self.global_context
                ctx.set(self._key, value, self._store)
        except Exception as exc:  # bad JSON/YAML, bad msg.template, unsettable field: error with the msg
            self.error(exc, msg)
            return
        await self.send(msg)
