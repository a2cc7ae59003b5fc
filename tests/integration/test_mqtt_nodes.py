"""mqtt in / mqtt out / mqtt-broker / tls-config nodes against a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import queue
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from flowengine.testing import FlowHarness


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
        pub.loop(0.1)
        pub.disconnect()
        errs = await h.received("hc", 1, timeout=5)
        assert errs[0]["error"]["source"]["id"] == "in"
        assert "JSON" in errs[0]["error"]["message"]
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
