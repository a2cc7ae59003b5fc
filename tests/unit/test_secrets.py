"""Secrets at rest: AES-GCM, a key kept outside the data dir, a wrong key stops the start, and a
stored secret never reaches the disk or the log in plain text."""

from __future__ import annotations

import base64
import logging
import os
import stat

import pytest

from flowengine.security import CredentialStore, KeySource, SecretBox, SecretKeyError, Security, SecurityError
from flowengine.security.secrets import KEY_ENV
from flowengine.settings import load_settings

SECRET = "hunter2-Pl41nT3xt-must-never-hit-the-disk"


def b64key(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    return tmp_path / "config" / "flowengine" / "secret.key"


def store(tmp_path, key_file, environ=None) -> CredentialStore:
    return CredentialStore(tmp_path / "data" / "flowengine.db", KeySource(key_file, tmp_path / "data", environ))


def test_encrypt_decrypt_binds_the_aad_and_uses_a_fresh_nonce():
    key = os.urandom(32)
    box = SecretBox(key)
    a, b = box.encrypt(b"value", b"node\x00password"), box.encrypt(b"value", b"node\x00password")
    assert a != b and b"value" not in a
    assert box.decrypt(a, b"node\x00password") == b"value"
    with pytest.raises(SecretKeyError, match="wrong key, or the data was altered"):
        box.decrypt(a, b"other\x00password")
    with pytest.raises(SecretKeyError):
        SecretBox(os.urandom(32)).decrypt(a, b"node\x00password")
    assert b64key(key) not in repr(box) and key.hex() not in repr(box)  # the repr names the source only


def test_the_key_file_is_created_0600_outside_the_data_dir_on_first_use(tmp_path, key_file):
    box = KeySource(key_file, tmp_path / "data").load(create=True)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(base64.b64decode(key_file.read_text())) == 32
    again = KeySource(key_file, tmp_path / "data").load(create=False)
    assert again.decrypt(box.encrypt(b"x", b""), b"") == b"x"


def test_a_key_file_inside_the_data_dir_or_readable_by_others_is_refused(tmp_path, key_file):
    with pytest.raises(SecretKeyError, match="inside the data dir"):
        KeySource(tmp_path / "data" / "secret.key", tmp_path / "data").load(create=True)
    KeySource(key_file, tmp_path / "data").load(create=True)
    key_file.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        KeySource(key_file, tmp_path / "data").load(create=False)


def test_the_environment_key_wins_and_a_malformed_one_is_a_clear_error(tmp_path, key_file):
    key = os.urandom(32)
    box = KeySource(key_file, tmp_path, {KEY_ENV: b64key(key)}).load(create=True)
    assert not key_file.exists()  # the environment key is used as it is: no file is written
    assert SecretBox(key).decrypt(box.encrypt(b"x", b"a"), b"a") == b"x"
    with pytest.raises(SecretKeyError, match="must hold 32 bytes"):
        KeySource(key_file, tmp_path, {KEY_ENV: b64key(b"short")}).load(create=True)
    with pytest.raises(SecretKeyError, match="not valid base64"):
        KeySource(key_file, tmp_path, {KEY_ENV: "not base64 !"}).load(create=True)


async def test_credentials_round_trip_and_delete(tmp_path, key_file):
    creds = store(tmp_path, key_file)
    await creds.open()
    assert await creds.get_all() == {}
    assert not key_file.exists()  # nothing stored yet: no key needed, none created
    await creds.put("broker1", {"user": "alice", "password": SECRET})
    await creds.put("n2", {"token": "t", "port": 1883})
    await creds.put("broker1", {"password": "rotated"})  # put replaces the node's fields
    await creds.close()
    creds = store(tmp_path, key_file)
    await creds.open()
    assert await creds.get_all() == {"broker1": {"password": "rotated"}, "n2": {"token": "t", "port": 1883}}
    await creds.delete("n2")
    assert await creds.get_all() == {"broker1": {"password": "rotated"}}
    await creds.close()


async def test_a_wrong_key_is_a_clear_error_at_open_never_empty_credentials(tmp_path, key_file):
    first = {KEY_ENV: b64key(os.urandom(32))}
    creds = store(tmp_path, key_file, first)
    await creds.open()
    await creds.put("broker1", {"password": SECRET})
    await creds.close()
    wrong = store(tmp_path, key_file, {KEY_ENV: b64key(os.urandom(32))})
    with pytest.raises(SecretKeyError, match=r"cannot be decrypted with the key from \$FLOWENGINE_SECRET_KEY"):
        await wrong.open()
    assert not wrong.is_open
    missing = store(tmp_path, key_file)  # no env key, and the key file does not exist
    with pytest.raises(SecretKeyError, match="is missing"):
        await missing.open()
    assert not key_file.exists()  # a lost key is never silently replaced by a new one
    right = store(tmp_path, key_file, first)
    await right.open()
    assert await right.get_all() == {"broker1": {"password": SECRET}}
    await right.close()


async def test_the_application_start_error_names_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, b64key(os.urandom(32)))
    settings = load_settings(data_dir=tmp_path / "data", secret_key_file=tmp_path / "cfg" / "secret.key")
    security = Security(settings)
    await security.open()
    await security.credentials.put("n", {"password": SECRET})
    await security.close()
    monkeypatch.setenv(KEY_ENV, b64key(os.urandom(32)))
    security = Security(settings)
    with pytest.raises(SecurityError, match="not the key they were stored with"):
        await security.open()
    await security.close()


async def test_no_plaintext_secret_on_disk_or_in_the_log(tmp_path, key_file, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # everything, aiosqlite's statement log included
    creds = store(tmp_path, key_file)
    await creds.open()
    await creds.put("broker1", {"user": "alice", "password": SECRET})
    assert (await creds.get_all())["broker1"]["password"] == SECRET
    db = tmp_path / "data" / "flowengine.db"
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()  # WAL mode: the rows are in the -wal file until a checkpoint
    needle = SECRET.encode()
    for path in (db, wal):
        assert needle not in path.read_bytes(), path
    await creds.close()  # the close checkpoints the WAL into the main file
    files = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    assert db in files
    for path in files:
        assert needle not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert SECRET not in caplog.text and SECRET not in out and SECRET not in err


async def test_credentials_posted_with_flows_are_encrypted_and_never_returned(tmp_path, monkeypatch):
    import base64
    import os

    import httpx

    from flowengine.app import Application
    from flowengine.settings import load_settings

    monkeypatch.setenv("FLOWENGINE_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    app = Application(load_settings(data_dir=tmp_path / "data", port=0))
    assert await app.start(None)
    secret = "pa55-" + os.urandom(6).hex()
    flows = [{"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": "1", "autoConnect": False,
              "credentials": {"user": "farmer", "password": secret}}]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
            assert (await client.post("/flows", json=flows)).status_code == 204
            assert secret not in (await client.get("/flows")).text
            assert app.engine.nodes["b"].creds == {"user": "farmer", "password": secret}
            again = [{k: v for k, v in flows[0].items() if k != "credentials"}
                     | {"credentials": {"password": "__PWRD__"}, "name": "renamed"}]
            assert (await client.post("/flows", json=again)).status_code == 204
            assert app.engine.nodes["b"].creds["password"] == secret  # "unchanged" keeps the stored one
    finally:
        await app.stop()
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
