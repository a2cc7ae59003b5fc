"""`flowengine validate`: every malformed input gives errors naming node and field, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = [
    {"id": "t", "type": "tab", "label": "Flow"},
    {"id": "i", "type": "inject", "z": "t", "x": 10, "y": 10, "repeat": "5", "wires": [["c"]]},
    {"id": "c", "type": "change", "z": "t", "x": 10, "y": 10, "wires": [[]],
     "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "1", "tot": "num"}]},
]


def run_validate(tmp_path: Path, content: str | list) -> subprocess.CompletedProcess:
    path = tmp_path / "flows.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return subprocess.run([sys.executable, "-m", "flowengine.cli", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)


def with_node(**overrides) -> list:
    flow = json.loads(json.dumps(GOOD))
    flow[2].update(overrides)
    return flow


def test_valid_file_passes(tmp_path):
    out = run_validate(tmp_path, GOOD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 errors" in out.stdout


@pytest.mark.parametrize(("content", "expected"), [
    (json.dumps(GOOD)[:-40], "not valid JSON"),
    ('{"not": "a list"}', "must be a JSON array"),
    (GOOD + [dict(GOOD[2])], "duplicate id"),
    (with_node(wires=[["nowhere"]]), "wire to unknown node 'nowhere'"),
    (GOOD + [{"id": "u", "type": "no-such-node", "z": "t", "x": 0, "y": 0, "wires": []}],
     "unknown node type 'no-such-node'"),
    (with_node(rules=[{"t": "set", "p": "payload", "to": "{bad", "tot": "json"}]), "rules[0].to"),
    (with_node(rules=[{"t": "set", "p": "payload", "to": "$$$(", "tot": "jsonata"}]), "invalid JSONata"),
    (with_node(rules=[{"t": "change", "p": "payload", "from": "(", "fromt": "re", "to": "x"}]),
     "invalid regular expression"),
    (with_node(rules="not a list"), "rules"),
    (with_node(z="missing-tab"), "unknown flow"),
    (with_node(wires=[[], ["i"]]), "2 output ports wired but the node has 1"),
])
def test_malformed_files_report_node_and_field(tmp_path, content, expected):
    out = run_validate(tmp_path, content)
    assert out.returncode == 1
    assert expected in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_bad_cron_and_property_types(tmp_path):
    flow = json.loads(json.dumps(GOOD))
    flow[1]["crontab"] = "61 * * * *"
    flow[1]["repeat"] = "often"
    out = run_validate(tmp_path, flow)
    assert out.returncode == 1
    assert "node 'i' (inject) field 'repeat'" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_js_function_nodes_are_kept_and_reported(tmp_path):
    flow = GOOD + [{"id": "f", "type": "function", "z": "t", "x": 0, "y": 0, "func": "return msg;",
                    "outputs": 1, "wires": [[]]}]
    out = run_validate(tmp_path, flow)
    assert out.returncode == 0  # a warning, not an error: the node is kept, inert
    assert "node 'f' (function)" in out.stdout and "python-function" in out.stdout


def test_missing_file_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "flowengine.cli", "validate", str(tmp_path / "nope.json")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_a_wired_node_without_a_position_is_a_flow_node_not_a_config_node():
    from flowengine.flowdoc import load_document

    doc, issues = load_document([{"id": "t", "type": "tab"},
                                 {"id": "a", "type": "inject", "z": "t", "wires": [["b"]]},
                                 {"id": "b", "type": "debug", "z": "t", "x": 1, "y": 2, "wires": []},
                                 {"id": "cfg", "type": "mqtt-broker", "broker": "localhost"}])
    assert not issues
    assert set(doc.flow_nodes) == {"a", "b"} and set(doc.config_nodes) == {"cfg"}


def test_a_wire_to_a_node_that_reads_as_config_says_why():
    from flowengine.flowdoc import check_graph, load_document
    from flowengine.registry import default_registry

    doc, _ = load_document([{"id": "t", "type": "tab"},
                            {"id": "a", "type": "inject", "z": "t", "wires": [["b"]]},
                            {"id": "b", "type": "debug", "z": "t"}])
    issues = check_graph(doc, default_registry())
    assert any("reads as a config node" in i.message and i.path == "wires[0][0]" for i in issues)


def test_env_values_that_can_be_checked_are_checked_at_load():
    from flowengine.flowdoc import check_graph, load_document
    from flowengine.registry import default_registry

    doc, _ = load_document([
        {"id": "t", "type": "tab", "env": [{"name": "N", "type": "num", "value": "12"}]},
        {"id": "sf", "type": "subflow", "name": "S", "in": [], "out": [],
         "env": [{"name": "J", "type": "json", "value": "{bad"}]},
        {"id": "i1", "type": "subflow:sf", "z": "t", "x": 1, "y": 1, "wires": [],
         "env": [{"name": "A", "type": "str", "value": "x"}, {"name": "B", "type": "jsonata", "value": "(("},
                 {"name": "C", "type": "conf-type", "value": "whatever"}]}])
    issues = [(i.node_id, i.path) for i in check_graph(doc, default_registry())]
    assert ("i1", "env[1].value") in issues and ("sf", "env[0].value") in issues
    assert not any(nid == "t" for nid, _ in issues) and ("i1", "env[2].value") not in issues
