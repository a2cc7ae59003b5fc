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


async def test_application_hands_credentials_to_nodes_and_never_saves_them(tmp_path):
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps([{"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": "1",
                                  "autoConnect": False}]))
    credentials_path(flows).write_text(json.dumps(NODE_RED_BLOB))
    app = Application(load_settings(data_dir=tmp_path / "data", credential_secret="farm-secret", port=0))
    try:
        assert await app.start(flows)
        assert app.engine.nodes["b"].creds == {"user": "farmer", "password": "s3cret"}
        assert "s3cret" not in (tmp_path / "data" / "flows.json").read_text()
    finally:
        await app.stop()
