"""Account management through real HTTP: who am I (with the CSRF token after a page reload),
changing your own password, an admin changing roles and passwords, and the global login limit."""

from __future__ import annotations

import pytest

from flowengine.api.auth import LoginLimiter
from tests.integration.test_security import PASSWORD, add_admin, running, token

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
async def server(tmp_path):
    async with running(tmp_path) as pair:
        yield pair


async def login(client, name: str = "alice", password: str = PASSWORD) -> str:
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


async def test_me_without_accounts_is_the_open_admin(server):
    _, client = server
    r = await client.get("/api/v1/auth/me")
    assert r.json() == {"accounts": False, "user": None, "role": "admin", "via": "open", "csrf_token": None}


async def test_me_gives_a_reloaded_page_its_csrf_token(server):
    app, client = server
    await add_admin(app)
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    csrf = await login(client)
    me = (await client.get("/api/v1/auth/me")).json()
    assert me == {"accounts": True, "user": "alice", "role": "admin", "via": "session", "csrf_token": csrf}
    headers = await token(app, "alice", "read")
    me = (await client.get("/api/v1/auth/me", headers=headers, cookies={})).json()
    assert me["via"] == "token" and me["role"] == "read" and me["csrf_token"] is None


async def test_changing_your_own_password_ends_other_sessions(server):
    app, client = server
    await add_admin(app)
    await app.security.users.add_user("rita", PASSWORD, "read")
    csrf = await login(client, "rita")
    other_cookie = client.cookies.get("flowengine_session")
    body = {"current_password": "wrong wrong wrong", "new_password": NEW_PASSWORD}
    r = await client.post("/api/v1/auth/password", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["error"] == "invalid_credentials"
    body = {"current_password": PASSWORD, "new_password": "short"}
    r = await client.post("/api/v1/auth/password", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400
    r = await client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 403 and r.json()["error"] == "csrf"  # a session needs its CSRF token here too
    r = await client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                          headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["csrf_token"] != csrf
    assert (await client.get("/api/v1/state")).status_code == 200  # this client got a fresh session
    old = await client.get("/api/v1/state", cookies={"flowengine_session": other_cookie})
    assert old.status_code == 401  # the session from before the change is over
    client.cookies.clear()
    assert (await client.post("/api/v1/auth/login", json={"username": "rita", "password": PASSWORD})).status_code == 401
    await login(client, "rita", NEW_PASSWORD)


async def test_a_token_cannot_change_a_password(server):
    app, client = server
    await add_admin(app)
    headers = await token(app, "alice", "admin")
    r = await client.post("/api/v1/auth/password", headers=headers,
                          json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 403


async def test_admin_changes_roles_and_passwords(server):
    app, client = server
    await add_admin(app)
    await app.security.users.add_user("dave", PASSWORD, "deploy")
    admin = await token(app, "alice", "admin")
    dave_deploy = await token(app, "dave", "deploy")
    await login(client, "dave")
    assert (await client.get("/api/v1/state")).status_code == 200
    r = await client.patch("/api/v1/users/dave", json={"role": "read"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "read"
    assert (await client.get("/api/v1/state")).status_code == 401  # dave's session ended with the change
    client.cookies.clear()
    r = await client.post("/api/v1/inject/i", headers=dave_deploy)
    assert r.status_code == 403  # the deploy token no longer outranks its user
    r = await client.patch("/api/v1/users/dave", json={"password": NEW_PASSWORD}, headers=admin)
    assert r.status_code == 200
    await login(client, "dave", NEW_PASSWORD)
    client.cookies.clear()
    r = await client.patch("/api/v1/users/alice", json={"role": "read"}, headers=admin)
    assert r.status_code == 409 and "last admin" in r.json()["message"]
    r = await client.patch("/api/v1/users/dave", json={"role": "admin", "password": "short"}, headers=admin)
    assert r.status_code == 400 and (await app.security.users.get_user("dave")).role == "read"  # all or nothing
    assert (await client.patch("/api/v1/users/nobody", json={"role": "read"}, headers=admin)).status_code == 404
    assert (await client.patch("/api/v1/users/dave", json={}, headers=admin)).status_code == 400
    r = await client.patch("/api/v1/users/dave", json={"role": "read"}, headers=dave_deploy)
    assert r.status_code == 403  # only admins manage accounts


def test_global_login_limit_counts_failures_from_every_address():
    limiter = LoginLimiter(max_failures=5, window=60, max_total_failures=10)
    for i in range(10):
        assert limiter.retry_after(f"10.0.0.{i}") == 0
        limiter.failure(f"10.0.0.{i}")  # one failure each: no address reaches its own limit
    assert limiter.retry_after("10.0.0.200") > 0  # a fresh address is refused too
    assert limiter.retry_after("10.0.0.3") > 0


def test_a_right_password_takes_back_only_its_own_attempt():
    limiter = LoginLimiter(max_failures=3, window=60, max_total_failures=100)
    limiter.failure("10.0.0.1")
    limiter.failure("10.0.0.1")  # two wrong guesses at bob
    limiter.failure("10.0.0.1")  # alice's own login, counted before its check...
    limiter.forgive("10.0.0.1")  # ...and taken back when it was right
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failure("10.0.0.1")  # the third guess at bob still counts
    assert limiter.retry_after("10.0.0.1") > 0


def test_per_address_login_limit_still_applies():
    limiter = LoginLimiter(max_failures=3, window=60, max_total_failures=100)
    for _ in range(3):
        limiter.failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") > 0
    assert limiter.retry_after("10.0.0.2") == 0
