"""range node: scale/clamp/roll/drop, rounding, JS number conversion, pass-through, errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from flowengine import ConfigError
from flowengine.testing import FlowHarness
from flowengine_nodes.core.range import Range
from tests.conformance.replay import replay


def range_flow(**props: Any) -> list[dict]:
    node = {"id": "r", "type": "range", "minin": "0", "maxin": "10", "minout": "0", "maxout": "100",
            "action": "scale", "round": False, "property": "payload", "wires": [["out"]]}
    node.update(props)
    return [node, {"id": "out", "type": "helper"},
            {"id": "c", "type": "catch", "scope": None, "wires": [["err"]]}, {"id": "err", "type": "helper"}]


async def scaled(values: list, **props: Any) -> list:
    async with FlowHarness(range_flow(**props)) as h:
        for v in values:
            await h.inject("r", {"payload": v})
        assert h.messages("err") == []
        return [m["payload"] for m in h.messages("out")]


@pytest.mark.parametrize("case_id", ["rg01", "rg02", "rg03"])
async def test_conformance_cases(case_id):
    got_ports, want_ports = await replay(case_id)
    got = [m for port in got_ports.values() for m in port]
    want = [m for port in want_ports.values() for m in port]
    assert got == want
    assert [type(g.get("payload")) for g in got] == [type(w.get("payload")) for w in want]


async def test_scale_extrapolates_and_converts_like_number():
    assert await scaled([0, 5, 10, 15, -5, "2.5", " 3 ", True, None, [4], "0x2"]) == \
        [0, 50, 100, 150, -50, 25, 30, 10, 0, 40, 20]


async def test_whole_results_are_ints_and_others_floats():
    out = await scaled([5, 0.5, 1.23])
    assert out == [50, 5, 12.3]
    assert isinstance(out[0], int) and isinstance(out[1], int) and isinstance(out[2], float)


async def test_inverted_output_range():
    assert await scaled([0, 2.5, 10], minout="100", maxout="0") == [100, 75, 0]


async def test_clamp_limits_to_the_input_range():
    assert await scaled([-3, 4, 30], action="clamp") == [0, 40, 100]


async def test_roll_wraps_into_the_input_range():
    # JS ((n - min) % span + span) % span + min, then scaled
    assert await scaled([12, -1, 10, -10, 25], action="roll", maxout="10") == [2, 9, 0, 0, 5]
    assert await scaled([7], action="roll", minin="5", maxin="8", minout="0", maxout="3") == [2]


async def test_drop_discards_values_outside():
    assert await scaled([-1, 0, 5, 10, 11], action="drop") == [0, 50, 100]


async def test_round_is_math_round():
    # Math.round rounds halves towards +Infinity: 2.5 -> 3, -2.5 -> -2
    out = await scaled([0.25, -0.25, 0.24], round=True, maxin="1", maxout="10")
    assert out == [3, -2, 2]
    assert all(isinstance(v, int) for v in out)


async def test_nested_property():
    async with FlowHarness(range_flow(property="data.level")) as h:
        await h.inject("r", {"payload": "keep", "data": {"level": 3}})
        msg = h.messages("out")[0]
        assert msg["data"]["level"] == 30 and msg["payload"] == "keep"


async def test_missing_property_passes_through_unchanged():
    async with FlowHarness(range_flow(property="data.level")) as h:
        await h.inject("r", {"topic": "t", "data": {}})
        assert h.messages("out")[0] == {"topic": "t", "data": {}, "_msgid": h.messages("out")[0]["_msgid"]}


async def test_reading_through_a_missing_parent_is_an_error():
    async with FlowHarness(range_flow(property="data.level")) as h:
        await h.inject("r", {"topic": "no data"})
        await h.inject("r", {"data": None})
        assert h.messages("out") == []
        errs = h.messages("err")
        assert [e.get("topic") for e in errs] == ["no data", None]
        assert "Cannot read properties of undefined" in errs[0]["error"]["message"]


async def test_not_a_number_is_logged_and_dropped_without_an_error():
    async with FlowHarness(range_flow()) as h:
        events = h.events()
        for v in ("abc", {"a": 1}, [1, 2], "7"):
            await h.inject("r", {"payload": v})
        assert [m["payload"] for m in h.messages("out")] == [70]
        assert h.messages("err") == []  # Node-RED only logs it; catch nodes see nothing
        logs = [e["data"]["msg"] for e in events.drain() if e["type"] == "log"]
        assert any("not a number: abc" in t for t in logs)


async def test_empty_input_range_gives_javascript_infinity_or_nan():
    async with FlowHarness(range_flow(minin="5", maxin="5")) as h:
        await h.inject("r", {"payload": 6})
        await h.inject("r", {"payload": 5})
        a, b = (m["payload"] for m in h.messages("out"))
        assert a == math.inf and math.isnan(b)


def make(props: dict) -> Range:
    node = Range({"id": "x", **props}, Range.Config.model_validate(props))
    node.setup()
    return node


def test_limits_accept_numbers_and_strings():
    node = make({"minin": 1, "maxin": "2.5", "minout": "-1", "maxout": " 1e1 ", "action": "clamp"})
    assert (node.minin, node.maxin, node.minout, node.maxout) == (1, 2.5, -1, 10)
    assert node.scale(100) == 10


@pytest.mark.parametrize(("props", "field"), [
    ({"minin": "", "maxin": "1", "minout": "0", "maxout": "1"}, "minin"),
    ({"minin": "0", "maxin": "ten", "minout": "0", "maxout": "1"}, "maxin"),
    ({"minin": "0", "maxin": "1", "minout": "0"}, "maxout"),
    ({"minin": "0", "maxin": "1", "minout": "0", "maxout": "1", "action": "squash"}, "action"),
    ({"minin": "0", "maxin": "1", "minout": "0", "maxout": "1", "property": "a..b"}, "property"),
])
def test_config_errors_name_the_field(props, field):
    with pytest.raises(ConfigError) as info:
        make(props)
    assert info.value.field == field
