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
