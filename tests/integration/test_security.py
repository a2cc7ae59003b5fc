"""Security by default, through real uvicorn on a free loopback port: open without accounts,
closed once one exists (every route but /healthz), sessions with CSRF, token scopes, revocation,
login rate limiting, the websocket, and the non-loopback rule."""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI

from flowengine.api import create_app, editor
from flowengine.api.auth import DEPLOY_ROUTES, PUBLIC_ROUTES, READ_WEBSOCKETS
from flowengine.api.server import HttpServer
from flowengine.app import Application
from flowengine.security import Security, SecurityError
from flowengine.settings import load_settings
from tests.integration.test_api import flow
from tests.support.app_server import serving

PASSWORD = "correct horse battery"


def running(tmp_path: Path, **flags: Any) -> AbstractAsyncContextManager[tuple[Application, httpx.AsyncClient]]:
    """The real Application serving the small test flow on a free port."""
    return serving(tmp_path, flow(), **flags)


@pytest.fixture
async def server(tmp_path):
    async with running(tmp_path) as pair:
        yield pair


async def add_admin(app: Application, name: str = "alice") -> None:
    await app.security.users.add_user(name, PASSWORD, "admin")  # type: ignore[attr-defined]


async def token(app: Application, user: str, scope: str) -> dict[str, str]:
    issued = await app.security.users.issue_token(f"{user}-{scope}", user, scope)  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {issued.value}"}


async def test_without_accounts_everything_is_open(server):
    app, client = server
    assert (await client.get("/api/v1/state")).status_code == 200
    assert (await client.post("/api/v1/inject/i")).status_code == 200
    assert (await client.get("/api/v1/users")).json() == []
    r = await client.post("/api/v1/users", json={"name": "rita", "password": PASSWORD, "role": "read"})
    assert r.status_code == 400 and "first account must be an admin" in r.json()["message"]
    r = await client.post("/api/v1/users", json={"name": "alice", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 201 and r.json()["role"] == "admin"
    assert (await client.get("/api/v1/state")).status_code == 401  # the first account closes the API


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def every_route(app: FastAPI) -> list[tuple[str, set[str] | None]]:
    """(path, methods) of every route, None methods for a websocket; FastAPI >= 0.13x nests the
    included routers, older releases list them flat."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a flat app.routes
        return [(r.path, getattr(r, "methods", None)) for r in app.routes]
    return [(r.path, r.methods) for r in iter_route_contexts(app.routes)]


async def test_every_route_but_healthz_needs_credentials_once_an_account_exists(server):
    app, client = server
    await add_admin(app)
    routes = every_route(create_app(app))
    assert {"/healthz", "/api/v1/auth/login", "/api/v1/auth/logout"} == PUBLIC_ROUTES
    checked = 0
    for path, methods in routes:
        if path in PUBLIC_ROUTES or editor.is_public(path) or path == "/assets":
            continue  # the editor's own files: public so it can show its login form
        if methods is None:  # a websocket
            with pytest.raises(websockets.InvalidStatus) as exc:
                async with websockets.connect(f"ws://127.0.0.1:{app.port}{_concrete(path)}"):
                    pass
            assert exc.value.response.status_code == 401, path
        for method in sorted(methods or ()):
            r = await client.request(method, _concrete(path), json=flow())
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked >= 20  # /flows, /api/v1/*, docs, openapi, users, tokens, events
    assert (await client.get("/api/v1/no-such-route")).status_code == 401  # even 404s tell nothing
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/")).status_code in (200, 503)  # the editor page (503: not built)
    assert (await client.post("/")).status_code == 401  # only reading the editor's files is public
    for sneaky in ("/assets/../api/v1/flows", "/assets/%2e%2e/api/v1/flows", "/assets/..%2fflowengine.db"):
        r = await client.get(sneaky)
        assert r.status_code in (401, 404), (sneaky, r.status_code)
        assert "flows" not in r.text.lower() or r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "nope-nope"})
    assert r.status_code == 401


def test_the_scope_tables_name_real_routes(tmp_path):
    """The middleware matches its own tables: a renamed route would silently need admin."""
    settings = load_settings(data_dir=tmp_path)
    routes = every_route(create_app(_FakeApplication(settings)))
    pairs = {(m, path) for path, methods in routes for m in (methods or ())}
    assert pairs >= DEPLOY_ROUTES
    assert {path for path, methods in routes if methods is None} >= READ_WEBSOCKETS
    assert {path for path, _ in routes} >= PUBLIC_ROUTES


async def test_login_sets_a_strict_httponly_cookie_and_state_changes_need_csrf(server):
    app, client = server
    await add_admin(app)
    assert (await client.post("/api/v1/auth/login",
                              json={"username": "alice", "password": "wrong password"})).status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"].lower()
    assert "flowengine_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert (await client.get("/api/v1/state")).status_code == 200  # httpx keeps the cookie
    r = await client.post("/api/v1/inject/i")
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = await client.post("/api/v1/inject/i", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert (await client.post("/api/v1/inject/i", headers={"X-CSRF-Token": csrf})).status_code == 200
    assert (await client.post("/api/v1/auth/logout")).status_code == 403  # logout needs the token too
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await client.get("/api/v1/state")).status_code == 401


async def test_a_kept_cookie_is_useless_after_logout(server):
    app, client = server
    await add_admin(app)
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    kept, csrf = client.cookies["flowengine_session"], r.json()["csrf_token"]
    async with httpx.AsyncClient(base_url=client.base_url) as other:  # a second client, no cookie jar of its own
        def state(value: str) -> Any:
            return other.get("/api/v1/state", headers={"Cookie": f"flowengine_session={value}"})

        assert (await state(kept)).status_code == 200
        assert (await state(kept[:-2] + "xx")).status_code == 401  # tampered with
        await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert (await state(kept)).status_code == 401  # ended for good, not just dropped by the browser


async def test_bearer_token_scopes(server):
    app, client = server
    await add_admin(app)
    await app.security.users.add_user("dave", PASSWORD, "deploy")  # type: ignore[attr-defined]
    read, deploy, admin = await token(app, "alice", "read"), await token(app, "dave", "deploy"), \
        await token(app, "alice", "admin")
    first = app.current_rev()
    for path in ("/flows", "/api/v1/flows", "/api/v1/state", "/api/v1/revisions", "/api/v1/nodes", "/readyz"):
        assert (await client.get(path, headers=read)).status_code == 200, path
    r = await client.post("/flows", json=flow("two"), headers=read)
    assert r.status_code == 403 and "needs the deploy scope" in r.json()["message"]
    assert (await client.post("/api/v1/inject/i", headers=read)).status_code == 403
    assert (await client.post(f"/api/v1/revisions/{first}/rollback", headers=read)).status_code == 403
    assert (await client.get("/api/v1/users", headers=read)).status_code == 403
    # deploy: read + deploy/inject/rollback, no accounts (and no CSRF: a bearer token is not ambient)
    assert (await client.post("/flows", json=flow("two"), headers=deploy)).status_code == 204
    assert (await client.post("/api/v1/inject/i", headers=deploy)).status_code == 200
    assert (await client.post(f"/api/v1/revisions/{first}/rollback", headers=deploy)).status_code == 200
    assert app.current_rev() == first
    authors = [r["author"] for r in (await client.get("/api/v1/revisions", headers=read)).json()]
    assert authors[1] == "dave (token)" and authors[0].startswith("dave (token) rollback to ")  # who deployed
    assert (await client.get("/api/v1/tokens", headers=deploy)).status_code == 403
    r = await client.post("/api/v1/users", json={"name": "eve", "password": PASSWORD, "role": "admin"},
                          headers=deploy)
    assert r.status_code == 403
    # admin: everything
    assert (await client.get("/api/v1/users", headers=admin)).status_code == 200
    assert (await client.get("/flows", headers={"Authorization": "Basic YWxpY2U6eA=="})).status_code == 401
    assert (await client.get("/flows", headers={"Authorization": "Bearer fe_guess"})).status_code == 401


async def test_revoked_tokens_and_deleted_users_are_401(server):
    app, client = server
    await add_admin(app)
    admin = await token(app, "alice", "admin")
    r = await client.post("/api/v1/users", json={"name": "dave", "password": PASSWORD, "role": "deploy"},
                          headers=admin)
    assert r.status_code == 201
    r = await client.post("/api/v1/tokens", json={"name": "ci", "scope": "deploy", "user": "dave"}, headers=admin)
    assert r.status_code == 201
    issued = r.json()
    ci = {"Authorization": f"Bearer {issued['token']}"}
    listed = (await client.get("/api/v1/tokens", headers=admin)).json()
    assert issued["token"] not in json.dumps(listed)  # the value is shown once, at creation
    assert (await client.get("/api/v1/state", headers=ci)).status_code == 200
    assert (await client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/state", headers=ci)).status_code == 401
    second = (await client.post("/api/v1/tokens", json={"name": "ci2", "scope": "read", "user": "dave"},
                                headers=admin)).json()
    assert (await client.delete("/api/v1/users/dave", headers=admin)).status_code == 204
    r = await client.get("/api/v1/state", headers={"Authorization": f"Bearer {second['token']}"})
    assert r.status_code == 401
    r = await client.post("/api/v1/tokens", json={"name": "big", "scope": "admin", "user": "nobody"}, headers=admin)
    assert r.status_code == 400
    r = await client.delete("/api/v1/users/alice", headers=admin)
    assert r.status_code == 204  # the only account may go: accounts are off again (loopback: open)
    assert (await client.get("/api/v1/state")).status_code == 200


async def test_the_last_admin_cannot_be_deleted_while_others_remain(server):
    app, client = server
    await add_admin(app)
    admin = await token(app, "alice", "admin")
    await client.post("/api/v1/users", json={"name": "rita", "password": PASSWORD, "role": "read"}, headers=admin)
    r = await client.delete("/api/v1/users/alice", headers=admin)
    assert r.status_code == 409 and "last admin" in r.json()["message"]
    assert (await client.delete("/api/v1/users/ghost", headers=admin)).status_code == 404


async def test_failed_logins_are_rate_limited_per_address(server):
    app, client = server
    await add_admin(app)
    for _ in range(5):
        r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong password"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong password"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # once limited, even the right password waits: guessing cannot go on
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 429
    assert (await client.get("/api/v1/state", headers=await token(app, "alice", "read"))).status_code == 200


async def test_events_websocket_takes_a_token_or_the_session_cookie(server):
    app, client = server
    await add_admin(app)
    admin = await token(app, "alice", "admin")
    url = f"ws://127.0.0.1:{app.port}/api/v1/events"
    with pytest.raises(websockets.InvalidStatus) as exc:
        async with websockets.connect(url + "?token=fe_wrong"):
            pass
    assert exc.value.response.status_code == 401
    async with websockets.connect(url + "?token=" + admin["Authorization"].split()[1]) as ws:
        assert (await client.post("/api/v1/inject/i", headers=admin)).status_code == 200
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "debug":
            pass
    await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    cookie = {"Cookie": f"flowengine_session={client.cookies['flowengine_session']}"}
    async with websockets.connect(url, additional_headers=cookie):
        pass
    # a page on another site cannot ride the cookie
    with pytest.raises(websockets.InvalidStatus) as exc:
        async with websockets.connect(url, additional_headers=cookie, origin="http://evil.example"):
            pass
    assert exc.value.response.status_code == 403


# ---------------------------------------------------------------------- the non-loopback rule
class _FakeApplication:
    """Just what create_app and /api/v1/state need: the server is bound to loopback, but the
    settings say 0.0.0.0, as when the accounts were removed from under a public server."""

    def __init__(self, settings: Any):
        self.settings = settings
        self.security = Security(settings)

    def state_summary(self, details: bool = False) -> dict:
        return {"state": "running"}


async def test_non_loopback_needs_an_admin_account(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", host="0.0.0.0", port=0)
    fake = _FakeApplication(settings)
    await fake.security.open()
    try:
        with pytest.raises(SecurityError, match="refusing to listen on 0.0.0.0.*`flowengine user add NAME`"):
            await fake.security.check_bind("0.0.0.0")
        await fake.security.check_bind("127.0.0.1")
        await fake.security.check_bind("::1")
        server = HttpServer(create_app(fake), "127.0.0.1", 0)
        port = await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/healthz")).status_code == 200
                r = await client.get("/api/v1/state")
                assert r.status_code == 503 and "flowengine user add NAME" in r.json()["message"]
                await fake.security.users.add_user("alice", PASSWORD, "admin")
                await fake.security.check_bind("0.0.0.0")  # an admin exists: allowed
                assert (await client.get("/api/v1/state")).status_code == 401
                r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
                assert r.status_code == 200 and (await client.get("/api/v1/state")).json() == {"state": "running"}
        finally:
            await server.stop()
    finally:
        await fake.security.close()
