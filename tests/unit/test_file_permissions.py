"""The data dir is private: it holds password and token hashes (flowengine.db), revisions and
context. Through the real Application, under the usual umask 022: the dir is 0700, the SQLite
files (and their -wal/-shm) and the data dir's flows.json are 0600, whatever the umask; the
user's FILE keeps the mode it has."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowengine.app import Application
from flowengine.settings import load_settings
from tests.integration.test_api import flow

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def new_app(tmp_path: Path) -> Application:
    return Application(load_settings(data_dir=tmp_path / "data", port=0,
                                     secret_key_file=tmp_path / "cfg" / "secret.key"))


async def test_the_data_dir_and_everything_the_engine_writes_in_it_are_private(tmp_path, umask_022):
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(flow()))
    os.chmod(flows_file, 0o640)
    app = new_app(tmp_path)
    assert await app.start(flows_file)
    try:
        await app.security.users.add_user("alice", "correct horse battery", "admin")
        await app.deploy(flow("two") + [{"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1",
                                         "autoConnect": False, "credentials": {"password": "pw"}}], author="t")
        app.contexts.stores["file"].scope("global")["k"] = 1  # something for context.db to hold
        data = tmp_path / "data"
        files = [data / name for name in ("flowengine.db", "flowengine.db-wal", "flowengine.db-shm",
                                          "context.db", "context.db-wal", "context.db-shm", "flows.json")]
        assert all(p.exists() for p in files), [p.name for p in files if not p.exists()]
        assert mode(data) == 0o700
        assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}
        assert mode(flows_file) == 0o640  # the user's FILE: written back, its mode left alone
        assert json.loads(flows_file.read_text())[0]["label"] == "two"
    finally:
        await app.stop()


async def test_an_existing_data_dir_made_by_an_earlier_version_is_made_private(tmp_path, umask_022):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "flows.json").write_text(json.dumps(flow()))
    os.chmod(data / "flows.json", 0o644)
    app = new_app(tmp_path)
    assert await app.start(None)  # the data dir's flows.json
    try:
        assert mode(data) == 0o700
        await app.deploy(flow("two"), author="t")  # the write-back replaces the readable copy
        assert mode(data / "flows.json") == 0o600
    finally:
        await app.stop()


async def test_a_stale_temp_file_does_not_make_the_flows_copy_readable(tmp_path, umask_022):
    app = new_app(tmp_path)
    assert await app.start(None)
    try:
        stale = tmp_path / "data" / ".flows.json.tmp"  # left by a crash mid-write, by an earlier version
        stale.write_text("[]")
        os.chmod(stale, 0o644)
        await app.deploy(flow(), author="t")
        assert mode(tmp_path / "data" / "flows.json") == 0o600
    finally:
        await app.stop()
