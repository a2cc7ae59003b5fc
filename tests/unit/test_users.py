"""Accounts and API tokens: Argon2id hashes, tokens stored hashed, the admin rules."""

from __future__ import annotations

import io
import sqlite3

import pytest

from flowengine import cli
from flowengine.security import AccountError, AccountExists, UserStore

PASSWORD = "correct horse battery"


@pytest.fixture
async def users(tmp_path):
    store = UserStore(tmp_path / "flowengine.db")
    await store.open()
    yield store
    await store.close()


async def test_passwords_are_argon2id_hashes_and_verify(users, tmp_path):
    await users.add_user("alice", PASSWORD, "admin")
    (stored,) = sqlite3.connect(tmp_path / "flowengine.db").execute(
        "SELECT password_hash FROM users WHERE name = 'alice'").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert (await users.verify("alice", PASSWORD)).role == "admin"
    assert await users.verify("alice", "wrong password") is None
    assert await users.verify("nobody", PASSWORD) is None


async def test_account_rules(users):
    with pytest.raises(AccountError, match="first account must be an admin"):
        await users.add_user("bob", PASSWORD, "read")
    await users.add_user("alice", PASSWORD, "admin")
    with pytest.raises(AccountExists):
        await users.add_user("alice", PASSWORD, "admin")
    with pytest.raises(AccountError, match="at least 8"):
        await users.add_user("carol", "short", "read")
    with pytest.raises(AccountError, match="1-64 letters"):
        await users.add_user("no spaces", PASSWORD, "read")
    await users.add_user("bob", PASSWORD, "read")
    with pytest.raises(AccountError, match="last admin"):
        await users.delete_user("alice")
    assert await users.delete_user("bob") and not await users.delete_user("bob")
    assert await users.delete_user("alice")  # the last account may go: accounts are then off
    assert not await users.has_users()


async def test_tokens_are_stored_hashed_capped_by_role_and_revocable(users, tmp_path):
    await users.add_user("alice", PASSWORD, "admin")
    await users.add_user("dave", PASSWORD, "deploy")
    issued = await users.issue_token("ci", "dave", "deploy")
    assert issued.value.startswith("fe_") and len(issued.value) > 40
    with pytest.raises(AccountError, match="would exceed"):
        await users.issue_token("too-much", "dave", "admin")
    raw = (tmp_path / "flowengine.db").read_bytes() + (tmp_path / "flowengine.db-wal").read_bytes()
    assert issued.value.encode() not in raw
    token, user = await users.check_token(issued.value)
    assert (token.id, token.scope, user.name) == (issued.token.id, "deploy", "dave")
    assert await users.check_token(issued.value + "x") is None
    assert [t.id for t in await users.list_tokens()] == [issued.token.id]
    assert await users.revoke_token(issued.token.id)
    assert await users.check_token(issued.value) is None
    other = await users.issue_token("ci2", "dave", "read")
    await users.delete_user("dave")  # a deleted user's tokens stop working
    assert await users.check_token(other.value) is None


def test_cli_user_and_token_commands(tmp_path, monkeypatch, capsys):
    data = ["--data-dir", str(tmp_path)]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "alice", "--password-stdin", *data]) == 0
    assert "added admin alice" in capsys.readouterr().out
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    assert cli.main(["user", "add", "rita", "--role", "read", *data]) == 0
    assert cli.main(["user", "add", "rita", "--role", "read", *data]) == 1
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["user", "list", *data]) == 0
    listing = capsys.readouterr().out
    assert "alice" in listing and "rita" in listing and "read" in listing
    assert cli.main(["token", "add", "ci", "--user", "alice", "--scope", "deploy", *data]) == 0
    out, err = capsys.readouterr()
    value = out.strip()
    assert value.startswith("fe_") and "shown only now" in err
    assert cli.main(["token", "list", *data]) == 0
    listing = capsys.readouterr().out
    assert "ci" in listing and "deploy" in listing and value not in listing
    assert cli.main(["user", "delete", "rita", *data]) == 0
    assert cli.main(["user", "delete", "rita", *data]) == 1
    token_id = listing.split()[0]
    assert cli.main(["token", "revoke", token_id, *data]) == 0
    capsys.readouterr()
    assert cli.main(["token", "list", *data]) == 0
    assert capsys.readouterr().out.split()[-1] == "revoked"
