"""User accounts and API tokens, in the engine's SQLite file (<data_dir>/flowengine.db).

Passwords are hashed with Argon2id (argon2-cffi). API tokens are random 256-bit strings shown
once; only their SHA-256 is stored: a token has far more entropy than a password, so a fast
hash is enough and keeps the per-request check cheap (Argon2 is for guessable secrets).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argon2 import PasswordHasher


from ..storage.db import SqliteFile

ROLES = ("read", "deploy", "admin")  # lowest first: a higher role includes the lower ones
SCOPES = ROLES
TOKEN_PREFIX = "fe_"  # recognisable in logs and by secret scanners
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'deploy', 'read')),
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    user TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('admin', 'deploy', 'read')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


class AccountError(ValueError):
    """A request on accounts that cannot be done (the message says why)."""


class AccountExists(AccountError):
    """The name is taken."""


def scope_rank(scope: str) -> int:
    return ROLES.index(scope)


def lower_scope(a: str, b: str) -> str:
    return a if scope_rank(a) <= scope_rank(b) else b


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AccountError("a name is 1-64 letters, digits or _ . @ -")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class User:
    name: str
    role: str
    created_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Token:
    id: str
    name: str
    user: str
    scope: str
    created_at: float
    revoked: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IssuedToken:
    token: Token
    value: str  # the secret itself: returned once, never stored


class UserStore(SqliteFile):
    schema = _SCHEMA

    def __init__(self, path: Path, hasher: PasswordHasher | None = None, max_concurrent_hashes: int = 2):
        super().__init__(path)
        self._hasher = hasher  # made on first use: start-up does not pay for argon2
        self._dummy_hash: str | None = None
        # Each Argon2 run takes ~64 MiB and tens of ms: a few at a time, off the event loop.
        self._hash_slots = asyncio.Semaphore(max_concurrent_hashes)
        # Changes that check "is this the last admin?" then write run one at a time, or two
        # admins deleting each other at once would both pass the check.
        self._admin_changes = asyncio.Lock()

    async def open(self) -> None:
        await self.connect()

    @property
    def hasher(self) -> PasswordHasher:
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id (RFC 9106 profile)
        return self._hasher

    async def _hash(self, password: str) -> str:
        async with self._hash_slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        async with self._hash_slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    # ------------------------------------------------------------------ users
    async def add_user(self, name: str, password: str, role: str = "admin") -> User:
        check_name(name)
        check_password(password)
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if await self.get_user(name) is not None:
            raise AccountExists(f"user {name!r} already exists")
        if role != "admin" and not await self.has_users():
            raise AccountError("the first account must be an admin: nobody could manage accounts otherwise")
        password_hash = await self._hash(password)
        now = time.time()
        await self._db.execute("INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                               (name, password_hash, role, now))
        await self._db.commit()
        return User(name, role, now)

    async def get_user(self, name: str) -> User | None:
        async with self._db.execute("SELECT name, role, created_at FROM users WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return User(*row) if row else None

    async def get_user_and_stamp(self, name: str) -> tuple[User, str] | None:
        """The user and a stamp that changes with their password and when the account is deleted
        and made again: sessions remember it, so such a change ends them, even when done by
        another process (the CLI)."""
        async with self._db.execute("SELECT name, role, created_at, password_hash FROM users WHERE name = ?",
                                    (name,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        stamp = hashlib.sha256(f"{row[3]}\x00{row[2]!r}".encode()).hexdigest()[:32]
        return User(row[0], row[1], row[2]), stamp

    async def list_users(self) -> list[User]:
        async with self._db.execute("SELECT name, role, created_at FROM users ORDER BY name") as cur:
            return [User(*row) for row in await cur.fetchall()]

    async def delete_user(self, name: str) -> bool:
        """Delete a user and revoke their tokens; False when there is no such user. The last admin
        goes only with the last account (which turns accounts off), never leaving users without one."""
        async with self._admin_changes:
            user = await self.get_user(name)
            if user is None:
                return False
            if user.role == "admin" and await self.count_admins() == 1 and len(await self.list_users()) > 1:
                raise AccountError(f"{name!r} is the last admin: add another admin first, or delete the other "
                                   "accounts first")
            cur = await self._db.execute("DELETE FROM users WHERE name = ?", (name,))
            await self._db.execute("UPDATE tokens SET revoked = 1 WHERE user = ?", (name,))
            await self._db.commit()
            return cur.rowcount > 0

    async def set_password(self, name: str, password: str) -> bool:
        """Replace a user's password; False when there is no such user."""
        check_password(password)
        password_hash = await self._hash(password)
        cur = await self._db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))
        await self._db.commit()
        return cur.rowcount > 0

    async def set_role(self, name: str, role: str) -> User | None:
        """Change a user's role (None: no such user). Never demotes the last admin, and tokens
        above the new role stop working at once (a token never outranks its user)."""
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        async with self._admin_changes:
            user = await self.get_user(name)
            if user is None:
                return None
            if user.role == "admin" and role != "admin" and await self.count_admins() == 1:
                raise AccountError(f"{name!r} is the last admin: make another user an admin first")
            await self._db.execute("UPDATE users SET role = ? WHERE name = ?", (role, name))
            await self._db.commit()
            return User(name, role, user.created_at)

    async def has_users(self) -> bool:
        async with self._db.execute("SELECT 1 FROM users LIMIT 1") as cur:
            return await cur.fetchone() is not None

    async def count_admins(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'") as cur:
            return (await cur.fetchone())[0]

    async def verify(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None. An unknown name costs the same Argon2
        run as a known one, so timing does not tell which names exist."""
        async with self._db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        if row is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self._hash(secrets.token_hex(16))
            await self._verify(self._dummy_hash, password)
            return None
        if not await self._verify(row[0], password):
            return None
        if self.hasher.check_needs_rehash(row[0]):  # parameters were raised since this hash was made
            await self._db.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                                   (await self._hash(password), name))
            await self._db.commit()
        return await self.get_user(name)

    # ------------------------------------------------------------------ tokens
    async def issue_token(self, name: str, user: str, scope: str) -> IssuedToken:
        """A new token for `user`; its scope cannot exceed the user's role."""
        if not name or len(name) > 100:
            raise AccountError("a token needs a name of 1-100 characters")
        if scope not in SCOPES:
            raise AccountError(f"scope must be one of {', '.join(SCOPES)}")
        owner = await self.get_user(user)
        if owner is None:
            raise AccountError(f"no user {user!r}")
        if scope_rank(scope) > scope_rank(owner.role):
            raise AccountError(f"user {user!r} has role {owner.role}: a {scope} token would exceed it")
        value = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = Token(secrets.token_hex(6), name, user, scope, time.time(), False)
        await self._db.execute(
            "INSERT INTO tokens (id, name, user, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (token.id, token.name, token.user, token.scope, hash_token(value), token.created_at))
        await self._db.commit()
        return IssuedToken(token, value)

    async def list_tokens(self, user: str | None = None) -> list[Token]:
        sql = "SELECT id, name, user, scope, created_at, revoked FROM tokens"
        args: tuple = ()
        if user is not None:
            sql, args = sql + " WHERE user = ?", (user,)
        async with self._db.execute(sql + " ORDER BY created_at", args) as cur:
            return [Token(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in await cur.fetchall()]

    async def revoke_token(self, token_id: str) -> bool:
        cur = await self._db.execute("UPDATE tokens SET revoked = 1 WHERE id = ?", (token_id,))
        await self._db.commit()
        return cur.rowcount > 0

    async def check_token(self, value: str) -> tuple[Token, User] | None:
        """The token and its user when `value` is a live token of an existing user."""
        if not value.startswith(TOKEN_PREFIX):
            return None
        async with self._db.execute(
                "SELECT t.id, t.name, t.user, t.scope, t.created_at, t.revoked, u.name, u.role, u.created_at "
                "FROM tokens t JOIN users u ON u.name = t.user WHERE t.token_hash = ? AND t.revoked = 0",
                (hash_token(value),)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Token(row[0], row[1], row[2], row[3], row[4], bool(row[5])), User(row[6], row[7], row[8])
