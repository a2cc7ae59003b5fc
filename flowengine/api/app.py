"""FastAPI application factory. Routes ask the Application (and through it the Engine); they
never touch nodes directly."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .. import __version__
from . import health, nodered, v1


def create_app(application: Any) -> FastAPI:
    app = FastAPI(title="flowengine", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None,
                  description="Admin API of flowengine. `/flows` follows Node-RED's admin API; "
                              "everything else lives under `/api/v1`.")
    app.state.application = application
    app.include_router(health.router)
    app.include_router(nodered.router)
    app.include_router(v1.router, prefix="/api/v1")
    return app
