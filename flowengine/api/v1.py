"""Our API: flows with revisions, the node palette, inject, runtime state, the event stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from ..errors import FlowValidationError
from .auth import rights_generation, still_allowed
from .deps import application, author, issues_response
from .limits import check_document_limits
from .palette import describe_type

RECHECK_SECONDS = 2.0  # how soon a revoked token or ended session stops a running events stream
PING_SECONDS = 15.0

router = APIRouter()


@router.get("/flows", tags=["flows"], summary="The active flows and their rev")
async def get_flows(request: Request) -> dict:
    app = application(request)
    return {"rev": app.current_rev(), "flows": app.current_flows()}


@router.put("/flows", tags=["flows"], summary="Deploy flows (If-Match: the rev they were based on)",
            responses={400: {"description": "invalid flows, nothing deployed"},
                       409: {"description": "the rev in If-Match is stale"}})
async def put_flows(request: Request, flows: list[dict] = Body(...),
                    if_match: str | None = Header(None, alias="If-Match"),
                    mode: Literal["full", "flows", "nodes"] = Query(
                        "full", description="full restarts everything; flows only the tabs that changed; "
                                            "nodes only the nodes that changed (Node-RED's deployment types)")) -> Any:
    app = application(request)
    if if_match is not None and if_match.strip('"') != (app.current_rev() or ""):
        return JSONResponse(status_code=409, content={"code": "version_mismatch",
                                                      "message": "the flows changed since this rev was read",
                                                      "rev": app.current_rev()})
    limit_issues = check_document_limits(flows)
    if limit_issues:
        return issues_response(limit_issues)
    try:
        rev = await app.deploy(flows, author=author(request), mode=mode)
    except FlowValidationError as exc:
        return issues_response(exc.issues)
    return {"rev": rev}


@router.post("/flows/validate", tags=["flows"], summary="Validate flows without deploying them")
async def validate_flows(request: Request, flows: Any = Body(...)) -> dict:
    issues = check_document_limits(flows)
    if not issues:
        _, issues = application(request).engine.validate(flows)
    return {"valid": not any(i.severity == "error" for i in issues), "issues": [i.as_dict() for i in issues]}


@router.get("/revisions", tags=["revisions"], summary="Deploy history, newest first")
async def list_revisions(request: Request, limit: int = 50) -> list[dict]:
    return [r.summary() for r in await application(request).revisions.list(min(max(limit, 1), 500))]


@router.get("/revisions/{rev}", tags=["revisions"], summary="One revision with its flows")
async def get_revision(request: Request, rev: str) -> Any:
    found = await application(request).revisions.get(rev)
    if found is None:
        return JSONResponse(status_code=404, content={"error": "not_found", "message": f"no revision {rev!r}"})
    return {**found.summary(), "flows": found.doc}


@router.post("/revisions/{rev}/rollback", tags=["revisions"], summary="Deploy an earlier revision again")
async def rollback(request: Request, rev: str) -> Any:
    app = application(request)
    found = await app.revisions.get(rev)
    if found is None:
        return JSONResponse(status_code=404, content={"error": "not_found", "message": f"no revision {rev!r}"})
    try:
        new_rev = await app.deploy(found.doc, author=f"{author(request)} rollback to {found.id}", mode="full")
    except FlowValidationError as exc:
        return issues_response(exc.issues)
    return {"rev": new_rev}


@router.get("/nodes", tags=["nodes"], summary="The palette: every node type with its config schema")
async def list_nodes(request: Request) -> dict:
    registry = application(request).registry
    types = [describe_type(name, cls) for name, cls in sorted(registry.types.items())]
    packs = [{"name": p.name, "module": p.module, "types": p.types, "error": p.error}
             for p in registry.packs.values()]
    return {"types": types, "packs": packs}


@router.post("/inject/{node_id}", tags=["nodes"], summary="Fire an inject node")
async def inject(request: Request, node_id: str) -> Any:
    node = application(request).engine.nodes.get(node_id)
    if node is None or node.type != "inject":
        return JSONResponse(status_code=404, content={"error": "not_found",
                                                      "message": f"no running inject node {node_id!r}"})
    await node.trigger()  # type: ignore[attr-defined]
    return {"fired": node_id}


@router.get("/state", tags=["runtime"], summary="Active rev, uptime, node status")
async def state(request: Request) -> dict:
    return application(request).state_summary(details=True)


@router.websocket("/events")
async def events(ws: WebSocket) -> None:
    """Debug, status, deploy and log events as JSON frames {type, ts, node_id, data}. A client
    that reads too slowly loses the oldest events; it is told how many with a `dropped` frame.
    Its credentials are checked again every few seconds: a revoked token, an ended session or a
    deleted user closes the stream (code 1008)."""
    await ws.accept()
    app = ws.app.state.application
    sub = app.engine.events.subscribe(maxlen=1000)
    reported = 0
    loop = asyncio.get_running_loop()
    next_check = next_ping = loop.time()
    generation = rights_generation(ws)
    # The client never sends anything we need, but reading is how a close is noticed: without it
    # an idle stream would hold the server's shutdown until uvicorn's timeout.
    closed = asyncio.Event()
    reader = asyncio.create_task(_until_closed(ws, closed, sub))
    try:
        while not closed.is_set():
            try:
                event = await sub.get(timeout=RECHECK_SECONDS)
            except TimeoutError:
                event = None
            if closed.is_set():
                return
            now = loop.time()
            if now >= next_check or rights_generation(ws) != generation:  # before anything is sent
                generation = rights_generation(ws)
                if not await still_allowed(ws):
                    await ws.close(code=1008, reason="credentials revoked or session ended")
                    return
                next_check = now + RECHECK_SECONDS
            if event is None:
                if now >= next_ping + PING_SECONDS:
                    await ws.send_json({"type": "ping", "ts": None, "node_id": None, "data": None})
                    next_ping = now
                continue
            if sub.dropped > reported:
                await ws.send_json({"type": "dropped", "ts": event["ts"], "node_id": None,
                                    "data": {"count": sub.dropped - reported}})
                reported = sub.dropped
            await ws.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away: nothing to clean up beyond the subscription
    finally:
        reader.cancel()
        sub.close()
        with contextlib.suppress(Exception):
            await ws.close()


async def _until_closed(ws: WebSocket, closed: asyncio.Event, sub: Any) -> None:
    """Read (and ignore) what the client sends until it disconnects; then wake the sender."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError):
        pass  # the connection is gone either way
    finally:
        closed.set()
        sub.wake()
