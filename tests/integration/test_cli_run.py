"""`flowengine run` as a real process: start, run flows over MQTT, SIGTERM, data dir rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

FLOWENGINE = [sys.executable, "-m", "flowengine.cli"]


def start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(FLOWENGINE + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=15)
    return proc.returncode, out


def relay_flow(port: int, t: str) -> list[dict]:
    return [{"id": "tab", "type": "tab", "label": "relay"},
            {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": str(port)},
            {"id": "in", "type": "mqtt in", "z": "tab", "x": 0, "y": 0, "topic": f"{t}/in", "qos": "0",
             "datatype": "json", "broker": "b", "wires": [["c"]]},
            {"id": "c", "type": "change", "z": "tab", "x": 0, "y": 0, "wires": [["out"]],
             "rules": [{"t": "set", "p": "payload.ok", "to": "true", "tot": "bool"}]},
            {"id": "out", "type": "mqtt out", "z": "tab", "x": 0, "y": 0, "topic": f"{t}/out", "broker": "b",
             "wires": []}]


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_run_relays_over_mqtt_and_stops_cleanly_on_sigterm(mosquitto, tmp_path, loop):
    t = uuid.uuid4().hex[:8]
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(relay_flow(mosquitto.port, t)))
    data = tmp_path / "data"
    proc = start(["run", str(flows), "--data-dir", str(data), "--port", "0"], env={"FLOWENGINE_EVENT_LOOP": loop})
    got: list[bytes] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: got.append(m.payload)
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe(f"{t}/out")
    client.loop_start()
    try:
        deadline = time.monotonic() + 15
        while not got and time.monotonic() < deadline and proc.poll() is None:
            client.publish(f"{t}/in", json.dumps({"n": 1}))
            time.sleep(0.2)
        assert got, "no message came through the engine"
        assert json.loads(got[0]) == {"n": 1, "ok": True}
    finally:
        client.loop_stop()
        client.disconnect()
        code, out = stop(proc)
    assert code == 0, out
    assert "Traceback" not in out
    # The file given on the command line became the data dir's flows.
    assert json.loads((data / "flows.json").read_text()) == relay_flow(mosquitto.port, t)


def test_run_without_file_uses_data_dir_or_nothing(tmp_path):
    proc = start(["run", "--data-dir", str(tmp_path), "--port", "0"])
    time.sleep(1.0)
    assert proc.poll() is None
    code, out = stop(proc, signal.SIGINT)
    assert code == 0 and "no flows to run" in out


def test_run_refuses_an_invalid_file_naming_the_node(tmp_path):
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps([{"id": "tab", "type": "tab"},
                                 {"id": "bad", "type": "change", "z": "tab", "x": 0, "y": 0, "wires": [],
                                  "rules": [{"t": "set", "p": "payload", "to": "{", "tot": "json"}]}]))
    out = subprocess.run(FLOWENGINE + ["run", str(flows), "--data-dir", str(tmp_path / "d"), "--port", "0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "node 'bad' (change) field 'rules[0].to'" in out.stderr
    assert "Traceback" not in out.stderr


def test_safe_mode_loads_but_does_not_start(tmp_path):
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps([{"id": "tab", "type": "tab"}]))
    proc = start(["run", str(flows), "--data-dir", str(tmp_path / "d"), "--safe", "--port", "0"])
    time.sleep(1.0)
    code, out = stop(proc)
    assert code == 0 and "safe mode" in out


def test_settings_precedence_file_env_flag(tmp_path):
    from flowengine.settings import load_settings

    cfg = tmp_path / "settings.toml"
    cfg.write_text('port = 1999\nlog_level = "debug"\ninbox_capacity = 5\n')
    os.environ["FLOWENGINE_INBOX_CAPACITY"] = "7"
    try:
        s = load_settings(cfg, port=None)
        assert (s.port, s.log_level, s.inbox_capacity) == (1999, "DEBUG", 7)  # env beats the file
        s = load_settings(cfg, port=2001)
        assert s.port == 2001  # a flag beats everything
    finally:
        del os.environ["FLOWENGINE_INBOX_CAPACITY"]


def test_bad_settings_file_is_a_clear_error(tmp_path):
    cfg = tmp_path / "settings.toml"
    cfg.write_text("inbox_capacity = -1\n")
    out = subprocess.run(FLOWENGINE + ["run", "--config", str(cfg), "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "inbox_capacity" in out.stderr and "Traceback" not in out.stderr


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "flowengine"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "validate" in out.stdout
