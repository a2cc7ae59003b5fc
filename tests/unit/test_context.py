"""Context: node/flow/global scopes, store selection, persistence across a restart."""

from __future__ import annotations

from flowengine.runtime.context import ContextStores, MemoryStore, SqliteStore
from flowengine.testing import FlowHarness


def _stores(path) -> ContextStores:
    return ContextStores({"memory": MemoryStore(), "file": SqliteStore(path / "context.db", flush_interval=0.01)})


async def test_persistent_context_survives_a_restart(tmp_path):
    flow = [{"id": "c", "type": "change", "rules": [
        {"t": "set", "p": "#:(file)::count", "pt": "flow", "to": "payload", "tot": "msg"},
        {"t": "set", "p": "#:(file)::site.name", "pt": "global", "to": "farm", "tot": "str"},
        {"t": "set", "p": "volatile", "pt": "flow", "to": "x", "tot": "str"}]}]
    async with FlowHarness(flow, contexts=_stores(tmp_path)) as h:
        await h.inject("c", {"payload": {"n": 41}})
    # A new engine (new process in real life) over the same file sees the persisted values.
    reader = [{"id": "c", "type": "change", "rules": [
        {"t": "set", "p": "count", "pt": "msg", "to": "#:(file)::count", "tot": "flow"},
        {"t": "set", "p": "site", "pt": "msg", "to": "#:(file)::site", "tot": "global"},
        {"t": "set", "p": "volatile", "pt": "msg", "to": "volatile", "tot": "flow"}], "wires": [["h"]]},
        {"id": "h", "type": "helper"}]
    async with FlowHarness(reader, contexts=_stores(tmp_path)) as h:
        await h.inject("c", {"payload": 0})
        msg = h.messages("h")[0]
        assert msg["count"] == {"n": 41}
        assert msg["site"] == {"name": "farm"}
        assert "volatile" not in msg  # memory store values are gone after a restart


async def test_persistent_store_writes_promptly_without_close(tmp_path):
    import sqlite3

    stores = _stores(tmp_path)
    await stores.open()
    try:
        from flowengine.runtime.context import ScopedContext
        ctx = ScopedContext(stores, "global")
        ctx.set("level", 3, "file")
        await stores.stores["file"].flush()
        rows = sqlite3.connect(tmp_path / "context.db").execute("SELECT scope, key, value FROM context").fetchall()
        assert rows == [("global", "level", "3")]
        ctx.set("level", None, "file")  # null is a value, not a delete
        ctx.set("level", store="file")  # undefined deletes
        await stores.stores["file"].flush()
        rows = sqlite3.connect(tmp_path / "context.db").execute("SELECT * FROM context").fetchall()
        assert rows == []
    finally:
        await stores.close()


async def test_node_context_is_per_node_and_flow_context_per_tab():
    flow = [{"id": "t1", "type": "tab"}, {"id": "t2", "type": "tab"},
            {"id": "a", "type": "change", "z": "t1", "rules": [
                {"t": "set", "p": "k", "pt": "flow", "to": "one", "tot": "str"}]},
            {"id": "b", "type": "change", "z": "t2", "rules": [
                {"t": "set", "p": "got", "pt": "msg", "to": "k", "tot": "flow"}], "wires": [["h"]]},
            {"id": "h", "type": "helper", "z": "t2"}]
    async with FlowHarness(flow) as h:
        await h.inject("a", {"payload": 1})
        await h.inject("b", {"payload": 1})
        assert "got" not in h.messages("h")[0]
        assert h.node("a").flow_context.get("k") == "one"
        h.node("a").context.set("mine", 1)
        assert h.node("b").context.keys() == []
