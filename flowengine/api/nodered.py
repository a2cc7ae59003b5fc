"""Node-RED's admin API for flows, so Node-RED tooling (and the conformance runner) work.

GET /flows: `Node-RED-API-Version: v1` (default) gives the bare array, `v2` gives {rev, flows}.
POST /flows: the array (v1) or {flows, rev} (v2); `Node-RED-Deployment-Type` full | nodes |
flows | reload. A stale `rev` is 409 `version_mismatch`; an invalid document is 400 with every
problem, and the running flows are untouched.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import JSONResponse

from ..errors import FlowValidationError
from .deps import application, author, issues_response
from .limits import check_document_limits

router = APIRouter(tags=["node-red admin api"])

DEPLOY_TYPES = ("full", "nodes", "flows", "reload")


@router.get("/flows", summary="The active flows (Node-RED admin API)")
async def get_flows(request: Request, api_version: str = Header("v1", alias="Node-RED-API-Version")) -> Any:
    app = application(request)
    flows = app.current_flows()
    if api_version == "v2":
        return {"rev": app.current_rev(), "flows": flows}
    return flows


@router.post("/flows", summary="Deploy flows (Node-RED admin API)", status_code=204, response_model=None,
             responses={200: {"description": "v2: {rev}"}, 400: {"description": "invalid flows"},
                        409: {"description": "version_mismatch: the rev is stale"}})
async def post_flows(request: Request, body: Any = Body(None),
                     api_version: str = Header("v1", alias="Node-RED-API-Version"),
                     deployment_type: str = Header("full", alias="Node-RED-Deployment-Type")) -> Any:
    app = application(request)
    if deployment_type not in DEPLOY_TYPES:
        return JSONResponse(status_code=400, content={"error": "invalid_deployment_type",
                                                      "message": f"Node-RED-Deployment-Type must be one of "
                                                                 f"{', '.join(DEPLOY_TYPES)}"})
    if deployment_type == "reload":
        try:
            rev = await app.reload(author=author(request))
        except FlowValidationError as exc:
            return issues_response(exc.issues)
        return JSONResponse({"rev": rev}) if api_version == "v2" else Response(status_code=204)
    flows, rev = body, None
    if isinstance(body, dict):
        flows, rev = body.get("flows"), body.get("rev")
    if not isinstance(flows, list):
        return JSONResponse(status_code=400, content={"error": "invalid_flows",
                                                      "message": "the body must be a JSON array of nodes, "
                                                                 "or {flows: [...], rev} with API v2"})
    limit_issues = check_document_limits(flows)
    if limit_issues:
        return issues_response(limit_issues)
    if rev is not None and rev != app.current_rev():
        return JSONResponse(status_code=409, content={"code": "version_mismatch",
                                                      "message": "the flows changed since this rev was read"})
    try:
        new_rev = await app.deploy(flows, author=author(request), mode=deployment_type)
    except FlowValidationError as exc:
        return issues_response(exc.issues)
    return JSONResponse({"rev": new_rev}) if api_version == "v2" else Response(status_code=204)
