"""split node: strings, arrays, objects and buffers into sequences with msg.parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine import FlowValidationError
from flowengine.jsvalue import UNDEFINED
from flowengine.registry import default_registry
from flowengine.testing import FlowHarness

CASES = Path(__file__).resolve().parents[1] / "conformance" / "cases"


def split_flow(**props) -> list[dict]:
    node = {"id": "s", "type": "split", "splt": "\\n", "spltType": "str", "arraySplt": 1,
            "arraySpltType": "len", "stream": False, "addname": "", "property": "payload",
            "wires": [["out"]]}
    node.update(props)
    return [node, {"id": "out", "type": "helper"}]


async def run_split(msgs: list[dict], **props) -> list[dict]:
    async with FlowHarness(split_flow(**props)) as h:
        for m in msgs:
            await h.inject("s", m)
        await h.settle()
        return list(h.messages("out"))


def parts_of(out: list[dict]) -> list[dict]:
    return [{k: v for k, v in m["parts"].items() if k != "id"} for m in out]


# ---------------------------------------------------------------- recorded Node-RED behaviour

def replay_flow(case: dict) -> tuple[list[dict], str]:
    """The case's nodes under test, wired to a helper instead of the MQTT harness."""
    nodes = [n for n in case["flow"] if ".h." not in n["id"] and n["type"] not in ("tab", "mqtt-broker")]
    unwrap = next(n for n in case["flow"] if n["id"].endswith(".h.unwrap.in"))
    entry = unwrap["wires"][0][0]
    out = []
    for n in nodes:
        n = dict(n, z="tab")
        n["wires"] = [["out" if t.endswith(".h.wrap.out") else t for t in port] for port in n.get("wires", [])]
        out.append(n)
    return [*out, {"id": "out", "type": "helper"}], entry


def captured(msg: dict, capture: list[str]) -> dict:
    got = {k: msg[k] for k in capture if k in msg and msg[k] is not UNDEFINED}
    if isinstance(got.get("parts"), dict):
        got["parts"] = {k: v for k, v in got["parts"].items() if k != "id"}
    return got


@pytest.mark.parametrize("case_id", ["sj01", "sj02", "sj03"])
async def test_conformance_cases(case_id: str) -> None:
    path = next(CASES.glob(f"{case_id}-*.json"))
    case = json.loads(path.read_text())
    flow, entry = replay_flow(case)
    registry = default_registry()
    missing = {n["type"] for n in flow if n["type"] != "helper" and registry.get(n["type"]) is None}
    if missing:
        pytest.skip(f"node types not available: {missing}")
    async with FlowHarness(flow) as h:
        for item in case["inputs"]:
            await h.inject(entry, json.loads(json.dumps(item["msg"])))
        got = await h.received("out", len(case["expected"]))
    expected = [captured(e["msg"], case["capture"]) for e in case["expected"]]
    assert [captured(m, case["capture"]) for m in got] == expected
    # parts.id is random but shared by every part of one input message
    ids = [m["parts"]["id"] for m in got]
    exp_ids = [e["msg"]["parts"]["id"] for e in case["expected"]]
    assert [ids.index(i) for i in ids] == [exp_ids.index(i) for i in exp_ids]


# ---------------------------------------------------------------- strings

async def test_string_default_newline_and_parts() -> None:
    out = await run_split([{"payload": "a\nb\nc", "topic": "t", "_msgid": "orig"}])
    assert [m["payload"] for m in out] == ["a", "b", "c"]
    assert all(m["topic"] == "t" for m in out)
    assert parts_of(out) == [{"type": "string", "ch": "\n", "index": i, "count": 3} for i in range(3)]
    assert len({m["parts"]["id"] for m in out}) == 1
    ids = [m["_msgid"] for m in out]
    assert len(set(ids)) == 3 and "orig" not in ids


async def test_blank_separator_means_newline_and_escapes() -> None:
    out = await run_split([{"payload": "a\nb"}], splt="")
    assert [m["payload"] for m in out] == ["a", "b"]
    out = await run_split([{"payload": "a\tb\tc"}], splt="\\t")
    assert [m["payload"] for m in out] == ["a", "b", "c"]
    assert out[0]["parts"]["ch"] == "\t"


async def test_string_without_separator_is_one_part_and_empty_string_too() -> None:
    out = await run_split([{"payload": "single"}, {"payload": ""}], splt=",")
    assert [m["payload"] for m in out] == ["single", ""]
    assert [p["count"] for p in parts_of(out)] == [1, 1]
    assert out[0]["parts"]["id"] != out[1]["parts"]["id"]


async def test_string_stream_keeps_remainder_and_continues_index() -> None:
    out = await run_split([{"payload": "a\nb"}, {"payload": "c\nd\n"}], stream=True)
    assert [m["payload"] for m in out] == ["a", "bc", "d"]
    assert [m["parts"]["index"] for m in out] == [0, 1, 2]
    assert all("count" not in m["parts"] for m in out)


async def test_string_fixed_length() -> None:
    out = await run_split([{"payload": "abcdefg"}], spltType="len", splt="3")
    assert [m["payload"] for m in out] == ["abc", "def", "g"]
    assert parts_of(out) == [{"type": "string", "ch": "", "len": 3, "count": 3, "index": i} for i in range(3)]


async def test_string_fixed_length_stream() -> None:
    out = await run_split([{"payload": "abcd"}, {"payload": "efgh"}], spltType="len", splt=3, stream=True)
    assert [m["payload"] for m in out] == ["abc", "def"]
    assert [m["parts"]["index"] for m in out] == [0, 1]
    out = await run_split([{"payload": "abcdef"}], spltType="len", splt=3, stream=True)
    assert [m["payload"] for m in out] == ["abc", "def"]


async def test_string_split_by_byte_array() -> None:
    out = await run_split([{"payload": "x,y"}], spltType="bin", splt="[44]")
    assert [m["payload"] for m in out] == ["x", "y"]
    assert out[0]["parts"]["ch"] == [44]


# ---------------------------------------------------------------- arrays and objects

async def test_array_one_per_message() -> None:
    out = await run_split([{"payload": [1, "two", None, {"k": 3}]}])
    assert [m["payload"] for m in out] == [1, "two", None, {"k": 3}]
    assert parts_of(out) == [{"type": "array", "count": 4, "len": 1, "index": i} for i in range(4)]


async def test_array_chunks_and_empty_array() -> None:
    out = await run_split([{"payload": [1, 2, 3, 4, 5]}, {"payload": []}], arraySplt="2")
    assert [m["payload"] for m in out] == [[1, 2], [3, 4], [5]]
    assert [m["parts"]["count"] for m in out] == [3, 3, 3]
    assert all(m["parts"]["len"] == 2 for m in out)


async def test_parts_are_independent_copies() -> None:
    shared = {"deep": [1]}
    out = await run_split([{"payload": [shared, shared], "meta": {"x": [1]}}])
    out[0]["payload"]["deep"].append(2)
    out[0]["meta"]["x"].append(2)
    out[0]["parts"]["index"] = 99
    assert out[1]["payload"] == {"deep": [1]}
    assert out[1]["meta"] == {"x": [1]}
    assert out[1]["parts"]["index"] == 1


async def test_object_split_with_addname() -> None:
    out = await run_split([{"payload": {"a": 1, "b": {"c": 2}}}], addname="info.key")
    assert [m["payload"] for m in out] == [1, {"c": 2}]
    assert [m["info"]["key"] for m in out] == ["a", "b"]
    assert parts_of(out) == [{"type": "object", "key": "a", "index": 0, "count": 2},
                             {"type": "object", "key": "b", "index": 1, "count": 2}]


async def test_object_split_without_addname_adds_no_property() -> None:
    out = await run_split([{"payload": {"a": 1}}])
    assert set(out[0]) == {"payload", "parts", "_msgid"}


async def test_nested_sequence_pushes_existing_parts() -> None:
    outer = {"id": "outer", "index": 2, "count": 5, "type": "array"}
    out = await run_split([{"payload": "a,b", "parts": outer}], splt=",")
    assert [m["parts"]["parts"] for m in out] == [outer, outer]
    out[0]["parts"]["parts"]["index"] = 7
    assert out[1]["parts"]["parts"]["index"] == 2


async def test_other_property() -> None:
    out = await run_split([{"payload": "keep", "data": {"list": [1, 2]}}], property="data.list")
    assert [m["data"]["list"] for m in out] == [1, 2]
    assert all(m["payload"] == "keep" for m in out)
    assert all(m["parts"]["property"] == "data.list" for m in out)


# ---------------------------------------------------------------- buffers

async def test_buffer_split_by_separator() -> None:
    out = await run_split([{"payload": b"ab\ncd\nef"}])
    assert [m["payload"] for m in out] == [b"ab", b"cd", b"ef"]
    assert parts_of(out) == [{"type": "buffer", "ch": "\n", "count": 3, "index": i} for i in range(3)]


async def test_buffer_split_trailing_separator_quirk() -> None:
    # Node-RED counts the empty tail but does not send it
    out = await run_split([{"payload": b"ab\ncd\n"}])
    assert [m["payload"] for m in out] == [b"ab", b"cd"]
    assert [m["parts"]["count"] for m in out] == [3, 3]


async def test_buffer_split_by_bytes_and_length() -> None:
    out = await run_split([{"payload": bytearray(b"a\x00b")}], spltType="bin", splt="[0]")
    assert [m["payload"] for m in out] == [b"a", b"b"]
    assert out[0]["parts"]["ch"] == [0]
    out = await run_split([{"payload": b"12345"}], spltType="len", splt="2")
    assert [m["payload"] for m in out] == [b"12", b"34", b"5"]
    assert parts_of(out) == [{"type": "buffer", "len": 2, "count": 3, "index": i} for i in range(3)]


async def test_buffer_stream_keeps_remainder() -> None:
    out = await run_split([{"payload": b"ab\ncd"}, {"payload": b"ef\ngh"}], stream=True)
    assert [m["payload"] for m in out] == [b"ab", b"cdef"]
    assert [m["parts"]["index"] for m in out] == [0, 1]
    out = await run_split([{"payload": b"abc"}, {"payload": b"defg"}], spltType="len", splt="3", stream=True)
    assert [m["payload"] for m in out] == [b"abc", b"def"]


# ---------------------------------------------------------------- other input

async def test_numbers_booleans_and_missing_property_are_dropped() -> None:
    out = await run_split([{"payload": 5}, {"payload": True}, {"topic": "no payload"}])
    assert out == []


async def test_null_payload_reports_an_error() -> None:
    flow = [*split_flow(), {"id": "c", "type": "catch", "scope": None, "wires": [["errs"]]},
            {"id": "errs", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("s", {"payload": None})
        errs = await h.received("errs", 1)
        assert h.messages("out") == []
    assert errs[0]["error"]["source"]["id"] == "s"


@pytest.mark.parametrize(("props", "field"), [
    ({"spltType": "len", "splt": "0"}, "splt"),
    ({"spltType": "len", "splt": "x"}, "splt"),
    ({"spltType": "bin", "splt": "{\"a\":1}"}, "splt"),
    ({"spltType": "bin", "splt": "[1,"}, "splt"),
    ({"arraySplt": 0}, "arraySplt"),
    ({"spltType": "nope"}, "spltType"),
])
async def test_invalid_config_is_rejected(props: dict, field: str) -> None:
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness(split_flow(**props)):
            pass
    assert any(issue.path.endswith(field) for issue in info.value.issues)


async def test_large_array_split_is_ordered_and_complete() -> None:
    data = list(range(10_000))
    async with FlowHarness(split_flow()) as h:
        await h.inject("s", {"payload": data, "topic": "big"})
        out = await h.received("out", 10_000)
    assert [m["payload"] for m in out] == data
    assert [m["parts"]["index"] for m in out] == data
    assert {m["parts"]["count"] for m in out} == {10_000}
    assert len({m["_msgid"] for m in out}) == 10_000
