"""Node-RED's flows_cred.json: plain and AES-256-CTR encrypted, read beside the flows file."""

from __future__ import annotations

import json
import os

import pytest

from flowengine.app import Application
from flowengine.credentials import CredentialsError, credentials_path, encrypt, load_credentials
from flowengine.settings import load_settings

# Made with Node.js's crypto exactly as Node-RED writes it: aes-256-ctr, key sha256("farm-secret").
NODE_RED_BLOB = {"$": "000102030405060708090a0b0c0d0e0fPYltEqqbdkz/kyXAeFsvd7/RsH9RmvHIi8QKtfmm278aSaMv+OAPBLfyhw=="}


def test_reads_an_encrypted_node_red_file(tmp_path):
    path = tmp_path / "flows_cred.json"
    path.write_text(json.dumps(NODE_RED_BLOB))
    assert load_credentials(path, "farm-secret") == {"b": {"user": "farmer", "password": "s3cret"}}


def test_wrong_or_missing_secret_is_a_clear_error(tmp_path):
    path = tmp_path / "flows_cred.json"
    path.write_text(json.dumps(NODE_RED_BLOB))
    with pytest.raises(CredentialsError, match="wrong credential secret"):
        load_credentials(path, "not-it")
    with pytest.raises(CredentialsError, match="FLOWENGINE_CREDENTIAL_SECRET"):
        load_credentials(path, None)


def test_plain_file_and_round_trip(tmp_path):
    path = tmp_path / "flows_cred.json"
    path.write_text(json.dumps({"b": {"user": "u"}}))
    assert load_credentials(path, None) == {"b": {"user": "u"}}
    path.write_text(json.dumps(encrypt({"x": {"password": "p"}}, "k", os.urandom(16))))
    assert load_credentials(path, "k") == {"x": {"password": "p"}}


def test_name_follows_node_red():
    from pathlib import Path
    assert credentials_path(Path("/d/flows.json")) == Path("/d/flows_cred.json")
    assert credentials_path(Path("/d/farm.json")) == Path("/d/farm_cred.json")


async def test_application_imports_credentials_encrypted_and_never_saves_them_in_clear(tmp_path, monkeypatch):
    import base64
    import os

    monkeypatch.setenv("FLOWENGINE_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps([{"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": "1",
                                  "autoConnect": False}]))
    credentials_path(flows).write_text(json.dumps(NODE_RED_BLOB))
    settings = load_settings(data_dir=tmp_path / "data", credential_secret="farm-secret", port=0)
    app = Application(settings)
    try:
        assert await app.start(flows)
        assert app.engine.nodes["b"].creds == {"user": "farmer", "password": "s3cret"}
    finally:
        await app.stop()
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes(), path
    # A later run without FILE (and without the Node-RED file) still has them, from the store.
    credentials_path(flows).unlink()
    app = Application(load_settings(data_dir=tmp_path / "data", port=0))
    try:
        assert await app.start(None)
        assert app.engine.nodes["b"].creds == {"user": "farmer", "password": "s3cret"}
    finally:
        await app.stop()
