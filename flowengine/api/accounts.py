"""User accounts and API tokens (admin scope: the auth middleware guards every path here)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..security.users import AccountError, AccountExists, check_password
from .auth import auth_state, principal

router = APIRouter(tags=["accounts"])

Role = Literal["admin", "deploy", "read"]


class NewUser(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role


class UserChange(BaseModel):
    role: Role | None = None
    password: str | None = Field(None, max_length=1024)


class NewToken(BaseModel):
    name: str = Field(max_length=100)
    scope: Role
    user: str | None = Field(None, description="whose token (default: the caller)")


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message})


@router.get("/users", summary="User accounts")
async def list_users(request: Request) -> list[dict]:
    return [u.as_dict() for u in await auth_state(request).users.list_users()]


@router.post("/users", status_code=201, summary="Add a user (the first one must be an admin)")
async def add_user(request: Request, body: NewUser) -> Any:
    try:
        user = await auth_state(request).users.add_user(body.name, body.password, body.role)
    except AccountError as exc:
        return _error(409 if isinstance(exc, AccountExists) else 400, "invalid_user", str(exc))
    return user.as_dict()


@router.patch("/users/{name}", summary="Change a user's role and/or password (ends their sessions)")
async def change_user(request: Request, name: str, body: UserChange) -> Any:
    auth = auth_state(request)
    users = auth.users
    if body.role is None and body.password is None:
        return _error(400, "invalid_user", "send a role, a password, or both")
    if await users.get_user(name) is None:
        return _error(404, "not_found", f"no user {name!r}")
    try:
        if body.password is not None:
            check_password(body.password)  # before the role changes: all or nothing
        if body.role is not None:
            await users.set_role(name, body.role)
        if body.password is not None:
            await users.set_password(name, body.password)
    except AccountError as exc:
        return _error(409 if "last admin" in str(exc) else 400, "invalid_user", str(exc))
    auth.sessions.drop_user(name)  # a new password or a lower role takes effect now, not at logout
    auth.rights_changed()
    user = await users.get_user(name)
    return user.as_dict() if user is not None else _error(404, "not_found", f"no user {name!r}")


@router.delete("/users/{name}", status_code=204, summary="Delete a user, their sessions and tokens")
async def delete_user(request: Request, name: str) -> Response:
    auth = auth_state(request)
    try:
        deleted = await auth.users.delete_user(name)
    except AccountError as exc:
        return _error(409, "last_admin", str(exc))
    if not deleted:
        return _error(404, "not_found", f"no user {name!r}")
    auth.sessions.drop_user(name)
    auth.rights_changed()
    return Response(status_code=204)


@router.get("/tokens", summary="API tokens (never their values)")
async def list_tokens(request: Request) -> list[dict]:
    return [t.as_dict() for t in await auth_state(request).users.list_tokens()]


@router.post("/tokens", status_code=201, summary="Issue a token: its value is in this answer only")
async def add_token(request: Request, body: NewToken) -> Any:
    caller = principal(request)
    user = body.user or (caller.user if caller is not None else None)
    if user is None:
        return _error(400, "invalid_token", "name the token's user")
    try:
        issued = await auth_state(request).users.issue_token(body.name, user, body.scope)
    except AccountError as exc:
        return _error(400, "invalid_token", str(exc))
    return {**issued.token.as_dict(), "token": issued.value}


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token")
async def revoke_token(request: Request, token_id: str) -> Response:
    auth = auth_state(request)
    if not await auth.users.revoke_token(token_id):
        return _error(404, "not_found", f"no token {token_id!r}")
    auth.rights_changed()
    return Response(status_code=204)
