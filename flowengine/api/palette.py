"""The palette the editor draws: every node type with its looks, ports, help and the JSON Schema
of its config, annotated so a generic form renderer shows the right widgets.

Annotations (JSON Schema extension keywords, documented in docs/api.md):
- `x-typed: {typeField, types}` on a value whose type sits in a sibling field (Node-RED's typed
  inputs: payload/payloadType, to/tot, v/vt, ...); the type field gets `x-hidden: true`.
- `x-widget`: cron, topic, code (or whatever a node's Field(json_schema_extra=...) says).
- `node_ref` (from flowengine.fields) names the config-node type a property points to.
They are derived from field names, so third-party packs get them without extra work; a field's
own json_schema_extra always wins.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from ..node import Node

TYPED_INPUT_TYPES = ("msg", "flow", "global", "str", "num", "bool", "json", "date", "env", "jsonata", "re", "bin",
                     "prev", "full", "null", "nul", "pay", "payl")
DEFAULT_TYPES = ["msg", "flow", "global", "str", "num", "bool", "json", "date", "env", "jsonata"]
CODE_FIELDS = frozenset({"func", "initialize", "finalize", "template"})
CATEGORY_COLORS = {"common": "#a6bbcf", "function": "#e2d96e", "network": "#d8bfd8", "parser": "#debd5c",
                   "sequence": "#e2d96e", "storage": "#c7e9c0", "config": "#dddddd"}


@functools.cache
def describe_type(name: str, cls: type[Node]) -> dict[str, Any]:
    """One palette entry; a class never changes while the process runs, so it is made once (the
    schema generation and annotation are the costly part). Callers must not modify it."""
    return {"type": name, "category": cls.category, "inputs": cls.inputs, "outputs": cls.outputs,
            "config": cls.is_config, "help": cls.help, "module": cls.__module__,
            "color": cls.color or CATEGORY_COLORS.get(cls.category, "#dddddd"),
            "icon": cls.icon or ("config" if cls.is_config else "node"),
            "label": cls.palette_label or name,
            "credentials": dict(cls.credentials),
            "schema": annotate_schema(cls.Config.model_json_schema(), cls)}


def annotate_schema(schema: dict[str, Any], cls: type[Node]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    _annotate_object(schema, cls)
    for definition in schema.get("$defs", {}).values():
        _annotate_object(definition, cls)
    return schema


def _annotate_object(obj: dict[str, Any], cls: type[Node]) -> None:
    props: dict[str, dict[str, Any]] = obj.get("properties") or {}
    for name, prop in props.items():
        type_field = _type_field(name, props)
        if type_field is not None and "x-typed" not in prop:
            prop["x-typed"] = {"typeField": type_field, "types": _types_of(props[type_field])}
            props[type_field].setdefault("x-hidden", True)
        if "x-widget" in prop:
            continue
        if name == "crontab":
            prop["x-widget"] = "cron"
        elif name == "topic" and cls.category == "network":
            prop["x-widget"] = "topic"
        elif name in CODE_FIELDS:
            prop["x-widget"] = "code"


def _type_field(name: str, props: dict[str, Any]) -> str | None:
    if name.endswith(("Type", "t")) and name[:-4 if name.endswith("Type") else -1] in props:
        return None  # this is itself a type field
    for candidate in (name + "Type", name + "t"):
        if candidate in props and props[candidate].get("type", "string") in ("string", None):
            return candidate
    return None


def _types_of(type_prop: dict[str, Any]) -> list[str]:
    """The types a type field allows, read from its description ("msg | flow | global") when it
    lists them, else the common set."""
    words = re.findall(r"[a-z]+", str(type_prop.get("description", "")))
    listed = [w for w in dict.fromkeys(words) if w in TYPED_INPUT_TYPES]
    return listed if len(listed) >= 2 else list(DEFAULT_TYPES)
