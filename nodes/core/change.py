"""change: set, change (search/replace), delete and move message or context properties."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, msgpath
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, is_number, to_js_string
from flowengine.message import clone_message
from flowengine.typed import TypedValue, parse_context_key


class ChangeRule(NodeConfig):
    t: str = Field("set", description="set | change | delete | move")
    p: Text = Field("payload", description="target property")
    pt: str = Field("msg", description="msg | flow | global")
    to: Any = ""
    tot: str = "str"
    from_: Any = Field("", alias="from")
    fromt: str = "str"
    dc: JSBool = False


class ChangeConfig(NodeConfig):
    rules: list[ChangeRule] = Field(default_factory=list, description="applied in order to each message")
    # Node-RED 0.x single-rule format, migrated on load
    action: str = ""
    property: str = ""
    reg: JSBool = False


def js_replace(pattern: re.Pattern, text: str, replacement: str) -> str:
    """String.prototype.replace with a global regex: `$&`, `$1`, `$$` in the replacement."""
    def expand(m: re.Match) -> str:
        out, i = [], 0
        while i < len(replacement):
            c = replacement[i]
            if c == "$" and i + 1 < len(replacement):
                nxt = replacement[i + 1]
                if nxt == "$":
                    out.append("$")
                    i += 2
                    continue
                if nxt == "&":
                    out.append(m.group(0))
                    i += 2
                    continue
                if nxt.isdigit():
                    two = replacement[i + 1:i + 3]
                    if len(two) == 2 and two.isdigit() and 0 < int(two) <= (pattern.groups or 0):
                        out.append(m.group(int(two)) or "")
                        i += 3
                        continue
                    if 0 < int(nxt) <= (pattern.groups or 0):
                        out.append(m.group(int(nxt)) or "")
                        i += 2
                        continue
            out.append(c)
            i += 1
        return "".join(out)
    return pattern.sub(expand, text)


def js_regex(source: str, flags: str = "g") -> re.Pattern:
    """Compile a JavaScript regex source with Python's engine (close enough for flows)."""
    py = source.replace("(?<", "(?P<") if "(?<" in source and "(?<=" not in source and "(?<!" not in source \
        else source
    f = re.IGNORECASE if "i" in flags else 0
    if "m" in flags:
        f |= re.MULTILINE
    return re.compile(py, f)


class _Rule:
    __slots__ = ("t", "target", "pt", "store", "value", "frm", "fromt", "dc", "regex", "to_target", "to_type",
                 "to_store")

    def __init__(self, rule: ChangeRule, index: int):
        self.t = rule.t
        self.pt = rule.pt
        field = f"rules[{index}]"
        if rule.t not in ("set", "change", "delete", "move"):
            raise ConfigError(f"{field}.t", f"unknown rule type {rule.t!r}")
        if rule.pt not in ("msg", "flow", "global"):
            raise ConfigError(f"{field}.pt", f"unknown target type {rule.pt!r}")
        self.store, self.target = (None, rule.p) if rule.pt == "msg" else parse_context_key(rule.p)
        err = msgpath.validate(self.target)
        if err:
            raise ConfigError(f"{field}.p", err)
        self.dc = rule.dc
        self.value: TypedValue | None = None
        self.frm: TypedValue | None = None
        self.regex: re.Pattern | None = None
        self.fromt = rule.fromt
        if rule.t in ("set", "change"):
            self.value = TypedValue(rule.to, rule.tot, f"{field}.to")
        if rule.t == "change":
            if rule.fromt == "re":
                try:
                    self.regex = js_regex(to_js_string(rule.from_))
                except re.error as exc:
                    raise ConfigError(f"{field}.from", f"invalid regular expression: {exc}") from exc
            else:
                self.frm = TypedValue(rule.from_, rule.fromt, f"{field}.from")
        if rule.t == "move":
            self.to_type = rule.tot if rule.tot in ("msg", "flow", "global") else "msg"
            self.to_store, self.to_target = (None, to_js_string(rule.to)) if self.to_type == "msg" \
                else parse_context_key(to_js_string(rule.to))
            err = msgpath.validate(self.to_target)
            if err:
                raise ConfigError(f"{field}.to", err)


class Change(Node):
    type = "change"
    color = "#e2d96e"
    icon = "change"
    category = "function"
    Config = ChangeConfig
    help = "Set, change, delete or move properties of the message, flow context or global context."

    def setup(self) -> None:
        cfg: ChangeConfig = self.config  # type: ignore[assignment]
        rules = list(cfg.rules)
        if not rules and cfg.action:
            rules = [self._migrate(cfg)]
        self._rules = [_Rule(r, i) for i, r in enumerate(rules)]

    @staticmethod
    def _migrate(cfg: ChangeConfig) -> ChangeRule:
        extra = cfg.model_extra or {}
        rule: dict[str, Any] = {"t": cfg.action if cfg.action != "replace" else "set",
                                "p": cfg.property or "payload"}
        if cfg.action == "replace":
            rule.update(to=extra.get("to", ""), tot="str")
        elif cfg.action == "change":
            rule.update(to=extra.get("to", ""), tot="str", fromt="re" if cfg.reg else "str")
            rule["from"] = extra.get("from", "")
        elif cfg.action == "move":
            rule.update(to=extra.get("to", ""), tot="msg")
        return ChangeRule.model_validate(rule)

    async def on_message(self, msg: Message) -> None:
        for rule in self._rules:
            try:
                self._apply(rule, msg)
            except msgpath.PathError as exc:
                self.warn(str(exc))
        await self.send(msg)

    # --- rule application
    def _get(self, pt: str, store: str | None, key: str, msg: Message) -> Any:
        if pt == "msg":
            return msgpath.get(msg, key)
        ctx = self.flow_context if pt == "flow" else self.global_context
        return ctx.get(key, store)

    def _set(self, pt: str, store: str | None, key: str, value: Any, msg: Message) -> None:
        if pt == "msg":
            msgpath.set(msg, key, value)
        else:
            ctx = self.flow_context if pt == "flow" else self.global_context
            ctx.set(key, value, store)

    def _apply(self, rule: _Rule, msg: Message) -> None:
        t = rule.t
        if t == "set":
            value = rule.value.evaluate(self, msg)  # type: ignore[union-attr]
            if rule.dc and value is not UNDEFINED:
                value = clone_message(value)
            self._set(rule.pt, rule.store, rule.target, value, msg)
        elif t == "delete":
            if rule.pt == "msg":
                msgpath.delete(msg, rule.target)
            else:
                self._set(rule.pt, rule.store, rule.target, UNDEFINED, msg)
        elif t == "move":
            value = self._get(rule.pt, rule.store, rule.target, msg)
            if rule.pt == "msg":
                msgpath.delete(msg, rule.target)
            else:
                self._set(rule.pt, rule.store, rule.target, UNDEFINED, msg)
            if value is not UNDEFINED:
                self._set(rule.to_type, rule.to_store, rule.to_target, value, msg)
        else:
            self._change(rule, msg)

    def _change(self, rule: _Rule, msg: Message) -> None:
        current = self._get(rule.pt, rule.store, rule.target, msg)
        value = rule.value.evaluate(self, msg)  # type: ignore[union-attr]
        if rule.regex is not None:
            pattern, from_value = rule.regex, None
        else:
            from_value = rule.frm.evaluate(self, msg)  # type: ignore[union-attr]
            if isinstance(from_value, re.Pattern):
                pattern = from_value
            else:
                pattern = re.compile(re.escape(to_js_string(from_value)))
        if isinstance(current, str):
            if rule.fromt in ("num", "bool", "str") and from_value is not None \
                    and current == to_js_string(from_value):
                self._set(rule.pt, rule.store, rule.target, value, msg)  # whole match: may change type
            else:
                new = js_replace(pattern, current, to_js_string(value))
                self._set(rule.pt, rule.store, rule.target, new, msg)
        elif (is_number(current) and rule.fromt == "num" or isinstance(current, bool) and rule.fromt == "bool") \
                and current == from_value:
            self._set(rule.pt, rule.store, rule.target, value, msg)  # numbers/bools: exact match only
