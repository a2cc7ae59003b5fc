"""The real Application serving HTTP on a free loopback port, for integration tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from flowengine.app import Application
from flowengine.settings import load_settings


@asynccontextmanager
async def serving(tmp_path: Path, flows: list[dict],
                  **flags: Any) -> AsyncIterator[tuple[Application, httpx.AsyncClient]]:
    """Start `flows` (written to tmp_path/flows.json, the FILE deploys are written back to) with
    the data dir and secret key under tmp_path; yield the app and a client of its API."""
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(flows))
    settings = load_settings(data_dir=tmp_path / "data", port=0, secret_key_file=tmp_path / "cfg" / "secret.key",
                             **flags)
    app = Application(settings)
    try:
        assert await app.start(flows_file)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=10) as client:
            yield app, client
    finally:
        await app.stop()
