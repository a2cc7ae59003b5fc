"""Shared helpers for route modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ..errors import ValidationIssue


def application(request: Request) -> Any:
    return request.app.state.application


def issues_response(issues: list[ValidationIssue], status: int = 400) -> JSONResponse:
    return JSONResponse(status_code=status, content={
        "error": "invalid_flows", "message": f"{len(issues)} problem(s) in the flows; nothing was deployed",
        "issues": [i.as_dict() for i in issues]})


def author(request: Request) -> str:
    """Who deploys, for the revision record: the account (and how it authenticated) when there
    are accounts, else the client address."""
    who = getattr(request.state, "principal", None)
    if who is not None and getattr(who, "user", None):
        return f"{who.user} ({who.via})"
    client = request.client.host if request.client else "?"
    return f"http:{client}"
