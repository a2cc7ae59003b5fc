"""Runtime rules: cloning, backpressure, cycles, catch/status/complete scoping, subflows, env."""

from __future__ import annotations

import asyncio
import time

import pytest

from flowengine import FlowValidationError, Message, Node, NodeConfig
from flowengine.testing import FakeClock, FlowHarness


class Mutate(Node):
    """Test node: adds its id to msg.seen (to prove fan-out copies are independent)."""

    type = "test-mutate"

    async def on_message(self, msg: Message) -> None:
        msg.setdefault("seen", []).append(self.id)
        msg["payload"]["touched_by"] = self.id
        await self.send(msg)


class Slow(Node):
    """Test node: waits on an event before handling each message."""

    type = "test-slow"

    def setup(self) -> None:
        self.gate = asyncio.Event()
        self.handled = 0

    async def on_message(self, msg: Message) -> None:
        await self.gate.wait()
        self.handled += 1
        await self.send(msg)


class Burst(Node):
    """Test source: sends N messages as fast as backpressure allows."""

    type = "test-burst"
    inputs = 0

    class Config(NodeConfig):
        count: int = 100

    def setup(self) -> None:
        self.sent = 0

    async def run(self) -> None:
        for i in range(self.config.count):  # type: ignore[attr-defined]
            await self.send({"payload": i})
            self.sent += 1


class Loop(Node):
    """Test node for cycles: decrements payload and sends it back around until 0."""

    type = "test-loop"
    outputs = 2

    async def on_message(self, msg: Message) -> None:
        if msg["payload"] <= 0:
            await self.send([None, msg])
        else:
            msg["payload"] -= 1
            await self.send([msg, None])


class Boom(Node):
    type = "test-boom"

    async def on_message(self, msg: Message) -> None:
        raise ValueError(f"boom {msg.get('payload')}")


EXTRA = [Mutate, Slow, Burst, Loop, Boom]


async def test_fan_out_first_wire_gets_original_others_copies():
    flow = [
        {"id": "src", "type": "junction", "wires": [["a", "b"]]},
        {"id": "a", "type": "helper"},
        {"id": "b", "type": "test-mutate", "wires": [["hb"]]},
        {"id": "hb", "type": "helper"},
    ]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        original = {"payload": {"v": 1}}
        await h.inject("src", original)
        a_msgs = h.messages("a")
        b_msgs = await h.received("hb", 1)
        assert a_msgs[0] is original  # the first wire gets the very object sent
        assert b_msgs[0] is not original
        assert b_msgs[0]["payload"] == {"v": 1, "touched_by": "b"}
        assert original["payload"] == {"v": 1}  # the copy's mutation did not leak back
        assert a_msgs[0]["_msgid"] == b_msgs[0]["_msgid"]  # same message id on every copy


async def test_switch_like_same_object_on_two_ports_is_cloned():
    class TwoPorts(Node):
        type = "test-two-ports"
        outputs = 2

        async def on_message(self, msg: Message) -> None:
            await self.send([msg, msg])

    flow = [{"id": "n", "type": "test-two-ports", "wires": [["h1"], ["h2"]]},
            {"id": "h1", "type": "helper"}, {"id": "h2", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[TwoPorts]) as h:
        await h.inject("n", {"payload": [1]})
        m1, m2 = h.messages("h1")[0], h.messages("h2")[0]
        assert m1 is not m2 and m1 == m2
        m1["payload"].append(2)
        assert m2["payload"] == [1]


async def test_backpressure_bounds_memory_and_slows_the_producer():
    flow = [{"id": "burst", "type": "test-burst", "count": 500, "wires": [["slow"]]},
            {"id": "slow", "type": "test-slow", "wires": [["out"]]},
            {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA, inbox_capacity=8) as h:
        burst, slow = h.node("burst"), h.node("slow")
        for _ in range(50):
            await asyncio.sleep(0)
        # The slow node handles nothing yet: the producer is held at the inbox bound.
        assert len(slow._inbox) <= 8
        assert burst.sent <= 8 + 1
        slow.gate.set()
        msgs = await h.received("out", 500, timeout=5)
        assert [m["payload"] for m in msgs] == list(range(500))  # FIFO, nothing lost


async def test_cycle_with_inbox_of_one_never_deadlocks():
    """10k messages around a 2-node loop with inbox size 1 finish (bounded at 10 s)."""
    flow = [{"id": "a", "type": "test-loop", "wires": [["b"], ["done"]]},
            {"id": "b", "type": "junction", "wires": [["a"]]},
            {"id": "done", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA, inbox_capacity=1) as h:
        started = time.monotonic()
        await h.engine.inject("a", {"payload": 10_000})
        msgs = await h.received("done", 1, timeout=10)
        assert msgs[0]["payload"] == 0
        assert time.monotonic() - started < 10


async def test_catch_scoped_uncaught_and_all():
    flow = [
        {"id": "b1", "type": "test-boom"},
        {"id": "b2", "type": "test-boom"},
        {"id": "c_scoped", "type": "catch", "scope": ["b1"], "wires": [["h_scoped"]]},
        {"id": "c_all", "type": "catch", "scope": None, "wires": [["h_all"]]},
        {"id": "c_unc", "type": "catch", "scope": None, "uncaught": True, "wires": [["h_unc"]]},
        {"id": "h_scoped", "type": "helper"}, {"id": "h_all", "type": "helper"}, {"id": "h_unc", "type": "helper"},
    ]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        await h.inject("b1", {"payload": 1, "error": "old"})
        await h.inject("b2", {"payload": 2})
        scoped, every = h.messages("h_scoped"), h.messages("h_all")
        assert [m["payload"] for m in scoped] == [1]
        assert [m["payload"] for m in every] == [1, 2]
        assert scoped[0]["error"]["message"] == "boom 1"
        assert scoped[0]["error"]["source"] == {"id": "b1", "type": "test-boom", "count": 1}
        assert scoped[0]["_error"] == "old"  # an existing msg.error is kept as msg._error
        assert h.messages("h_unc") == []  # someone else handled both


async def test_uncaught_catch_fires_only_when_nobody_else_does():
    flow = [{"id": "b1", "type": "test-boom"},
            {"id": "c_unc", "type": "catch", "uncaught": True, "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        await h.inject("b1", {"payload": 7})
        assert [m["payload"] for m in h.messages("h")] == [7]


async def test_catch_group_scope():
    flow = [{"id": "g1", "type": "group", "z": "tab", "nodes": ["b_in", "c_grp"]},
            {"id": "b_in", "type": "test-boom", "g": "g1"},
            {"id": "b_out", "type": "test-boom"},
            {"id": "c_grp", "type": "catch", "scope": "group", "g": "g1", "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        await h.inject("b_in", {"payload": "in"})
        await h.inject("b_out", {"payload": "out"})
        assert [m["payload"] for m in h.messages("h")] == ["in"]


def _subflow_flow() -> list[dict]:
    return [
        {"id": "sf", "type": "subflow", "name": "sf", "in": [{"wires": [{"id": "inner"}]}],
         "out": [{"wires": [{"id": "inner", "port": 0}]}],
         "env": [{"name": "GREETING", "type": "str", "value": "default"}]},
        {"id": "inner", "type": "change", "z": "sf",
         "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "GREETING", "tot": "env"}],
         "wires": [["boom"]]},
        {"id": "boom", "type": "test-boom", "z": "sf"},
        {"id": "i1", "type": "subflow:sf", "env": [{"name": "GREETING", "type": "str", "value": "hello"}],
         "wires": [["h"]]},
        {"id": "i2", "type": "subflow:sf", "wires": [["h"]]},
        {"id": "c", "type": "catch", "scope": None, "wires": [["hc"]]},
        {"id": "h", "type": "helper"}, {"id": "hc", "type": "helper"},
    ]


async def test_subflow_clones_ids_env_override_and_errors_bubble_up():
    async with FlowHarness(_subflow_flow(), extra_types=EXTRA) as h:
        assert "i1-inner" in h.engine.nodes and "i2-inner" in h.engine.nodes
        await h.inject("i1", {"payload": 0})
        await h.inject("i2", {"payload": 0})
        errors = h.messages("hc")
        assert [e["payload"] for e in errors] == ["hello", "default"]
        assert [e["error"]["source"]["id"] for e in errors] == ["i1-boom", "i2-boom"]


async def test_status_node_receives_status_with_source():
    class Stat(Node):
        type = "test-stat"

        async def on_message(self, msg: Message) -> None:
            self.status(fill="green", shape="dot", text=42)

    flow = [{"id": "s", "type": "test-stat", "name": "st"},
            {"id": "other", "type": "test-stat"},
            {"id": "sn", "type": "status", "scope": ["s"], "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[Stat]) as h:
        await h.inject("s", {"payload": 1})
        await h.inject("other", {"payload": 1})
        msgs = h.messages("h")
        assert len(msgs) == 1
        assert msgs[0]["status"] == {"fill": "green", "shape": "dot", "text": "42",
                                     "source": {"id": "s", "type": "test-stat", "name": "st"}}


async def test_complete_node_fires_after_the_node_finishes():
    flow = [{"id": "c1", "type": "change", "rules": [{"t": "set", "p": "payload", "to": "x", "tot": "str"}]},
            {"id": "done", "type": "complete", "scope": ["c1"], "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("c1", {"payload": 1})
        msgs = await h.received("h", 1)
        assert msgs[0]["payload"] == "x"
        assert msgs[0]["complete"] == {"source": {"id": "c1", "type": "change"}}


async def test_env_substitution_and_tab_env(monkeypatch):
    monkeypatch.setenv("FE_TEST_TOPIC", "from-process")
    flow = [{"id": "t1", "type": "tab", "env": [{"name": "ZONE", "type": "str", "value": "north"}]},
            {"id": "c", "type": "change", "z": "t1", "rules": [
                {"t": "set", "p": "topic", "pt": "msg", "to": "${FE_TEST_TOPIC}", "tot": "str"},
                {"t": "set", "p": "zone", "pt": "msg", "to": "ZONE", "tot": "env"},
                {"t": "set", "p": "mixed", "pt": "msg", "to": "z-${ZONE}-${NR_NODE_ID}", "tot": "env"}],
             "wires": [["h"]]},
            {"id": "h", "type": "helper", "z": "t1"}]
    async with FlowHarness(flow) as h:
        await h.inject("c", {"payload": 1})
        msg = h.messages("h")[0]
        assert msg["topic"] == "from-process"
        assert msg["zone"] == "north"
        assert msg["mixed"] == "z-north-c"


async def test_disabled_nodes_and_tabs_do_not_run():
    flow = [{"id": "t1", "type": "tab"}, {"id": "t2", "type": "tab", "disabled": True},
            {"id": "a", "type": "change", "z": "t1", "d": True, "wires": [["h"]]},
            {"id": "b", "type": "change", "z": "t2", "wires": []},
            {"id": "c", "type": "junction", "z": "t1", "wires": [["a", "h"]]},
            {"id": "h", "type": "helper", "z": "t1"}]
    async with FlowHarness(flow) as h:
        assert "a" not in h.engine.nodes and "b" not in h.engine.nodes
        await h.inject("c", {"payload": 1})
        assert len(h.messages("h")) == 1  # the wire to the disabled node carried nothing


async def test_link_call_times_out_into_catch():
    clock = FakeClock()
    flow = [{"id": "call", "type": "link call", "links": ["lin"], "timeout": "5", "wires": [["h"]]},
            {"id": "lin", "type": "link in", "wires": [["sink"]]},
            {"id": "sink", "type": "helper"},
            {"id": "c", "type": "catch", "scope": ["call"], "wires": [["hc"]]},
            {"id": "h", "type": "helper"}, {"id": "hc", "type": "helper"}]
    async with FlowHarness(flow, clock=clock) as h:
        await h.inject("call", {"payload": 1})
        assert len(h.messages("sink")) == 1
        assert h.messages("hc") == []
        await h.advance(5.1)
        assert h.messages("hc")[0]["error"]["message"] == "timeout"
        assert h.messages("h") == []


async def test_deploy_with_errors_keeps_previous_flows_running():
    flow = [{"id": "c", "type": "change", "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        bad = [{"id": "t", "type": "tab"}, {"id": "x", "type": "no-such-type", "z": "t", "x": 0, "y": 0,
                                            "wires": []}]
        with pytest.raises(FlowValidationError) as info:
            await h.engine.deploy(bad)
        assert info.value.issues[0].node_id == "x"
        await h.inject("c", {"payload": 1})
        assert len(h.messages("h")) == 1


async def test_error_loop_guard_stops_at_ten():
    flow = [{"id": "b", "type": "test-boom"},
            {"id": "c", "type": "catch", "scope": ["b"], "wires": [["b", "h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        await h.inject("b", {"payload": 1})
        await h.settle()
        counts = [m["error"]["source"]["count"] for m in h.messages("h")]
        assert counts == list(range(1, 10))


async def test_a_message_that_contains_itself_reaches_catch_and_the_worker_survives():
    flow = [{"id": "b", "type": "test-boom"},
            {"id": "c", "type": "catch", "scope": None, "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=EXTRA) as h:
        circular: dict = {"payload": 1}
        circular["me"] = circular
        await h.inject("b", circular)
        await h.inject("b", {"payload": 2})  # the node still works afterwards
        caught = h.messages("h")
        assert [m["payload"] for m in caught] == [1, 2]
        assert caught[0]["me"] is caught[0]  # the copy keeps the cycle, not the original object


async def test_shutdown_drains_messages_in_flight():
    flow = [{"id": "slow", "type": "test-slow", "wires": [["out"]]}, {"id": "out", "type": "helper"}]
    h = FlowHarness(flow, extra_types=EXTRA)
    await h.__aenter__()
    slow, out = h.node("slow"), h.node("out")
    for i in range(5):
        await h.engine.inject("slow", {"payload": i})
    asyncio.get_running_loop().call_later(0.05, slow.gate.set)
    await h.engine.close(drain=2.0)
    assert [m["payload"] for m in out.messages] == [0, 1, 2, 3, 4]


async def test_a_start_that_raises_restores_the_previous_flows():
    class BadStart(Node):
        type = "test-bad-start"

        async def start(self) -> None:
            raise RuntimeError("hardware missing")

    flow = [{"id": "c", "type": "change", "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[BadStart]) as h:
        bad = [{"id": "t", "type": "tab"}, {"id": "x", "type": "test-bad-start", "z": "t", "x": 0, "y": 0,
                                            "wires": []}]
        with pytest.raises(FlowValidationError) as info:
            await h.engine.deploy(bad)
        assert "hardware missing" in str(info.value) and info.value.issues[0].node_id == "x"
        await h.inject("c", {"payload": 1})
        assert len(h.messages("h")) == 1  # the previous flows run again


async def test_a_node_that_overwrites_an_engine_attribute_is_refused_with_a_clear_error():
    class Clumsy(Node):
        type = "test-clumsy"

        def setup(self) -> None:
            self._handling = "my own state"  # collides with the engine's flag

    flow = [{"id": "x", "type": "test-clumsy"}]
    with pytest.raises(FlowValidationError, match="overwrites the engine's attribute '_handling'"):
        async with FlowHarness(flow, extra_types=[Clumsy]):
            pass


async def test_drop_oldest_overflow_keeps_the_newest_messages():
    class Latest(Node):
        type = "test-latest"
        overflow = "drop_oldest"

        def setup(self) -> None:
            self.gate = asyncio.Event()

        async def on_message(self, msg: Message) -> None:
            await self.gate.wait()
            await self.send(msg)

    flow = [{"id": "burst", "type": "test-burst", "count": 20, "wires": [["cam"]]},
            {"id": "cam", "type": "test-latest", "wires": [["out"]]}, {"id": "out", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[*EXTRA, Latest], inbox_capacity=3) as h:
        for _ in range(50):
            await asyncio.sleep(0)
        assert h.node("burst").sent == 20  # the producer never waited
        h.node("cam").gate.set()
        await h.settle()
        payloads = [m["payload"] for m in h.messages("out")]
        assert payloads[-3:] == [17, 18, 19] and len(payloads) <= 4  # the first one in hand + the newest 3
        assert h.node("cam")._inbox.dropped >= 16
