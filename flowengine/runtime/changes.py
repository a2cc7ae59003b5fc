"""What a partial deploy must restart: the difference between two plans.

A node restarts when it is new, when its properties or wires changed (canvas position does not
count), when the env it sees changed (its tab, subflow instance or group), or when a config node
it refers to restarts. In `flows` mode every node of a tab or subflow instance with any such
change restarts.
"""

from __future__ import annotations

from typing import Any

from .builder import Plan, Scope

_LAYOUT = frozenset({"x", "y", "w", "h", "l", "info", "inputLabels", "outputLabels", "icon", "color"})


def _props(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in _LAYOUT}


def _scope_env(scope: Scope) -> Any:
    chain = []
    while scope is not None:
        chain.append((scope.id, scope.env, (scope.definition or {}).get("env")))
        scope = scope.parent
    return chain


def _group_env(plan: Plan, spec: dict) -> Any:
    chain, g = [], spec.get("g")
    while g and g not in [c[0] for c in chain]:
        group = plan.groups.get(g) or {}
        chain.append((g, group.get("env")))
        g = group.get("g")
    return chain


def changed_nodes(old: Plan, new: Plan, mode: str) -> set[str]:
    restart: set[str] = set()
    for nid, np_ in new.nodes.items():
        before = old.nodes.get(nid)
        if before is None or _props(before.spec) != _props(np_.spec) or before.wires != np_.wires \
                or _scope_env(before.scope) != _scope_env(np_.scope) \
                or _group_env(old, before.spec) != _group_env(new, np_.spec):
            restart.add(nid)
    # Users of a restarted config node restart too (they hold its connection).
    config_ids = {nid for nid in restart if "x" not in new.nodes[nid].spec}
    if config_ids:
        for nid, np_ in new.nodes.items():
            if any(isinstance(v, str) and v in config_ids for v in np_.spec.values()):
                restart.add(nid)
    if mode == "flows":
        scopes = {new.nodes[nid].scope.id for nid in restart}
        scopes |= {np_.scope.id for nid, np_ in old.nodes.items() if nid not in new.nodes}
        restart |= {nid for nid, np_ in new.nodes.items() if np_.scope.id in scopes}
    return restart
