"""GET /metrics, the context API and the request limits, through real uvicorn on a free port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowengine.api import metrics
from flowengine.api.limits import MAX_BODY_BYTES, BodySizeLimitMiddleware, check_document_limits
from flowengine.app import Application
from flowengine.inbox import Inbox
from flowengine.jsvalue import UNDEFINED
from tests.support.app_server import serving


def flow(label: str = "one") -> list[dict]:
    """inject i -> change c (sets global and flow context) -> python-function f (node context) ->
    debug d; inject b -> json j, which fails on its payload (an error for the metrics)."""
    rules = [{"t": "set", "p": "greeting", "pt": "global", "to": "hi", "tot": "str"},
             {"t": "set", "p": "#:(file)::persisted", "pt": "global", "to": "42", "tot": "num"},
             {"t": "set", "p": "obj", "pt": "global", "to": '{"a": [1, 2], "b": null}', "tot": "json"},
             {"t": "set", "p": "buf", "pt": "flow", "to": "[1, 2, 255]", "tot": "bin"},
             {"t": "set", "p": "last", "pt": "flow", "to": "payload", "tot": "msg"}]
    return [{"id": "t", "type": "tab", "label": label},
            {"id": "i", "type": "inject", "z": "t", "x": 0, "y": 0, "props": [{"p": "payload"}],
             "payload": label, "payloadType": "str", "wires": [["c"]]},
            {"id": "c", "type": "change", "z": "t", "x": 0, "y": 0, "rules": rules, "wires": [["f"]]},
            {"id": "f", "type": "python-function", "z": "t", "x": 0, "y": 0, "outputs": 1, "wires": [["d"]],
             "func": "context.set('seen', msg['payload'])\ncontext.set('raw', b'\\x00\\x01')\nreturn msg"},
            {"id": "d", "type": "debug", "z": "t", "x": 0, "y": 0, "wires": []},
            {"id": "b", "type": "inject", "z": "t", "x": 0, "y": 0, "props": [{"p": "payload"}],
             "payload": "{not json", "payloadType": "str", "wires": [["j"]]},
            {"id": "j", "type": "json", "z": "t", "x": 0, "y": 0, "wires": [[]]}]


@pytest.fixture
async def server(tmp_path):
    async with serving(tmp_path, flow()) as pair:
        yield pair


async def fire(app: Application, client: httpx.AsyncClient, node_id: str = "i", times: int = 1) -> None:
    """Fire an inject node and wait until the flow has handled the messages (every inbox empty)."""
    sub = app.engine.events.subscribe()
    try:
        for _ in range(times):
            assert (await client.post(f"/api/v1/inject/{node_id}")).status_code == 200
        wanted = "debug" if node_id == "i" else "log"
        seen = 0
        while seen < times:
            event = await sub.get(timeout=10)
            seen += event["type"] == wanted
    finally:
        sub.close()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


# ------------------------------------------------------------------ metrics
async def test_metrics_expose_nodes_errors_deploys_and_process(server):
    app, client = server
    await fire(app, client, "i", times=3)
    await fire(app, client, "b")
    assert (await client.post("/flows", json=flow("two"))).status_code == 204  # a counted deploy
    assert (await client.post("/flows", json=flow() + [{"id": "x", "type": "nope", "z": "t"}])).status_code == 400
    await fire(app, client, "i", times=2)
    await fire(app, client, "b")

    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)

    def node(name: str, nid: str, ntype: str) -> float:
        return got[(name, (("node_id", nid), ("type", ntype)))]

    for nid, ntype in (("i", "inject"), ("c", "change"), ("f", "python-function"), ("d", "debug"),
                       ("j", "json")):
        assert node("flowengine_node_inbox_depth", nid, ntype) == 0
        assert node("flowengine_node_dropped_total", nid, ntype) == 0
        # The engine does not count per node yet (the collector reads node._handled when it does).
        handled = node("flowengine_node_messages_handled_total", nid, ntype)
        assert handled == getattr(app.engine.nodes[nid], "_handled", 0)
        assert node("flowengine_node_errors_total", nid, ntype) == getattr(app.engine.nodes[nid], "_errors", 0)
    if hasattr(app.engine.nodes["c"], "_handled"):
        assert node("flowengine_node_messages_handled_total", "c", "change") == 2  # since the redeploy
    assert got[("flowengine_errors_total", ())] == app.engine.error_count >= 2
    assert got[("flowengine_nodes", ())] == 6
    assert got[("flowengine_deploys_total", (("result", "success"),))] >= 1
    assert got[("flowengine_deploys_total", (("result", "invalid"),))] == 1
    assert got[("flowengine_deploys_total", (("result", "error"),))] == 0
    assert got[("process_resident_memory_bytes", ())] > 0
    assert got[("process_open_fds", ())] > 0


async def test_metrics_collector_reads_node_counters_inbox_and_deploy_results():
    """The collector reads whatever the nodes carry at scrape time; config nodes are left out."""
    inbox = Inbox(4)
    inbox.put_nowait({"payload": 1})
    inbox.put_nowait({"payload": 2})
    inbox.dropped = 5
    busy = SimpleNamespace(type="delay", is_config=False, _inbox=inbox, _handled=7, _errors=2)
    config = SimpleNamespace(type="mqtt-broker", is_config=True, _inbox=Inbox(4))
    engine = SimpleNamespace(nodes={"n1": busy, "cfg": config}, error_count=3)
    application = SimpleNamespace(engine=engine, deploy_results={"success": 4, "invalid": 1})
    registry = metrics.build_registry(application)
    metrics.build_registry(application)  # a second private registry: no clash with the first
    from prometheus_client import generate_latest

    got = samples(generate_latest(registry).decode())
    labels = (("node_id", "n1"), ("type", "delay"))
    assert got[("flowengine_node_messages_handled_total", labels)] == 7
    assert got[("flowengine_node_errors_total", labels)] == 2
    assert got[("flowengine_node_dropped_total", labels)] == 5
    assert got[("flowengine_node_inbox_depth", labels)] == 2
    assert not any(dict(k[1]).get("node_id") == "cfg" for k in got)
    assert got[("flowengine_errors_total", ())] == 3
    assert got[("flowengine_deploys_total", (("result", "success"),))] == 4
    assert got[("flowengine_deploys_total", (("result", "error"),))] == 0


# ------------------------------------------------------------------ context
async def test_context_api_reads_values_set_by_the_running_flow(server):
    app, client = server
    await fire(app, client, "i")

    r = await client.get("/api/v1/context/global")
    assert r.status_code == 200
    body = r.json()
    assert body["scope"] == "global" and body["id"] is None
    assert body["stores"]["memory"]["greeting"] == "hi"
    assert body["stores"]["memory"]["obj"] == {"a": [1, 2], "b": None}
    assert body["stores"]["file"] == {"persisted": 42}
    r = await client.get("/api/v1/context/global", params={"store": "file"})
    assert r.json()["stores"] == {"file": {"persisted": 42}}

    r = await client.get("/api/v1/context/global/greeting")
    assert r.status_code == 200 and r.json() == {"key": "greeting", "store": "memory", "value": "hi"}
    assert (await client.get("/api/v1/context/global/obj.a[1]")).json()["value"] == 2  # a property path
    assert (await client.get("/api/v1/context/global/persisted")).status_code == 404  # not in the default store
    r = await client.get("/api/v1/context/global/persisted", params={"store": "file"})
    assert r.json() == {"key": "persisted", "store": "file", "value": 42}

    r = await client.get("/api/v1/context/flow/t")
    flow_values = r.json()["stores"]["memory"]
    assert r.json()["id"] == "t" and flow_values["last"] == "one"
    assert flow_values["buf"] == {"type": "Buffer", "data": [1, 2, 255]}  # bytes as Node-RED's Buffer JSON
    assert (await client.get("/api/v1/context/flow/t/buf")).json()["value"]["data"] == [1, 2, 255]

    r = await client.get("/api/v1/context/node/f")
    assert r.status_code == 200 and r.json()["id"] == "f"
    assert r.json()["stores"]["memory"] == {"seen": "one", "raw": {"type": "Buffer", "data": [0, 1]}}
    assert (await client.get("/api/v1/context/node/f/seen")).json()["value"] == "one"
    # Node context is per node: the change node's own context is empty.
    assert (await client.get("/api/v1/context/node/c")).json()["stores"] == {"memory": {}, "file": {}}


async def test_context_api_errors(server):
    app, client = server
    await fire(app, client, "i")
    for path in ("/api/v1/context/flow/nope", "/api/v1/context/flow/global", "/api/v1/context/flow/nope/k",
                 "/api/v1/context/node/ghost", "/api/v1/context/node/ghost/k", "/api/v1/context/global/missing",
                 "/api/v1/context/node/f/missing"):
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["error"] == "not_found", path
    assert (await client.delete("/api/v1/context/node/ghost/k")).status_code == 404
    assert (await client.delete("/api/v1/context/global/missing")).status_code == 404
    r = await client.get("/api/v1/context/global", params={"store": "redis"})
    assert r.status_code == 400 and r.json()["error"] == "unknown_store" and "memory" in r.json()["message"]
    r = await client.get("/api/v1/context/global/a..b")
    assert r.status_code == 400 and r.json()["error"] == "invalid_key"
    assert (await client.get("/api/v1/context/global/")).status_code == 400  # an empty key


async def test_context_api_deletes_keys(server):
    app, client = server
    await fire(app, client, "i")
    assert (await client.delete("/api/v1/context/global/greeting")).status_code == 204
    assert (await client.get("/api/v1/context/global/greeting")).status_code == 404
    assert (await client.delete("/api/v1/context/global/greeting")).status_code == 404
    assert (await client.delete("/api/v1/context/global/obj.a")).status_code == 204  # a nested property
    assert (await client.get("/api/v1/context/global/obj")).json()["value"] == {"b": None}

    assert (await client.delete("/api/v1/context/global/persisted", params={"store": "file"})).status_code == 204
    file_store = app.contexts.stores["file"]
    await file_store.flush()  # the deletion reaches SQLite, not only the in-memory mirror
    async with file_store._db.execute("SELECT count(*) FROM context WHERE key = 'persisted'") as cur:
        assert (await cur.fetchone())[0] == 0

    assert (await client.delete("/api/v1/context/flow/t/buf")).status_code == 204
    assert set((await client.get("/api/v1/context/flow/t")).json()["stores"]["memory"]) == {"last"}

    assert (await client.delete("/api/v1/context/node/f/seen")).status_code == 204
    assert app.engine.context_for(app.engine.nodes["f"], "node").get("seen") is UNDEFINED
    await fire(app, client, "i")  # the flow sets it again
    assert (await client.get("/api/v1/context/node/f/seen")).json()["value"] == "one"


async def test_context_api_shows_an_unserializable_value_without_failing(server):
    app, client = server
    cyclic: dict = {}
    cyclic["self"] = cyclic
    app.engine.contexts.get_store("memory").scope("global")["loop"] = cyclic
    app.engine.contexts.get_store("memory").scope("global")["fine"] = 1
    r = await client.get("/api/v1/context/global", params={"store": "memory"})
    assert r.status_code == 200
    assert r.json()["stores"]["memory"]["loop"] == {"__unserializable__": "dict"}
    assert r.json()["stores"]["memory"]["fine"] == 1


# ------------------------------------------------------------------ limits
async def test_a_body_over_the_limit_is_413_before_and_while_streaming(server):
    app, client = server
    before = app.current_rev()
    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    r = await client.post("/flows", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b"["
        for _ in range(11):
            yield b" " * (1024 * 1024)
        yield b"]"

    r = await client.put("/api/v1/flows", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert app.current_rev() == before
    # the server still answers, and a body under the limit still deploys
    assert (await client.post("/flows", json=flow("two"))).status_code == 204


async def test_body_limit_middleware_with_a_small_limit():
    seen: list[bytes] = []

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=BodySizeLimitMiddleware(echo, max_bytes=10))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/", content=b"0123456789")).text == "0123456789"
        assert (await client.post("/", content=b"0123456789A")).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"01234"

        r = await client.post("/", content=chunks())
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert seen == [b"0123456789"]  # the app never finished reading an oversized body


# ------------------------------------------------------------------ document limits
def test_document_limits_accept_a_normal_flow():
    assert check_document_limits(flow()) == []


def test_document_limits_report_too_many_nodes_depth_and_long_strings():
    many = [{"id": str(i), "type": "debug"} for i in range(11)]
    issues = check_document_limits(many, max_nodes=10)
    assert len(issues) == 1 and "11 nodes" in issues[0].message and issues[0].severity == "error"

    deep: Any = "bottom"
    for _ in range(40):
        deep = [deep]
    issues = check_document_limits([{"id": "n1", "type": "change", "rules": deep}], max_depth=32)
    assert [(i.node_id, i.type) for i in issues] == [("n1", "change")]
    assert issues[0].path.startswith("rules[0]") and "32 levels" in issues[0].message

    long = "x" * 101
    doc = [{"id": "n1", "type": "template", "template": long, "ok": "short"}, {"id": "n2", "type": "inject", long: 1},
           "stray " + long]
    issues = check_document_limits(doc, max_string=100)
    assert [(i.node_id, i.path) for i in issues] == [("n1", "template"), ("n2", ""), (None, "[2]")]


def test_document_limits_cap_the_issue_list_and_survive_any_json():
    doc = [{"id": f"n{i}", "type": "x", "v": "y" * 20} for i in range(200)]
    issues = check_document_limits(doc, max_string=10)
    assert len(issues) == 51 and "there may be more" in issues[-1].message
    deep: Any = {}
    for _ in range(100_000):  # far deeper than any recursion limit
        deep = {"k": deep}
    assert len(check_document_limits(deep)) == 1
    assert check_document_limits(None) == [] and check_document_limits("text") == []


def test_deploy_lines_turn_document_limits_into_a_400():
    """What the deploy routes do with the issues (see the integration lines): an invalid_flows 400."""
    from flowengine.api.deps import issues_response

    r = issues_response(check_document_limits([{"id": "n", "type": "x"}] * 3, max_nodes=2))
    assert r.status_code == 400 and json.loads(r.body)["issues"][0]["message"].startswith("the document has 3")
