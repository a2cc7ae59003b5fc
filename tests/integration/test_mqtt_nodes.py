"""mqtt in / mqtt out / mqtt-broker / tls-config nodes against a real mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from flowengine import Message, Node
from flowengine.testing import FlowHarness
from tests.support.certs import CertPaths

try:
    from flowengine_nodes.mqtt.connection import InboundMessage
except ImportError:  # package not installed (yet): use the source tree
    from nodes.mqtt.connection import InboundMessage


class Peer:
    """A plain paho client on its own thread: publishes inputs, collects outputs."""

    def __init__(self, port: int, topic: str, protocol: int = mqtt.MQTTv311):
        self.q: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"peer-{uuid.uuid4().hex[:6]}",
                                  protocol=protocol)
        self.client.on_message = lambda c, u, m: self.q.put(m)
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    async def get(self, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.q.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.01)
        raise AssertionError("no MQTT message arrived in time")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def broker_node(port: int, **kw) -> dict:
    return {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": str(port), "clientid": "",
            "protocolVersion": "4", "keepalive": "60", "cleansession": True, **kw}


async def wait_connected(h: FlowHarness, node_id: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = h.node(node_id)._last_status or {}
        if st.get("text") == "connected":
            await asyncio.sleep(0.05)  # let the SUBSCRIBE reach the broker
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{node_id} never showed 'connected': {h.node(node_id)._last_status}")


async def test_in_change_out_round_trip_json(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/in/+", "qos": "1", "datatype": "json", "broker": "b",
             "wires": [["c"]]},
            {"id": "c", "type": "change", "rules": [{"t": "set", "p": "payload.seen", "to": "true", "tot": "bool"},
                                                    {"t": "set", "p": "topic", "to": f"{t}/out", "tot": "str"}],
             "wires": [["out"]]},
            {"id": "out", "type": "mqtt out", "topic": "", "qos": "", "retain": "", "broker": "b"}]
    peer = Peer(mosquitto.port, f"{t}/out")
    try:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "in")
            peer.client.publish(f"{t}/in/bed1", json.dumps({"v": 1.5, "n": None}))
            m = await peer.get()
            assert json.loads(m.payload) == {"v": 1.5, "n": None, "seen": True}
            assert m.payload == b'{"v":1.5,"n":null,"seen":true}'  # JSON.stringify's compact form
    finally:
        peer.close()


@pytest.mark.parametrize(("datatype", "sent", "expected"), [
    ("utf8", b"42", "42"),
    ("auto-detect", b"42", 42),
    ("auto-detect", b"hello", "hello"),
    ("buffer", b"\x00\x01", b"\x00\x01"),
    ("base64", b"hi", "aGk="),
    ("auto", b"\xff\xfe", b"\xff\xfe"),
    ("utf8", b"temp \xb0C", "temp \ufffdC"),  # invalid UTF-8 is replaced, as Buffer.toString() does
])
async def test_mqtt_in_datatypes(mosquitto, datatype, sent, expected):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/x", "qos": "0", "datatype": datatype, "broker": "b",
             "wires": [["h"]]},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "in")
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.publish(f"{t}/x", sent, retain=False)
        pub.loop(0.1)
        pub.disconnect()
        msgs = await h.received("h", 1, timeout=5)
        assert msgs[0]["payload"] == expected
        assert msgs[0]["topic"] == f"{t}/x" and msgs[0]["qos"] == 0 and msgs[0]["retain"] is False


async def test_invalid_json_goes_to_catch(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/j", "qos": "0", "datatype": "json", "broker": "b",
             "wires": [["h"]]},
            {"id": "c", "type": "catch", "scope": ["in"], "wires": [["hc"]]},
            {"id": "h", "type": "helper"}, {"id": "hc", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "in")
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.publish(f"{t}/j", b"{not json")
        pub.publish(f"{t}/j", b'"temp \xb0C"')  # not even UTF-8
        pub.loop(0.1)
        pub.disconnect()
        errs = await h.received("hc", 2, timeout=5)
        assert all(e["error"]["source"]["id"] == "in" for e in errs)
        assert all("Failed to parse JSON string" in e["error"]["message"] for e in errs)
        assert h.messages("h") == []


async def test_mqtt_out_payload_encoding_retain_and_qos(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port),
            {"id": "out", "type": "mqtt out", "topic": f"{t}/o", "qos": "1", "retain": "true", "broker": "b"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "out")
        for payload in [{"a": 1}, "last"]:
            await h.inject("out", {"payload": payload})
        await asyncio.sleep(0.3)
    peer = Peer(mosquitto.port, f"{t}/o")  # subscribes after: only the retained (last) one arrives
    try:
        m = await peer.get()
        assert m.payload == b"last" and m.retain
    finally:
        peer.close()
    peer = Peer(mosquitto.port, f"{t}/live")
    flow[1]["topic"] = f"{t}/live"
    flow[1]["retain"] = "false"
    try:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "out")
            for payload in [{"a": float("nan"), "b": b"\x01"}, 3.0, True, "text", None]:
                await h.inject("out", {"payload": payload})
            got = [(await peer.get()).payload for _ in range(5)]
        assert got == [b'{"a":null,"b":{"type":"Buffer","data":[1]}}', b"3", b"true", b"text", b""]
    finally:
        peer.close()


async def test_mqtt_v5_user_properties(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port, protocolVersion="5"),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/v5in", "qos": "1", "datatype": "utf8", "broker": "b",
             "wires": [["c"]]},
            {"id": "c", "type": "change", "rules": [{"t": "set", "p": "topic", "to": f"{t}/v5out", "tot": "str"}],
             "wires": [["out", "h"]]},
            {"id": "out", "type": "mqtt out", "broker": "b"}, {"id": "h", "type": "helper"}]
    peer = Peer(mosquitto.port, f"{t}/v5out", protocol=mqtt.MQTTv5)
    try:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "in")
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("farm", "north")]
            peer.client.publish(f"{t}/v5in", b"x", qos=1, properties=props)
            msgs = await h.received("h", 1)
            assert msgs[0]["userProperties"] == {"farm": "north"}
            m = await peer.get()
            assert m.payload == b"x"
            assert ("farm", "north") in (m.properties.UserProperty or [])
    finally:
        peer.close()


async def test_tls_config_node_and_credentials(make_mosquitto, tls_certs):
    broker = make_mosquitto(tls=tls_certs, users={"farmer": "s3cret"})
    t = uuid.uuid4().hex[:8]
    flow = [{"id": "tls", "type": "tls-config", "ca": tls_certs.ca_cert, "verifyservercert": True},
            broker_node(broker.tls_port, usetls=True, tls="tls",
                        credentials={"user": "farmer", "password": "s3cret"}),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/s", "qos": "1", "datatype": "utf8", "broker": "b",
             "wires": [["h"]]},
            {"id": "out", "type": "mqtt out", "topic": f"{t}/s", "broker": "b"},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "in")
        await h.inject("out", {"payload": "over tls"})
        msgs = await h.received("h", 1, timeout=5)
        assert msgs[0]["payload"] == "over tls"
    flow[1]["credentials"] = {"user": "farmer", "password": "wrong"}
    async with FlowHarness(flow) as h:
        await asyncio.sleep(1.0)
        assert h.node("in")._last_status["text"] != "connected"


async def test_status_follows_broker_restart_and_resubscribes(make_mosquitto):
    broker = make_mosquitto()
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(broker.port),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/r", "qos": "0", "datatype": "utf8", "broker": "b",
             "wires": [["h"]]},
            {"id": "out", "type": "mqtt out", "topic": f"{t}/r", "broker": "b"},
            {"id": "st", "type": "status", "scope": ["in"], "wires": [["hs"]]},
            {"id": "h", "type": "helper"}, {"id": "hs", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "in")
        broker.stop()
        deadline = time.monotonic() + 5
        while h.node("in")._last_status["text"] == "connected" and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert h.node("in")._last_status == {"fill": "red", "shape": "ring", "text": "disconnected"}
        broker.start()
        await wait_connected(h, "in", timeout=15)
        await h.inject("out", {"payload": "after restart"})
        msgs = await h.received("h", 1, timeout=5)
        assert msgs[0]["payload"] == "after restart"
        texts = [m["status"]["text"] for m in h.messages("hs")]
        assert "disconnected" in texts and texts[-1] == "connected"


@contextlib.contextmanager
def publisher(port: int, protocol: int = mqtt.MQTTv311) -> Iterator[mqtt.Client]:
    """A paho client with its own network thread, for publishing from the outside."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}", protocol=protocol)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


async def probe(h: FlowHarness, helper: str, pub: mqtt.Client, topic: str, timeout: float = 5.0) -> None:
    """Publish to `topic` until it reaches `helper` (the subscription is live at the broker), then
    forget the probes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.publish(topic, b"probe", qos=1)
        await asyncio.sleep(0.1)
        if any(m.get("topic") == topic for m in h.messages(helper)):
            h.messages(helper).clear()
            return
    raise AssertionError(f"subscription to {topic!r} never became active")


async def test_dynamic_mqtt_in_actions(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port),
            {"id": "in", "type": "mqtt in", "topic": "", "qos": "2", "datatype": "utf8", "broker": "b",
             "inputs": 1, "wires": [["h"]]},
            {"id": "static", "type": "mqtt in", "topic": f"{t}/static", "qos": "0", "datatype": "utf8",
             "broker": "b", "wires": [["hs"]]},
            {"id": "h", "type": "helper"}, {"id": "hs", "type": "helper"}]
    with publisher(mosquitto.port) as pub:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "in")
            # Anything but an action goes nowhere, on a dynamic node and on a static one alike.
            await h.inject("in", {"topic": f"{t}/a", "payload": "not an action"})
            await h.inject("static", {"topic": f"{t}/a", "payload": "no input wire"})
            await h.settle()
            assert h.messages("h") == [] and h.messages("hs") == []

            await h.inject("in", {"action": "subscribe", "topic": [f"{t}/a", {"topic": f"{t}/b/#", "qos": 1}]})
            await h.inject("in", {"action": "getSubscriptions"})
            (subs,) = await h.received("h", 1)
            assert subs["payload"] == [f"{t}/a", f"{t}/b/#"]
            h.messages("h").clear()
            await probe(h, "h", pub, f"{t}/a")
            await probe(h, "h", pub, f"{t}/b/probe")
            pub.publish(f"{t}/b/x", b"bx", qos=1)
            (got,) = await h.received("h", 1, timeout=5)
            assert (got["topic"], got["payload"], got["qos"]) == (f"{t}/b/x", "bx", 1)

            await h.inject("in", {"action": "unsubscribe", "topic": f"{t}/a"})
            await h.inject("in", {"action": "subscribe", "topic": f"{t}/sync"})
            await probe(h, "h", pub, f"{t}/sync")  # the UNSUBSCRIBE went out before this SUBSCRIBE
            pub.publish(f"{t}/a", b"gone", qos=1)
            pub.publish(f"{t}/b/y", b"still here", qos=1)
            msgs = await h.received("h", 1, timeout=5)
            await asyncio.sleep(0.2)
            assert [m["payload"] for m in msgs] == ["still here"]

            h.messages("h").clear()
            await h.inject("in", {"action": "unsubscribe", "topic": True})
            await h.inject("in", {"action": "getSubscriptions"})
            assert [m["payload"] for m in await h.received("h", 1)] == [[]]

            await h.inject("in", {"action": "disconnect"})
            assert h.node("in")._last_status["text"] == "disconnected"
            await h.inject("in", {"action": "connect"})
            await wait_connected(h, "in")
            assert h.node("static")._last_status["text"] == "connected"
            assert h.messages("hs") == []


async def test_mqtt_in_v5_no_local_and_retain_handling(mosquitto):
    t = uuid.uuid4().hex[:8]
    with publisher(mosquitto.port, mqtt.MQTTv5) as pub:
        pub.publish(f"{t}/rh", b"old", qos=1, retain=True).wait_for_publish(5)
        flow = [broker_node(mosquitto.port, protocolVersion="5"),
                {"id": "in", "type": "mqtt in", "topic": f"{t}/nl", "qos": "1", "datatype": "utf8", "broker": "b",
                 "nl": True, "wires": [["h"]]},
                {"id": "rh", "type": "mqtt in", "topic": f"{t}/rh", "qos": "1", "datatype": "utf8", "broker": "b",
                 "rh": 2, "wires": [["h"]]},
                {"id": "out", "type": "mqtt out", "topic": f"{t}/nl", "qos": "1", "broker": "b"},
                {"id": "h", "type": "helper"}]
        peer = Peer(mosquitto.port, f"{t}/nl", protocol=mqtt.MQTTv5)
        try:
            async with FlowHarness(flow) as h:
                await wait_connected(h, "in")
                await h.inject("out", {"payload": "own"})
                assert (await peer.get()).payload == b"own"  # it did reach the broker ...
                pub.publish(f"{t}/nl", b"peer", qos=1)
                pub.publish(f"{t}/rh", b"live", qos=1)
                await h.received("h", 2, timeout=5)
                await asyncio.sleep(0.2)
                # ... but not us (no local), and the retained message was not sent (retain handling 2).
                assert sorted(m["payload"] for m in h.messages("h")) == ["live", "peer"]
        finally:
            peer.close()
            pub.publish(f"{t}/rh", b"", qos=1, retain=True).wait_for_publish(5)


class GatedSink(Node):
    """Blocks on its first message until released; while handling msg 2 it feeds the mqtt in one
    more message from the broker, at the moment its inbox has room and the mqtt in's backlog is
    empty but a delivery of an older message is still waiting to land."""

    type = "gated-sink"
    outputs = 0

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.seen: list[Any] = []
        self.release = asyncio.Event()

    async def on_message(self, msg: Message) -> None:
        self.seen.append(msg["payload"])
        if msg["payload"] == "0":
            await self.release.wait()
        if msg["payload"] == "2":
            mqtt_in = self.host.find_node("in")
            mqtt_in._on_inbound(InboundMessage("x", b"4", 0, False, None))  # type: ignore[union-attr]


def inbound(n: int) -> InboundMessage:
    return InboundMessage("x", str(n).encode(), 1, False, None)


async def test_mqtt_in_keeps_order_under_backpressure():
    flow = [broker_node(1, autoConnect=False),  # never connects: messages are fed in directly
            {"id": "in", "type": "mqtt in", "topic": "x", "qos": "1", "datatype": "utf8", "broker": "b",
             "wires": [["sink"]]},
            {"id": "sink", "type": "gated-sink"}]
    async with FlowHarness(flow, extra_types=[GatedSink], inbox_capacity=2) as h:
        node, sink = h.node("in"), h.node("sink")
        node._on_inbound(inbound(0))
        await asyncio.sleep(0.05)  # the sink holds "0"
        for i in (1, 2, 3):
            node._on_inbound(inbound(i))  # 1 and 2 fill the inbox, 3 waits in the backlog
        await asyncio.sleep(0.05)  # run() took 3 and waits for room
        assert not node._backlog and node._in_flight
        sink.release.set()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while len(sink.seen) < 5 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        assert sink.seen == ["0", "1", "2", "3", "4"]  # type: ignore[attr-defined]


class SlowSink(Node):
    type = "slow-sink"
    outputs = 0

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.seen: list[Any] = []

    async def on_message(self, msg: Message) -> None:
        await asyncio.sleep(0.002)
        self.seen.append(msg["payload"])


async def test_shutdown_drain_delivers_the_mqtt_in_backlog():
    flow = [broker_node(1, autoConnect=False),
            {"id": "in", "type": "mqtt in", "topic": "x", "qos": "1", "datatype": "utf8", "broker": "b",
             "wires": [["sink"]]},
            {"id": "sink", "type": "slow-sink"}]
    h = FlowHarness(flow, extra_types=[SlowSink], inbox_capacity=4)
    await h.__aenter__()
    try:
        node, sink = h.node("in"), h.node("sink")
        for i in range(200):  # accepted (and acknowledged) in one burst: most wait in the backlog
            node._on_inbound(inbound(i))
        await asyncio.sleep(0.01)
        assert len(node._backlog) > 100 and node._in_flight  # run() waits to deliver one of them
    finally:
        await h.engine.close(drain=5)
    assert sink.seen == [str(i) for i in range(200)]  # type: ignore[attr-defined]


async def test_last_will_on_abrupt_disconnect(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port, protocolVersion="5", willTopic=f"{t}/will", willPayload="gone",
                        willQos="1", willRetain=False,
                        willMsg={"contentType": "text/plain", "userProps": '{"site": "north"}'}),
            {"id": "out", "type": "mqtt out", "topic": f"{t}/x", "broker": "b"}]
    peer = Peer(mosquitto.port, f"{t}/will", protocol=mqtt.MQTTv5)
    try:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "out")
            # The engine side's socket dies without a DISCONNECT (as if the process were killed).
            h.node("b").connection._client.socket().shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
            will = await peer.get()
            assert (will.topic, will.payload, will.qos) == (f"{t}/will", b"gone", 1)
            assert will.properties.ContentType == "text/plain"
            assert will.properties.UserProperty == [("site", "north")]
            await wait_connected(h, "out", timeout=10)  # it reconnects ...
        await asyncio.sleep(0.3)
        assert peer.q.empty()  # ... and a polite close sends no will
    finally:
        peer.close()


async def test_tls_config_with_uploaded_ca_certificate(make_mosquitto, tls_certs: CertPaths):
    broker = make_mosquitto(tls=tls_certs)
    t = uuid.uuid4().hex[:8]
    ca_pem = Path(tls_certs.ca_cert).read_text()
    flow = [{"id": "tls", "type": "tls-config", "ca": "", "verifyservercert": True,
             "credentials": {"cadata": ca_pem}},  # how Node-RED stores an uploaded CA
            broker_node(broker.tls_port, usetls=True, tls="tls"),
            {"id": "in", "type": "mqtt in", "topic": f"{t}/s", "qos": "1", "datatype": "utf8", "broker": "b",
             "wires": [["h"]]},
            {"id": "out", "type": "mqtt out", "topic": f"{t}/s", "broker": "b"},
            {"id": "h", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await wait_connected(h, "in")
        await h.inject("out", {"payload": "uploaded ca"})
        assert (await h.received("h", 1, timeout=5))[0]["payload"] == "uploaded ca"


async def test_mqtt_out_v5_properties_from_msg_and_node(mosquitto):
    t = uuid.uuid4().hex[:8]
    flow = [broker_node(mosquitto.port, protocolVersion="5"),
            {"id": "from-msg", "type": "mqtt out", "topic": f"{t}/p", "qos": "1", "broker": "b"},
            {"id": "from-node", "type": "mqtt out", "topic": f"{t}/p", "qos": "1", "broker": "b",
             "respTopic": f"{t}/node-reply", "correl": "node-corr", "expiry": "120", "contentType": "text/csv",
             "userProps": '{"from": "node", "n": 1}'}]
    peer = Peer(mosquitto.port, f"{t}/p", protocol=mqtt.MQTTv5)
    msg_props = {"responseTopic": f"{t}/msg-reply", "correlationData": b"\x01\x02", "messageExpiryInterval": 60,
                 "contentType": "application/json", "userProperties": {"from": "msg", "ok": True}}
    try:
        async with FlowHarness(flow) as h:
            await wait_connected(h, "from-msg")
            await h.inject("from-msg", {"payload": "a", **msg_props})
            a = await peer.get()
            await h.inject("from-node", {"payload": "b", **msg_props})
            b = await peer.get()
        assert a.payload == b"a"
        assert a.properties.ResponseTopic == f"{t}/msg-reply"
        assert a.properties.CorrelationData == b"\x01\x02"
        assert 0 < a.properties.MessageExpiryInterval <= 60
        assert a.properties.ContentType == "application/json"
        assert sorted(a.properties.UserProperty) == [("from", "msg"), ("ok", "true")]
        # Values set on the node win over the msg's.
        assert b.payload == b"b"
        assert b.properties.ResponseTopic == f"{t}/node-reply"
        assert b.properties.CorrelationData == b"node-corr"
        assert 60 < b.properties.MessageExpiryInterval <= 120
        assert b.properties.ContentType == "text/csv"
        assert sorted(b.properties.UserProperty) == [("from", "node"), ("n", "1")]
    finally:
        peer.close()
