"""delay node: fixed/variable/random delays, rate limiting, per-topic queues, flush and reset."""

from __future__ import annotations

import pytest

from flowengine import FlowValidationError
from flowengine.testing import FakeClock, FlowHarness
from flowengine_nodes.core.delay import js_parse_float

BASE = {"pauseType": "delay", "timeout": "5", "timeoutUnits": "seconds", "rate": "1", "nbRateUnits": "1",
        "rateUnits": "second", "randomFirst": "1", "randomLast": "5", "randomUnits": "seconds",
        "drop": False, "allowrate": False, "outputs": 1}


def delay_flow(**props) -> list[dict]:
    node = dict(BASE, id="d", type="delay", **props)
    node["wires"] = [["out"], ["out2"]] if node["outputs"] == 2 else [["out"]]
    return [node,
            {"id": "out", "type": "helper"}, {"id": "out2", "type": "helper"},
            {"id": "st", "type": "status", "scope": ["d"], "wires": [["stat"]]}, {"id": "stat", "type": "helper"},
            {"id": "cp", "type": "complete", "scope": ["d"], "wires": [["comp"]]}, {"id": "comp", "type": "helper"}]


def harness(settings: dict | None = None, **props) -> FlowHarness:
    return FlowHarness(delay_flow(**props), clock=FakeClock(), settings=settings)


def payloads(h: FlowHarness, helper: str = "out") -> list:
    return [m.get("payload") for m in h.messages(helper)]


def statuses(h: FlowHarness) -> list[dict]:
    return [{k: v for k, v in m["status"].items() if k != "source"} for m in h.messages("stat")]


# ---------------------------------------------------------------- fixed delay


async def test_fixed_delay_holds_each_message_for_the_timeout():
    async with harness(timeout="300", timeoutUnits="milliseconds") as h:
        await h.inject("d", {"payload": "a"})
        await h.advance(0.1)
        await h.inject("d", {"payload": "b"})
        await h.advance(0.19)
        assert payloads(h) == []
        await h.advance(0.02)  # t = 310 ms
        assert payloads(h) == ["a"]
        await h.advance(0.1)  # t = 410 ms
        assert payloads(h) == ["a", "b"]


@pytest.mark.parametrize("units,timeout,seconds", [("milliseconds", "500", 0.5), ("seconds", "2", 2),
                                                   ("minutes", "1.5", 90), ("hours", "1", 3600),
                                                   ("days", "1", 86400)])
async def test_timeout_units(units, timeout, seconds):
    async with harness(timeout=timeout, timeoutUnits=units) as h:
        await h.inject("d", {"payload": 1})
        await h.advance(seconds * 0.999)
        assert payloads(h) == []
        await h.advance(seconds * 0.002)
        assert payloads(h) == [1]


async def test_status_shows_queue_length_only_for_delays_over_one_second():
    async with harness(timeout="1200", timeoutUnits="milliseconds") as h:
        await h.inject("d", {"payload": "p"})
        assert statuses(h) == [{"fill": "blue", "shape": "dot", "text": "1"}]
        await h.advance(1.2)
        assert statuses(h)[-1] == {"fill": "blue", "shape": "dot", "text": "0"}
        assert payloads(h) == ["p"]
    async with harness(timeout="1000", timeoutUnits="milliseconds") as h:
        await h.inject("d", {"payload": "p"})
        await h.advance(1.0)
        assert payloads(h) == ["p"]
        assert statuses(h) == []


async def test_flush_releases_everything_and_bare_flush_is_not_forwarded():
    async with harness(timeout="2") as h:
        await h.inject("d", {"payload": "a"})
        await h.advance(0.02)
        await h.inject("d", {"payload": "b"})
        await h.advance(0.18)
        await h.inject("d", {"flush": True})
        assert payloads(h) == ["a", "b"]
        assert statuses(h)[-1] == {"fill": "blue", "shape": "dot", "text": "0"}
        await h.advance(5)
        assert payloads(h) == ["a", "b"]  # nothing left, the flush message itself never leaves


async def test_flush_with_a_count_releases_the_oldest_first():
    async with harness(timeout="10") as h:
        for p in "abc":
            await h.inject("d", {"payload": p})
        await h.inject("d", {"flush": 2})
        assert payloads(h) == ["a", "b"]
        await h.inject("d", {"flush": 0})
        assert payloads(h) == ["a", "b"]
        await h.advance(10)
        assert payloads(h) == ["a", "b", "c"]


async def test_flush_message_with_content_is_released_too():
    async with harness(timeout="10") as h:
        await h.inject("d", {"payload": "a"})
        await h.inject("d", {"payload": "b", "flush": True})
        assert payloads(h) == ["a", "b"]


async def test_reset_discards_pending_messages_and_the_reset_message():
    async with harness(timeout="1") as h:
        await h.inject("d", {"payload": "a"})
        await h.inject("d", {"payload": "b"})
        await h.inject("d", {"reset": True, "payload": "r"})
        assert statuses(h)[-1] == {"fill": "blue", "shape": "ring", "text": "0"}
        await h.advance(2)
        assert payloads(h) == []
        # discarded messages still complete (Node-RED calls done() for them)
        assert sorted(m["payload"] for m in h.messages("comp")) == ["a", "b", "r"]
        await h.inject("d", {"payload": "c"})
        await h.advance(1)
        assert payloads(h) == ["c"]


async def test_complete_fires_when_the_message_leaves_not_when_it_arrives():
    async with harness(timeout="1") as h:
        await h.inject("d", {"payload": "a"})
        assert h.messages("comp") == []
        await h.advance(1)
        assert [m["payload"] for m in h.messages("comp")] == ["a"]
        assert h.messages("comp")[0]["complete"]["source"]["id"] == "d"


async def test_pending_messages_are_bounded():
    async with harness(settings={"max_buffered": 2}, timeout="1") as h:
        events = h.events()
        for p in "abc":
            await h.inject("d", {"payload": p})
        await h.advance(1)
        assert payloads(h) == ["a", "b"]
        warnings = [e for e in events.drain() if e["type"] == "log" and e["data"]["level"] == "warn"]
        assert warnings and "dropping" in warnings[0]["data"]["msg"]


# ---------------------------------------------------------------- delayv / random


async def test_delayv_uses_msg_delay_in_ms_or_the_configured_default():
    async with harness(pauseType="delayv", timeout="1") as h:
        await h.inject("d", {"payload": "slow"})
        await h.inject("d", {"payload": "fast", "delay": 200})
        await h.inject("d", {"payload": "str", "delay": "400ms"})  # parseFloat("400ms") = 400
        await h.inject("d", {"payload": "neg", "delay": -5})  # negative: no delay
        await h.inject("d", {"payload": "junk", "delay": "soon"})  # not a number: default
        await h.advance(0)
        assert payloads(h) == ["neg"]
        await h.advance(0.2)
        assert payloads(h) == ["neg", "fast"]
        await h.advance(0.2)
        assert payloads(h) == ["neg", "fast", "str"]
        await h.advance(0.6)
        assert payloads(h) == ["neg", "fast", "str", "slow", "junk"]


async def test_delayv_status_counts_and_clears():
    async with harness(pauseType="delayv", timeout="1") as h:
        await h.inject("d", {"payload": 1})
        assert statuses(h) == [{"fill": "blue", "shape": "dot", "text": "1"}]
        await h.advance(1)
        assert statuses(h)[1:] == [{}, {"fill": "blue", "shape": "dot", "text": "0"}]


async def test_random_delay_falls_within_the_range(monkeypatch):
    monkeypatch.setattr("flowengine_nodes.core.delay.random.random", lambda: 0.5)
    async with harness(pauseType="random", randomFirst="100", randomLast="300",
                       randomUnits="milliseconds") as h:
        await h.inject("d", {"payload": 1})
        await h.advance(0.199)
        assert payloads(h) == []
        await h.advance(0.002)
        assert payloads(h) == [1]


async def test_random_delay_flush():
    async with harness(pauseType="random", randomFirst="10", randomLast="20") as h:
        await h.inject("d", {"payload": 1})
        await h.inject("d", {"payload": 2})
        await h.inject("d", {"flush": True})
        assert payloads(h) == [1, 2]


# ---------------------------------------------------------------- rate limit


async def test_rate_limit_queues_and_releases_one_per_interval():
    async with harness(pauseType="rate", rate="5") as h:  # 5 msg/s -> every 200 ms
        for p in (1, 2, 3, 4):
            await h.inject("d", {"payload": p})
        assert payloads(h) == [1]
        await h.advance(0.2)
        assert payloads(h) == [1, 2]
        await h.advance(0.2)
        assert payloads(h) == [1, 2, 3]
        await h.advance(0.2)
        assert payloads(h) == [1, 2, 3, 4]
        await h.advance(0.2)  # queue empty: the limiter goes idle
        await h.inject("d", {"payload": 5})
        assert payloads(h) == [1, 2, 3, 4, 5]


async def test_rate_limit_over_several_units():
    async with harness(pauseType="rate", rate="2", nbRateUnits="3", rateUnits="minute") as h:
        await h.inject("d", {"payload": 1})
        await h.inject("d", {"payload": 2})
        await h.advance(89)
        assert payloads(h) == [1]
        await h.advance(1)  # 2 per 3 minutes = one every 90 s
        assert payloads(h) == [1, 2]


async def test_rate_limit_to_front_and_status_depth():
    async with harness(pauseType="rate", rate="1") as h:
        await h.inject("d", {"payload": 1})
        await h.inject("d", {"payload": 2})
        await h.inject("d", {"payload": 3, "toFront": True})
        await h.advance(0.5)
        assert statuses(h)[-1] == {"fill": "blue", "shape": "dot", "text": "2"}
        await h.advance(0.5)
        assert payloads(h) == [1, 3]
        await h.advance(1)
        assert payloads(h) == [1, 3, 2]


async def test_rate_limit_flush_and_reset():
    async with harness(pauseType="rate", rate="1") as h:
        for p in (1, 2, 3, 4):
            await h.inject("d", {"payload": p})
        await h.inject("d", {"flush": 1})
        assert payloads(h) == [1, 2]
        await h.inject("d", {"flush": True})
        assert payloads(h) == [1, 2, 3, 4]
        assert all("flush" not in m for m in h.messages("out"))
        await h.inject("d", {"payload": 5})
        await h.inject("d", {"payload": 6})
        await h.inject("d", {"reset": True})
        assert statuses(h)[-1] == {"fill": "blue", "shape": "ring", "text": "0"}
        await h.advance(3)
        assert payloads(h) == [1, 2, 3, 4]
        await h.inject("d", {"payload": 7})  # reset made the limiter idle: passes at once
        assert payloads(h) == [1, 2, 3, 4, 7]


async def test_rate_limit_msg_rate_when_allowed():
    async with harness(pauseType="rate", rate="1", allowrate=True) as h:
        await h.inject("d", {"payload": 1, "rate": 100})
        await h.inject("d", {"payload": 2})
        await h.advance(0.1)
        assert payloads(h) == [1, 2]
    async with harness(pauseType="rate", rate="1") as h:  # not allowed: ignored
        await h.inject("d", {"payload": 1, "rate": 100})
        await h.inject("d", {"payload": 2})
        await h.advance(0.1)
        assert payloads(h) == [1]


async def test_rate_limit_drop_sends_intermediate_messages_to_second_output():
    async with harness(pauseType="rate", rate="1", nbRateUnits="0.3", drop=True, outputs=2) as h:
        await h.inject("d", {"payload": 1})
        await h.advance(0.05)
        await h.inject("d", {"payload": 2})
        await h.advance(0.05)
        await h.inject("d", {"payload": 3})
        await h.advance(0.35)
        await h.inject("d", {"payload": 4})
        assert payloads(h) == [1, 4]
        assert payloads(h, "out2") == [2, 3]
        assert len(h.messages("comp")) == 4


async def test_rate_limit_drop_with_one_output_discards():
    async with harness(pauseType="rate", rate="1", drop=True) as h:
        await h.inject("d", {"payload": 1})
        await h.inject("d", {"payload": 2})
        await h.advance(1.01)
        await h.inject("d", {"payload": 3})
        assert payloads(h) == [1, 3]
        await h.inject("d", {"reset": True})  # forget the last send: the next passes
        await h.inject("d", {"payload": 4})
        assert payloads(h) == [1, 3, 4]


async def test_rate_limit_buffer_is_bounded():
    async with harness(settings={"max_buffered": 2}, pauseType="rate", rate="1") as h:
        for p in range(5):
            await h.inject("d", {"payload": p})
        await h.advance(10)
        assert payloads(h) == [0, 1, 2]


# ---------------------------------------------------------------- burst


async def test_burst_passes_n_per_window():
    async with harness(pauseType="burst", rate="2", nbRateUnits="1", outputs=2) as h:
        for p in (1, 2, 3):
            await h.inject("d", {"payload": p})
        assert payloads(h) == [1, 2]
        assert payloads(h, "out2") == [3]
        assert statuses(h)[-1] == {"fill": "red", "shape": "dot", "text": ""}
        await h.advance(1)
        await h.inject("d", {"payload": 4})
        assert payloads(h) == [1, 2, 4]


# ---------------------------------------------------------------- per-topic queue / timed


async def test_queue_releases_one_topic_per_interval_newest_message_wins():
    async with harness(pauseType="queue", rate="1", outputs=2) as h:
        await h.inject("d", {"payload": 1, "topic": "a"})
        await h.inject("d", {"payload": 2, "topic": "b"})
        await h.inject("d", {"payload": 3, "topic": "a"})  # replaces 1, keeps a's turn
        assert payloads(h) == []
        assert payloads(h, "out2") == [1]
        await h.advance(1)
        assert [(m["topic"], m["payload"]) for m in h.messages("out")] == [("a", 3)]
        await h.advance(1)
        assert [(m["topic"], m["payload"]) for m in h.messages("out")] == [("a", 3), ("b", 2)]


async def test_timed_releases_all_topics_each_interval_and_marks_topicless():
    async with harness(pauseType="timed", rate="2") as h:  # every 500 ms from start
        await h.advance(0.3)
        await h.inject("d", {"payload": 1, "topic": "a"})
        await h.inject("d", {"payload": 2})
        await h.inject("d", {"payload": 3})
        await h.advance(0.2)
        assert [(m["topic"], m["payload"]) for m in h.messages("out")] == [("a", 1), ("_none_", 3)]


async def test_queue_flush_and_reset():
    async with harness(pauseType="queue", rate="1") as h:
        await h.inject("d", {"payload": 1, "topic": "a"})
        await h.inject("d", {"payload": 2, "topic": "b"})
        await h.inject("d", {"flush": True, "topic": "c"})  # the bare flush itself is not sent
        assert payloads(h) == [1, 2]
        assert statuses(h)[-1] == {}
        await h.inject("d", {"payload": 3, "topic": "a"})
        await h.inject("d", {"reset": True, "topic": "z"})
        assert statuses(h)[-1] == {"text": "reset"}
        await h.advance(3)
        assert payloads(h) == [1, 2]


# ---------------------------------------------------------------- config and helpers


async def config_issues(**props) -> list[str]:
    try:
        async with harness(**props):
            return []
    except FlowValidationError as exc:
        return [i.path for i in exc.issues if i.node_id == "d"]


@pytest.mark.parametrize("props,field", [({"pauseType": "sometimes"}, "pauseType"),
                                         ({"timeout": "abc"}, "timeout"),
                                         ({"timeout": "-1"}, "timeout"),
                                         ({"pauseType": "rate", "rate": "0"}, "rate"),
                                         ({"pauseType": "random", "randomLast": "x"}, "randomLast")])
async def test_bad_config_is_a_validation_error_naming_the_field(props, field):
    assert await config_issues(**props) == [field]


async def test_fields_unused_by_the_mode_are_not_validated():
    assert await config_issues(pauseType="rate", timeout="abc") == []
    assert await config_issues(timeout="") == []  # blank counts as 0, as in Node-RED


def test_js_parse_float():
    assert js_parse_float("12abc") == 12
    assert js_parse_float(" -3.5e1x") == -35
    assert js_parse_float(".5") == 0.5
    assert js_parse_float(True) != js_parse_float(True)  # NaN
    assert js_parse_float("Infinityx") == float("inf")
    assert js_parse_float([7, 8]) == 7
