"""inject (interval, once, cron, payload types) and debug (event stream)."""

from __future__ import annotations

import datetime as dt

from flowengine.cron import compile_cron, next_fire
from flowengine.testing import FakeClock, FlowHarness


async def test_inject_once_then_interval():
    clock = FakeClock()
    flow = [{"id": "i", "type": "inject", "once": True, "onceDelay": "2", "repeat": "10",
             "props": [{"p": "payload"}], "payload": "tick", "payloadType": "str", "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.advance(1.9)
        assert h.messages("h") == []
        await h.advance(0.2)
        assert [m["payload"] for m in h.messages("h")] == ["tick"]
        await h.advance(30)
        assert len(h.messages("h")) == 4  # once at 2 s, then 12, 22, 32


async def test_inject_payload_types(monkeypatch):
    monkeypatch.setenv("FE_SITE", "barn")
    clock = FakeClock(start=1_700_000_000.5)
    flow = [{"id": "i", "type": "inject", "once": True, "onceDelay": "0", "wires": [["h"]], "props": [
        {"p": "payload"}, {"p": "topic", "vt": "str"},
        {"p": "j", "v": '{"a":[1,2]}', "vt": "json"},
        {"p": "e", "v": "FE_SITE", "vt": "env"},
        {"p": "n", "v": "2.5", "vt": "num"},
        {"p": "b", "v": "true", "vt": "bool"},
        {"p": "x", "v": "1 + 2", "vt": "jsonata"}],
        "payload": "", "payloadType": "date", "topic": "sensors"},
        {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.advance(0.2)
        msg = h.messages("h")[0]
        assert msg["payload"] == 1_700_000_000_500 + 100  # epoch ms at firing (0.1 s default delay)
        assert (msg["topic"], msg["j"], msg["e"], msg["n"], msg["b"], msg["x"]) == (
            "sensors", {"a": [1, 2]}, "barn", 2.5, True, 3)


def test_cron_day_zero_is_sunday():
    trigger = compile_cron("0 8 * * 0", timezone=dt.UTC)
    friday = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC).timestamp()
    when = dt.datetime.fromtimestamp(next_fire(trigger, friday), tz=dt.UTC)
    assert when.weekday() == 6 and when.hour == 8  # Python weekday 6 = Sunday
    assert when.date() == dt.date(2026, 11, 29)
    seven = compile_cron("0 8 * * 7", timezone=dt.UTC)
    assert next_fire(seven, friday) == next_fire(trigger, friday)
    weekdays = compile_cron("30 6 * * 1-5", timezone=dt.UTC)
    saturday = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC).timestamp()
    assert dt.datetime.fromtimestamp(next_fire(weekdays, saturday), tz=dt.UTC).weekday() == 0


async def test_inject_cron_fires_on_schedule():
    # 2026-11-28 23:59:00 UTC is a Saturday; the cron wants Sundays at 00:00.
    start = dt.datetime(2026, 11, 28, 23, 59, tzinfo=dt.UTC).timestamp()
    clock = FakeClock(start=start)
    flow = [{"id": "i", "type": "inject", "crontab": "0 0 * * 0", "payload": "water", "payloadType": "str",
             "props": [{"p": "payload"}], "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    import os
    import time
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        async with FlowHarness(flow, clock=clock) as h:
            await h.advance(59)
            assert h.messages("h") == []
            await h.advance(2)
            assert [m["payload"] for m in h.messages("h")] == ["water"]
            await h.advance(7 * 86400)
            assert len(h.messages("h")) == 2
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


async def test_debug_publishes_to_the_event_stream():
    flow = [{"id": "d", "type": "debug", "name": "dbg", "complete": "payload.v"},
            {"id": "d2", "type": "debug", "complete": "true", "active": False}]
    async with FlowHarness(flow) as h:
        events = h.events()
        await h.inject("d", {"payload": {"v": [1, 2]}, "topic": "t"})
        await h.inject("d2", {"payload": 1})
        debug = [e for e in events.drain() if e["type"] == "debug"]
        assert len(debug) == 1
        assert debug[0]["node_id"] == "d"
        assert debug[0]["data"]["msg"] == "[1,2]" and debug[0]["data"]["topic"] == "t"
