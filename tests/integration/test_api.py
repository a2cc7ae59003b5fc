"""The HTTP API through real uvicorn on a free loopback port: Node-RED's /flows, /api/v1, health."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from flowengine.app import Application, StartupError
from flowengine.settings import load_settings
from tests.support.app_server import serving


def flow(label: str = "one") -> list[dict]:
    return [{"id": "t", "type": "tab", "label": label},
            {"id": "i", "type": "inject", "z": "t", "x": 0, "y": 0, "props": [{"p": "payload"}],
             "payload": label, "payloadType": "str", "wires": [["c"]]},
            {"id": "c", "type": "change", "z": "t", "x": 0, "y": 0, "wires": [["d"]],
             "rules": [{"t": "set", "p": "topic", "to": "api", "tot": "str"}]},
            {"id": "d", "type": "debug", "z": "t", "x": 0, "y": 0, "name": "out", "wires": []}]


@pytest.fixture
async def server(tmp_path):
    async with serving(tmp_path, flow()) as pair:
        yield pair


async def test_node_red_get_flows_v1_and_v2(server):
    app, client = server
    r = await client.get("/flows")
    assert r.status_code == 200 and r.json() == flow()
    r = await client.get("/flows", headers={"Node-RED-API-Version": "v2"})
    assert r.json()["flows"] == flow() and r.json()["rev"] == app.current_rev()


async def test_node_red_post_flows_deploys_and_records_a_revision(server, tmp_path):
    app, client = server
    r = await client.post("/flows", json=flow("two"), headers={"Node-RED-Deployment-Type": "full"})
    assert r.status_code == 204
    assert (await client.get("/flows")).json() == flow("two")
    revs = (await client.get("/api/v1/revisions")).json()
    assert [r["status"] for r in revs] == ["active", "superseded"]
    assert json.loads((tmp_path / "data" / "flows.json").read_text()) == flow("two")
    assert json.loads((tmp_path / "flows.json").read_text()) == flow("two")  # written back to the FILE


async def test_invalid_flows_are_400_with_every_problem_and_nothing_changes(server):
    app, client = server
    before = app.current_rev()
    bad = flow() + [{"id": "x", "type": "nope", "z": "t", "x": 0, "y": 0, "wires": [["ghost"]]}]
    r = await client.post("/flows", json=bad)
    assert r.status_code == 400
    problems = {(i["node_id"], i["path"]) for i in r.json()["issues"]}
    assert ("x", "type") in problems and ("x", "wires[0][0]") in problems
    assert app.current_rev() == before and (await client.get("/flows")).json() == flow()
    r = await client.post("/flows", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422)


async def test_stale_rev_is_409_and_reload_restarts(server):
    app, client = server
    r = await client.post("/flows", json={"flows": flow("two"), "rev": "stale"},
                          headers={"Node-RED-API-Version": "v2"})
    assert r.status_code == 409 and r.json()["code"] == "version_mismatch"
    r = await client.post("/flows", json={"flows": flow("two"), "rev": app.current_rev()},
                          headers={"Node-RED-API-Version": "v2"})
    assert r.status_code == 200 and r.json()["rev"] == app.current_rev()
    r = await client.post("/flows", headers={"Node-RED-Deployment-Type": "reload"})
    assert r.status_code == 204
    r = await client.post("/flows", json=flow(), headers={"Node-RED-Deployment-Type": "sideways"})
    assert r.status_code == 400


async def test_v1_flows_put_with_if_match_validate_and_rollback(server):
    app, client = server
    first = app.current_rev()
    r = await client.put("/api/v1/flows", json=flow("two"), headers={"If-Match": "nope"})
    assert r.status_code == 409
    r = await client.put("/api/v1/flows", json=flow("two"), headers={"If-Match": first})
    assert r.status_code == 200
    r = await client.post("/api/v1/flows/validate", json=flow() + [{"id": "q", "type": "zzz", "x": 0, "y": 0}])
    assert r.status_code == 200 and r.json()["valid"] is False
    r = await client.post(f"/api/v1/revisions/{first}/rollback")
    assert r.status_code == 200 and app.current_rev() == first
    assert (await client.get("/api/v1/revisions/does-not-exist")).status_code == 404


async def test_v1_flows_put_takes_a_deployment_mode(server):
    app, client = server
    before = dict(app.engine.nodes)
    r = await client.put("/api/v1/flows?mode=nodes", json=flow("changed"))
    assert r.status_code == 200
    assert app.engine.nodes["i"] is not before["i"]  # the edited inject restarted...
    assert app.engine.nodes["c"] is before["c"] and app.engine.nodes["d"] is before["d"]  # ...nothing else
    r = await client.put("/api/v1/flows?mode=full", json=flow("again"))
    assert r.status_code == 200 and app.engine.nodes["c"] is not before["c"]
    assert (await client.put("/api/v1/flows?mode=sideways", json=flow())).status_code == 422


async def test_health_state_nodes_and_inject_with_events(server):
    app, client = server
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["state"] == "running"
    state = (await client.get("/api/v1/state")).json()
    assert state["rev"] == app.current_rev() and set(state["nodes"]) == {"i", "c", "d"}
    palette = (await client.get("/api/v1/nodes")).json()
    change = next(t for t in palette["types"] if t["type"] == "change")
    assert change["schema"]["type"] == "object" and "rules" in change["schema"]["properties"]
    assert change["color"].startswith("#") and change["icon"] == "change" and change["label"] == "change"
    broker = next(t for t in palette["types"] if t["type"] == "mqtt-broker")
    assert broker["config"] and broker["credentials"] == {"user": "text", "password": "password"}
    async with websockets.connect(f"ws://127.0.0.1:{app.port}/api/v1/events") as ws:
        r = await client.post("/api/v1/inject/i")
        assert r.status_code == 200
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame["type"] == "debug":
                break
        assert frame["node_id"] == "d" and frame["data"]["msg"] == "one" and frame["data"]["topic"] == "api"
    assert (await client.post("/api/v1/inject/c")).status_code == 404


async def test_safe_mode_is_not_ready(tmp_path):
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(flow()))
    app = Application(load_settings(data_dir=tmp_path / "d", port=0, safe=True))
    assert await app.start(flows)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
            r = await client.get("/readyz")
            assert r.status_code == 503 and r.json()["state"] == "safe"
            # deploying through the API leaves safe mode
            assert (await client.post("/flows", json=flow("two"))).status_code == 204
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await app.stop()


async def test_a_non_loopback_bind_is_refused(tmp_path):
    app = Application(load_settings(data_dir=tmp_path, host="0.0.0.0", port=0))
    with pytest.raises(StartupError, match="refusing to listen on 0.0.0.0"):
        await app.start(None)
    await app.stop()


async def test_boot_starts_the_last_active_revision(tmp_path):
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(flow()))
    app = Application(load_settings(data_dir=tmp_path / "d", port=0))
    assert await app.start(flows)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
        assert (await client.post("/flows", json=flow("deployed"))).status_code == 204
    await app.stop()
    app = Application(load_settings(data_dir=tmp_path / "d", port=0))
    assert await app.start(None)
    try:
        assert app.current_flows() == flow("deployed")
    finally:
        await app.stop()


async def test_crash_loop_starts_in_safe_mode(tmp_path):
    """Runs that end without a clean shutdown count; after 3 the engine starts with flows stopped."""
    import signal
    import subprocess
    import sys
    import time

    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(flow()))
    data = tmp_path / "d"
    cmd = [sys.executable, "-m", "flowengine.cli", "run", str(flows), "--data-dir", str(data), "--port", "0"]
    for _ in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until it serves, then kill it like a crash
            line = proc.stdout.readline()
            if "serving the API" in line or not line:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    app = Application(load_settings(data_dir=data, port=0))
    assert await app.start(None)
    try:
        assert app.state_summary()["state"] == "safe" and app.engine.nodes == {}
    finally:
        await app.stop()
    app = Application(load_settings(data_dir=data, port=0))  # the clean stop above reset the count
    assert await app.start(None)
    try:
        assert app.state_summary()["state"] == "running"
    finally:
        await app.stop()
