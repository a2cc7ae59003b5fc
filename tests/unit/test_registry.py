"""Node discovery through entry points, and what every registered node type must provide."""

from __future__ import annotations

import pytest

from flowengine.node import Node
from flowengine.registry import Registry, default_registry

REGISTRY = default_registry()
ISSUE_TYPES = {"inject", "debug", "change", "switch", "range", "template", "delay", "trigger", "split", "join",
               "sort", "batch", "rbe", "json", "csv", "catch", "status", "complete", "link in", "link out",
               "link call", "comment", "junction", "python-function", "mqtt-broker", "mqtt in", "mqtt out"}


def test_every_pack_loads_through_its_entry_point():
    assert {"core", "mqtt", "function"} <= set(REGISTRY.packs)
    assert all(p.error is None for p in REGISTRY.packs.values()), {n: p.error for n, p in REGISTRY.packs.items()}
    assert set(REGISTRY.types) >= ISSUE_TYPES


@pytest.mark.parametrize("type_name", sorted(REGISTRY.types))
def test_node_type_has_schema_and_help(type_name):
    cls = REGISTRY.types[type_name]
    schema = cls.Config.model_json_schema()  # what the editor will render forms from
    assert schema["type"] == "object"
    assert cls.help, f"{type_name} has no help text"
    assert cls.__module__.startswith("flowengine_nodes."), "packs are installed as flowengine_nodes"


def test_a_broken_pack_is_reported_not_fatal(monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint(name="broken", value="no_such_module_xyz:NODES", group="flowengine.nodes")
    monkeypatch.setattr("flowengine.registry.entry_points", lambda group: [broken])
    reg = Registry().load_entry_points()
    assert "ModuleNotFoundError" in reg.packs["broken"].error
    assert reg.types == {}


def test_duplicate_type_names_are_refused():
    class A(Node):
        type = "dup"

    class B(Node):
        type = "dup"

    reg = Registry()
    reg.register(A)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(B)
