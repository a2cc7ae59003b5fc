"""Authentication and authorisation for every route, by default.

Without user accounts the API is open (the application then binds loopback only). Once an
account exists, every route but /healthz and login/logout needs either a session cookie (from
POST /api/v1/auth/login; state-changing requests also send its CSRF token in X-CSRF-Token) or
`Authorization: Bearer <token>`; the websocket /api/v1/events also takes `?token=`.

The check is an ASGI middleware, not a per-router dependency, so that routes added later, the
docs and the websocket are covered without anyone remembering to opt in. The scope a request
needs comes from its method and path, matched against the tables below (not FastAPI's router
internals, which change between releases): GET-like methods need `read`, the deploy routes
need `deploy`, everything else (including any new route) needs `admin`. A route missing from
the tables fails closed.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from ..security.users import AccountError, UserStore, lower_scope, scope_rank
from . import editor

log = logging.getLogger("flowengine.auth")

SESSION_COOKIE = "flowengine_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_ROUTES = frozenset({"/healthz", "/api/v1/auth/login", "/api/v1/auth/logout"})
ADMIN_PREFIXES = ("/api/v1/users", "/api/v1/tokens")
DEPLOY_ROUTES = frozenset({
    ("POST", "/flows"),
    ("PUT", "/api/v1/flows"),
    ("POST", "/api/v1/flows/validate"),
    ("POST", "/api/v1/revisions/{rev}/rollback"),
    ("POST", "/api/v1/inject/{node_id}"),
})
READ_WEBSOCKETS = frozenset({"/api/v1/events"})
# Any signed-in user may change their own password (the handler checks the current one).
SELF_SERVICE_ROUTES = frozenset({("POST", "/api/v1/auth/password")})
NO_ACCOUNTS_MESSAGE = ("no user accounts exist and the server is not on loopback: create an admin with "
                       "`flowengine user add NAME`")


def _pattern(template: str) -> re.Pattern[str]:
    """`/a/{id}/b` -> ^/a/[^/]+/b$ (a path parameter is one segment, as in Starlette)."""
    parts = ("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
    return re.compile("^" + "/".join(parts) + "$")


_DEPLOY_PATTERNS = [(method, _pattern(template)) for method, template in DEPLOY_ROUTES]


def required_scope(kind: str, method: str, path: str) -> str | None:
    """The scope a request needs (None: public). Unknown state-changing routes need admin."""
    if path in PUBLIC_ROUTES or (kind == "http" and method in SAFE_METHODS and editor.is_public(path)):
        return None
    if path.startswith(ADMIN_PREFIXES):
        return "admin"
    if (method, path) in SELF_SERVICE_ROUTES:
        return "read"
    if kind == "websocket":
        return "read" if path in READ_WEBSOCKETS else "admin"
    if method in SAFE_METHODS:
        return "read"
    if any(m == method and pattern.match(path) for m, pattern in _DEPLOY_PATTERNS):
        return "deploy"
    return "admin"


@dataclass
class Principal:
    """Who is calling: `via` is open (no accounts), session or token."""

    user: str | None
    scope: str
    via: str
    token_id: str | None = None
    session_id: str | None = None


@dataclass
class Session:
    id: str
    user: str
    csrf: str
    expires: float
    stamp: str  # the account's stamp at login: a new password or a re-created account ends the session


class Sessions:
    """Login sessions, kept in memory: logout ends one for good, and a restart ends them all.
    The cookie carries the session id signed with a per-process key (itsdangerous)."""

    def __init__(self, ttl: float, max_sessions: int = 1000):
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._signer = URLSafeTimedSerializer(secrets.token_bytes(32), salt="flowengine-session")
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, user: str, stamp: str) -> tuple[str, Session]:
        now = time.time()
        for sid in [s.id for s in self._sessions.values() if s.expires <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= self.max_sessions:  # bounded memory: the oldest login goes first
            self._sessions.popitem(last=False)
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now + self.ttl, stamp)
        self._sessions[session.id] = session
        return self._signer.dumps(session.id), session

    def get(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie, max_age=self.ttl)
        except BadSignature:
            return None
        session = self._sessions.get(sid) if isinstance(sid, str) else None
        if session is None or session.expires <= time.time():
            return None
        return session

    def by_id(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        return session if session is not None and session.expires > time.time() else None

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def drop_user(self, user: str) -> None:
        for sid in [s.id for s in self._sessions.values() if s.user == user]:
            del self._sessions[sid]


class LoginLimiter:
    """At most `max_failures` failed logins per client address in `window` seconds, and at most
    `max_total_failures` from all addresses together (an attacker with many addresses, e.g. an
    IPv6 range, gets no more guesses than that). Past either limit, logins are refused (429)
    until the oldest failure ages out. The global limit can lock out a real user during an
    attack for at most `window` seconds; bounding the guess rate is worth that."""

    def __init__(self, max_failures: int = 5, window: float = 60.0, max_clients: int = 10_000,
                 max_total_failures: int = 100):
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self.max_total_failures = max_total_failures
        self._failures: dict[str, deque[float]] = {}
        self._all_failures: deque[float] = deque(maxlen=max_total_failures)

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic()
        waits = [self._wait(self._all_failures, self.max_total_failures, now)]
        failures = self._failures.get(client)
        if failures:
            waits.append(self._wait(failures, self.max_failures, now))
        return max(waits)

    def _wait(self, failures: deque[float], limit: int, now: float) -> float:
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < limit:
            return 0.0
        return max(failures[0] + self.window - now, 0.001)

    def failure(self, client: str) -> None:
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._prune()
        now = time.monotonic()
        self._failures.setdefault(client, deque()).append(now)
        self._all_failures.append(now)

    def forgive(self, client: str) -> None:
        """Take back the one attempt a login counted before checking the password, when it was
        right. Earlier failures stay: a correct password for one account must not reset the
        count of guesses at another from the same address."""
        failures = self._failures.get(client)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[client]
        if self._all_failures:
            self._all_failures.pop()

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.window
        for client in [c for c, f in self._failures.items() if not f or f[-1] <= cutoff]:
            del self._failures[client]
        while len(self._failures) >= self.max_clients:  # still full: forget the oldest entries
            del self._failures[next(iter(self._failures))]


class Denied(Exception):
    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class Auth:
    """The authentication state of one app: the user store, sessions and the login limiter."""

    def __init__(self, users: UserStore, open_without_accounts: bool, session_ttl: float = 12 * 3600.0):
        self.users = users
        self.open_without_accounts = open_without_accounts
        self.sessions = Sessions(session_ttl)
        self.limiter = LoginLimiter()
        # Bumped by every change that can take rights away (logout, revocation, deletion, role or
        # password change), so long-lived connections re-check at once instead of on their timer.
        self.generation = 0

    def rights_changed(self) -> None:
        self.generation += 1

    async def authenticate(self, conn: HTTPConnection, kind: str, method: str) -> Principal:
        """Who is calling, or Denied (401 no/bad credentials, 403 CSRF or foreign origin)."""
        if not await self.users.has_users():
            if self.open_without_accounts:
                # Open means open to local programs, not to every web page the local browser shows.
                _refuse_foreign_browser_requests(conn, kind, method, loopback_host_only=True)
                return Principal(None, "admin", "open")
            raise Denied(503, "no_accounts", NO_ACCOUNTS_MESSAGE)
        authorization = conn.headers.get("authorization")
        if authorization is not None:
            kind_, _, value = authorization.partition(" ")
            if kind_.lower() != "bearer" or not value.strip():
                raise Denied(401, "unauthorized", "use `Authorization: Bearer <token>`")
            return await self._token(value.strip())
        if kind == "websocket" and conn.query_params.get("token"):
            return await self._token(conn.query_params["token"])
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie is None:
            raise Denied(401, "unauthorized", "log in (POST /api/v1/auth/login) or send a bearer token")
        session = self.sessions.get(cookie)
        found = await self.users.get_user_and_stamp(session.user) if session is not None else None
        if session is None or found is None or not hmac.compare_digest(found[1], session.stamp):
            raise Denied(401, "unauthorized", "the session has expired or ended: log in again")
        user = found[0]
        if kind == "http" and method not in SAFE_METHODS:
            sent = conn.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise Denied(403, "csrf", f"send the csrf_token from the login in the {CSRF_HEADER} header")
        _refuse_foreign_browser_requests(conn, kind, method, loopback_host_only=False)
        return Principal(user.name, user.role, "session", session_id=session.id)

    async def _token(self, value: str) -> Principal:
        found = await self.users.check_token(value)
        if found is None:
            raise Denied(401, "unauthorized", "the token is unknown or revoked")
        token, user = found
        # A token never outranks its user, even if the user's role was lowered later.
        return Principal(user.name, lower_scope(token.scope, user.role), "token", token_id=token.id)


def _same_origin(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient-cookie risk
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/").lower() == host.lower()


def _is_loopback_host(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:1880
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return (host in ("localhost", "::1") or host.endswith(".localhost")
            or re.fullmatch(r"127(\.\d{1,3}){3}", host) is not None)


def _refuse_foreign_browser_requests(conn: HTTPConnection, kind: str, method: str, *, loopback_host_only: bool) -> None:
    """Requests that carry ambient authority (a cookie, or nothing at all in open mode) must come
    from this server's own pages: a browser acting for another site is refused.
    - open mode answers only to loopback Host names: a DNS-rebound name (evil.example ->
      127.0.0.1) would otherwise make the API same-origin for a foreign page;
    - a websocket's Origin must be this server (browsers apply no CORS to websockets);
    - a state change must not come from another origin (simple cross-site form POSTs need no
      preflight)."""
    if loopback_host_only and not _is_loopback_host(conn.headers.get("host", "")):
        raise Denied(403, "host", "without accounts the server answers only to loopback host names "
                                  "(localhost, 127.0.0.1, [::1]); create an account to use other names")
    if kind == "websocket" and not _same_origin(conn):
        raise Denied(403, "origin", "the websocket's Origin is not this server")
    cross_site = not _same_origin(conn) or conn.headers.get("sec-fetch-site") == "cross-site"
    if kind == "http" and method not in SAFE_METHODS and cross_site:
        raise Denied(403, "origin", "a state change from another site's page is refused")


class AuthMiddleware:
    def __init__(self, app: ASGIApp, auth: Auth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if kind == "http" else "GET"
        needed = required_scope(kind, method, scope["path"])
        if needed is not None:
            try:
                principal = await self.auth.authenticate(HTTPConnection(scope), kind, method)
                if scope_rank(principal.scope) < scope_rank(needed):
                    raise Denied(403, "forbidden", f"this needs the {needed} scope; the {principal.via} "
                                                   f"has {principal.scope}")
            except Denied as denied:
                await _deny(scope, receive, send, denied)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


async def _deny(scope: Scope, receive: Receive, send: Send, denied: Denied) -> None:
    headers = {"WWW-Authenticate": 'Bearer realm="flowengine"'} if denied.status == 401 else {}
    response = JSONResponse(status_code=denied.status, content={"error": denied.error, "message": denied.message},
                            headers=headers)
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
        await WebSocketClose(code=1008, reason=denied.error)(scope, receive, send)  # the server answers 403
        return
    await response(scope, receive, send)


def rights_generation(conn: HTTPConnection) -> int:
    auth: Auth | None = getattr(conn.app.state, "auth", None)
    return auth.generation if auth is not None else 0


async def still_allowed(conn: HTTPConnection) -> bool:
    """Whether a long-lived connection (the events websocket) may go on: its token may have been
    revoked, its session ended, or its user deleted or demoted since it connected."""
    auth: Auth | None = getattr(conn.app.state, "auth", None)
    if auth is None:
        return True
    try:
        who = await auth.authenticate(conn, "websocket", "GET")
    except Denied:
        return False
    return scope_rank(who.scope) >= scope_rank("read")


def principal(request: Request) -> Principal | None:
    """The caller, as the middleware found it (None on public routes)."""
    return getattr(request.state, "principal", None)


def auth_state(request: Request) -> Auth:
    return request.app.state.auth


# ---------------------------------------------------------------------- login / logout
router = APIRouter(tags=["auth"])


class Login(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)  # bounds the work one request can ask of Argon2


@router.post("/auth/login", summary="Log in: sets the session cookie, returns the CSRF token",
             responses={401: {"description": "wrong user name or password"},
                        429: {"description": "too many failed logins from this address"}})
async def login(request: Request, body: Login) -> JSONResponse:
    auth = auth_state(request)
    client = request.client.host if request.client else "?"
    refused = _count_attempt(auth, client)
    if refused is not None:
        return refused
    user = await auth.users.verify(body.username, body.password)
    found = await auth.users.get_user_and_stamp(user.name) if user is not None else None
    if found is None:
        log.warning("failed login from %s", client)  # not the name: people type passwords into it
        return JSONResponse(status_code=401, content={"error": "invalid_credentials",
                                                      "message": "wrong user name or password"})
    auth.limiter.forgive(client)
    user, stamp = found
    old = auth.sessions.get(request.cookies.get(SESSION_COOKIE))
    if old is not None:
        auth.sessions.drop(old.id)  # a login always starts a fresh session (no fixation)
    return _new_session(request, auth, user.name, stamp, {"user": user.name, "role": user.role,
                                                          "expires_in": int(auth.sessions.ttl)})


@router.post("/auth/logout", status_code=204, summary="End the session (send its CSRF token)")
async def logout(request: Request) -> Response:
    auth = auth_state(request)
    session = auth.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
            return JSONResponse(status_code=403, content={"error": "csrf",
                                                          "message": f"send the csrf_token in {CSRF_HEADER}"})
        auth.sessions.drop(session.id)
        auth.rights_changed()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/auth/me", summary="Who is signed in, and the session's CSRF token",
            responses={401: {"description": "accounts exist and the request has no valid session or token"}})
async def me(request: Request) -> dict:
    who = principal(request)
    session = auth_state(request).sessions.by_id(who.session_id) if who and who.session_id else None
    return {"accounts": who is not None and who.via != "open", "user": who.user if who else None,
            "role": who.scope if who else "admin", "via": who.via if who else "open",
            "csrf_token": session.csrf if session is not None else None}


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post("/auth/password", summary="Change your own password (a session, not a token); ends your "
                                       "other sessions and returns a fresh CSRF token",
             responses={400: {"description": "the new password is too short"},
                        403: {"description": "wrong current password, or not a session"},
                        429: {"description": "too many failed attempts"}})
async def change_password(request: Request, body: PasswordChange) -> JSONResponse:
    auth = auth_state(request)
    who = principal(request)
    if who is None or who.user is None or who.via != "session":
        return JSONResponse(status_code=403, content={"error": "forbidden",
                                                      "message": "sign in with a password to change it"})
    client = request.client.host if request.client else "?"
    refused = _count_attempt(auth, client)
    if refused is not None:
        return refused
    if await auth.users.verify(who.user, body.current_password) is None:
        return JSONResponse(status_code=403, content={"error": "invalid_credentials",
                                                      "message": "the current password is wrong"})
    auth.limiter.forgive(client)
    try:
        await auth.users.set_password(who.user, body.new_password)
    except AccountError as exc:
        return JSONResponse(status_code=400, content={"error": "invalid_password", "message": str(exc)})
    auth.sessions.drop_user(who.user)  # a stolen session ends with the old password
    auth.rights_changed()
    found = await auth.users.get_user_and_stamp(who.user)
    if found is None:
        return JSONResponse(status_code=401, content={"error": "unauthorized", "message": "the account is gone"})
    return _new_session(request, auth, who.user, found[1], {"user": who.user})


def _count_attempt(auth: Auth, client: str) -> JSONResponse | None:
    """A 429 while `client` is over the limit; else the attempt is counted as a failure now,
    before the slow password check, so parallel guesses cannot all pass the limit first (a right
    password then takes it back with `limiter.forgive`)."""
    wait = auth.limiter.retry_after(client)
    if wait:
        return JSONResponse(status_code=429, headers={"Retry-After": str(int(wait) + 1)},
                            content={"error": "too_many_attempts", "message": "too many failed attempts; try later"})
    auth.limiter.failure(client)
    return None


def _new_session(request: Request, auth: Auth, user: str, stamp: str, body: dict) -> JSONResponse:
    """A fresh session for `user`: its signed cookie, and its CSRF token in the answer."""
    cookie, session = auth.sessions.create(user, stamp)
    response = JSONResponse({**body, "csrf_token": session.csrf})
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(auth.sessions.ttl), path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


def install(app: Any, users: UserStore, open_without_accounts: bool, session_ttl: float) -> Auth:
    """Guard every route of `app` and add the login/logout routes."""
    auth = Auth(users, open_without_accounts, session_ttl)
    app.state.auth = auth
    app.add_middleware(AuthMiddleware, auth=auth)
    app.include_router(router, prefix="/api/v1")
    return auth
