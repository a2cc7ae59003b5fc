"""join node: auto (reverse a split), manual (custom) and reduce modes, and split -> join round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine import FlowValidationError
from flowengine.jsvalue import UNDEFINED
from flowengine.registry import default_registry
from flowengine.testing import FakeClock, FlowHarness

CASES = Path(__file__).resolve().parents[1] / "conformance" / "cases"

JOIN_DEFAULTS = {"mode": "custom", "build": "array", "property": "payload", "propertyType": "msg",
                 "key": "topic", "joiner": "\\n", "joinerType": "str", "useparts": False,
                 "accumulate": False, "timeout": "", "count": "", "reduceRight": False, "reduceExp": "",
                 "reduceInit": "", "reduceInitType": "", "reduceFixup": ""}


def join_node(**props) -> dict:
    return {"id": "j", "type": "join", **JOIN_DEFAULTS, "wires": [["out"]], **props}


def split_node(**props) -> dict:
    return {"id": "s", "type": "split", "splt": "\\n", "spltType": "str", "arraySplt": 1,
            "arraySpltType": "len", "stream": False, "addname": "", "property": "payload",
            "wires": [["j"]], **props}


def catching(flow: list[dict]) -> list[dict]:
    return [*flow, {"id": "c", "type": "catch", "scope": None, "wires": [["errs"]]},
            {"id": "errs", "type": "helper"}]


async def run_join(msgs: list[dict], **props) -> list[dict]:
    async with FlowHarness([join_node(**props), {"id": "out", "type": "helper"}]) as h:
        for m in msgs:
            await h.inject("j", m)
        return list(h.messages("out"))


def warnings(sub) -> list[str]:
    return [e["data"]["msg"] for e in sub.drain() if e["type"] == "log" and e["data"]["level"] == "warn"]


# ---------------------------------------------------------------- recorded Node-RED behaviour

def replay_flow(case: dict) -> tuple[list[dict], str]:
    nodes = [n for n in case["flow"] if ".h." not in n["id"] and n["type"] not in ("tab", "mqtt-broker")]
    unwrap = next(n for n in case["flow"] if n["id"].endswith(".h.unwrap.in"))
    out = []
    for n in nodes:
        n = dict(n, z="tab")
        n["wires"] = [["out" if t.endswith(".h.wrap.out") else t for t in port] for port in n.get("wires", [])]
        out.append(n)
    return [*out, {"id": "out", "type": "helper"}], unwrap["wires"][0][0]


def captured(msg: dict, capture: list[str]) -> dict:
    got = {k: msg[k] for k in capture if k in msg and msg[k] is not UNDEFINED}
    if isinstance(got.get("parts"), dict):
        got["parts"] = {k: v for k, v in got["parts"].items() if k != "id"}
    return got


@pytest.mark.parametrize("case_id", ["sj04", "sj05", "sj06", "sj07", "sj08"])
async def test_conformance_cases(case_id: str) -> None:
    case = json.loads(next(CASES.glob(f"{case_id}-*.json")).read_text())
    flow, entry = replay_flow(case)
    registry = default_registry()
    missing = {n["type"] for n in flow if n["type"] != "helper" and registry.get(n["type"]) is None}
    if missing:
        pytest.skip(f"node types not available: {missing}")
    async with FlowHarness(flow) as h:
        for item in case["inputs"]:
            await h.inject(entry, json.loads(json.dumps(item["msg"])))
        got = await h.received("out", len(case["expected"]))
        await h.settle()
        got = list(h.messages("out"))
    assert [captured(m, case["capture"]) for m in got] == \
        [captured(e["msg"], case["capture"]) for e in case["expected"]]


async def test_auto_join_after_change_like_sj04() -> None:
    flow = [split_node(splt=",", wires=[["ch"]]),
            {"id": "ch", "type": "change", "rules": [
                {"t": "set", "p": "payload", "pt": "msg", "to": "payload & \"!\"", "tot": "jsonata"}],
             "wires": [["j"]]},
            join_node(mode="auto"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("s", {"payload": "x,y,z", "topic": "t"})
        await h.inject("s", {"payload": "solo"})
        out = await h.received("out", 2)
    assert [m["payload"] for m in out] == ["x!,y!,z!", "solo!"]
    assert "parts" not in out[0] and out[0]["topic"] == "t"


# ---------------------------------------------------------------- split -> join round trips

async def round_trip(msg: dict, split: dict | None = None) -> dict:
    flow = [split_node(**(split or {})), join_node(mode="auto"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("s", msg)
        out = await h.received("out", 1)
    assert len(out) == 1
    return out[0]


@pytest.mark.parametrize(("payload", "split"), [
    ("line 1\nline 2\n\nline 4", {}),
    ("a, b, c", {"splt": ", "}),
    ("abcdefgh", {"spltType": "len", "splt": "3"}),
    ("x\x00y", {"spltType": "bin", "splt": "[0]"}),
    ([1, "two", {"three": 3}, [4], None], {}),
    ([1, 2, 3, 4, 5, 6, 7], {"arraySplt": 3}),
    ({"a": 1, "b": {"c": [2]}, "d": "x"}, {}),
    (b"ab\ncd\nef", {}),
    (b"0123456789", {"spltType": "len", "splt": "4"}),
])
async def test_round_trip_restores_the_value(payload, split) -> None:
    out = await round_trip({"payload": payload, "topic": "keep", "extra": {"n": 1}}, split)
    assert out["payload"] == payload
    assert out["topic"] == "keep" and out["extra"] == {"n": 1}
    assert "parts" not in out


async def test_round_trip_of_another_property() -> None:
    out = await round_trip({"payload": "p", "data": [3, 1, 2]}, {"property": "data"})
    assert out["data"] == [3, 1, 2]
    assert out["payload"] == "p"


async def test_nested_split_join_restores_the_outer_sequence() -> None:
    flow = [split_node(wires=[["s2"]]), split_node(id="s2", splt=",", wires=[["j"]]),
            join_node(mode="auto", wires=[["j2"]]), join_node(id="j2", mode="auto"),
            {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("s", {"payload": "a,b\nc,d,e"})
        out = await h.received("out", 1)
    assert out[0]["payload"] == "a,b\nc,d,e"
    assert "parts" not in out[0]


async def test_inner_join_pops_to_outer_parts() -> None:
    outer = {"id": "o", "index": 1, "count": 2, "type": "array"}
    out = await round_trip({"payload": "a\nb", "parts": outer})
    assert out["parts"] == outer


# ---------------------------------------------------------------- auto mode

async def test_auto_out_of_order_parts_are_placed_by_index() -> None:
    msgs = [{"payload": v, "parts": {"id": "g", "index": i, "count": 3, "type": "array", "len": 1}}
            for i, v in [(2, "c"), (0, "a"), (1, "b")]]
    out = await run_join(msgs, mode="auto")
    assert [m["payload"] for m in out] == [["a", "b", "c"]]


async def test_auto_interleaved_groups_complete_separately() -> None:
    msgs = []
    for i in range(2):
        for gid in ("g1", "g2"):
            msgs.append({"payload": f"{gid}-{i}", "parts": {"id": gid, "index": i, "count": 2, "type": "string",
                                                            "ch": "+"}})
    out = await run_join(msgs, mode="auto")
    assert [m["payload"] for m in out] == ["g1-0+g1-1", "g2-0+g2-1"]


async def test_auto_without_parts_warns_and_reset_without_parts_clears() -> None:
    flow = [join_node(mode="auto"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        sub = h.events()
        await h.inject("j", {"payload": 1})
        assert any("cannot join in 'auto' mode" in w for w in warnings(sub))
        part = {"id": "g", "count": 2, "type": "array", "len": 1}
        await h.inject("j", {"payload": "a", "parts": dict(part, index=0)})
        await h.inject("j", {"reset": True})
        await h.inject("j", {"payload": "b", "parts": dict(part, index=1)})
        await h.inject("j", {"payload": "c", "parts": dict(part, index=0)})
        out = await h.received("out", 1)
    assert out[0]["payload"] == ["c", "b"]


async def test_auto_object_missing_key_warns() -> None:
    flow = [join_node(mode="auto"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        sub = h.events()
        await h.inject("j", {"payload": 1, "parts": {"id": "g", "index": 0, "count": 1, "type": "object"}})
        assert any("msg.parts.key" in w for w in warnings(sub))
        assert h.messages("out") == []


async def test_string_sequence_without_separator_is_an_error() -> None:
    flow = catching([join_node(mode="auto"), {"id": "out", "type": "helper"}])
    async with FlowHarness(flow) as h:
        await h.inject("j", {"payload": "a", "parts": {"id": "g", "index": 0, "count": 1, "type": "string"}})
        errs = await h.received("errs", 1)
        assert h.messages("out") == []
    assert "parts.ch" in errs[0]["error"]["message"]


# ---------------------------------------------------------------- manual mode

async def test_manual_array_count_and_complete() -> None:
    out = await run_join([{"payload": i} for i in range(1, 6)] + [{"complete": True}], count="3")
    assert [m["payload"] for m in out] == [[1, 2, 3], [4, 5]]
    assert all("complete" not in m for m in out)


async def test_manual_output_keeps_last_message_properties() -> None:
    out = await run_join([{"payload": 1, "topic": "a", "first": True}, {"payload": 2, "topic": "b"}], count=2)
    assert out[0]["topic"] == "b" and out[0]["first"] is True
    assert out[0]["payload"] == [1, 2]


async def test_manual_missing_property_is_not_added_but_counts_nothing() -> None:
    out = await run_join([{"payload": 1}, {"topic": "no payload"}, {"payload": 2}], count=2)
    assert [m["payload"] for m in out] == [[1, 2]]


async def test_manual_string_joiner_escape_and_values() -> None:
    out = await run_join([{"payload": "a"}, {"payload": 2}, {"payload": True}, {"payload": None},
                          {"payload": [1, 2]}], build="string", joiner="\\n", count=5)
    assert out[0]["payload"] == "a\n2\ntrue\n\n1,2"


async def test_manual_buffer_with_binary_joiner() -> None:
    out = await run_join([{"payload": b"ab"}, {"payload": "c"}, {"payload": [100]}],
                         build="buffer", joiner="[0, 255]", joinerType="bin", count=3)
    assert out[0]["payload"] == b"ab\x00\xffc\x00\xffd"


async def test_manual_buffer_rejects_other_types() -> None:
    flow = catching([join_node(build="buffer", count=2), {"id": "out", "type": "helper"}])
    async with FlowHarness(flow) as h:
        await h.inject("j", {"payload": {"no": 1}})
        errs = await h.received("errs", 1)
        await h.inject("j", {"payload": b"a"})
        await h.inject("j", {"payload": b"b"})
        out = await h.received("out", 1)
    assert "Cannot join object to buffer" in errs[0]["error"]["message"]
    assert out[0]["payload"] == b"a\nb"


async def test_manual_object_by_key_counts_keys() -> None:
    out = await run_join([{"payload": 1, "topic": "a"}, {"payload": 3, "topic": "a"}, {"payload": 2, "topic": "b"}],
                         build="object", count="2")
    assert out[0]["payload"] == {"a": 3, "b": 2}


async def test_manual_object_custom_key_and_missing_key() -> None:
    flow = [join_node(build="object", key="meta.name", count=""), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        sub = h.events()
        await h.inject("j", {"payload": 1, "meta": {"name": "x"}})
        await h.inject("j", {"payload": 2})
        assert any("msg.meta.name" in w for w in warnings(sub))
        await h.inject("j", {"complete": True})  # no key, but completes the group
        out = await h.received("out", 1)
    assert out[0]["payload"] == {"x": 1}
    assert "complete" not in out[0]


async def test_manual_merged_object() -> None:
    flow = [join_node(build="merged", count=3), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        sub = h.events()
        await h.inject("j", {"payload": {"a": 1}})
        await h.inject("j", {"payload": "not an object"})
        assert any("Cannot merge" in w for w in warnings(sub))
        await h.inject("j", {"payload": {"b": 2, "a": 9}})
        await h.inject("j", {"payload": {"c": 3}})
        out = await h.received("out", 1)
    assert out[0]["payload"] == {"a": 9, "b": 2, "c": 3}


async def test_manual_full_messages() -> None:
    out = await run_join([{"payload": 1, "topic": "x"}, {"payload": 2, "topic": "y"}], propertyType="full",
                         count=2)
    joined = out[0]["payload"]
    assert [(m["payload"], m["topic"]) for m in joined] == [(1, "x"), (2, "y")]
    assert out[0]["topic"] == "y"


async def test_manual_full_merged_messages() -> None:
    out = await run_join([{"payload": 1, "a": 1}, {"b": 2, "complete": True}], propertyType="full",
                         build="merged")
    assert out[0]["payload"]["a"] == 1 and out[0]["payload"]["b"] == 2
    assert "_msgid" not in out[0]["payload"]


async def test_manual_ignores_parts_unless_useparts() -> None:
    parts = {"id": "g", "count": 2, "index": 0, "type": "array"}
    out = await run_join([{"payload": 1, "parts": parts}, {"payload": 2, "parts": dict(parts, index=1)}],
                         useparts=False)
    assert out == []
    legacy = dict(JOIN_DEFAULTS)
    del legacy["useparts"]  # flows from Node-RED 3.x: parts.count is used when count is blank
    async with FlowHarness([{"id": "j", "type": "join", **legacy, "wires": [["out"]]},
                            {"id": "out", "type": "helper"}]) as h:
        await h.inject("j", {"payload": 1, "parts": parts})
        await h.inject("j", {"payload": 2, "parts": dict(parts, index=1)})
        out = await h.received("out", 1)
    assert out[0]["payload"] == [1, 2]
    assert "parts" not in out[0]


async def test_manual_mode_keeps_outer_sequence() -> None:
    inner = {"id": "outer", "index": 0, "count": 1}
    out = await run_join([{"payload": "a", "parts": {"id": "g", "index": 0, "count": 1, "parts": inner}},
                          {"payload": "b", "complete": True}], build="string", joiner=",")
    assert out[0]["payload"] == "a,b"
    assert out[0]["parts"] == inner


async def test_reset_drops_the_group() -> None:
    out = await run_join([{"payload": 1}, {"payload": 2}, {"reset": True}, {"payload": 3}, {"payload": 4},
                          {"payload": 5}], count=3)
    assert [m["payload"] for m in out] == [[3, 4, 5]]


async def test_accumulate_sends_on_every_message_until_complete() -> None:
    out = await run_join([{"payload": 1}, {"payload": 2}, {"payload": 3}, {"payload": 4, "complete": True},
                          {"payload": 5}, {"payload": 6}], count=2, accumulate=True)
    assert [m["payload"] for m in out] == [[1, 2], [1, 2, 3], [1, 2, 3, 4], [5, 6]]
    out[0]["payload"].append("mutated")
    assert out[1]["payload"] == [1, 2, 3]


# ---------------------------------------------------------------- timeout

async def test_timeout_from_first_message() -> None:
    clock = FakeClock()
    flow = [join_node(timeout="2", build="string", joiner=","), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.inject("j", {"payload": "a"})
        await h.advance(1.5)
        await h.inject("j", {"payload": "b"})
        await h.advance(0.4)
        assert h.messages("out") == []
        await h.advance(0.2)
        assert [m["payload"] for m in h.messages("out")] == ["a,b"]
        await h.inject("j", {"payload": "c"})
        await h.advance(2.1)
        assert [m["payload"] for m in h.messages("out")] == ["a,b", "c"]
        assert clock.pending == 0


async def test_restart_timeout() -> None:
    clock = FakeClock()
    flow = [join_node(timeout="2"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.inject("j", {"payload": 1})
        await h.advance(1.5)
        await h.inject("j", {"payload": 2, "restartTimeout": True})
        await h.advance(1.9)
        assert h.messages("out") == []
        await h.advance(0.2)
        assert [m["payload"] for m in h.messages("out")] == [[1, 2]]


async def test_count_before_timeout_cancels_the_timer() -> None:
    clock = FakeClock()
    flow = [join_node(timeout="5", count="2"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.inject("j", {"payload": 1})
        await h.inject("j", {"payload": 2})
        await h.advance(10)
        assert [m["payload"] for m in h.messages("out")] == [[1, 2]]
        assert clock.pending == 0


async def test_reset_cancels_the_timer() -> None:
    clock = FakeClock()
    flow = [join_node(timeout="1"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.inject("j", {"payload": 1})
        await h.inject("j", {"reset": True})
        await h.advance(5)
        assert h.messages("out") == []


# ---------------------------------------------------------------- bounded buffering

async def test_too_many_buffered_messages_drop_the_group() -> None:
    flow = catching([join_node(count=""), {"id": "out", "type": "helper"}])
    async with FlowHarness(flow, settings={"max_buffered": 3}) as h:
        for i in range(4):
            await h.inject("j", {"payload": i})
        errs = await h.received("errs", 1)
        assert errs[0]["payload"] == 3
        assert "too many" in errs[0]["error"]["message"]
        await h.inject("j", {"payload": "new", "complete": True})
        out = await h.received("out", 1)
    assert out[0]["payload"] == ["new"]


# ---------------------------------------------------------------- reduce

def seq(values: list, gid: str = "g") -> list[dict]:
    return [{"payload": v, "parts": {"id": gid, "index": i, "count": len(values)}} for i, v in enumerate(values)]


async def test_reduce_sum_with_init() -> None:
    out = await run_join(seq([1, 2, 3, 4]), mode="reduce", reduceExp="$A + payload", reduceInit="10",
                         reduceInitType="num")
    assert [m["payload"] for m in out] == [20]
    assert "parts" not in out[0]


async def test_reduce_average_with_fixup_and_index() -> None:
    out = await run_join(seq([2, 4, 6]), mode="reduce", reduceExp="$A + payload", reduceInit="0",
                         reduceInitType="num", reduceFixup="$A / $N")
    assert out[0]["payload"] == 4
    out = await run_join(seq(["a", "b", "c"]), mode="reduce", reduceExp="$A & $string($I) & payload",
                         reduceInit="", reduceInitType="str")
    assert out[0]["payload"] == "0a1b2c"


async def test_reduce_sorts_by_index_and_reduce_right() -> None:
    msgs = seq(["a", "b", "c"])
    shuffled = [msgs[2], msgs[0], msgs[1]]
    out = await run_join(shuffled, mode="reduce", reduceExp="$A & payload", reduceInitType="str")
    assert out[0]["payload"] == "abc"
    out = await run_join(msgs, mode="reduce", reduceExp="$A & payload", reduceInitType="str", reduceRight=True)
    assert out[0]["payload"] == "cba"


async def test_reduce_passes_messages_without_parts() -> None:
    out = await run_join([{"payload": 7, "topic": "t"}], mode="reduce", reduceExp="$A")
    assert [(m["payload"], m["topic"]) for m in out] == [(7, "t")]


async def test_reduce_groups_by_id() -> None:
    msgs = seq([1, 2], "x")
    other = seq([10, 20], "y")
    out = await run_join([msgs[0], other[0], other[1], msgs[1]], mode="reduce", reduceExp="$A + payload",
                         reduceInit="0", reduceInitType="num")
    assert [m["payload"] for m in out] == [30, 3]


async def test_reduce_expression_error_is_caught() -> None:
    flow = catching([join_node(mode="reduce", reduceExp="$A + payload", reduceInit="0", reduceInitType="num"),
                     {"id": "out", "type": "helper"}])
    async with FlowHarness(flow) as h:
        for m in seq([1, "text"]):
            await h.inject("j", m)
        errs = await h.received("errs", 1)
        assert h.messages("out") == []
    assert errs[0]["payload"] == "text"


async def test_reduce_pending_is_bounded() -> None:
    flow = catching([join_node(mode="reduce", reduceExp="$A"), {"id": "out", "type": "helper"}])
    async with FlowHarness(flow, settings={"max_buffered": 2}) as h:
        for m in seq([1, 2, 3, 4]):
            await h.inject("j", m)
        errs = await h.received("errs", 1)
    assert "too many" in errs[0]["error"]["message"]


@pytest.mark.parametrize(("props", "field"), [
    ({"mode": "reduce", "reduceExp": "$A +"}, "reduceExp"),
    ({"mode": "reduce", "reduceExp": "$A", "reduceFixup": "(("}, "reduceFixup"),
    ({"joinerType": "bin", "joiner": "\"x\""}, "joiner"),
    ({"mode": "sideways"}, "mode"),
    ({"build": "tree"}, "build"),
])
async def test_invalid_config_is_rejected(props: dict, field: str) -> None:
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness([join_node(**props), {"id": "out", "type": "helper"}]):
            pass
    assert any(issue.path.endswith(field) for issue in info.value.issues)


async def test_large_round_trip() -> None:
    data = list(range(10_000))
    flow = [split_node(), join_node(mode="auto"), {"id": "out", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("s", {"payload": data})
        out = await h.received("out", 1)
    assert out[0]["payload"] == data
