"""FastAPI application factory. Routes ask the Application (and through it the Engine); they
never touch nodes directly."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import __version__
from ..security import is_loopback
from . import accounts, auth, context_routes, editor, health, nodered, v1
from .limits import BodySizeLimitMiddleware

log = logging.getLogger("flowengine.api")


def create_app(application: Any) -> FastAPI:
    app = FastAPI(title="flowengine", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None,
                  description="Admin API of flowengine. `/flows` follows Node-RED's admin API; "
                              "everything else lives under `/api/v1`.")
    app.state.application = application
    app.include_router(health.router)
    app.include_router(nodered.router)
    app.include_router(v1.router, prefix="/api/v1")
    app.include_router(context_routes.router, prefix="/api/v1")
    _add_metrics_route(app)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    editor_dir = getattr(getattr(application, "settings", None), "editor_dir", None)
    editor.install(app, editor_dir or editor.EDITOR_DIR)
    app.add_middleware(BodySizeLimitMiddleware)  # 413 past 10 MiB; the auth middleware added later wraps it
    security = getattr(application, "security", None)
    if security is None:  # an Application not yet wired with accounts: app.py still binds loopback only
        log.warning("the API has no accounts store: it is open to every local client")
        return app
    # Guards every route (present and future); without accounts only a loopback bind stays open.
    settings = application.settings
    auth.install(app, security.users, open_without_accounts=is_loopback(settings.host),
                 session_ttl=getattr(settings, "session_ttl", 12 * 3600.0))
    app.include_router(accounts.router, prefix="/api/v1")
    return app


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 without echoing the input (it may be a password) and safe for any text, even a lone
    surrogate, which FastAPI's default handler fails to encode (a 500)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    issues = [{"loc": [str(part) for part in e.get("loc", ())],
               "message": str(e.get("msg", "")).encode("utf-8", "replace").decode("utf-8")} for e in errors]
    return JSONResponse(status_code=422, content={"error": "invalid_request",
                                                  "message": "the request does not match the API", "issues": issues})


def _add_metrics_route(app: FastAPI) -> None:
    """GET /metrics; prometheus_client loads on the first scrape, not at start-up."""

    @app.get("/metrics", tags=["metrics"], summary="Prometheus metrics (text exposition format)",
             response_class=Response)
    async def metrics(request: Request) -> Response:
        from . import metrics as metrics_module

        return await metrics_module.metrics(request)
