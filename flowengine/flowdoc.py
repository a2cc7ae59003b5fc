"""The flow document: Node-RED flows.json, parsed and validated.

The raw list is kept exactly as given (export gives it back, unknown properties and
string-typed numbers included); validation reads it and returns a list of issues naming node,
type and field. Graph checks: duplicate ids, dangling wires, ports out of range, unknown
`z`, missing subflow or config node, unknown types. Node properties are parsed by each
type's pydantic model and compiled (regex, cron, JSONata) by its `setup()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError, ValidationIssue
from .registry import Registry
from .typed import TypedValue

JS_FUNCTION_WARNING = ("Node-RED JavaScript function node: kept unchanged but inert; "
                       "port it to a python-function node")

CONTAINER_TYPES = {"tab", "subflow", "group"}
# Node-RED's JavaScript function node: kept as it is, inert, reported as needing a Python port.
JS_FUNCTION_TYPE = "function"


@dataclass
class FlowDocument:
    raw: list[dict]
    tabs: dict[str, dict] = field(default_factory=dict)
    subflows: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    config_nodes: dict[str, dict] = field(default_factory=dict)
    flow_nodes: dict[str, dict] = field(default_factory=dict)
    by_id: dict[str, dict] = field(default_factory=dict)

    @property
    def node_count(self) -> int:
        return len(self.flow_nodes) + len(self.config_nodes)


def _check_env_list(nid: str, ntype: str, env: Any) -> list[ValidationIssue]:
    if env is None:
        return []
    if not isinstance(env, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in env):
        return [ValidationIssue(nid, ntype, "env", "env must be a list of {name, type, value} objects")]
    issues = []
    for i, entry in enumerate(env):
        # Values whose type can be checked now are checked now (Node-RED finds out at run time).
        if entry.get("type") in _CHECKED_ENV_TYPES:
            try:
                TypedValue(entry.get("value"), entry["type"], f"env[{i}].value")
            except ConfigError as exc:
                issues.append(ValidationIssue(nid, ntype, f"env[{i}].value",
                                              f"{entry['name']}: {exc}"))
    return issues


_CHECKED_ENV_TYPES = frozenset({"num", "json", "jsonata", "bin", "re"})


def _check_subflow_ports(sf_id: str, sf: dict) -> list[ValidationIssue]:
    issues = []
    for key in ("in", "out"):
        ports = sf.get(key)
        if ports is None:
            continue
        if not isinstance(ports, list):
            issues.append(ValidationIssue(sf_id, "subflow", key, f"{key} must be a list of ports"))
            continue
        for i, port in enumerate(ports):
            wires = port.get("wires") if isinstance(port, dict) else None
            if not isinstance(port, dict) or not isinstance(wires or [], list) \
                    or not all(isinstance(w, dict) and isinstance(w.get("id"), str) for w in wires or []):
                issues.append(ValidationIssue(sf_id, "subflow", f"{key}[{i}]",
                                              "a port must be {wires: [{id, port}]}"))
                continue
            for j, w in enumerate(wires or []):
                if not isinstance(w.get("port", 0), int):
                    issues.append(ValidationIssue(sf_id, "subflow", f"{key}[{i}].wires[{j}].port",
                                                  "port must be a whole number"))
    if len(sf.get("in") or []) > 1:
        issues.append(ValidationIssue(sf_id, "subflow", "in", "a subflow has at most one input"))
    return issues


def is_flow_node(obj: dict) -> bool:
    """Node-RED decides flow node vs config node by the presence of x and y. A hand-written node
    with `wires` but no position is a flow node too (config nodes are never wired): Node-RED
    would take it for a config node and silently drop its wires."""
    return ("x" in obj and "y" in obj) or "wires" in obj


def parse_text(text: str | bytes) -> tuple[Any, list[ValidationIssue]]:
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [ValidationIssue(None, None, f"line {exc.lineno} column {exc.colno}",
                                      f"not valid JSON: {exc.msg}")]
    except UnicodeDecodeError as exc:
        return None, [ValidationIssue(None, None, "", f"not UTF-8 text: {exc}")]


def load_document(data: Any) -> tuple[FlowDocument | None, list[ValidationIssue]]:
    """Classify the objects of a flows.json array; structural errors come back as issues."""
    if isinstance(data, dict) and isinstance(data.get("flows"), list):
        data = data["flows"]  # Node-RED admin API v2 shape {rev, flows}
    if not isinstance(data, list):
        return None, [ValidationIssue(None, None, "", "a flows file must be a JSON array of node objects")]
    issues: list[ValidationIssue] = []
    doc = FlowDocument(raw=data)
    for index, obj in enumerate(data):
        if not isinstance(obj, dict):
            issues.append(ValidationIssue(None, None, f"[{index}]", "each entry must be a JSON object"))
            continue
        nid, ntype = obj.get("id"), obj.get("type")
        if not isinstance(nid, str) or not nid:
            issues.append(ValidationIssue(None, ntype if isinstance(ntype, str) else None, f"[{index}].id",
                                          "missing or non-string id"))
            continue
        if not isinstance(ntype, str) or not ntype:
            issues.append(ValidationIssue(nid, None, "type", "missing or non-string type"))
            continue
        if nid in doc.by_id:
            issues.append(ValidationIssue(nid, ntype, "id", f"duplicate id (also used by a "
                                                            f"{doc.by_id[nid].get('type')!r} node)"))
            continue
        doc.by_id[nid] = obj
        if ntype == "tab":
            doc.tabs[nid] = obj
        elif ntype == "subflow":
            doc.subflows[nid] = obj
        elif ntype == "group":
            doc.groups[nid] = obj
        elif is_flow_node(obj) or ntype == "junction":
            doc.flow_nodes[nid] = obj
        else:
            doc.config_nodes[nid] = obj
    return doc, issues


def check_graph(doc: FlowDocument, registry: Registry) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    containers = set(doc.tabs) | set(doc.subflows)
    for nid, obj in doc.flow_nodes.items():
        ntype = obj["type"]
        z = obj.get("z")
        if z is None or z == "":
            issues.append(ValidationIssue(nid, ntype, "z", "a flow node must name its tab or subflow in z"))
        elif z not in containers:
            issues.append(ValidationIssue(nid, ntype, "z", f"unknown flow (tab or subflow) {z!r}"))
        g = obj.get("g")
        if g is not None and g not in doc.groups:
            issues.append(ValidationIssue(nid, ntype, "g", f"unknown group {g!r}", "warning"))
        wires = obj.get("wires", [])
        if not isinstance(wires, list) or not all(isinstance(p, list) for p in wires):
            issues.append(ValidationIssue(nid, ntype, "wires", "wires must be a list of lists of node ids"))
            continue
        for port, targets in enumerate(wires):
            for t_index, target in enumerate(targets):
                if not isinstance(target, str):
                    issues.append(ValidationIssue(nid, ntype, f"wires[{port}][{t_index}]",
                                                  "wire target must be a node id string"))
                elif target in doc.config_nodes:
                    issues.append(ValidationIssue(nid, ntype, f"wires[{port}][{t_index}]",
                                                  f"wire to {target!r}, which has no x/y position and no wires, "
                                                  "so it reads as a config node: give it x and y"))
                elif target not in doc.flow_nodes:
                    issues.append(ValidationIssue(nid, ntype, f"wires[{port}][{t_index}]",
                                                  f"wire to unknown node {target!r}"))
                elif doc.flow_nodes[target].get("z") != z:
                    issues.append(ValidationIssue(nid, ntype, f"wires[{port}][{t_index}]",
                                                  f"wire to node {target!r} on another flow", "warning"))
        if ntype.startswith("subflow:"):
            sf_id = ntype[len("subflow:"):]
            if sf_id not in doc.subflows:
                issues.append(ValidationIssue(nid, ntype, "type", f"unknown subflow {sf_id!r}"))
            else:
                n_out = len(doc.subflows[sf_id].get("out") or [])
                if doc.subflows[sf_id].get("status"):
                    n_out += 1
                if len(wires) > n_out and any(wires[n_out:]):
                    issues.append(ValidationIssue(nid, ntype, "wires",
                                                  f"{len(wires)} output ports wired but the subflow has {n_out}"))
    for cid, container in list(doc.tabs.items()) + list(doc.subflows.items()) + list(doc.groups.items()):
        issues += _check_env_list(cid, container["type"], container.get("env"))
    for nid, obj in doc.flow_nodes.items():
        if obj["type"].startswith("subflow:"):
            issues += _check_env_list(nid, obj["type"], obj.get("env"))
    for sf_id, sf in doc.subflows.items():
        bad = _check_subflow_ports(sf_id, sf)
        if bad:
            issues += bad
            continue
        for i, port in enumerate(sf.get("in") or []):
            for j, w in enumerate(port.get("wires") or []):
                if w.get("id") not in doc.flow_nodes:
                    issues.append(ValidationIssue(sf_id, "subflow", f"in[{i}].wires[{j}]",
                                                  f"wire to unknown node {w.get('id')!r}"))
        for i, port in enumerate(sf.get("out") or []):
            for j, w in enumerate(port.get("wires") or []):
                if w.get("id") not in doc.flow_nodes and w.get("id") != sf_id:
                    issues.append(ValidationIssue(sf_id, "subflow", f"out[{i}].wires[{j}]",
                                                  f"wire from unknown node {w.get('id')!r}"))
    for nid, obj in doc.config_nodes.items():
        z = obj.get("z")
        if z is not None and z != "" and z not in containers:
            issues.append(ValidationIssue(nid, obj["type"], "z", f"unknown flow {z!r}", "warning"))
    return issues


def validate_node(cls: type, props: dict, config_nodes: dict[str, dict] | None) -> list[ValidationIssue]:
    """Parse one node's properties with its type's model and compile what it compiles.
    `config_nodes` are the config nodes references may point at (by id)."""
    nid, ntype = props.get("id"), props.get("type")
    issues: list[ValidationIssue] = []
    try:
        config = cls.Config.model_validate(props)
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"]) or "(node)"
            got = err.get("input")
            got_text = f" (got {json.dumps(got)[:60]})" if not isinstance(got, dict) else ""
            issues.append(ValidationIssue(nid, ntype, path, f"{err['msg']}{got_text}"))
        return issues
    # References to config nodes (fields marked with json_schema_extra node_ref)
    for fname, finfo in cls.Config.model_fields.items():
        extra = finfo.json_schema_extra if isinstance(finfo.json_schema_extra, dict) else {}
        ref_type = extra.get("node_ref")
        if ref_type and config_nodes is not None:
            ref = getattr(config, fname, None)
            if ref and (ref not in config_nodes or (ref_type != "*" and config_nodes[ref].get("type") != ref_type)):
                issues.append(ValidationIssue(nid, ntype, fname, f"missing {ref_type} config node {ref!r}"))
            elif not ref and extra.get("required", True):
                issues.append(ValidationIssue(nid, ntype, fname, f"no {ref_type} config node selected"))
    try:
        node = cls(props, config, None)
        node.setup()
        n_out = cls.output_count(config)
        wires = props.get("wires") or []
        if len(wires) > n_out and any(wires[n_out:]):
            issues.append(ValidationIssue(nid, ntype, "wires",
                                          f"{len(wires)} output ports wired but the node has {n_out}"))
    except ConfigError as exc:
        issues.append(ValidationIssue(nid, ntype, exc.field, str(exc)))
    except Exception as exc:  # a node's setup bug must still come back as a named issue
        issues.append(ValidationIssue(nid, ntype, "", f"{type(exc).__name__}: {exc}"))
    return issues


def errors_only(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    return [i for i in issues if i.severity == "error"]
