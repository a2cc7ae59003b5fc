"""template node: mustache.js rendering rules, context/env lookup, json output, targets, errors."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from flowengine import UNDEFINED, ConfigError
from flowengine.runtime.context import ContextStores, MemoryStore
from flowengine.testing import FlowHarness
from flowengine_nodes.core.template import Template
from tests.conformance.replay import replay


def template_flow(template: str, **props: Any) -> list[dict]:
    node = {"id": "t", "type": "template", "field": "payload", "fieldType": "msg", "syntax": "mustache",
            "template": template, "output": "str", "wires": [["out"]]}
    node.update(props)
    return [node, {"id": "out", "type": "helper"},
            {"id": "c", "type": "catch", "scope": None, "wires": [["err"]]}, {"id": "err", "type": "helper"}]


async def render(template: str, msg: dict, **props: Any) -> Any:
    async with FlowHarness(template_flow(template, **props)) as h:
        await h.inject("t", msg)
        assert h.messages("err") == [], h.messages("err")
        return h.messages("out")[0]["payload"]


def make(props: dict) -> Template:
    node = Template({"id": "x", **props}, Template.Config.model_validate(props))
    node.setup()
    return node


@pytest.mark.parametrize("case_id", ["tp01", "tp02", "tp03", "tp04"])
async def test_conformance_cases(case_id):
    got_ports, want_ports = await replay(case_id)
    got = [m for port in got_ports.values() for m in port]
    want = [m for port in want_ports.values() for m in port]
    assert got == want


# ---------------------------------------------------------------- values print as JavaScript's String()


async def test_values_print_as_javascript_strings():
    msg = {"payload": {"i": 1.0, "f": 0.1 + 0.2, "t": True, "f0": False, "z": 0, "n": None,
                       "arr": [1, [2, None], "x"], "objs": [{"a": 1}], "o": {}, "big": 1e21}}
    out = await render("{{payload.i}}|{{payload.f}}|{{payload.t}}|{{payload.f0}}|{{payload.z}}|{{payload.n}}|"
                       "{{payload.arr}}|{{payload.objs}}|{{payload.o}}|{{payload.big}}|{{payload.none}}", msg)
    assert out == "1|0.30000000000000004|true|false|0||1,2,,x|[object Object]|[object Object]|1e+21|"


async def test_html_escaping_only_for_double_braces():
    out = await render("{{payload}} {{{payload}}} {{&payload}}", {"payload": "a=`/'\"<&>"})
    assert out == "a&#x3D;&#x60;&#x2F;&#39;&quot;&lt;&amp;&gt; a=`/'\"<&> a=`/'\"<&>"


async def test_string_length_and_array_index():
    msg = {"payload": [7, 8, 9], "topic": "xyz"}
    assert await render("{{payload.length}} {{payload.1}} {{topic.0}}", msg) == "3 8 x"


# ---------------------------------------------------------------- sections follow JavaScript truthiness


async def test_sections_use_javascript_truthiness():
    tpl = ("{{#payload.o}}obj{{/payload.o}}{{^payload.o}}no-obj{{/payload.o}}|"
           "{{#payload.z}}zero{{/payload.z}}{{^payload.z}}no-zero{{/payload.z}}|"
           "{{#payload.s}}[{{.}}]{{/payload.s}}|{{#payload.e}}e{{/payload.e}}{{^payload.e}}empty{{/payload.e}}|"
           "{{#payload.n}}{{.}}{{/payload.n}}")
    out = await render(tpl, {"payload": {"o": {}, "z": 0, "s": "str", "e": [], "n": 5}})
    assert out == "obj|no-zero|[str]|empty|5"


async def test_dotted_names_fall_back_to_outer_views_like_mustache_js():
    # inside the section the item has `payload` but no `payload.total`: mustache.js looks outward
    tpl = "{{#payload.items}}{{payload.total}}:{{name}};{{/payload.items}}"
    msg = {"payload": {"total": 9, "items": [{"name": "a", "payload": {}}, {"name": "b"}]}}
    assert await render(tpl, msg) == "9:a;9:b;"


async def test_partials_render_empty_and_delimiters_can_change():
    assert await render("a{{>missing}}b", {"payload": 1}) == "ab"
    assert await render("{{=<% %>=}}<% payload %>-{{payload}}", {"payload": 1}) == "1-{{payload}}"


# ---------------------------------------------------------------- context and env lookups


async def test_flow_global_and_env_lookup(monkeypatch):
    monkeypatch.setenv("TPL_HOST", "pi4")
    stores = ContextStores({"memory": MemoryStore(), "disk": MemoryStore()})
    flow = template_flow("{{flow.count}} {{global.site.name}} {{flow[disk].x}} {{env.TPL_HOST}} "
                         "[{{flow.missing}}][{{env.TPL_NOPE}}][{{nothing.here}}]")
    async with FlowHarness(flow, contexts=stores) as h:
        node = h.node("t")
        node.flow_context.set("count", 3)
        node.global_context.set("site", {"name": "lab"})
        node.flow_context.set("x", "on-disk", "disk")
        await h.inject("t", {"payload": None})
        assert h.messages("out")[0]["payload"] == "3 lab on-disk pi4 [][][]"


async def test_message_properties_win_over_context():
    async with FlowHarness(template_flow("{{flow.count}}")) as h:
        h.node("t").flow_context.set("count", 3)
        await h.inject("t", {"flow": {"count": "from-msg"}})
        assert h.messages("out")[0]["payload"] == "from-msg"


async def test_context_values_inside_sections():
    async with FlowHarness(template_flow("{{#flow.list}}<{{.}}>{{/flow.list}}")) as h:
        h.node("t").flow_context.set("list", ["a", "b"])
        await h.inject("t", {})
        assert h.messages("out")[0]["payload"] == "<a><b>"


# ---------------------------------------------------------------- output formats


async def test_json_output_escapes_message_strings():
    tpl = '{"t": "{{topic}}", "p": {{{payload}}}}'  # {{payload}} would HTML-escape its quotes
    out = await render(tpl, {"topic": 'a\\b\n\t\r\f\x08"', "payload": '{"k": [1]}'}, output="json")
    # the quote is HTML-escaped by {{ }}, the control characters JSON-escaped
    assert out == {"t": 'a\\b\n\t\r\f\x08&quot;', "p": {"k": [1]}}


async def test_json_escaping_only_applies_outside_sections():
    # Node-RED escapes only top-level lookups: a newline inside a section breaks the JSON
    tpl = '{"v": "{{#payload}}{{s}}{{/payload}}"}'
    async with FlowHarness(template_flow(tpl, output="json")) as h:
        await h.inject("t", {"payload": {"s": "ok"}})
        await h.inject("t", {"payload": {"s": "a\nb"}})
        assert [m["payload"] for m in h.messages("out")] == [{"v": "ok"}]
        assert len(h.messages("err")) == 1


async def test_json_output_parse_error_goes_to_catch():
    async with FlowHarness(template_flow("{{{payload}}}", output="json")) as h:
        await h.inject("t", {"payload": "{not json"})
        await h.inject("t", {"payload": "NaN"})
        await h.inject("t", {"payload": "[1, 2]"})
        assert [m["payload"] for m in h.messages("out")] == [[1, 2]]
        errs = h.messages("err")
        assert [e["payload"] for e in errs] == ["{not json", "NaN"]  # the message is left as it was
        assert errs[0]["error"]["source"]["type"] == "template"


async def test_plain_syntax_does_not_render():
    assert await render("{{payload}} raw", {"payload": 1}, syntax="plain") == "{{payload}} raw"
    assert await render('{"a": 1}', {"payload": 1}, syntax="plain", output="json") == {"a": 1}


def test_yaml_output_needs_pyyaml(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(ConfigError) as info:
        make({"template": "a: 1", "output": "yaml"})
    assert info.value.field == "output" and "PyYAML" in str(info.value)


async def test_yaml_output():
    out = await render("a: {{payload}}\nb: [x, y]", {"payload": 2}, output="yaml")
    assert out == {"a": 2, "b": ["x", "y"]}


# ---------------------------------------------------------------- template source and target


async def test_msg_template_is_used_only_when_the_node_has_none():
    async with FlowHarness(template_flow("")) as h:
        await h.inject("t", {"payload": "x", "template": "<{{payload}}>"})
        await h.inject("t", {"payload": "y", "template": "<{{payload}}>"})
        await h.inject("t", {"payload": "z"})  # no template anywhere: renders ""
        assert [m["payload"] for m in h.messages("out")] == ["<x>", "<y>", ""]
    assert await render("node {{payload}}", {"payload": 1, "template": "msg"}) == "node 1"


async def test_bad_msg_template_is_an_error_with_the_message():
    async with FlowHarness(template_flow("")) as h:
        await h.inject("t", {"payload": 1, "template": "{{#open}}"})
        await h.inject("t", {"payload": 2, "template": {"not": "a string"}})
        assert h.messages("out") == []
        assert [e["payload"] for e in h.messages("err")] == [1, 2]


async def test_output_to_a_nested_msg_property():
    async with FlowHarness(template_flow("hi {{payload}}", field="out.text")) as h:
        await h.inject("t", {"payload": "bob"})
        msg = h.messages("out")[0]
        assert msg["out"] == {"text": "hi bob"} and msg["payload"] == "bob"


async def test_output_to_flow_and_global_context():
    stores = ContextStores({"memory": MemoryStore(), "disk": MemoryStore()})
    flow = template_flow("v={{payload}}", fieldType="flow", field="#:(disk)::last")
    flow.append({"id": "g", "type": "template", "template": '{"n": {{payload}}}', "output": "json",
                 "field": "cfg", "fieldType": "global", "wires": [["out"]]})
    async with FlowHarness(flow, contexts=stores) as h:
        await h.inject("t", {"payload": 4})
        await h.inject("g", {"payload": 5})
        assert [m["payload"] for m in h.messages("out")] == [4, 5]  # the message itself is unchanged
        node = h.node("t")
        assert node.flow_context.get("last", "disk") == "v=4"
        assert node.flow_context.get("last") in (None, UNDEFINED)  # not in the default store
        assert node.global_context.get("cfg") == {"n": 5}


async def test_setting_under_a_non_object_is_an_error():
    async with FlowHarness(template_flow("x", field="payload.a")) as h:
        await h.inject("t", {"payload": "a string"})
        assert h.messages("out") == []
        assert len(h.messages("err")) == 1


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("template", ["{{#a}}open", "x{{/a}}", "{{#a}}{{/b}}", "{{unclosed", "{{{x}}"])
def test_bad_template_is_a_config_error_on_template(template):
    with pytest.raises(ConfigError) as info:
        make({"template": template})
    assert info.value.field == "template"


def test_bad_template_is_fine_in_plain_syntax():
    make({"template": "{{#a}}open", "syntax": "plain"})


@pytest.mark.parametrize(("props", "field"), [
    ({"fieldType": "node"}, "fieldType"),
    ({"syntax": "handlebars"}, "syntax"),
    ({"output": "xml"}, "output"),
    ({"field": "a..b"}, "field"),
])
def test_config_errors_name_the_field(props, field):
    with pytest.raises(ConfigError) as info:
        make({"template": "x", **props})
    assert info.value.field == field


def test_defaults_match_node_red():
    node = make({"template": "x", "field": "", "fieldType": "", "syntax": "", "output": ""})
    assert (node.field, node.field_type, node.syntax, node.output) == ("payload", "msg", "mustache", "str")
