"""Edge cases of the runtime found in review: stopping, cycles through catch, cancellation,
env in subflows and groups, context persistence failures, FIFO under backpressure."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest

from flowengine import Message, Node, msgpath
from flowengine.inbox import Inbox
from flowengine.registry import default_registry
from flowengine.runtime.context import ContextStores, MemoryStore, ScopedContext, SqliteStore
from flowengine.runtime.engine import Engine
from flowengine.testing import FakeClock, FlowHarness


class Blocked(Node):
    """Never finishes a message until its gate opens."""

    type = "test-blocked"

    def setup(self) -> None:
        self.gate = asyncio.Event()

    async def on_message(self, msg: Message) -> None:
        await self.gate.wait()
        await self.send(msg)


class SlowStop(Node):
    type = "test-slow-stop"

    async def stop(self) -> None:
        await asyncio.sleep(0.3)


class CancelledInside(Node):
    type = "test-cancelled-inside"

    async def on_message(self, msg: Message) -> None:
        if msg["payload"] == "cancel":
            fut = asyncio.get_running_loop().create_future()
            fut.cancel()
            await fut  # something this node awaited was cancelled (e.g. a reset connection)
        await self.send(msg)


EXTRA = [Blocked, SlowStop, CancelledInside]


async def test_stopping_does_not_hang_on_an_inject_stuck_behind_a_full_inbox():
    clock = FakeClock()
    flow = [{"id": "i", "type": "inject", "repeat": "1", "payload": "x", "payloadType": "str",
             "props": [{"p": "payload"}], "wires": [["b"]]},
            {"id": "b", "type": "test-blocked"}, {"id": "s", "type": "test-slow-stop"}]
    h = FlowHarness(flow, clock=clock, extra_types=EXTRA, inbox_capacity=1)
    await h.__aenter__()
    await clock.advance(5)  # the blocked node fills up; the inject's sender waits
    started = time.monotonic()
    stopper = asyncio.ensure_future(h.engine.close())
    await asyncio.sleep(0.1)
    await clock.advance(3)  # timers keep firing while the slow node stops
    await asyncio.wait_for(stopper, 5)
    assert time.monotonic() - started < 5


async def test_a_retry_loop_through_catch_keeps_backpressure():
    class Burst(Node):
        type = "test-burst2"
        inputs = 0

        async def run(self) -> None:
            for i in range(2000):
                await self.send({"payload": i})

    flow = [{"id": "src", "type": "test-burst2", "wires": [["j"]]},
            {"id": "j", "type": "junction", "wires": [["b"]]},
            {"id": "b", "type": "test-blocked"},
            {"id": "c", "type": "catch", "scope": ["b"], "wires": [["j"]]}]
    async with FlowHarness(flow, extra_types=[*EXTRA, Burst], inbox_capacity=16) as h:
        for _ in range(200):
            await asyncio.sleep(0)
        assert len(h.node("b")._inbox) <= 16  # not a cycle for backpressure: error edges never wait
        h.node("b").gate.set()


async def test_a_cancelled_await_inside_a_handler_is_an_error_and_the_worker_goes_on():
    flow = [{"id": "n", "type": "test-cancelled-inside", "wires": [["out"]]},
            {"id": "c", "type": "catch", "scope": None, "wires": [["err"]]},
            {"id": "out", "type": "helper"}, {"id": "err", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        await h.inject("n", {"payload": "cancel"})
        await h.inject("n", {"payload": "fine"})
        assert [m["payload"] for m in h.messages("out")] == ["fine"]
        assert [m["payload"] for m in h.messages("err")] == ["cancel"]


def test_env_references_inside_subflows_and_groups_validate_with_their_own_env():
    flow = [{"id": "t", "type": "tab"},
            {"id": "sf", "type": "subflow", "name": "s", "in": [{"wires": [{"id": "d"}]}], "out": [],
             "env": [{"name": "T", "type": "num", "value": "2"}]},
            {"id": "d", "type": "delay", "z": "sf", "x": 0, "y": 0, "pauseType": "delay", "timeout": "${T}",
             "timeoutUnits": "seconds", "wires": []},
            {"id": "i", "type": "subflow:sf", "z": "t", "x": 0, "y": 0, "wires": []},
            {"id": "g", "type": "group", "z": "t", "nodes": ["r"], "env": [{"name": "MAX", "type": "str",
                                                                            "value": "50"}]},
            {"id": "r", "type": "range", "z": "t", "g": "g", "x": 0, "y": 0, "minin": "0", "maxin": "${MAX}",
             "minout": "0", "maxout": "1", "action": "scale", "wires": []}]
    _, issues = Engine(default_registry()).validate(flow)
    assert [i for i in issues if i.severity == "error"] == []


async def test_group_env_is_read_from_the_flows_being_deployed():
    def flow(value: str) -> list[dict]:
        return [{"id": "g", "type": "group", "z": "tab", "nodes": ["c"],
                 "env": [{"name": "X", "type": "str", "value": value}]},
                {"id": "c", "type": "change", "g": "g", "wires": [["h"]],
                 "rules": [{"t": "set", "p": "payload", "to": "${X}", "tot": "str"}]},
                {"id": "h", "type": "helper"}]

    async with FlowHarness(flow("v1")) as h:
        await h.inject("c", {"payload": 0})
        assert h.messages("h")[-1]["payload"] == "v1"
        from flowengine.testing import _with_defaults
        await h.engine.deploy(_with_defaults(flow("v2"), h.engine.registry))
        await h.inject("c", {"payload": 0})
        assert h.messages("h")[-1]["payload"] == "v2"


async def test_a_value_that_cannot_be_stored_does_not_lose_the_others(tmp_path):
    stores = ContextStores({"memory": MemoryStore(), "file": SqliteStore(tmp_path / "c.db", flush_interval=0.01)})
    await stores.open()
    ctx = ScopedContext(stores, "global")
    ctx.set("counter", 1, "file")
    cyclic: dict = {}
    cyclic["self"] = cyclic
    ctx.set("bad", cyclic, "file")
    await stores.close()
    rows = sqlite3.connect(tmp_path / "c.db").execute("SELECT key, value FROM context").fetchall()
    assert rows == [("counter", "1")]


async def test_close_writes_everything_even_mid_flush(tmp_path):
    stores = ContextStores({"memory": MemoryStore(), "file": SqliteStore(tmp_path / "c.db", flush_interval=0)})
    await stores.open()
    ctx = ScopedContext(stores, "global")
    for i in range(5000):
        ctx.set(f"k{i}", i, "file")
    await asyncio.sleep(0)  # the flusher has started
    await stores.close()
    n = sqlite3.connect(tmp_path / "c.db").execute("SELECT count(*) FROM context").fetchone()[0]
    assert n == 5000


async def test_inject_keeps_order_and_bounds_its_queue_while_the_flow_is_stuck():
    clock = FakeClock()
    flow = [{"id": "i", "type": "inject", "repeat": "1", "props": [{"p": "payload", "v": "", "vt": "date"}],
             "wires": [["b"]]},
            {"id": "b", "type": "test-blocked", "wires": [["out"]]}, {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, clock=clock, extra_types=EXTRA, inbox_capacity=2,
                           settings={"max_buffered": 50}) as h:
        await clock.advance(200)
        assert len(h.node("i")._tasks) <= 1  # one sender, not one task per tick
        h.node("b").gate.set()
        await h.settle()
        stamps = [m["payload"] for m in h.messages("out")]
        assert stamps == sorted(stamps)  # FIFO
        assert len(stamps) <= 50 + 2 + 2  # the queue bound, the inbox and the message in hand


def test_dotted_numeric_segments_address_array_elements():
    msg = {"a": [{"x": 1}]}
    msgpath.set(msg, "a.0.b", 5)
    assert msg == {"a": [{"x": 1, "b": 5}]}
    assert msgpath.get(msg, "a.0.x") == 1


async def test_a_woken_producer_that_is_cancelled_passes_its_slot_on():
    inbox = Inbox(1)
    await inbox.put("first")
    p1 = asyncio.ensure_future(inbox.put("p1"))
    p2 = asyncio.ensure_future(inbox.put("p2"))
    await asyncio.sleep(0)
    inbox.pop()  # wakes p1
    p1.cancel()
    await asyncio.wait_for(p2, 1)
    assert list(inbox._items) == ["p2"]


async def test_waiting_producers_are_served_in_order():
    inbox = Inbox(1)
    await inbox.put(0)
    waiters = [asyncio.ensure_future(inbox.put(i)) for i in range(1, 6)]
    got = []
    for _ in range(6):
        while not len(inbox):
            await asyncio.sleep(0)
        got.append(inbox.pop())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert got == [0, 1, 2, 3, 4, 5]


async def test_cron_does_not_fire_twice_when_the_timer_runs_a_little_early():
    import datetime as dt
    start = dt.datetime(2026, 11, 28, 10, 0, 30, tzinfo=dt.UTC).timestamp()
    clock = FakeClock(start=start)
    flow = [{"id": "i", "type": "inject", "crontab": "* * * * *", "props": [{"p": "payload", "v": "x", "vt": "str"}],
             "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        clock._now -= 0.02  # wall time slewed back 20 ms after scheduling
        await h.advance(30)
        await h.advance(0.1)
        assert len(h.messages("h")) == 1


async def test_flows_cannot_read_the_engines_own_settings(monkeypatch):
    monkeypatch.setenv("FLOWENGINE_CREDENTIAL_SECRET", "hush")
    flow = [{"id": "c", "type": "change", "wires": [["h"]], "rules": [
        {"t": "set", "p": "a", "to": "FLOWENGINE_CREDENTIAL_SECRET", "tot": "env"},
        {"t": "set", "p": "b", "to": "${FLOWENGINE_CREDENTIAL_SECRET}", "tot": "str"}]},
        {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("c", {"payload": 1})
        msg = h.messages("h")[0]
        assert "hush" not in json.dumps(msg)


@pytest.mark.parametrize("subflow", [
    {"id": "sf", "type": "subflow", "in": [None], "out": []},
    {"id": "sf", "type": "subflow", "in": [], "out": [{"wires": ["n"]}]},
    {"id": "sf", "type": "subflow", "in": [], "out": [{"wires": [{"id": "n", "port": "a"}]}]},
    {"id": "sf", "type": "subflow", "in": [], "out": [], "env": "x"},
])
def test_malformed_subflows_are_issues_not_crashes(subflow):
    flow = [{"id": "t", "type": "tab"}, subflow,
            {"id": "n", "type": "junction", "z": "sf", "x": 0, "y": 0, "wires": []},
            {"id": "i", "type": "subflow:sf", "z": "t", "x": 0, "y": 0, "wires": []}]
    _, issues = Engine(default_registry()).validate(flow)
    assert any(i.severity == "error" and i.node_id == "sf" for i in issues)


def test_a_subflow_that_contains_itself_is_refused_at_validation():
    flow = [{"id": "t", "type": "tab"}, {"id": "sf", "type": "subflow", "in": [], "out": []},
            {"id": "inner", "type": "subflow:sf", "z": "sf", "x": 0, "y": 0, "wires": []},
            {"id": "i", "type": "subflow:sf", "z": "t", "x": 0, "y": 0, "wires": []}]
    _, issues = Engine(default_registry()).validate(flow)
    assert any("nested more than" in i.message for i in issues)


async def test_context_of_a_removed_subflow_instance_is_deleted():
    base = [{"id": "sf", "type": "subflow", "in": [{"wires": [{"id": "c"}]}], "out": []},
            {"id": "c", "type": "change", "z": "sf", "rules": [{"t": "set", "p": "n", "pt": "flow", "to": "1",
                                                                "tot": "num"}]}]
    flow = [*base, {"id": "inst", "type": "subflow:sf"}]
    async with FlowHarness(flow) as h:
        await h.inject("inst", {"payload": 1})
        assert h.engine.contexts.stores["memory"].data.get("inst") == {"n": 1}
        from flowengine.testing import _with_defaults
        await h.engine.deploy(_with_defaults(base, h.engine.registry))
        assert "inst" not in h.engine.contexts.stores["memory"].data


@pytest.mark.parametrize(("value", "text"), [
    (0.00001, "0.00001"), (1e-7, "1e-7"), (1.2345678901234568e20, "123456789012345680000"), (1e21, "1e+21"),
    (100.0, "100"), (-2.5, "-2.5"), (2**60, "1152921504606847000"), (0.1, "0.1"), (float("nan"), "NaN")])
def test_numbers_print_as_javascript_prints_them(value, text):
    from flowengine.jsvalue import to_js_string
    assert to_js_string(value) == text


async def test_link_calls_waiting_forever_are_bounded():
    flow = [{"id": "call", "type": "link call", "links": ["lin"], "timeout": "0", "wires": [["h"]]},
            {"id": "lin", "type": "link in", "wires": [[]]},
            {"id": "c", "type": "catch", "scope": ["call"], "wires": [["err"]]},
            {"id": "h", "type": "helper"}, {"id": "err", "type": "helper"}]
    async with FlowHarness(flow, settings={"max_buffered": 3}) as h:
        for i in range(5):
            await h.inject("call", {"payload": i})
        assert len(h.node("call")._pending) == 3
        assert [m["payload"] for m in h.messages("err")] == [3, 4]


async def test_a_start_that_hangs_past_its_timeout_rolls_the_deploy_back():
    from flowengine import FlowValidationError

    class Hangs(Node):
        type = "test-hangs"

        async def start(self) -> None:
            await asyncio.sleep(3600)

    flow = [{"id": "c", "type": "change", "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[Hangs], settings={"start_timeout": 0.2}) as h:
        bad = [{"id": "t", "type": "tab"}, {"id": "x", "type": "test-hangs", "z": "t", "x": 0, "y": 0, "wires": []}]
        started = time.monotonic()
        with pytest.raises(FlowValidationError) as info:
            await h.engine.deploy(bad)
        assert time.monotonic() - started < 3
        assert info.value.issues[0].node_id == "x" and "failed to start" in info.value.issues[0].message
        await h.inject("c", {"payload": 1})
        assert len(h.messages("h")) == 1
