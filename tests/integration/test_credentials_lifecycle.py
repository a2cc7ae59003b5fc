"""Node credentials through the real Application: a deploy's credentials are stored only once
the deploy succeeded (a refused or failed one changes nothing, not even what runs), those of
nodes that are no longer deployed are forgotten, and a restart with the same FILE does not
import an unchanged `flows_cred.json` again over credentials changed since."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from flowengine import FlowValidationError
from flowengine.app import Application
from flowengine.node import Node
from flowengine.settings import load_settings
from tests.integration.test_api import flow


class StartFails(Node):
    """A node that cannot start (a broker that refuses the connection, a port in use)."""

    type = "test-start-fails"
    outputs = 0

    async def start(self) -> None:
        raise RuntimeError("cannot start")


def new_app(tmp_path: Path) -> Application:
    app = Application(load_settings(data_dir=tmp_path / "data", port=0,
                                    secret_key_file=tmp_path / "cfg" / "secret.key"))
    app.registry.register(StartFails, "testing")
    return app


async def started(tmp_path: Path, flows_file: Path | None = None) -> Application:
    if flows_file is None:
        flows_file = tmp_path / "flows.json"
        if not flows_file.exists():
            flows_file.write_text(json.dumps(flow()))
    app = new_app(tmp_path)
    assert await app.start(flows_file)
    return app


def broker(password: str | None = None, nid: str = "b", host: str = "127.0.0.1") -> dict[str, Any]:
    node: dict[str, Any] = {"id": nid, "type": "mqtt-broker", "broker": host, "port": "1", "autoConnect": False}
    if password is not None:
        node["credentials"] = {"user": "u", "password": password}
    return node


def invalid(doc: list) -> list:
    doc = json.loads(json.dumps(doc))
    doc[1]["repeat"] = "not a number"  # the inject node
    return doc


async def stored(app: Application) -> dict[str, dict[str, Any]]:
    return await app.security.credentials.get_all()


# ---------------------------------------------------------------- F5: only a successful deploy stores them
async def test_a_refused_deploy_changes_neither_the_stored_nor_the_running_credentials(tmp_path):
    app = await started(tmp_path)
    try:
        await app.deploy(flow() + [broker("OLD")], author="t")
        with pytest.raises(FlowValidationError):
            await app.deploy(invalid(flow("two") + [broker("ATTACKER")]), author="t")
        assert (await stored(app))["b"] == {"user": "u", "password": "OLD"}
        assert app.engine.credentials["b"]["password"] == "OLD"
        await app.reload(author="t")  # the nodes are made again from the map
        assert app.engine.nodes["b"].creds["password"] == "OLD"
    finally:
        await app.stop()
    app = await started(tmp_path)
    try:
        assert app.engine.nodes["b"].creds["password"] == "OLD"
    finally:
        await app.stop()


async def test_a_deploy_that_fails_to_start_rolls_the_credentials_back(tmp_path):
    app = await started(tmp_path)
    try:
        await app.deploy(flow() + [broker("OLD")], author="t")
        failing = flow("two") + [broker("NEW"), {"id": "x", "type": "test-start-fails", "z": "t", "x": 0, "y": 0,
                                                 "wires": []}]
        with pytest.raises(FlowValidationError):
            await app.deploy(failing, author="t")
        assert (await stored(app))["b"]["password"] == "OLD"
        assert app.engine.credentials["b"]["password"] == "OLD"
        # The engine restarted the previous flows; their broker runs with the kept password.
        assert "x" not in app.engine.nodes
        assert app.engine.nodes["b"].creds["password"] == "OLD"
        assert app.current_flows()[1]["payload"] == "one"
    finally:
        await app.stop()


async def test_an_exception_in_the_engine_deploy_rolls_the_credentials_back(tmp_path, monkeypatch):
    app = await started(tmp_path)
    try:
        await app.deploy(flow() + [broker("OLD")], author="t")
        seen: list[str] = []

        async def broken_deploy(*args: Any, **kwargs: Any) -> None:
            seen.append(app.engine.credentials["b"]["password"])  # the nodes see the new ones while made
            raise RuntimeError("boom")

        # Fails inside the engine's deploy, after the credentials map was swapped in.
        monkeypatch.setattr(app.engine, "_deploy_valid", broken_deploy)
        with pytest.raises(RuntimeError):
            await app.deploy(flow("two") + [broker("NEW")], author="t")
        assert seen == ["NEW"]
        assert app.engine.credentials["b"]["password"] == "OLD"
        assert (await stored(app))["b"]["password"] == "OLD"
    finally:
        await app.stop()


async def test_a_successful_deploy_stores_them_and_pwrd_keeps_the_stored_value(tmp_path):
    app = await started(tmp_path)
    try:
        await app.deploy(flow() + [broker("OLD")], author="t")
        assert (await stored(app))["b"] == {"user": "u", "password": "OLD"}
        keep = broker("__PWRD__")
        keep["credentials"]["user"] = "v"
        await app.deploy(flow("two") + [keep], author="t")
        assert (await stored(app))["b"] == {"user": "v", "password": "OLD"}
        assert app.engine.nodes["b"].creds == {"user": "v", "password": "OLD"}
        assert "credentials" not in json.dumps(app.current_flows())
    finally:
        await app.stop()


# ---------------------------------------------------------------- F6: removed nodes lose theirs
async def test_removing_a_node_forgets_its_credentials_and_a_new_node_with_its_id_gets_none(tmp_path):
    app = await started(tmp_path)
    try:
        await app.deploy(flow() + [broker("OLD"), broker("OTHER", nid="b2")], author="t")
        with pytest.raises(FlowValidationError):  # a refused deploy without b removes nothing
            await app.deploy(invalid(flow("two")), author="t")
        assert set(await stored(app)) == {"b", "b2"}
        await app.deploy(flow("three") + [broker(nid="b2")], author="t")
        assert set(await stored(app)) == {"b2"}
        assert set(app.engine.credentials) == {"b2"}
        await app.deploy(flow("four") + [broker(nid="b2"), broker(host="evil.example")], author="t", mode="nodes")
        assert app.engine.nodes["b"].creds.get("password") is None
        assert app.engine.nodes["b2"].creds["password"] == "OTHER"
    finally:
        await app.stop()
    app = await started(tmp_path)
    try:
        assert set(await stored(app)) == {"b2"}
    finally:
        await app.stop()


# ---------------------------------------------------------------- F12: flows_cred.json imported once
def write_flows(tmp_path: Path, creds: dict) -> Path:
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(flow() + [broker()]))
    (tmp_path / "flows_cred.json").write_text(json.dumps(creds))
    return flows_file


async def test_a_restart_with_an_unchanged_cred_file_keeps_credentials_changed_since(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="flowengine.app")
    flows_file = write_flows(tmp_path, {"b": {"user": "u", "password": "OLD-LEAKED"}})
    app = await started(tmp_path, flows_file)
    try:
        assert app.engine.nodes["b"].creds["password"] == "OLD-LEAKED"
        assert "imported credentials for 1 nodes" in caplog.text
        await app.deploy(flow() + [broker("NEW-ROTATED")], author="t")
    finally:
        await app.stop()
    for _ in range(2):  # the same command line again, twice
        caplog.clear()
        app = await started(tmp_path, flows_file)
        try:
            assert app.engine.nodes["b"].creds["password"] == "NEW-ROTATED"
            assert (await stored(app))["b"]["password"] == "NEW-ROTATED"
            assert "unchanged since it was imported" in caplog.text
            assert "imported credentials" not in caplog.text
        finally:
            await app.stop()


async def test_a_changed_cred_file_is_imported_again_and_wins(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="flowengine.app")
    flows_file = write_flows(tmp_path, {"b": {"user": "u", "password": "FIRST"}})
    app = await started(tmp_path, flows_file)
    try:
        await app.deploy(flow() + [broker("FROM-API")], author="t")
    finally:
        await app.stop()
    (tmp_path / "flows_cred.json").write_text(json.dumps({"b": {"user": "u", "password": "FROM-FILE"}}))
    caplog.clear()
    app = await started(tmp_path, flows_file)
    try:
        assert "imported credentials for 1 nodes" in caplog.text
        assert app.engine.nodes["b"].creds["password"] == "FROM-FILE"
        assert (await stored(app))["b"]["password"] == "FROM-FILE"
    finally:
        await app.stop()
