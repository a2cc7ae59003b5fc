"""switch node: JavaScript comparison semantics, rule types, checkall/else, sequences, errors."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine import ConfigError, FlowValidationError
from flowengine.testing import FlowHarness
from flowengine_nodes.core.switch import Switch, js_regex
from tests.conformance.replay import replay

# ---------------------------------------------------------------- helpers


def strict_equal(a: Any, b: Any) -> bool:
    """JSON equality where true != 1 (Python's == would say they are equal)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def switch_flow(rules: list[dict], **props: Any) -> list[dict]:
    node = {"id": "sw", "type": "switch", "property": "payload", "propertyType": "msg", "rules": rules,
            "checkall": "true", "wires": [[f"o{i}"] for i in range(len(rules))]}
    node.update(props)
    return [node, *({"id": f"o{i}", "type": "helper"} for i in range(len(rules))),
            {"id": "c", "type": "catch", "scope": None, "wires": [["err"]]}, {"id": "err", "type": "helper"}]


async def route(rules: list[dict], msgs: list[dict], **props: Any) -> list[list]:
    """Send each message through a switch; the payloads that left each port."""
    async with FlowHarness(switch_flow(rules, **props)) as h:
        for m in msgs:
            await h.inject("sw", m)
        assert h.messages("err") == [], h.messages("err")
        return [[m.get("payload") for m in h.messages(f"o{i}")] for i in range(len(rules))]


async def matches(rule: dict, values: list, **props: Any) -> list:
    """The payloads (of `values`) that match a single rule."""
    ports = await route([rule], [{"payload": v} for v in values], **props)
    return ports[0]


def make_node(props: dict) -> Switch:
    node = Switch({"id": "x", **props}, Switch.Config.model_validate(props))
    node.setup()
    return node


# ---------------------------------------------------------------- recorded Node-RED behaviour


@pytest.mark.parametrize("case_id", ["sw01", "sw02", "sw03", "sw04", "sw05", "sw06", "sw07"])
async def test_conformance_cases(case_id):
    got, want = await replay(case_id)
    assert strict_equal(got, want), f"got {got}\nwant {want}"


# ---------------------------------------------------------------- operators


async def test_eq_and_neq_are_javascript_loose_equality():
    assert await matches({"t": "eq", "v": "1", "vt": "num"}, [1, "1", 1.0, True, "01", False, None]) == \
        [1, "1", 1.0, True, "01"]
    # null == undefined, but null != 0 and undefined != ""
    assert await matches({"t": "eq", "v": "nothing", "vt": "msg"}, [None, 0, ""]) == [None]
    assert await matches({"t": "neq", "v": "a", "vt": "str"}, ["a", "b", 1]) == ["b", 1]
    # arrays compare by their string form against primitives
    assert await matches({"t": "eq", "v": "1,2", "vt": "str"}, [[1, 2], [1]]) == [[1, 2]]


async def test_relational_operators_follow_javascript():
    # two strings compare as strings; a string and a number compare as numbers
    assert await matches({"t": "lt", "v": "9", "vt": "str"}, ["10", 10, "8"]) == ["10", "8"]
    values = [6, "6", "abc", None, True, [7]]
    assert await matches({"t": "gt", "v": "5", "vt": "num"}, values) == [6, "6", [7]]
    # null is 0, undefined is NaN (never matches)
    assert await matches({"t": "gte", "v": "0", "vt": "num"}, [None, -1, 0]) == [None, 0]
    assert await matches({"t": "lte", "v": "missing", "vt": "msg"}, [0, None, "a"]) == []
    assert await matches({"t": "lte", "v": "2", "vt": "num"}, [2, 2.5, "2", False]) == [2, "2", False]


async def test_between_is_inclusive_in_either_order():
    rule = {"t": "btwn", "v": "7", "vt": "num", "v2": "3", "v2t": "num"}
    assert await matches(rule, [2, 3, 5, 7, 8, "4", "x"]) == [3, 5, 7, "4"]


async def test_contains_and_regex_use_the_string_form():
    assert await matches({"t": "cont", "v": "2", "vt": "str"}, [123, "x2", 45, [1, 2]]) == [123, "x2", [1, 2]]
    assert await matches({"t": "regex", "v": "^w", "vt": "str", "case": False}, ["World", "wall"]) == ["wall"]
    assert await matches({"t": "regex", "v": "^w", "vt": "str", "case": True}, ["World", "wall", 5]) == \
        ["World", "wall"]
    # JS `$` is end of input only; `\d` is ASCII only
    assert await matches({"t": "regex", "v": "c$", "vt": "str"}, ["abc", "abc\n"]) == ["abc"]
    assert await matches({"t": "regex", "v": r"^\d+$", "vt": "str"}, ["123", "١٢٣"]) == ["123"]
    # a pattern taken from the message, with a JS named group
    msgs = [{"payload": "ab-ab", "re": r"(?<x>ab)-\k<x>"}, {"payload": "ab-cd", "re": r"(?<x>ab)-\k<x>"}]
    ports = await route([{"t": "regex", "v": "re", "vt": "msg"}], msgs)
    assert ports == [["ab-ab"]]


def test_js_regex_translation():
    assert js_regex("[^]").search("\n")
    assert not js_regex("a[]").search("a")
    assert js_regex(r"[\d.]+").fullmatch("1.5")
    assert js_regex("[]a]").search("]") is None  # JS: empty class then "a]"


async def test_true_false_null_nnull_are_strict():
    assert await matches({"t": "true"}, [True, 1, "true"]) == [True]
    assert await matches({"t": "false"}, [False, 0, ""]) == [False]
    async with FlowHarness(switch_flow([{"t": "null"}, {"t": "nnull"}])) as h:
        for m in ({"payload": None}, {"topic": "no payload"}, {"payload": 0}, {"payload": ""}):
            await h.inject("sw", m)
        assert len(h.messages("o0")) == 2 and h.messages("o0")[1]["topic"] == "no payload"
        assert [m["payload"] for m in h.messages("o1")] == [0, ""]


async def test_empty_and_nempty_only_know_strings_arrays_buffers_objects():
    values = ["", "x", [], [0], {}, {"a": 1}, b"", b"\x00", 0, None, False]
    assert await matches({"t": "empty"}, values) == ["", [], {}, b""]
    assert await matches({"t": "nempty"}, values) == ["x", [0], {"a": 1}, b"\x00"]


async def test_istype():
    values = ["s", 1, 2.5, True, [1], {"a": 1}, None, b"ab", "12", "{bad"]
    def rule(kind):
        return {"t": "istype", "v": kind, "vt": kind}
    assert await matches(rule("string"), values) == ["s", "12", "{bad"]
    assert await matches(rule("number"), values) == [1, 2.5]
    assert await matches(rule("boolean"), values) == [True]
    assert await matches(rule("array"), values) == [[1]]
    assert await matches(rule("object"), values) == [{"a": 1}]
    assert await matches(rule("buffer"), values) == [b"ab"]
    assert await matches(rule("null"), values) == [None]
    # json: JSON.parse(String(x)) succeeds; [1] -> "1" parses, {"a":1} -> "[object Object]" does not
    assert await matches(rule("json"), values) == [1, 2.5, True, [1], None, "12"]
    async with FlowHarness(switch_flow([rule("undefined")])) as h:
        await h.inject("sw", {"topic": "none"})
        await h.inject("sw", {"payload": None})
        assert [m["topic"] for m in h.messages("o0")] == ["none"]


async def test_has_key():
    rule = {"t": "hask", "v": "a", "vt": "str"}
    assert await matches(rule, [{"a": None}, {"b": 1}, "a", None, 5]) == [{"a": None}]
    values = ["abc", [1], {"x": 1}, b"ab"]
    assert await matches({"t": "hask", "v": "length", "vt": "str"}, values) == ["abc", [1]]
    assert await matches({"t": "hask", "v": "1", "vt": "num"}, [[5, 6], [5], "ab", {"1": 0}]) == \
        [[5, 6], "ab", {"1": 0}]


async def test_else_matches_only_when_no_earlier_rule_did():
    rules = [{"t": "eq", "v": "a", "vt": "str"}, {"t": "cont", "v": "b", "vt": "str"}, {"t": "else"}]
    ports = await route(rules, [{"payload": p} for p in ["a", "ab", "b", "zz"]])
    assert ports == [["a"], ["ab", "b"], ["zz"]]
    # a second else looks only at the rules since the first one (Node-RED's flag is reset)
    rules = [{"t": "eq", "v": "a", "vt": "str"}, {"t": "else"},
             {"t": "eq", "v": "b", "vt": "str"}, {"t": "else"}]
    ports = await route(rules, [{"payload": p} for p in ["a", "b", "c"]])
    assert ports == [["a"], ["b", "c"], ["b"], ["a"]]


async def test_checkall_false_stops_at_first_match_and_default_is_all():
    rules = [{"t": "gt", "v": "1", "vt": "num"}, {"t": "gt", "v": "2", "vt": "num"}]
    assert await route(rules, [{"payload": 5}], checkall="false") == [[5], []]
    assert await route(rules, [{"payload": 5}], checkall="true") == [[5], [5]]
    flow = switch_flow(rules)
    del flow[0]["checkall"]
    async with FlowHarness(flow) as h:
        await h.inject("sw", {"payload": 5})
        assert len(h.messages("o0")) == 1 and len(h.messages("o1")) == 1


async def test_a_message_on_two_ports_is_two_independent_copies():
    rules = [{"t": "nnull"}, {"t": "nnull"}]
    async with FlowHarness(switch_flow(rules)) as h:
        await h.inject("sw", {"payload": {"n": 1}})
        a, b = h.messages("o0")[0], h.messages("o1")[0]
        assert a == b and a is not b and a["payload"] is not b["payload"]


async def test_previous_value_type():
    rule = {"t": "eq", "v": "", "vt": "prev"}
    # the first message compares with null; then each with the one before
    assert await matches(rule, [None, 1, 1, 2, "2", 3]) == [None, 1, "2"]
    rule = {"t": "btwn", "v": "prev", "vt": "prev", "v2": "10", "v2t": "num"}
    # the first previous value is null, which compares as 0
    assert await matches(rule, [5, 7, 20, 15]) == [5, 7, 15]


async def test_context_env_and_msg_typed_values(monkeypatch):
    monkeypatch.setenv("SW_LIMIT", "10")
    rules = [{"t": "gt", "v": "limit", "vt": "flow"}, {"t": "lt", "v": "SW_LIMIT", "vt": "env"},
             {"t": "eq", "v": "name", "vt": "global"}, {"t": "eq", "v": "other", "vt": "msg"}]
    async with FlowHarness(switch_flow(rules)) as h:
        node = h.node("sw")
        node.flow_context.set("limit", 4)
        node.global_context.set("name", 5)
        await h.inject("sw", {"payload": 5, "other": "5"})
        await h.inject("sw", {"payload": 3})
        assert [[m["payload"] for m in h.messages(f"o{i}")] for i in range(4)] == [[5], [5, 3], [5], [5]]


async def test_property_from_flow_context_and_jsonata():
    async with FlowHarness(switch_flow([{"t": "eq", "v": "on", "vt": "str"}],
                                       property="mode", propertyType="flow")) as h:
        h.node("sw").flow_context.set("mode", "on")
        await h.inject("sw", {"payload": 1})
        h.node("sw").flow_context.set("mode", "off")
        await h.inject("sw", {"payload": 2})
        assert [m["payload"] for m in h.messages("o0")] == [1]
    rules = [{"t": "true"}, {"t": "false"}]
    assert await route(rules, [{"payload": {"a": 3}}, {"payload": {"a": 1}}],
                       property="payload.a > 2", propertyType="jsonata") == [[{"a": 3}], [{"a": 1}]]


async def test_jsonata_rule_values_and_jsonata_exp():
    rules = [{"t": "eq", "v": "payload.limit * 2", "vt": "jsonata"},
             {"t": "jsonata_exp", "v": "payload.value > payload.limit", "vt": "jsonata"}]
    msgs = [{"payload": {"value": 4, "limit": 2}}, {"payload": {"value": 1, "limit": 2}}]
    async with FlowHarness(switch_flow(rules, property="payload.value")) as h:
        for m in msgs:
            await h.inject("sw", m)
        assert [m["payload"]["value"] for m in h.messages("o0")] == [4]
        assert [m["payload"]["value"] for m in h.messages("o1")] == [4]


async def test_jsonata_exp_sees_sequence_index_and_count():
    rules = [{"t": "jsonata_exp", "v": "$I = $N - 1", "vt": "jsonata"}]
    msgs = [{"payload": i, "parts": {"id": "g", "index": i, "count": 3}} for i in range(3)]
    assert await route(rules, msgs) == [[2]]


async def test_failing_property_expression_warns_and_drops():
    async with FlowHarness(switch_flow([{"t": "else"}], property="$number(payload)",
                                       propertyType="jsonata")) as h:
        events = h.events()
        await h.inject("sw", {"payload": "not a number"})
        await h.inject("sw", {"payload": "7"})
        assert [m["payload"] for m in h.messages("o0")] == ["7"]
        assert h.messages("err") == []
        warns = [e for e in events.drain() if e["type"] == "log" and e["data"]["level"] == "warn"]
        assert warns and "Invalid JSONata expression" in warns[0]["data"]["msg"]


async def test_rule_evaluation_error_goes_to_catch_with_the_message():
    async with FlowHarness(switch_flow([{"t": "head", "v": "2", "vt": "num"}])) as h:
        await h.inject("sw", {"payload": "no parts"})
        errs = h.messages("err")
        assert len(errs) == 1 and errs[0]["payload"] == "no parts"
        assert errs[0]["error"]["source"]["type"] == "switch"
        assert h.messages("o0") == []


# ---------------------------------------------------------------- sequences


def seq(values: list, gid: str = "g1", with_count: bool = True) -> list[dict]:
    out = []
    for i, v in enumerate(values):
        parts = {"id": gid, "index": i, "type": "array"}
        if with_count or i == len(values) - 1:
            parts["count"] = len(values)
        out.append({"payload": v, "parts": parts})
    return out


async def test_head_and_index_rules():
    rules = [{"t": "head", "v": "2", "vt": "num"},
             {"t": "index", "v": "1", "vt": "num", "v2": "2", "v2t": "num"}]
    assert await route(rules, seq(["a", "b", "c", "d"])) == [["a", "b"], ["b", "c"]]


async def test_tail_waits_for_the_whole_group():
    rules = [{"t": "tail", "v": "2", "vt": "num"}]
    async with FlowHarness(switch_flow(rules)) as h:
        msgs = seq(["a", "b", "c", "d"], with_count=False)  # only the last part knows the count
        for m in msgs[:3]:
            await h.inject("sw", m)
        assert h.messages("o0") == []  # held until the count is known
        await h.inject("sw", msgs[3])
        assert [m["payload"] for m in h.messages("o0")] == ["c", "d"]
        assert all(m["parts"]["count"] == 4 for m in h.messages("o0"))
        # without msg.parts a tail rule cannot be evaluated: an error, as in Node-RED
        await h.inject("sw", {"payload": "single"})
        assert [m["payload"] for m in h.messages("err")] == ["single"]
        assert len(h.messages("o0")) == 2


async def test_repair_resequences_each_port():
    rules = [{"t": "gt", "v": "1", "vt": "num"}, {"t": "else"}]
    async with FlowHarness(switch_flow(rules, repair=True)) as h:
        for m in seq([0, 5, 1, 7, 9]):
            await h.inject("sw", m)
        high, low = h.messages("o0"), h.messages("o1")
        assert [m["payload"] for m in high] == [5, 7, 9]
        assert [m["payload"] for m in low] == [0, 1]
        assert [(m["parts"]["index"], m["parts"]["count"]) for m in high] == [(0, 3), (1, 3), (2, 3)]
        assert [(m["parts"]["index"], m["parts"]["count"]) for m in low] == [(0, 2), (1, 2)]
        assert len({m["parts"]["id"] for m in high}) == 1
        assert high[0]["parts"]["id"] not in ("g1", low[0]["parts"]["id"])
        # a message without parts is routed straight away
        await h.inject("sw", {"payload": 3})
        assert h.messages("o0")[-1]["payload"] == 3 and "parts" not in h.messages("o0")[-1]


async def test_held_groups_are_bounded():
    rules = [{"t": "tail", "v": "1", "vt": "num"}]
    async with FlowHarness(switch_flow(rules), settings={"max_buffered": 3}) as h:
        for i in range(4):  # a group that never completes
            await h.inject("sw", {"payload": i, "parts": {"id": "big", "index": i}})
        errs = h.messages("err")
        assert len(errs) == 1 and "Too many pending messages" in errs[0]["error"]["message"]
        # the buffer was cleared: a fresh complete group still goes through
        for m in seq(["x", "y"], gid="g2"):
            await h.inject("sw", m)
        assert [m["payload"] for m in h.messages("o0")] == ["y"]


# ---------------------------------------------------------------- configuration


def test_outputs_follow_the_rules():
    cfg = Switch.Config.model_validate({"rules": [{"t": "eq", "v": "1"}, {"t": "else"}]})
    assert Switch.output_count(cfg) == 2


def test_untyped_values_are_numbers_when_numeric():
    node = make_node({"rules": [{"t": "eq", "v": "5"}, {"t": "eq", "v": "abc"}]})
    assert node._rules[0].v1.const == 5
    assert node._rules[1].v1.const == "abc"


@pytest.mark.parametrize(("props", "field"), [
    ({"rules": [{"t": "bogus"}]}, "rules[0].t"),
    ({"rules": [{"t": "regex", "v": "(unclosed", "vt": "str"}]}, "rules[0].v"),
    ({"rules": [{"t": "eq", "v": "payload +", "vt": "jsonata"}]}, "rules[0].v"),
    ({"rules": [{"t": "btwn", "v": "1", "vt": "num", "v2": "(", "v2t": "jsonata"}]}, "rules[0].v2"),
    ({"rules": [{"t": "eq", "v": "a..b", "vt": "msg"}]}, "rules[0].v"),
    ({"property": "a..b", "rules": []}, "property"),
    ({"property": "payload +", "propertyType": "jsonata", "rules": []}, "property"),
])
def test_config_errors_name_the_field(props, field):
    with pytest.raises(ConfigError) as info:
        make_node(props)
    assert info.value.field == field


async def test_invalid_switch_is_rejected_at_deploy():
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness(switch_flow([{"t": "regex", "v": "[", "vt": "str"}])):
            pass
    assert any(i.path == "rules[0].v" for i in info.value.issues)
