"""Schemathesis against the running server: no generated request may get a 5xx.

The schema is the server's own /api/v1/openapi.json; schemathesis runs as its CLI in a child
process (its requests are blocking; the server keeps running in this test's event loop), aimed
at 127.0.0.1 only, with hypothesis' deadline off (schemathesis' default) and the example
database disabled. Two runs: first every operation that leaves the deployed flows alone, with
realistic node ids, flow ids and context keys mixed into the generated ones so the context and
inject routes get past their 404s; then the deploying operations (which replace the flows).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from flowengine.app import Application
from flowengine.settings import load_settings

SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]  # this venv's, whatever is on PATH
# Operations that deploy: run last, since the fuzzed documents replace the flows the others use.
DEPLOYS = r"^(POST /flows|PUT /api/v1/flows|POST /api/v1/revisions/\{rev\}/rollback)$"
NODE_IDS = ["i", "c", "d", "b", "j"]
CONFIG = """
[dictionaries.node_ids]
values = {node_ids}
[dictionaries.flow_ids]
values = ["t"]
[dictionaries.keys]
values = ["greeting", "obj", "obj.a[1]", "persisted", "buf", "last", "$parent.x", "a..b", ""]
[dictionaries.stores]
values = ["memory", "file"]

[parameters]
"path.node_id" = {{ dictionary = "node_ids", probability = 0.6 }}
"path.flow_id" = {{ dictionary = "flow_ids", probability = 0.6 }}
"path.key" = {{ dictionary = "keys", probability = 0.6 }}
"query.store" = {{ dictionary = "stores", probability = 0.5 }}
"""


def flow() -> list[dict]:
    """Context for the context routes (set by a change node), an inject to fire, a failing json node.
    No code nodes: the fuzzer deploys documents, and code_nodes is off for that reason."""
    rules = [{"t": "set", "p": "greeting", "pt": "global", "to": "hi", "tot": "str"},
             {"t": "set", "p": "#:(file)::persisted", "pt": "global", "to": "42", "tot": "num"},
             {"t": "set", "p": "obj", "pt": "global", "to": '{"a": [1, 2]}', "tot": "json"},
             {"t": "set", "p": "buf", "pt": "flow", "to": "[1, 2, 255]", "tot": "bin"},
             {"t": "set", "p": "last", "pt": "flow", "to": "payload", "tot": "msg"}]
    return [{"id": "t", "type": "tab", "label": "fuzz"},
            {"id": "i", "type": "inject", "z": "t", "x": 0, "y": 0, "props": [{"p": "payload"}],
             "payload": "x", "payloadType": "str", "wires": [["c"]]},
            {"id": "c", "type": "change", "z": "t", "x": 0, "y": 0, "rules": rules, "wires": [["d"]]},
            {"id": "d", "type": "debug", "z": "t", "x": 0, "y": 0, "wires": []},
            {"id": "b", "type": "inject", "z": "t", "x": 0, "y": 0, "props": [{"p": "payload"}],
             "payload": "{not json", "payloadType": "str", "wires": [["j"]]},
            {"id": "j", "type": "json", "z": "t", "x": 0, "y": 0, "wires": [[]]}]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Application]:
    flows = tmp_path / "flows.json"
    flows.write_text(json.dumps(flow()))
    app = Application(load_settings(data_dir=tmp_path / "data", port=0, code_nodes=False))
    assert await app.start(flows)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
        assert (await client.post("/api/v1/inject/i")).status_code == 200  # context to read
    yield app
    await app.stop()


async def schemathesis(app: Application, tmp_path: Path, *args: str) -> None:
    if importlib.util.find_spec("schemathesis") is None:
        pytest.fail("schemathesis is not installed (a dev dependency): pip install -e '.[dev]'", pytrace=False)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(node_ids=json.dumps(NODE_IDS)))
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)  # the requests go to 127.0.0.1, never through a proxy
    proc = await asyncio.create_subprocess_exec(
        *SCHEMATHESIS, "--config-file", str(config), "run", f"http://127.0.0.1:{app.port}/api/v1/openapi.json",
        "--checks", "not_a_server_error", "--workers", "1", "--generation-database", "none", "--max-redirects", "0",
        "--request-timeout", "10", "--no-color", *args,
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"schemathesis found server errors:\n{text[-6000:]}"
    generated = re.search(r"(\d+) generated", text)
    assert generated is not None and int(generated.group(1)) > 0, text[-2000:]


async def fuzz(app: Application, tmp_path: Path, *args: str) -> None:
    await schemathesis(app, tmp_path, "--exclude-name-regex", DEPLOYS, *args)
    await schemathesis(app, tmp_path, "--include-name-regex", DEPLOYS, *args)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
        assert (await client.get("/healthz")).status_code == 200  # the server survived
        assert (await client.get("/metrics")).status_code == 200


async def test_fuzz_the_api_briefly(server, tmp_path):
    """Default suite: 3 examples per operation, fuzzing phase only, a fixed seed (reproducible)."""
    await fuzz(server, tmp_path, "--phases", "fuzzing", "--max-examples", "3", "--seed", "1880")


@pytest.mark.slow
async def test_fuzz_the_api(server, tmp_path):
    """`make test-all`: the coverage phase (boundary values per parameter) and 20 examples per
    operation, a new seed each run (printed on failure)."""
    await fuzz(server, tmp_path, "--phases", "examples,coverage,fuzzing", "--max-examples", "20")
