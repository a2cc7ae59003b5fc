"""debug: show messages in the debug stream (the editor's sidebar), the log, or node status."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowengine import Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, js_json_dumps, to_js_string
from flowengine.typed import TypedValue

MAX_LENGTH = 1000


class DebugConfig(NodeConfig):
    active: JSBool = True
    tosidebar: JSBool = True
    console: JSBool = False
    tostatus: JSBool = False
    complete: Text = Field("false", description="'false' = msg.payload, 'true' = whole message, or a property")
    targetType: str = Field("msg", description="msg | full | jsonata")
    statusVal: Text = ""
    statusType: str = "auto"


def describe(value: Any) -> tuple[str, str]:
    """Display text (truncated) and a format name, as the debug sidebar shows them."""
    if value is UNDEFINED:
        return "undefined", "undefined"
    if isinstance(value, (bytes, bytearray)):
        text, fmt = bytes(value[:MAX_LENGTH]).hex(), f"buffer[{len(value)}]"
    elif isinstance(value, str):
        text, fmt = value, f"string[{len(value)}]"
    elif isinstance(value, (dict, list)):
        text, fmt = js_json_dumps(value), "Object" if isinstance(value, dict) else f"array[{len(value)}]"
    else:
        text, fmt = to_js_string(value), type(value).__name__
    if len(text) > MAX_LENGTH:
        text = text[:MAX_LENGTH] + "...."
    return text, fmt


class Debug(Node):
    type = "debug"
    color = "#87a980"
    icon = "debug"
    category = "common"
    outputs = 0
    Config = DebugConfig
    help = "Shows messages in the debug stream (editor sidebar), the log, or the node status."

    def setup(self) -> None:
        cfg: DebugConfig = self.config  # type: ignore[assignment]
        self._full = cfg.complete == "true" or cfg.targetType == "full"
        self._expr = TypedValue(cfg.complete, "jsonata", "complete") if cfg.targetType == "jsonata" else None
        self._prop = "payload" if cfg.complete in ("false", "") else cfg.complete
        if not self._full and self._expr is None:
            err = msgpath.validate(self._prop)
            if err:
                from flowengine import ConfigError
                raise ConfigError("complete", err)

    def _value(self, msg: Message) -> Any:
        if self._full:
            return msg
        if self._expr is not None:
            return self._expr.evaluate(self, msg)
        return msgpath.get(msg, self._prop)

    async def on_message(self, msg: Message) -> None:
        cfg: DebugConfig = self.config  # type: ignore[assignment]
        if not cfg.active:
            return
        value = self._value(msg)
        text, fmt = describe(value)
        if cfg.tosidebar:
            self.host.emit_event("debug", self, {"id": self.id, "z": self.z, "name": self.name,
                                                 "topic": msg.get("topic"), "property": "msg" if self._full
                                                 else self._prop, "format": fmt, "msg": text})
        if cfg.console:
            self.log.info("[debug:%s] %s", self.name or self.id, text)
        if cfg.tostatus:
            self.status(fill="grey", shape="dot", text=text[:32])
