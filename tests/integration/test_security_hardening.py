"""Regressions from the security review of the server: each test failed before its fix.

Open mode refuses foreign pages (DNS rebinding, cross-site websocket and form POST); the login
limit counts an attempt before the slow check and is neither reset by another account's login
nor dodged with X-Forwarded-For; bad text is a 4xx that echoes no password; a session ends when
its account is deleted and re-created; the last admin survives a race; the events websocket
stops when its credentials are revoked."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter

import httpx
import pytest
import websockets

from tests.integration.test_security import PASSWORD, running, token

# ---- F09
# F9: with no accounts (the default, loopback-only "open" mode) the server trusts any local
# client -- but a web browser on the same machine is one, acting for any site it visits:
#   a) the events websocket accepts a foreign Origin (browsers do not apply CORS to websockets),
#      so any web page can read every debug/status/log event (auth.py returns the `open`
#      principal before the Origin check that the cookie path gets);
#   b) no Host check: after DNS rebinding (evil.example -> 127.0.0.1) a page gets full
#      same-origin access: deploy (python-function = code execution), create the first admin;
#   c) simple cross-site POSTs (no preflight) run state-changing routes, e.g. inject.

async def test_a_foreign_page_cannot_open_the_events_websocket(tmp_path):
    async with running(tmp_path) as (app, client):
        url = f"ws://127.0.0.1:{app.port}/api/v1/events"
        try:
            async with websockets.connect(url, origin="http://evil.example") as ws:
                await client.post("/api/v1/inject/i")
                while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "debug":
                    pass
                pytest.fail(f"a cross-site page reads the event stream: {frame}")
        except websockets.InvalidStatus as exc:
            assert exc.response.status_code == 403

async def test_a_rebound_host_name_is_refused(tmp_path):
    async with running(tmp_path) as (app, client):
        r = await client.get("/api/v1/users", headers={"Host": f"evil.example:{app.port}"})
        assert r.status_code in (400, 403, 421), f"DNS-rebinding Host accepted: {r.status_code} {r.text[:80]}"

async def test_a_cross_site_simple_post_changes_nothing(tmp_path):
    async with running(tmp_path) as (app, client):
        # what <form method=post action="http://127.0.0.1:1880/api/v1/inject/i"> sends
        r = await client.post("/api/v1/inject/i", headers={"Origin": "http://evil.example",
                                                           "Content-Type": "application/x-www-form-urlencoded",
                                                           "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403, f"cross-site form POST fired the inject node: {r.status_code} {r.text}"

# ---- F01
# F1: the per-address login limit is checked before the (slow, awaited) Argon2 verify and the
# failure is recorded only after it, so N concurrent wrong logins all get through.

async def test_concurrent_failed_logins_are_limited(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        rs = await asyncio.gather(*[
            client.post("/api/v1/auth/login", json={"username": "alice", "password": f"guess-{i:04d}"})
            for i in range(40)])
        codes = Counter(r.status_code for r in rs)
        # 5 failures per minute are allowed; everything else must be 429
        assert codes[401] <= 5, f"{codes[401]} password guesses were checked in one burst: {dict(codes)}"

# ---- F02
# F2: any successful login from an address clears that address's failure record, so an attacker
# holding any account (even role read) guesses another user's password without limit.

async def test_own_login_does_not_reset_the_limit_for_other_names(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        await app.security.users.add_user("mallory", "mallory-password", "read")
        guesses_checked = 0
        for round_ in range(5):
            for i in range(4):
                r = await client.post("/api/v1/auth/login",
                                      json={"username": "alice", "password": f"guess-{round_}-{i}"})
                if r.status_code == 401:
                    guesses_checked += 1
            # the attacker logs in to their own account: the counter goes back to zero
            await client.post("/api/v1/auth/login", json={"username": "mallory", "password": "mallory-password"})
        assert guesses_checked <= 5, f"{guesses_checked} guesses at alice's password within a minute"

# ---- F03
# F3: a JSON body with a lone UTF-16 surrogate (valid JSON: "\\ud800") makes every auth route
# answer 500: pydantic rejects the string, and FastAPI's default 422 handler then fails to
# encode the echoed input as UTF-8. The 422 body otherwise echoes the submitted password.

CASES = [
    ("/api/v1/auth/login", '{"username": "alice", "password": "\\ud800-not-the-password"}', False),
    ("/api/v1/auth/login", '{"username": "\\ud800", "password": "whatever-password"}', False),
    ("/api/v1/users", '{"name": "bob", "password": "\\ud800xxxxxxxxx", "role": "read"}', True),
    ("/api/v1/tokens", '{"name": "\\ud800", "scope": "read"}', True),
]

@pytest.mark.parametrize("path,body,as_admin", CASES)
async def test_malformed_strings_are_a_4xx_not_a_500(tmp_path, path, body, as_admin):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        headers = {"content-type": "application/json", **(await token(app, "alice", "admin") if as_admin else {})}
        r = await client.post(path, content=body, headers=headers)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:100])

async def test_a_422_from_login_does_not_echo_the_password(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        secret = "s3cret-" + "x" * 1100  # over max_length=1024
        r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": secret})
        assert r.status_code == 422
        assert "s3cret-" not in r.text, "the 422 body repeats the submitted password"

# ---- F07
# F7: `flowengine user delete` (the documented way to remove a user, e.g. a leaked password)
# leaves that user's sessions in the server's memory. They are refused only while the name is
# missing: once a user of the same name is added again (CLI or API), the old cookie works again
# and acts with the new account's role. Sessions are keyed by name only.

FLOWENGINE = "/work/main/.venv/bin/flowengine"

async def cli(data_dir, *args, stdin: str | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(
        FLOWENGINE, *args, "--data-dir", str(data_dir), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ})
    out, err = await proc.communicate(stdin.encode() if stdin else None)
    assert proc.returncode == 0, err.decode()

async def test_a_deleted_users_session_stays_dead(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        await app.security.users.add_user("bob", "bob-old-password", "admin")
        r = await client.post("/api/v1/auth/login", json={"username": "bob", "password": "bob-old-password"})
        stolen = client.cookies["flowengine_session"]  # e.g. a cookie taken from bob's old laptop
        csrf = r.json()["csrf_token"]
        data_dir = tmp_path / "data"
        await cli(data_dir, "user", "delete", "bob")
        await cli(data_dir, "user", "add", "bob", "--role", "admin", "--password-stdin", stdin="bob-new-password\n")
        async with httpx.AsyncClient(base_url=client.base_url) as thief:
            h = {"Cookie": f"flowengine_session={stolen}", "X-CSRF-Token": csrf}
            r = await thief.get("/api/v1/users", headers=h)
            assert r.status_code == 401, f"the deleted account's session works for the new bob: {r.status_code}"

# ---- F10
# F10: uvicorn's proxy-headers handling is on by default (forwarded_allow_ips=127.0.0.1) and the
# server does not turn it off, so for any connection from loopback -- a local user, a local
# SSRF, or a reverse proxy that forwards the client's header -- request.client.host is whatever
# X-Forwarded-For says. The login limiter (and revision `author`) key on it: a fresh fake address
# per request gets fresh attempts.

async def test_x_forwarded_for_does_not_reset_the_limit(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        checked = 0
        for i in range(30):
            r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": f"guess-{i:03d}"},
                                  headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            checked += r.status_code == 401
        assert checked <= 5, f"{checked} guesses from one loopback client"

# ---- F11
# F11: UserStore.delete_user (and set_role) check "is this the last admin?" and then delete in
# separate awaits with no lock/transaction, so two concurrent requests can remove both of the
# last two admins, leaving accounts with no admin: nobody can manage users over the API and a
# non-loopback `run` then refuses to start (check_bind counts admins).

async def test_two_concurrent_deletes_cannot_remove_every_admin(tmp_path):
    async with running(tmp_path) as (app, client):
        users = app.security.users
        await users.add_user("alice", PASSWORD, "admin")
        await users.add_user("bob", PASSWORD, "admin")
        await users.add_user("rita", PASSWORD, "read")
        h = await token(app, "alice", "admin")
        h2 = await token(app, "bob", "admin")
        r1, r2 = await asyncio.gather(client.delete("/api/v1/users/alice", headers=h2),
                                      client.delete("/api/v1/users/bob", headers=h))
        admins = await users.count_admins()
        assert admins >= 1, f"both deletes succeeded ({r1.status_code}, {r2.status_code}): 0 admins, users left: " \
                            f"{[u.name for u in await users.list_users()]}"

# ---- F13
# F13: the events websocket is authenticated once, at connect. Revoking the token, deleting the
# user, changing their role/password or logging out does not end an open stream: it keeps
# receiving every debug/status/log event (auth.py checks only the handshake; v1.events never
# re-checks).

async def test_revoking_the_token_ends_its_websocket(tmp_path):
    async with running(tmp_path) as (app, client):
        await app.security.users.add_user("alice", PASSWORD, "admin")
        admin = await token(app, "alice", "admin")
        issued = (await client.post("/api/v1/tokens", json={"name": "dash", "scope": "read"}, headers=admin)).json()
        url = f"ws://127.0.0.1:{app.port}/api/v1/events?token={issued['token']}"
        async with websockets.connect(url) as ws:
            assert (await client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin)).status_code == 204
            assert (await client.get("/api/v1/state", headers={"Authorization": f"Bearer {issued['token']}"})
                    ).status_code == 401  # the token is dead for HTTP...
            await asyncio.sleep(0.2)
            await client.post("/api/v1/inject/i", headers=admin)
            try:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 3))
                    if frame["type"] == "debug":
                        pytest.fail(f"...but its websocket still streams events: {frame['data']}")
            except (TimeoutError, websockets.ConnectionClosed):
                pass


# ---- the editor page's headers
async def test_the_editor_page_forbids_framing_and_foreign_scripts(tmp_path):
    async with running(tmp_path) as (_app, client):
        r = await client.get("/")
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
