"""Faults: the engine killed with SIGKILL mid-run, the broker killed under load."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

FLOWENGINE = [sys.executable, "-m", "flowengine.cli"]


def counter_flow(port: int, t: str) -> list[dict]:
    """Every message on <t>/in increments a persistent counter, and the count is published."""
    return [{"id": "tab", "type": "tab"},
            {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": str(port)},
            {"id": "in", "type": "mqtt in", "z": "tab", "x": 0, "y": 0, "topic": f"{t}/in", "qos": "1",
             "datatype": "json", "broker": "b", "wires": [["f"]]},
            {"id": "f", "type": "python-function", "z": "tab", "x": 0, "y": 0, "outputs": 1, "wires": [["out"]],
             "func": "n = (flow.get('count', 'file') or 0) + 1\nflow.set('count', n, 'file')\n"
                     "msg['payload'] = n\nreturn msg"},
            {"id": "out", "type": "mqtt out", "z": "tab", "x": 0, "y": 0, "topic": f"{t}/count", "broker": "b",
             "wires": []}]


def test_sigkill_loses_at_most_the_flush_window_of_persistent_context(mosquitto, tmp_path):
    t = uuid.uuid4().hex[:8]
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(counter_flow(mosquitto.port, t)))
    data = tmp_path / "data"
    counts: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: counts.append(int(m.payload))
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe(f"{t}/count", qos=1)
    client.loop_start()
    proc = subprocess.Popen(FLOWENGINE + ["run", str(flows), "--data-dir", str(data), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while len(counts) < 20 and time.monotonic() < deadline:
            client.publish(f"{t}/in", "{}", qos=1)
            time.sleep(0.05)
        assert len(counts) >= 20, "the engine did not count"
        time.sleep(0.5)  # longer than the 0.1 s flush interval
        proc.send_signal(signal.SIGKILL)  # a power cut, as far as the process can tell
        proc.wait(10)
        last_seen = counts[-1]
        rows = sqlite3.connect(data / "context.db").execute(
            "SELECT value FROM context WHERE scope = 'tab' AND key = 'count'").fetchall()
        assert rows and int(rows[0][0]) == last_seen  # nothing acknowledged was lost
        # A restart carries on from the persisted count.
        proc = subprocess.Popen(FLOWENGINE + ["run", "--data-dir", str(data), "--port", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = len(counts)
        deadline = time.monotonic() + 20
        while len(counts) == before and time.monotonic() < deadline:
            client.publish(f"{t}/in", "{}", qos=1)
            time.sleep(0.2)
        assert counts[before] == last_seen + 1
    finally:
        client.loop_stop()
        client.disconnect()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


@pytest.mark.slow
def test_broker_killed_repeatedly_under_load_engine_survives_and_resumes(make_mosquitto, tmp_path):
    broker = make_mosquitto()
    t = uuid.uuid4().hex[:8]
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(counter_flow(broker.port, t)))
    proc = subprocess.Popen(FLOWENGINE + ["run", str(flows), "--data-dir", str(tmp_path / "d"), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(5):  # bounded: five kill/restart rounds
            time.sleep(1.0)
            os.kill(broker._proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
            broker._proc.wait(5)  # type: ignore[union-attr]
            broker._proc = None
            time.sleep(0.5)
            broker.start()
            assert proc.poll() is None, "the engine died with the broker"
        got: list[bytes] = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = lambda c, u, m: got.append(m.payload)
        client.connect("127.0.0.1", broker.port)
        client.subscribe(f"{t}/count", qos=1)
        client.loop_start()
        deadline = time.monotonic() + 40  # reconnect backoff is capped at 30 s
        while not got and time.monotonic() < deadline:
            client.publish(f"{t}/in", "{}", qos=1)
            time.sleep(0.25)
        client.loop_stop()
        assert got, "the engine did not resume after the broker came back"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
