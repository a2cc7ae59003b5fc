"""JSONata and mustache, the two expression languages Node-RED flows use.

Both load lazily: importing jsonata costs start-up time and memory that a flow without
JSONata should not pay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .errors import ConfigError
from .jsvalue import UNDEFINED


class JSONataExpression:
    """A compiled JSONata expression with Node-RED's extra functions bound per node."""

    def __init__(self, source: str, field: str = "expression"):
        import jsonata  # deferred: heavy

        self.source = source
        try:
            self._expr = jsonata.Jsonata(source)
        except Exception as exc:
            raise ConfigError(field, f"invalid JSONata expression {source!r}: {exc}") from exc
        # Keep JSON null distinct from "no result" (undefined): we convert both ourselves.
        self._expr.set_output_convert_nulls(False)
        from jsonata.utils import Utils

        self._null = Utils.NULL_VALUE
        self._bound_node: Any = None

    def bind(self, node: Any) -> JSONataExpression:
        """Give the expression $flowContext, $globalContext and $env for `node`."""
        if node is not None and self._bound_node is not node:
            self._bound_node = node
            self._expr.register_lambda("flowContext", lambda key, store=None: _nul(
                node.flow_context.get(key, store)))
            self._expr.register_lambda("globalContext", lambda key, store=None: _nul(
                node.global_context.get(key, store)))
            self._expr.register_lambda("env", lambda name: _nul(node.env(name)))
            self._expr.register_lambda("millis", lambda: int(time.time() * 1000))
        return self

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        """Evaluate; a JSONata `undefined` result is UNDEFINED."""
        if bindings:
            for k, v in bindings.items():
                self._expr.assign(k, v)
        result = self._expr.evaluate(data)
        return UNDEFINED if result is None else self._from_jsonata(result)

    def _from_jsonata(self, value: Any) -> Any:
        """JSONata's null marker -> None, recursively (results are fresh objects)."""
        if value is self._null:
            return None
        if isinstance(value, list):
            for i, v in enumerate(value):
                if v is self._null or isinstance(v, (list, dict)):
                    value[i] = self._from_jsonata(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                if v is self._null or isinstance(v, (list, dict)):
                    value[k] = self._from_jsonata(v)
        return value


def _nul(v: Any) -> Any:
    return None if v is UNDEFINED else v


# ---------------------------------------------------------------- mustache

_MUSTACHE_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
                     "/": "&#x2F;", "`": "&#x60;", "=": "&#x3D;"}
_ESCAPE_TABLE = str.maketrans(_MUSTACHE_ESCAPES)


def mustache_escape(text: str) -> str:
    """HTML escaping exactly as mustache.js does it (it also escapes `/`, `=` and backtick)."""
    return str(text).translate(_ESCAPE_TABLE)



def make_renderer(escape: Callable[[str], str] = mustache_escape) -> Any:
    """A pystache renderer that prints values as mustache.js does: JavaScript String() of the
    value (true, 1 for 1.0, [object Object]) and null/undefined as empty."""
    import pystache  # deferred

    from .jsvalue import to_js_string

    class JSRenderer(pystache.Renderer):
        def str_coerce(self, val: Any) -> str:
            return "" if val is None or val is UNDEFINED else to_js_string(val)

    return JSRenderer(escape=escape, missing_tags="ignore", string_encoding="utf-8")


def parse_mustache(template: str) -> Any:
    """Parse once at deploy; raises ConfigError-friendly ValueError on bad templates."""
    from pystache.parser import parse

    return parse(template, raise_on_mismatch=True)


__all__ = ["JSONataExpression", "make_renderer", "mustache_escape", "parse_mustache"]
