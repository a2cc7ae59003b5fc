"""Replay a recorded conformance case in-process, for fast unit tests of one node type.

The case's own harness change nodes stay; the MQTT in/out nodes are replaced by direct
injection and a helper sink. Timing is not replayed (use the MQTT runner for timed cases).
"""

from __future__ import annotations

import json
from pathlib import Path

from flowengine.testing import FlowHarness

CASES = Path(__file__).parent / "cases"


async def replay(case_id: str) -> tuple[dict[str, list], dict[str, list]]:
    """(outputs by port, expected outputs by port) for the case."""
    case = json.loads(next(CASES.glob(f"{case_id}-*.json")).read_text())
    flow = []
    for node in case["flow"]:
        if node["type"] in ("tab", "mqtt-broker", "mqtt in"):
            continue
        node = {k: v for k, v in node.items() if k != "z"}
        flow.append({"id": node["id"], "type": "helper"} if node["type"] == "mqtt out" else node)
    unwrap = next(n["id"] for n in flow if ".h.unwrap." in n["id"])
    out = next(n["id"] for n in flow if n["type"] == "helper")
    got: dict[str, list] = {}
    async with FlowHarness(flow) as h:
        for item in case["inputs"]:
            await h.inject(unwrap, {"payload": json.loads(json.dumps(item["msg"])), "topic": "in"})
        for m in h.messages(out):
            wrapped = dict(m["payload"])
            got.setdefault(wrapped.pop("port"), []).append(wrapped)
    want: dict[str, list] = {}
    for e in case["expected"]:
        want.setdefault(e["port"], []).append(e["msg"])
    return got, want
