"""rbe (filter) node: report by exception, dead/narrow bands, topics and reset."""

from __future__ import annotations

import pytest

from flowengine import FlowValidationError
from flowengine.testing import FlowHarness

BASE = {"func": "rbe", "gap": "", "start": "", "inout": "out", "septopics": True, "property": "payload",
        "topi": "topic"}


def rbe_flow(**props) -> list[dict]:
    return [dict(BASE, id="r", type="rbe", wires=[["out"]], **props), {"id": "out", "type": "helper"}]


async def run(msgs: list[dict], settings: dict | None = None, **props) -> tuple[list[dict], list[str]]:
    async with FlowHarness(rbe_flow(**props), settings=settings) as h:
        events = h.events()
        for m in msgs:
            await h.inject("r", m)
        warnings = [e["data"]["msg"] for e in events.drain()
                    if e["type"] == "log" and e["data"]["level"] == "warn"]
        return [{k: v for k, v in m.items() if k != "_msgid"} for m in h.messages("out")], warnings


def values(out: list[dict], prop: str = "payload") -> list:
    return [m.get(prop) for m in out]


async def test_block_unless_changed_per_topic_with_deep_compare():
    msgs = [{"payload": 1, "topic": "a"}, {"payload": 1, "topic": "a"}, {"payload": 1, "topic": "b"},
            {"payload": 2, "topic": "a"}, {"payload": 1, "topic": "b"}, {"payload": "2", "topic": "a"},
            {"payload": {"x": 1}, "topic": "a"}, {"payload": {"x": 1}, "topic": "a"},
            {"payload": {"x": 2}, "topic": "a"}]
    out, _ = await run(msgs)
    assert [(m["payload"], m["topic"]) for m in out] == [(1, "a"), (1, "b"), (2, "a"), ("2", "a"),
                                                          ({"x": 1}, "a"), ({"x": 2}, "a")]


async def test_strict_comparison_of_primitives_and_objects():
    msgs = [{"payload": "a"}, {"payload": "a"}, {"payload": 2}, {"payload": 2.0},
            {"payload": {"b": 1, "c": 2}}, {"payload": {"c": 2, "b": 1}}, {"payload": True}, {"payload": 1},
            {"payload": False}, {"payload": False}, {"payload": [1, "1"]}, {"payload": [1, 1]},
            {"payload": None}, {"payload": None}, {"payload": b"ab"}, {"payload": b"ab"}]
    out, _ = await run(msgs)
    assert values(out) == ["a", 2, {"b": 1, "c": 2}, True, 1, False, [1, "1"], [1, 1], None, b"ab"]


async def test_topics_ignored_when_septopics_is_false():
    msgs = [{"topic": "a", "payload": "a"}, {"topic": "b", "payload": "a"}, {"topic": "a", "payload": 2}]
    out, _ = await run(msgs, septopics=False)
    assert values(out) == ["a", 2]


async def test_other_property_and_messages_without_it_are_ignored():
    msgs = [{"foo": "a"}, {"payload": "a"}, {"foo": "a"}, {"foo": "b"}, {"foo": {"b": 1}}, {"foo": {"b": 1}}]
    out, _ = await run(msgs, property="foo")
    assert values(out, "foo") == ["a", "b", {"b": 1}]


async def test_rbei_ignores_the_first_value_of_each_topic():
    msgs = [{"payload": "a", "topic": "a"}, {"payload": "a", "topic": "b"}, {"payload": "a", "topic": "a"},
            {"payload": "b", "topic": "a"}, {"payload": "b", "topic": "b"}]
    out, _ = await run(msgs, func="rbei")
    assert [(m["payload"], m["topic"]) for m in out] == [("b", "a"), ("b", "b")]


async def test_reset_all_or_one_topic():
    msgs = [{"payload": 1}, {"payload": 1}, {"reset": True}, {"payload": 1},
            {"payload": 1, "topic": "t"}, {"reset": True, "topic": "t"}, {"payload": 1, "topic": "t"},
            {"payload": 1}, {"topic": "c"}, {"payload": 1, "topic": "t"}, {"reset": ""}, {"payload": 1}]
    out, _ = await run(msgs)
    assert [(m["payload"], m.get("topic")) for m in out] == [(1, None), (1, None), (1, "t"), (1, "t"), (1, None)]


async def test_reset_message_with_a_value_is_compared_after_resetting():
    out, _ = await run([{"payload": 1}, {"payload": 1, "reset": True}])
    assert values(out) == [1, 1]


async def test_deadband_against_last_output_and_non_numbers_warn():
    msgs = [{"payload": v} for v in (10, 12, 16, 14, 21, "abc", 26, "31.5")]
    out, warnings = await run(msgs, func="deadband", gap="5")
    assert values(out) == [10, 16, 26, "31.5"]
    assert warnings == ["no number found in payload"]


async def test_deadband_eq_passes_at_exactly_the_gap():
    msgs = [{"payload": v} for v in (0, 2, 4, 6, 8, 10, 15, 20)]
    out, _ = await run(msgs, func="deadbandEq", gap="10")
    assert values(out) == [0, 10, 20]


async def test_deadband_parses_leading_numbers():
    msgs = [{"payload": v} for v in (0, 2, 4, "6 deg", 8, 20, 15, "5 deg")]
    out, _ = await run(msgs, func="deadband", gap="10")
    assert values(out) == [0, 20, "5 deg"]


async def test_deadband_percentage_of_the_reference():
    msgs = [{"payload": v} for v in (100, 95, 105, 111, 120, 135)]
    out, _ = await run(msgs, func="deadband", gap="10%")
    assert values(out) == [100, 111, 135]


async def test_deadband_against_last_input():
    msgs = [{"payload": v} for v in (0, 4, 8, 12, 20)]
    out, _ = await run(msgs, func="deadband", gap="5", inout="in")
    assert values(out) == [0, 20]  # small steps never add up when compared with the last input


async def test_narrowband_eq_with_start_value():
    msgs = [{"payload": v} for v in (100, 0, 10, 5, 15, 10, 20, 25)]
    out, _ = await run(msgs, func="narrowbandEq", gap="10", start="1")
    assert values(out) == [0, 5, 10]


async def test_narrowband_blocks_outliers():
    msgs = [{"payload": v} for v in (0, 20, 40, "6 deg", 18, 20, 50, "5 deg")]
    out, _ = await run(msgs, func="narrowband", gap="10")
    assert values(out) == [0, "6 deg", "5 deg"]


async def test_narrowband_gap_zero_passes_repeats():
    out, _ = await run([{"payload": v} for v in (1, 1, 1, 0, 1)], func="narrowband", gap="0")
    assert values(out) == [1, 1, 1, 1]


async def test_narrowband_step_mode_compares_with_last_input():
    msgs = [{"payload": v} for v in (50, 55, 200, 205)]
    out, _ = await run(msgs, func="narrowband", gap="10", inout="in", start="500")
    assert values(out) == [55, 205]


async def test_band_modes_keep_separate_references_per_topic():
    msgs = [{"payload": 0, "topic": "a"}, {"payload": 100, "topic": "b"}, {"payload": 3, "topic": "a"},
            {"payload": 110, "topic": "b"}]
    out, _ = await run(msgs, func="deadband", gap="5")
    assert [(m["payload"], m["topic"]) for m in out] == [(0, "a"), (100, "b"), (110, "b")]


async def test_remembered_topics_are_bounded():
    msgs = [{"payload": 1, "topic": t} for t in "abca"]
    out, warnings = await run(msgs, settings={"max_buffered": 2})
    assert [m["topic"] for m in out] == ["a", "b", "c", "a"]  # "a" was forgotten to make room for "c"
    assert len(warnings) == 1


@pytest.mark.parametrize("props,field", [({"func": "sometimes"}, "func"),
                                         ({"func": "deadband", "gap": "ten"}, "gap"),
                                         ({"func": "narrowband", "gap": "1", "start": "x"}, "start"),
                                         ({"inout": "both"}, "inout"), ({"property": "a..b"}, "property")])
async def test_bad_config_is_a_validation_error(props, field):
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness(rbe_flow(**props)):
            pass
    assert [i.path for i in info.value.issues if i.node_id == "r"] == [field]


async def test_gap_is_not_checked_in_rbe_mode():
    out, _ = await run([{"payload": 1}], gap="whatever")
    assert values(out) == [1]
