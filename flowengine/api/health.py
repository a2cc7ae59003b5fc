"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .deps import application

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Flows are running (503 in safe mode, while deploying, or with no flows)")
async def readyz(request: Request) -> JSONResponse:
    app = application(request)
    state = app.state_summary()
    ready = state["state"] == "running"
    return JSONResponse(status_code=200 if ready else 503, content=state)
