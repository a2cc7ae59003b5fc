"""sort and batch nodes."""

from __future__ import annotations

import pytest

from flowengine import FlowValidationError
from flowengine.testing import FakeClock, FlowHarness

SORT_DEFAULTS = {"order": "ascending", "as_num": False, "target": "payload", "targetType": "msg",
                 "msgKey": "payload", "msgKeyType": "elem", "seqKey": "payload", "seqKeyType": "msg"}


def sort_node(**props) -> dict:
    return {"id": "srt", "type": "sort", **SORT_DEFAULTS, "wires": [["out"]], **props}


def batch_node(**props) -> dict:
    return {"id": "b", "type": "batch", "mode": "count", "count": 10, "overlap": 0, "interval": 10,
            "allowEmptySequence": False, "topics": [], "wires": [["out"]], **props}


def catching(flow: list[dict]) -> list[dict]:
    return [*flow, {"id": "c", "type": "catch", "scope": None, "wires": [["errs"]]},
            {"id": "errs", "type": "helper"}]


OUT = {"id": "out", "type": "helper"}


async def run(node: dict, msgs: list[dict], entry: str) -> list[dict]:
    async with FlowHarness([node, OUT]) as h:
        for m in msgs:
            await h.inject(entry, m)
        return list(h.messages("out"))


def seq(values: list, gid: str = "g", **extra) -> list[dict]:
    return [{"payload": v, "parts": {"id": gid, "index": i, "count": len(values)}, **extra}
            for i, v in enumerate(values)]


# ---------------------------------------------------------------- sort: array property

async def test_sort_array_ascending_and_descending() -> None:
    out = await run(sort_node(), [{"payload": [3, 1, 2]}], "srt")
    assert out[0]["payload"] == [1, 2, 3]
    out = await run(sort_node(order="descending"), [{"payload": ["b", "c", "a"]}], "srt")
    assert out[0]["payload"] == ["c", "b", "a"]


async def test_sort_strings_or_as_numbers() -> None:
    out = await run(sort_node(), [{"payload": ["10", "9", "100"]}], "srt")
    assert out[0]["payload"] == ["10", "100", "9"]
    out = await run(sort_node(as_num=True), [{"payload": ["10", "9", "100"]}], "srt")
    assert out[0]["payload"] == ["9", "10", "100"]


async def test_sort_mixed_types_compare_like_javascript() -> None:
    out = await run(sort_node(), [{"payload": [3, "2", 1]}], "srt")
    assert out[0]["payload"] == [1, "2", 3]


async def test_sort_by_jsonata_key_is_stable() -> None:
    people = [{"n": "a", "age": 30}, {"n": "b", "age": 20}, {"n": "c", "age": 30}, {"n": "d", "age": 10}]
    out = await run(sort_node(msgKey="age", msgKeyType="jsonata"), [{"payload": people}], "srt")
    assert [p["n"] for p in out[0]["payload"]] == ["d", "b", "a", "c"]


async def test_sort_nested_target() -> None:
    out = await run(sort_node(target="data.list"), [{"payload": "x", "data": {"list": [2, 1]}}], "srt")
    assert out[0]["data"]["list"] == [1, 2]
    assert out[0]["payload"] == "x"


async def test_sort_non_array_target_sends_nothing() -> None:
    out = await run(sort_node(), [{"payload": "text"}, {"payload": {"a": 1}}, {"topic": "none"}], "srt")
    assert out == []


async def test_sort_key_error_is_reported() -> None:
    flow = catching([sort_node(msgKey="$error('bad key')", msgKeyType="jsonata"), OUT])
    async with FlowHarness(flow) as h:
        await h.inject("srt", {"payload": [1, 2]})
        errs = await h.received("errs", 1)
        assert h.messages("out") == []
    assert "bad key" in errs[0]["error"]["message"]


# ---------------------------------------------------------------- sort: sequences

async def test_sort_sequence_reindexes_parts() -> None:
    out = await run(sort_node(targetType="seq", order="descending"), seq([5, 9, 1], topic="t"), "srt")
    assert [m["payload"] for m in out] == [9, 5, 1]
    assert [m["parts"]["index"] for m in out] == [0, 1, 2]
    assert all(m["parts"]["count"] == 3 and m["topic"] == "t" for m in out)


async def test_sort_sequence_by_jsonata_and_groups_by_id() -> None:
    a = seq([{"v": 2}, {"v": 1}], "A")
    b = seq([{"v": 20}, {"v": 10}], "B")
    out = await run(sort_node(targetType="seq", seqKey="payload.v", seqKeyType="jsonata"),
                    [a[0], b[0], b[1], a[1]], "srt")
    assert [m["payload"]["v"] for m in out] == [10, 20, 1, 2]


async def test_sort_sequence_by_other_property() -> None:
    msgs = [{"payload": p, "rank": r, "parts": {"id": "g", "index": i, "count": 3}}
            for i, (p, r) in enumerate([("x", 3), ("y", 1), ("z", 2)])]
    out = await run(sort_node(targetType="seq", seqKey="rank"), msgs, "srt")
    assert [m["payload"] for m in out] == ["y", "z", "x"]


async def test_sort_sequence_ignores_messages_without_parts() -> None:
    out = await run(sort_node(targetType="seq"), [{"payload": 1}, {"payload": 2, "parts": {"id": "g"}}], "srt")
    assert out == []


async def test_split_sort_join_round_trip() -> None:
    flow = [{"id": "s", "type": "split", "splt": "\\n", "spltType": "str", "arraySplt": 1, "wires": [["srt"]]},
            sort_node(targetType="seq", as_num=True, wires=[["j"]]),
            {"id": "j", "type": "join", "mode": "auto", "wires": [["out"]]}, OUT]
    async with FlowHarness(flow) as h:
        await h.inject("s", {"payload": ["10", "9", "100", "1"]})
        out = await h.received("out", 1)
    assert out[0]["payload"] == ["1", "9", "10", "100"]


async def test_sort_pending_sequences_are_bounded() -> None:
    flow = catching([sort_node(targetType="seq"), OUT])
    async with FlowHarness(flow, settings={"max_buffered": 2}) as h:
        for m in seq([1, 2, 3, 4]):
            await h.inject("srt", m)
        errs = await h.received("errs", 1)
        assert h.messages("out") == []
    assert "Too many pending messages" in errs[0]["error"]["message"]


@pytest.mark.parametrize(("props", "field"), [
    ({"msgKey": "((", "msgKeyType": "jsonata"}, "msgKey"),
    ({"targetType": "seq", "seqKey": "$x +", "seqKeyType": "jsonata"}, "seqKey"),
    ({"order": "sideways"}, "order"),
    ({"targetType": "other"}, "targetType"),
])
async def test_sort_invalid_config(props: dict, field: str) -> None:
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness([sort_node(**props), OUT]):
            pass
    assert any(issue.path.endswith(field) for issue in info.value.issues)


# ---------------------------------------------------------------- batch: count

async def test_batch_count_sequences() -> None:
    msgs = [{"payload": i, "_msgid": f"m{i}"} for i in range(5)]
    out = await run(batch_node(count=2), msgs, "b")
    assert [m["payload"] for m in out] == [0, 1, 2, 3]
    assert [m["parts"] for m in out] == [{"id": "m0", "index": 0, "count": 2}, {"id": "m0", "index": 1, "count": 2},
                                         {"id": "m2", "index": 0, "count": 2}, {"id": "m2", "index": 1, "count": 2}]


async def test_batch_count_with_overlap_sends_copies() -> None:
    out = await run(batch_node(count="3", overlap="1"), [{"payload": [i]} for i in range(5)], "b")
    assert [m["payload"] for m in out] == [[0], [1], [2], [2], [3], [4]]
    assert [m["parts"]["index"] for m in out] == [0, 1, 2, 0, 1, 2]
    out[2]["payload"].append("x")
    assert out[3]["payload"] == [2]
    assert out[0]["parts"]["id"] != out[3]["parts"]["id"]


async def test_batch_reset_drops_pending() -> None:
    out = await run(batch_node(count=2), [{"payload": 1}, {"reset": True}, {"payload": 2}, {"payload": 3}], "b")
    assert [m["payload"] for m in out] == [2, 3]


async def test_batch_then_join_auto() -> None:
    flow = [batch_node(count=3, wires=[["j"]]), {"id": "j", "type": "join", "mode": "auto", "wires": [["out"]]},
            OUT]
    async with FlowHarness(flow) as h:
        for v in "abc":
            await h.inject("b", {"payload": v})
        out = await h.received("out", 1)
    assert out[0]["payload"] == ["a", "b", "c"]


async def test_batch_count_is_bounded() -> None:
    flow = catching([batch_node(count=100), OUT])
    async with FlowHarness(flow, settings={"max_buffered": 3}) as h:
        for i in range(4):
            await h.inject("b", {"payload": i})
        errs = await h.received("errs", 1)
    assert "Too many pending messages" in errs[0]["error"]["message"]


# ---------------------------------------------------------------- batch: interval

async def test_batch_interval() -> None:
    clock = FakeClock()
    async with FlowHarness([batch_node(mode="interval", interval="2"), OUT], clock=clock) as h:
        await h.advance(0.5)
        await h.inject("b", {"payload": "a"})
        await h.advance(0.7)
        await h.inject("b", {"payload": "b"})
        assert h.messages("out") == []
        await h.advance(0.9)
        out = list(h.messages("out"))
        assert [m["payload"] for m in out] == ["a", "b"]
        assert [m["parts"]["index"] for m in out] == [0, 1]
        assert {m["parts"]["count"] for m in out} == {2}
        await h.advance(2)  # nothing arrived: nothing sent
        assert len(h.messages("out")) == 2
        await h.inject("b", {"payload": "c"})
        await h.advance(2)
        assert [m["payload"] for m in h.messages("out")] == ["a", "b", "c"]


async def test_batch_interval_empty_sequence() -> None:
    clock = FakeClock()
    async with FlowHarness([batch_node(mode="interval", interval=1, allowEmptySequence=True), OUT],
                           clock=clock) as h:
        await h.advance(3.5)
        out = h.messages("out")
        assert len(out) == 3
        assert all(m["payload"] is None and m["parts"]["count"] == 1 and m["parts"]["index"] == 0 for m in out)
        assert len({m["parts"]["id"] for m in out}) == 3


async def test_batch_interval_reset_restarts_the_period() -> None:
    clock = FakeClock()
    async with FlowHarness([batch_node(mode="interval", interval="2"), OUT], clock=clock) as h:
        await h.advance(1.5)
        await h.inject("b", {"payload": "dropped"})
        await h.inject("b", {"reset": True})
        await h.inject("b", {"payload": "kept"})
        await h.advance(1.9)
        assert h.messages("out") == []
        await h.advance(0.2)
        assert [m["payload"] for m in h.messages("out")] == ["kept"]


# ---------------------------------------------------------------- batch: concat

async def test_batch_concat_in_topic_order() -> None:
    node = batch_node(mode="concat", topics=[{"topic": "a"}, {"topic": "b"}])
    b_seq = seq(["b0", "b1"], "B", topic="b")
    a_seq = seq(["a0", "a1", "a2"], "A", topic="a")
    msgs = [b_seq[0], {"payload": "other", "topic": "c", "parts": {"id": "C", "index": 0, "count": 1}},
            {"payload": "no parts", "topic": "a"}, a_seq[2], b_seq[1], a_seq[0], a_seq[1]]
    out = await run(node, msgs, "b")
    assert [m["payload"] for m in out] == ["a0", "a1", "a2", "b0", "b1"]
    assert [m["parts"]["index"] for m in out] == [0, 1, 2, 3, 4]
    assert {m["parts"]["count"] for m in out} == {5}
    assert len({m["parts"]["id"] for m in out}) == 1


async def test_batch_concat_waits_for_every_topic() -> None:
    node = batch_node(mode="concat", topics=[{"topic": "a"}, {"topic": "b"}])
    out = await run(node, seq(["a0"], "A1", topic="a") + seq(["a1"], "A2", topic="a"), "b")
    assert out == []
    out = await run(node, seq(["a0"], "A1", topic="a") + seq(["a1"], "A2", topic="a") + seq(["b0"], "B", topic="b"),
                    "b")
    assert [m["payload"] for m in out] == ["a0", "b0"]


@pytest.mark.parametrize(("props", "field"), [
    ({"count": 3, "overlap": 3}, "overlap"),
    ({"count": "x"}, "count"),
    ({"mode": "interval", "interval": "0"}, "interval"),
    ({"mode": "weekly"}, "mode"),
])
async def test_batch_invalid_config(props: dict, field: str) -> None:
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness([batch_node(**props), OUT]):
            pass
    assert any(issue.path.endswith(field) for issue in info.value.issues)
