"""`flowengine user add|list|delete` and `flowengine token add|list|revoke`.

They work on <data_dir>/flowengine.db directly, so they also serve to create the first admin
(needed before binding beyond loopback) and to recover access; a running server sees the
change at its next request.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import ValidationError

from .security.service import DB_FILE
from .security.users import ROLES, SCOPES, AccountError, UserStore


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="manage user accounts (once one exists, the API needs a login)")
    users = user.add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user (prompts for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="admin", help="admin (default), deploy or read")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    listing = users.add_parser("list", help="list users")
    delete = users.add_parser("delete", help="delete a user and revoke their tokens")
    delete.add_argument("name")
    token = sub.add_parser("token", help="manage API tokens")
    tokens = token.add_subparsers(dest="action", required=True)
    tadd = tokens.add_parser("add", help="issue a token (printed once)")
    tadd.add_argument("name", help="what the token is for")
    tadd.add_argument("--user", required=True, help="the user the token acts as")
    tadd.add_argument("--scope", choices=SCOPES, default="read", help="read (default), deploy or admin")
    tlist = tokens.add_parser("list", help="list tokens (never their values)")
    revoke = tokens.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id")
    for p in (add, listing, delete, tadd, tlist, revoke):
        p.add_argument("--data-dir", type=Path, help="where flows and state live (default ~/.flowengine)")
        p.add_argument("--config", type=Path, help="TOML settings file")


def run(args: argparse.Namespace) -> int:
    from .settings import load_settings

    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
    except (ValidationError, OSError, ValueError) as exc:
        print(f"error: bad settings: {exc}", file=sys.stderr)
        return 2
    actions: dict[tuple[str, str], Callable[[UserStore, argparse.Namespace], Awaitable[int]]] = {
        ("user", "add"): _user_add, ("user", "list"): _user_list, ("user", "delete"): _user_delete,
        ("token", "add"): _token_add, ("token", "list"): _token_list, ("token", "revoke"): _token_revoke,
    }
    action = actions[(args.command, args.action)]
    if (args.command, args.action) == ("user", "add"):
        password = _read_password(args.password_stdin)  # before the event loop: getpass blocks
        if password is None:
            return 1
        args.password = password
    return asyncio.run(_with_store(settings.data_dir / DB_FILE, action, args))


async def _with_store(path: Path, action: Callable[[UserStore, argparse.Namespace], Awaitable[int]],
                      args: argparse.Namespace) -> int:
    store = UserStore(path)
    await store.open()
    try:
        return await action(store, args)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return first


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


async def _user_add(store: UserStore, args: argparse.Namespace) -> int:
    user = await store.add_user(args.name, args.password, args.role)
    print(f"added {user.role} {user.name}")
    return 0


async def _user_list(store: UserStore, args: argparse.Namespace) -> int:
    users = await store.list_users()
    if not users:
        print("no users: the API is open, and the server binds loopback only")
    for u in users:
        print(f"{u.name:<24} {u.role:<7} {_when(u.created_at)}")
    return 0


async def _user_delete(store: UserStore, args: argparse.Namespace) -> int:
    if not await store.delete_user(args.name):
        print(f"error: no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.name} (and revoked their tokens)")
    return 0


async def _token_add(store: UserStore, args: argparse.Namespace) -> int:
    issued = await store.issue_token(args.name, args.user, args.scope)
    print(f"token {issued.token.id} ({issued.token.scope}, user {issued.token.user}); it is shown only now:",
          file=sys.stderr)
    print(issued.value)  # alone on stdout, so `TOKEN=$(flowengine token add ...)` works
    return 0


async def _token_list(store: UserStore, args: argparse.Namespace) -> int:
    for t in await store.list_tokens():
        state = "revoked" if t.revoked else "active"
        print(f"{t.id}  {t.name:<20} {t.user:<16} {t.scope:<7} {_when(t.created_at)}  {state}")
    return 0


async def _token_revoke(store: UserStore, args: argparse.Namespace) -> int:
    if not await store.revoke_token(args.id):
        print(f"error: no token {args.id!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.id}")
    return 0
