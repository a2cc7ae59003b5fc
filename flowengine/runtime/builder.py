"""Expand a flow document into the flat list of nodes the engine runs.

Tabs give scopes; every subflow instance is expanded into clones of its definition's nodes
with ids `<instance id>-<inner id>` (Node-RED's scheme, which users see in catch output),
each instance with its own scope, env and state. Disabled nodes and disabled tabs are left
out. Link out -> link in pairs become ordinary wires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..flowdoc import FlowDocument

SUBFLOW_IN = "_subflow_in"
SUBFLOW_OUT = "_subflow_out"


@dataclass
class Scope:
    """A tab or a subflow instance: the unit of flow context, env and catch/status scope."""

    id: str
    kind: str  # "tab" | "subflow" | "global"
    name: str
    env: list[dict] = field(default_factory=list)
    parent: Scope | None = None
    instance_id: str | None = None  # subflow: the instance node id
    definition: dict | None = None
    path: str = ""
    # filled by the engine
    catch_nodes: list = field(default_factory=list)
    status_nodes: list = field(default_factory=list)


@dataclass
class NodePlan:
    spec: dict  # properties (a copy for clones), id already final
    scope: Scope
    wires: list[list[str]]


@dataclass
class Plan:
    nodes: dict[str, NodePlan] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    skipped_types: dict[str, str] = field(default_factory=dict)


def build_plan(doc: FlowDocument) -> Plan:
    plan = Plan(groups=dict(doc.groups))
    global_scope = Scope(id="global", kind="global", name="global")
    plan.scopes["global"] = global_scope
    for tab_id, tab in doc.tabs.items():
        scope = Scope(id=tab_id, kind="tab", name=tab.get("label", ""), env=tab.get("env") or [],
                      parent=None, path=tab_id)
        plan.scopes[tab_id] = scope
    # Global config nodes (no z, or z of a tab) live in the global scope / their tab.
    for nid, obj in doc.config_nodes.items():
        z = obj.get("z")
        if obj.get("d") or z in doc.subflows:
            continue
        scope = plan.scopes.get(z) if z else global_scope
        if scope is None:
            scope = global_scope
        if scope.kind == "tab" and _disabled(doc.tabs[scope.id]):
            continue
        plan.nodes[nid] = NodePlan(spec=obj, scope=scope, wires=[])
    for nid, obj in doc.flow_nodes.items():
        z = obj.get("z")
        if z not in doc.tabs or _disabled(doc.tabs[z]) or obj.get("d"):
            continue
        scope = plan.scopes[z]
        if obj["type"].startswith("subflow:"):
            _expand_instance(doc, plan, obj, scope, obj["id"], depth=0)
        else:
            plan.nodes[nid] = NodePlan(spec=obj, scope=scope, wires=_clean_wires(obj))
    _drop_dead_wires(plan)
    return plan


def _disabled(tab: dict) -> bool:
    return bool(tab.get("disabled"))


def _clean_wires(obj: dict) -> list[list[str]]:
    wires = obj.get("wires") or []
    return [list(p) if isinstance(p, list) else [] for p in wires]


def _expand_instance(doc: FlowDocument, plan: Plan, inst: dict, parent: Scope, inst_id: str,
                     depth: int) -> None:
    if depth > 20:
        raise ValueError(f"subflow instance {inst_id!r}: subflows nested more than 20 deep (recursion?)")
    sf_id = inst["type"][len("subflow:"):]
    sf = doc.subflows[sf_id]
    scope = Scope(id=inst_id, kind="subflow", name=inst.get("name") or sf.get("name", ""),
                  env=inst.get("env") or [], parent=parent, instance_id=inst_id, definition=sf,
                  path=f"{parent.path}/{inst_id}")
    plan.scopes[inst_id] = scope
    inner = {nid: obj for nid, obj in doc.flow_nodes.items() if obj.get("z") == sf_id}
    inner_cfg = {nid: obj for nid, obj in doc.config_nodes.items() if obj.get("z") == sf_id}
    idmap = {nid: f"{inst_id}-{nid}" for nid in list(inner) + list(inner_cfg)}

    def remap(value: Any) -> Any:
        if isinstance(value, str):
            return idmap.get(value, value)
        if isinstance(value, list):
            return [remap(v) for v in value]
        return value

    out_ports = list(sf.get("out") or [])
    n_out = len(out_ports) + (1 if sf.get("status") else 0)
    out_ids = [f"{inst_id}-out{i}" for i in range(n_out)]
    inst_wires = _clean_wires(inst)
    for i, oid in enumerate(out_ids):
        targets = inst_wires[i] if i < len(inst_wires) else []
        plan.nodes[oid] = NodePlan(spec={"id": oid, "type": SUBFLOW_OUT, "z": inst_id, "port": i},
                                   scope=parent, wires=[list(targets)])

    clones: dict[str, dict] = {}
    for nid, obj in list(inner.items()) + list(inner_cfg.items()):
        if obj.get("d"):
            continue
        clone = {k: remap(v) if k in ("links", "scope", "broker", "tls", "proxy") or
                 (isinstance(v, str) and v in idmap and k not in ("id", "name")) else v
                 for k, v in obj.items()}
        clone["id"] = idmap[nid]
        clone["_alias"] = nid
        clone["z"] = inst_id
        clone["wires"] = [[idmap.get(t, t) for t in port] for port in _clean_wires(obj)]
        clones[nid] = clone
    # Outputs: inner node port -> instance output proxy
    for i, port in enumerate(out_ports):
        for w in port.get("wires") or []:
            src = w.get("id")
            if src in clones:
                p = int(w.get("port", 0))
                wires = clones[src]["wires"]
                while len(wires) <= p:
                    wires.append([])
                wires[p].append(out_ids[i])
    if sf.get("status"):
        for w in sf["status"].get("wires") or []:
            src = w.get("id")
            if src in clones:
                p = int(w.get("port", 0))
                wires = clones[src]["wires"]
                while len(wires) <= p:
                    wires.append([])
                wires[p].append(out_ids[-1])
    # Input: the instance node itself receives messages and hands them to the inner entries
    entry: list[str] = []
    for port in (sf.get("in") or [])[:1]:
        for w in port.get("wires") or []:
            target = w.get("id")
            if target == sf_id:
                continue
            if target in clones:
                entry.append(clones[target]["id"])
    # An input wired straight to an output
    for i, port in enumerate(out_ports):
        if any(w.get("id") == sf_id for w in port.get("wires") or []):
            entry.append(out_ids[i])
    plan.nodes[inst_id] = NodePlan(spec={**inst, "type": SUBFLOW_IN, "_subflow": sf_id}, scope=parent,
                                   wires=[entry])
    for clone in clones.values():
        if clone["type"].startswith("subflow:"):
            _expand_instance(doc, plan, clone, scope, clone["id"], depth + 1)
        else:
            plan.nodes[clone["id"]] = NodePlan(spec=clone, scope=scope, wires=clone["wires"])


def _drop_dead_wires(plan: Plan) -> None:
    """Wires to disabled or missing nodes carry nothing."""
    for np_ in plan.nodes.values():
        np_.wires = [[t for t in port if t in plan.nodes] for port in np_.wires]
