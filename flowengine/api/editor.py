"""Serves the browser editor's built files at `/`.

The files are built from web_editor/ by `npm run build` into flowengine/editor_dist (the package
build does this when they are missing, so wheels carry them and a Pi needs no Node). They are
public: they hold no data, and the editor must load to show its login form; every API call it
then makes is checked as usual.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("flowengine.editor")

EDITOR_DIR = Path(__file__).resolve().parent.parent / "editor_dist"
PUBLIC_PREFIXES = ("/assets/",)
PUBLIC_PATHS = frozenset({"/", "/favicon.svg"})

# The editor's page may load only its own files and talk only to this server: injected markup
# could run no script of its own, and no other site may frame it (clickjacking a Deploy button).
# Styles allow 'unsafe-inline' for the canvas's computed positions; scripts allow 'unsafe-eval'
# because the form validator (ajv) compiles each JSON Schema into a function.
PAGE_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-eval'; "
                                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                "frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'; object-src 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",  # always revalidate the page; its hashed assets can be cached forever
}

MISSING_PAGE = """<!doctype html><meta charset="utf-8"><title>flowengine</title>
<h1>The editor is not built</h1>
<p>This install has no editor files. In a source checkout run <code>make setup</code>
(or <code>cd web_editor &amp;&amp; npm ci &amp;&amp; npm run build</code>); the API works without it.</p>"""


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def install(app: FastAPI, directory: Path = EDITOR_DIR) -> None:
    index = directory / "index.html"
    if (directory / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=directory / "assets"), name="editor-assets")
    else:
        log.warning("editor files not found in %s: / shows how to build them", directory)

    @app.get("/", include_in_schema=False)
    async def editor_page() -> object:
        if not index.is_file():
            return HTMLResponse(MISSING_PAGE, status_code=503, headers=PAGE_HEADERS)
        return FileResponse(index, headers=PAGE_HEADERS)

    @app.get("/favicon.svg", include_in_schema=False)
    async def favicon() -> object:
        path = directory / "favicon.svg"
        return FileResponse(path) if path.is_file() else HTMLResponse("", status_code=404)
