"""`nodes` and `flows` deploys: only what changed restarts; untouched nodes keep running."""

from __future__ import annotations

import asyncio

from flowengine import Message, Node
from flowengine.flowdoc import load_document
from flowengine.runtime.builder import build_plan
from flowengine.runtime.changes import changed_nodes
from flowengine.testing import FlowHarness, _with_defaults


class Counter(Node):
    """A source that sends 0, 1, 2, ... forever (a sensor stream), yielding between sends."""

    type = "test-counter"
    inputs = 0

    async def run(self) -> None:
        i = 0
        while True:
            await self.send({"payload": i})
            i += 1
            if i % 10 == 0:
                await asyncio.sleep(0)


def two_tabs(b_value: str) -> list[dict]:
    return [{"id": "A", "type": "tab"}, {"id": "B", "type": "tab"},
            {"id": "src", "type": "test-counter", "z": "A", "wires": [["ca"]]},
            {"id": "ca", "type": "change", "z": "A", "wires": [["sink"]],
             "rules": [{"t": "set", "p": "seen", "to": "true", "tot": "bool"}]},
            {"id": "sink", "type": "helper", "z": "A"},
            {"id": "cb", "type": "change", "z": "B", "wires": [["hb"]],
             "rules": [{"t": "set", "p": "payload", "to": b_value, "tot": "str"}]},
            {"id": "hb", "type": "helper", "z": "B"}]


def plan(flow: list[dict]):
    from flowengine.registry import default_registry
    doc, _ = load_document(_with_defaults(flow, default_registry()))
    return build_plan(doc)


def test_only_changed_nodes_and_config_users_restart():
    old, new = plan(two_tabs("v1")), plan(two_tabs("v2"))
    assert changed_nodes(old, new, "nodes") == {"cb"}
    assert changed_nodes(old, new, "flows") == {"cb", "hb"}
    moved = two_tabs("v1")
    moved[3]["x"] = 500  # dragging a node is not a change
    assert changed_nodes(old, plan(moved), "nodes") == set()


async def test_a_nodes_deploy_loses_nothing_on_an_untouched_tab():
    async with FlowHarness(two_tabs("v1"), extra_types=[Counter], inbox_capacity=8) as h:
        src, sink = h.node("src"), h.node("sink")
        await asyncio.sleep(0.05)
        for value in ("v2", "v3", "v4"):
            await h.engine.deploy(_with_defaults(two_tabs(value), h.engine.registry), mode="nodes")
            await asyncio.sleep(0.02)
        assert h.node("src") is src and h.node("sink") is sink  # untouched: the same objects
        await h.engine.inject("cb", {"payload": 0})  # the stream never settles: no h.inject here
        await asyncio.sleep(0.02)
        assert h.messages("hb")[-1]["payload"] == "v4"
        got = [m["payload"] for m in sink.messages]
        assert got == list(range(len(got))) and len(got) > 100  # in order, no gap, still flowing


async def test_messages_queued_for_a_replaced_node_move_to_its_replacement():
    class Gate(Node):
        type = "test-gate"

        def setup(self) -> None:
            self.gate = asyncio.Event()

        async def on_message(self, msg: Message) -> None:
            await self.gate.wait()
            await self.send(msg)

    flow = [{"id": "j", "type": "junction", "wires": [["c"]]},
            {"id": "c", "type": "change", "wires": [["out"]], "rules": [{"t": "set", "p": "v", "to": "old",
                                                                         "tot": "str"}]},
            {"id": "out", "type": "test-gate", "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowHarness(flow, extra_types=[Gate], inbox_capacity=64) as h:
        for i in range(5):
            await h.engine.inject("j", {"payload": i})
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(h.node("out")._inbox) >= 4  # waiting behind the closed gate
        changed = [dict(n) for n in flow]
        changed[2]["name"] = "renamed"  # the gated node itself changes
        await h.engine.deploy(_with_defaults(changed, h.engine.registry), mode="nodes")
        h.node("out").gate.set()
        msgs = await h.received("h", 4)
        assert [m["payload"] for m in msgs][-4:] == [1, 2, 3, 4]
