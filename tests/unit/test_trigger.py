"""trigger node: first/second messages, extend, repeat, reset, per-topic state, overrides."""

from __future__ import annotations

import pytest

from flowengine import FlowValidationError
from flowengine.testing import FakeClock, FlowHarness

BASE = {"op1": "1", "op2": "0", "op1type": "str", "op2type": "str", "duration": "250", "extend": False,
        "overrideDelay": False, "units": "ms", "reset": "", "bytopic": "all", "topic": "topic", "outputs": 1}


def trigger_flow(**props) -> list[dict]:
    node = dict(BASE, id="t", type="trigger", **props)
    node["wires"] = [["out"], ["out2"]] if node["outputs"] == 2 else [["out"]]
    return [node, {"id": "out", "type": "helper"}, {"id": "out2", "type": "helper"},
            {"id": "st", "type": "status", "scope": ["t"], "wires": [["stat"]]}, {"id": "stat", "type": "helper"},
            {"id": "c", "type": "catch", "scope": ["t"], "wires": [["err"]]}, {"id": "err", "type": "helper"}]


def harness(settings: dict | None = None, **props) -> FlowHarness:
    return FlowHarness(trigger_flow(**props), clock=FakeClock(), settings=settings)


def payloads(h: FlowHarness, helper: str = "out") -> list:
    return [m.get("payload") for m in h.messages(helper)]


async def test_sends_op1_then_op2_after_the_duration_ignoring_messages_meanwhile():
    async with harness() as h:
        await h.inject("t", {"payload": "go", "topic": "t"})
        assert h.messages("out") == [{"payload": "1", "topic": "t", "_msgid": h.messages("out")[0]["_msgid"]}]
        await h.advance(0.1)
        await h.inject("t", {"payload": "again"})
        await h.advance(0.149)
        assert payloads(h) == ["1"]
        await h.advance(0.002)
        assert [(m["payload"], m["topic"]) for m in h.messages("out")] == [("1", "t"), ("0", "t")]
        status = [{k: v for k, v in m["status"].items() if k != "source"} for m in h.messages("stat")]
        assert status == [{"fill": "blue", "shape": "dot", "text": " "}, {}]
        await h.inject("t", {"payload": "next"})  # idle again: triggers anew
        assert payloads(h) == ["1", "0", "1"]


async def test_extend_restarts_the_timer_and_sends_op2_on_the_latest_message():
    async with harness(op1="on", op2="off", duration="300", extend=True) as h:
        await h.inject("t", {"payload": 1})
        await h.advance(0.2)
        await h.inject("t", {"payload": 2, "topic": "late"})
        await h.advance(0.29)
        assert payloads(h) == ["on"]
        await h.advance(0.02)
        assert [(m["payload"], m.get("topic")) for m in h.messages("out")] == [("on", None), ("off", "late")]


async def test_original_payload_first_and_op2_on_the_second_output():
    async with harness(op1="", op1type="pay", op2="99", op2type="num", duration="200", outputs=2) as h:
        await h.inject("t", {"payload": {"v": 1}, "topic": "x"})
        assert [(m["payload"], m["topic"]) for m in h.messages("out")] == [({"v": 1}, "x")]
        await h.advance(0.2)
        assert [(m["payload"], m["topic"]) for m in h.messages("out2")] == [(99, "x")]
        assert len(h.messages("out")) == 1


async def test_op2_pay_sends_the_original_payload_even_after_op1_replaced_it():
    async with harness(op1="first", op2type="pay", op2="") as h:
        await h.inject("t", {"payload": "orig"})
        h.messages("out")[0]["payload"] = "mutated downstream"
        await h.advance(0.25)
        assert payloads(h) == ["mutated downstream", "orig"]


async def test_op2_payl_sends_the_latest_message_received():
    async with harness(op1type="nul", op2type="payl", duration="50") as h:
        await h.inject("t", {"payload": "Hello", "topic": "test1"})
        await h.advance(0.02)
        await h.inject("t", {"payload": "Goodbye", "topic": "test2"})
        await h.advance(0.03)
        assert [(m["payload"], m["topic"]) for m in h.messages("out")] == [("Goodbye", "test2")]


async def test_nul_outputs_send_nothing():
    async with harness(op1type="nul", op2="false", op2type="bool", duration="30") as h:
        await h.inject("t", {"payload": None})
        assert payloads(h) == []
        await h.advance(0.03)
        assert payloads(h) == [False]
    async with harness(op1="true", op1type="bool", op2type="nul", duration="30") as h:
        await h.inject("t", {"payload": None})
        await h.advance(0.1)
        assert payloads(h) == [True]


@pytest.mark.parametrize("op,optype,expected", [("10", "num", 10), ("true", "bool", True),
                                                ('{"x":"vx"}', "json", {"x": "vx"}),
                                                ("[1,2,3]", "bin", b"\x01\x02\x03"),
                                                ("true", "val", True), ("null", "val", None),
                                                ("abc", "val", "abc"), ("", "str", "1")])
async def test_value_types(op, optype, expected):
    async with harness(op1=op, op1type=optype, op2=op, op2type=optype, duration="20") as h:
        await h.inject("t", {"payload": "in"})
        await h.advance(0.02)
        default2 = "0" if expected == "1" else expected  # an empty op2 defaults to "0"
        assert payloads(h) == [expected, default2]


async def test_date_env_and_context_values():
    flow = trigger_flow(op1="", op1type="date", op2="level", op2type="flow", duration="20")
    async with FlowHarness(flow, clock=FakeClock(start=1_700_000_000.5)) as h:
        await h.inject("t", {"payload": 0})
        h.node("t").flow_context.set("level", "read at the end")
        await h.advance(0.02)
        assert payloads(h) == [1_700_000_000_500, "read at the end"]


async def test_mustache_templates_render_from_the_message():
    async with harness(op1="{{payload}}!", op2="<{{topic}}>", duration="50") as h:
        await h.inject("t", {"payload": "Hello", "topic": "a/b"})
        await h.advance(0.05)
        assert payloads(h) == ["Hello!", "<a&#x2F;b>"]  # mustache.js escaping
    async with harness(op1="{{payload}}", duration="50") as h:
        await h.inject("t", {"payload": {"a": 1}})
        assert payloads(h) == ["[object Object]"]


async def test_reset_by_property_or_payload_value():
    async with harness(duration="0", reset="boo") as h:  # duration 0: runs until reset
        await h.inject("t", {"payload": None})
        await h.inject("t", {"payload": None})
        await h.inject("t", {"payload": "foo"})
        await h.advance(10)
        assert payloads(h) == ["1"]
        await h.inject("t", {"payload": "boo"})
        await h.inject("t", {"payload": None})
        assert payloads(h) == ["1", "1"]
        await h.inject("t", {"reset": True})
        await h.inject("t", {"payload": None})
        assert payloads(h) == ["1", "1", "1"]
    async with harness(duration="0", reset="true") as h:  # compared as String(payload)
        await h.inject("t", {"payload": 1})
        await h.inject("t", {"payload": True})
        await h.inject("t", {"payload": 1})
        assert payloads(h) == ["1", "1"]


async def test_reset_cancels_the_second_message():
    async with harness() as h:
        await h.inject("t", {"payload": 1})
        await h.inject("t", {"reset": True})
        await h.advance(1)
        assert payloads(h) == ["1"]


async def test_per_topic_triggers_are_independent():
    async with harness(bytopic="topic", op1="1", op1type="num", op2="0", op2type="num", duration="30",
                       extend=True) as h:
        for topic in "ABC":
            await h.inject("t", {"payload": 1, "topic": topic})
        await h.advance(0.02)
        await h.inject("t", {"payload": 2, "topic": "B"})  # extends B only
        await h.inject("t", {"reset": True, "topic": "C"})  # resets C only
        await h.advance(0.015)
        assert [(m["payload"], m["topic"]) for m in h.messages("out")] == [
            (1, "A"), (1, "B"), (1, "C"), (0, "A")]
        await h.advance(0.02)
        assert [(m["payload"], m["topic"]) for m in h.messages("out")][-1] == (0, "B")


async def test_all_topics_share_one_trigger_by_default():
    async with harness(duration="30") as h:
        for topic in "ABC":
            await h.inject("t", {"payload": 1, "topic": topic})
        await h.advance(0.03)
        assert [(m["payload"], m["topic"]) for m in h.messages("out")] == [("1", "A"), ("0", "A")]


async def test_topic_can_be_another_property():
    async with harness(bytopic="topic", topic="payload.id", duration="30") as h:
        await h.inject("t", {"payload": {"id": 1}})
        await h.inject("t", {"payload": {"id": 2}})
        await h.inject("t", {"payload": {"id": 1}})
        assert len(h.messages("out")) == 2


async def test_negative_duration_repeats_op1_until_reset():
    async with harness(op1="", op1type="pay", duration="-25") as h:
        await h.inject("t", {"payload": "foo"})
        h.messages("out")[0]["payload"] = "bar"  # later copies are unaffected
        await h.advance(0.1)
        assert payloads(h) == ["bar", "foo", "foo", "foo", "foo"]
        await h.inject("t", {"reset": True})
        await h.advance(0.1)
        assert len(h.messages("out")) == 5


async def test_repeat_restarts_with_each_new_message():
    async with harness(op1="", op1type="pay", duration="-1", units="s") as h:
        await h.inject("t", {"payload": "a"})
        await h.advance(0.5)
        await h.inject("t", {"payload": "b"})
        await h.advance(1)
        assert payloads(h) == ["a", "b", "b"]


@pytest.mark.parametrize("units,duration,seconds", [("s", "2", 2), ("min", "1", 60), ("hr", "0.5", 1800)])
async def test_units(units, duration, seconds):
    async with harness(units=units, duration=duration) as h:
        await h.inject("t", {"payload": 1})
        await h.advance(seconds * 0.999)
        assert payloads(h) == ["1"]
        await h.advance(seconds * 0.002)
        assert payloads(h) == ["1", "0"]


async def test_msg_delay_overrides_only_when_enabled():
    async with harness(overrideDelay=True, duration="1", units="s") as h:
        await h.inject("t", {"payload": 1, "delay": 200})
        await h.advance(0.2)
        assert payloads(h) == ["1", "0"]
    async with harness(duration="1", units="s") as h:
        await h.inject("t", {"payload": 1, "delay": 200})
        await h.advance(0.2)
        assert payloads(h) == ["1"]


async def test_evaluation_error_goes_to_catch_and_leaves_the_trigger_idle():
    async with harness(op1="$error('boom')", op1type="jsonata") as h:
        await h.inject("t", {"payload": 1})
        assert payloads(h) == []
        assert len(h.messages("err")) == 1 and "boom" in h.messages("err")[0]["error"]["message"]
        await h.advance(1)
        assert payloads(h) == []


async def test_running_topics_are_bounded():
    async with harness(settings={"max_buffered": 2}, bytopic="topic") as h:
        for topic in "ABC":
            await h.inject("t", {"payload": 1, "topic": topic})
        assert [m["topic"] for m in h.messages("out")] == ["A", "B"]


@pytest.mark.parametrize("props,field", [({"op1type": "weird"}, "op1"), ({"op2": "x", "op2type": "num"}, "op2"),
                                         ({"op1": "{", "op1type": "json"}, "op1"), ({"units": "days"}, "units"),
                                         ({"bytopic": "topic", "topic": "a..b"}, "topic")])
async def test_bad_config_is_a_validation_error(props, field):
    with pytest.raises(FlowValidationError) as info:
        async with harness(**props):
            pass
    assert [i.path for i in info.value.issues if i.node_id == "t"] == [field]
