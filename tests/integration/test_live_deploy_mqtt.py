"""A `nodes` deploy through the Node-RED admin API while a steady MQTT stream runs through a tab
the deploy does not touch: every message arrives, in order, none twice (real mosquitto, real
uvicorn, the real Application)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

from flowengine.app import Application
from flowengine.settings import load_settings
from tests.integration.test_mqtt_nodes import Peer, broker_node, publisher

STREAM = 600  # messages, one every 5 ms: the deploys land in the middle of it


def flows(port: int, label: str) -> list[dict]:
    return [
        {"id": "t1", "type": "tab", "label": "pipeline"},
        {"id": "t2", "type": "tab", "label": "edited"},
        broker_node(port),
        {"id": "in", "type": "mqtt in", "z": "t1", "topic": "src", "qos": "1", "datatype": "auto", "broker": "b",
         "wires": [["keep"]]},
        {"id": "keep", "type": "change", "z": "t1", "rules": [{"t": "set", "p": "via", "pt": "msg", "to": "t1",
                                                              "tot": "str"}], "wires": [["out"]]},
        {"id": "out", "type": "mqtt out", "z": "t1", "topic": "dst", "qos": "1", "retain": "false", "broker": "b",
         "wires": []},
        {"id": "i2", "type": "inject", "z": "t2", "props": [{"p": "payload"}], "payload": "x", "payloadType": "str",
         "wires": [["c2"]]},
        {"id": "c2", "type": "change", "z": "t2", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": label,
                                                            "tot": "str"}], "wires": [["d2"]]},
        {"id": "d2", "type": "debug", "z": "t2", "active": True, "tosidebar": True, "console": False,
         "complete": "payload", "wires": []},
    ]


async def test_a_nodes_deploy_loses_nothing_in_an_mqtt_stream_through_an_untouched_tab(mosquitto, tmp_path):
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(flows(mosquitto.port, "v0")))
    app = Application(load_settings(data_dir=tmp_path / "data", port=0, secret_key_file=tmp_path / "key"))
    assert await app.start(flows_file)
    peer = Peer(mosquitto.port, "dst")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=10) as client:
            with publisher(mosquitto.port) as pub:
                await _until_the_pipeline_answers(pub, peer)
                in_node = app.engine.nodes["in"]
                done = threading.Event()

                def stream() -> None:
                    for seq in range(STREAM):
                        pub.publish("src", str(seq), qos=1)
                        time.sleep(0.005)
                    done.set()

                threading.Thread(target=stream, daemon=True).start()
                await asyncio.sleep(0.5)
                for version in ("v1", "v2", "v3"):
                    rev = (await client.get("/flows", headers={"Node-RED-API-Version": "v2"})).json()["rev"]
                    r = await client.post("/flows", json={"rev": rev, "flows": flows(mosquitto.port, version)},
                                          headers={"Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "nodes"})
                    assert r.status_code == 200, r.text
                    await asyncio.sleep(0.4)
                assert app.engine.nodes["in"] is in_node  # the untouched tab was not restarted
                assert app.engine.nodes["c2"].config.rules[0].to == "v3"  # the edited node was
                received = await _collect(peer, STREAM, done, timeout=20)
    finally:
        peer.close()
        await app.stop()
    assert done.is_set()
    assert received == list(range(STREAM)), _describe_gap(received)


async def _until_the_pipeline_answers(pub, peer: Peer) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pub.publish("src", "probe", qos=1)
        try:
            msg = await peer.get(timeout=0.3)
        except AssertionError:
            continue
        if msg.payload == b"probe":
            await asyncio.sleep(0.2)
            while not peer.q.empty():  # late probe copies
                peer.q.get_nowait()
            return
    raise AssertionError("the mqtt in -> mqtt out pipeline never answered")


async def _collect(peer: Peer, count: int, done: threading.Event, timeout: float) -> list[int]:
    received: list[int] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        try:
            msg = await peer.get(timeout=max(deadline - time.monotonic(), 0.01))
        except AssertionError:
            break
        if msg.payload != b"probe":
            received.append(int(msg.payload))
    await asyncio.sleep(0.3)  # duplicates would arrive now
    while not peer.q.empty():
        msg = peer.q.get_nowait()
        if msg.payload != b"probe":
            received.append(int(msg.payload))
    return received


def _describe_gap(received: list[int]) -> str:
    missing = sorted(set(range(STREAM)) - set(received))
    return f"{len(received)} received; missing {missing[:20]}; out of order: {received != sorted(received)}"
