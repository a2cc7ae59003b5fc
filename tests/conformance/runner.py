"""Run recorded Node-RED conformance cases against flowengine, in-process, over a real broker.

Each case (a Node-RED flow with MQTT harness nodes, timed inputs, and the outputs real Node-RED
produced) runs in its own Engine; cases run concurrently to keep the suite short. Inputs are
published and outputs collected by a plain paho client, as the shared runner does. The
comparison rules are those of the conformance README: outputs grouped by port, order and
count per port, strict JSON equality (1 == 1.0, true != 1), ignored paths, optional
cross-port order and timing tolerance.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from flowengine.registry import default_registry
from flowengine.runtime.engine import Engine

CASES_DIR = Path(__file__).parent / "cases"
ALWAYS_IGNORED = ["_msgid", "parts.id", "parts.parts.id", "parts.parts.parts.id",
                  "error.source.name", "complete.source.name", "status.source.name"]
DEFAULT_TOLERANCE_MS = 150


def load_cases() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(CASES_DIR.glob("*.json"))]


# ------------------------------------------------------------------ comparison

def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def json_diff(got: Any, want: Any, where: str) -> list[str]:
    if _number(got) and _number(want):
        return [] if got == want else [f"{where}: got {got!r}, expected {want!r}"]
    if type(got) is not type(want):
        return [f"{where}: got {type(got).__name__} {got!r}, expected {type(want).__name__} {want!r}"]
    if isinstance(got, dict):
        out: list[str] = []
        for key in sorted(set(got) | set(want)):
            if key not in got:
                out.append(f"{where}.{key}: missing (expected {want[key]!r})")
            elif key not in want:
                out.append(f"{where}.{key}: unexpected {got[key]!r}")
            else:
                out += json_diff(got[key], want[key], f"{where}.{key}")
        return out
    if isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, expected {len(want)} ({got!r} vs {want!r})"]
        out = []
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            out += json_diff(a, b, f"{where}[{i}]")
        return out
    return [] if got == want else [f"{where}: got {got!r}, expected {want!r}"]


def _without(msg: Any, paths: list[str]) -> Any:
    msg = copy.deepcopy(msg)
    for dotted in paths:
        parts, obj = dotted.split("."), msg
        for p in parts[:-1]:
            obj = obj.get(p) if isinstance(obj, dict) else None
        if isinstance(obj, dict):
            obj.pop(parts[-1], None)
    return msg


def compare(case: dict, actual: list[dict]) -> list[str]:
    ignore = ALWAYS_IGNORED + list(case.get("ignore", []))
    expected = case["expected"]

    def group(outputs: list[dict]) -> dict[Any, list[dict]]:
        ports: dict[Any, list[dict]] = {}
        for o in outputs:
            ports.setdefault(o.get("port"), []).append(o)
        return ports

    got_ports, want_ports = group(actual), group(expected)
    diffs: list[str] = []
    for port in sorted(set(got_ports) | set(want_ports), key=str):
        got, want = got_ports.get(port, []), want_ports.get(port, [])
        if len(got) != len(want):
            diffs.append(f"port {port}: {len(got)} messages, expected {len(want)}")
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            diffs += json_diff(_without(g.get("msg", g.get("raw")), ignore),
                               _without(w.get("msg", w.get("raw")), ignore), f"port {port} #{i}")
        for i, g in enumerate(got[len(want):], len(want)):
            diffs.append(f"port {port} #{i}: unexpected {g.get('msg')!r}")
        for i, w in enumerate(want[len(got):], len(got)):
            diffs.append(f"port {port} #{i}: missing {w.get('msg')!r}")
    got_order, want_order = [o.get("port") for o in actual], [o.get("port") for o in expected]
    if case.get("ordered") and not diffs and got_order != want_order:
        diffs.append(f"port order {got_order}, expected {want_order}")
    timing = case.get("timing")
    if timing and not diffs:
        tol, frac = timing.get("tolerance_ms", DEFAULT_TOLERANCE_MS), timing.get("tolerance_frac", 0.05)
        for port, want in want_ports.items():
            for i, (g, w) in enumerate(zip(got_ports.get(port, []), want, strict=False)):
                allowed = tol + frac * w["t"]
                if abs(g["t"] - w["t"]) > allowed:
                    diffs.append(f"port {port} #{i}: at {g['t']} ms, expected {w['t']} ms (±{allowed:.0f})")
    return diffs


# ------------------------------------------------------------------ running

class Collector:
    """A paho client (own network thread) that records what arrives, with arrival times."""

    def __init__(self, port: int):
        self._lock = threading.Lock()
        self.received: dict[str, list[tuple[bytes, float]]] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"conf-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("nrconf/#", qos=0)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, m: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self.received.setdefault(m.topic, []).append((m.payload, now))

    def take(self, topic: str) -> list[tuple[bytes, float]]:
        with self._lock:
            return list(self.received.get(topic, []))

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def patch_flow(case: dict, port: int) -> list[dict]:
    flow = copy.deepcopy(case["flow"])
    for node in flow:
        if node.get("id") == case["harness"]["broker_id"]:
            node["broker"], node["port"] = "127.0.0.1", str(port)
    return flow


async def run_case(case: dict, port: int, collector: Collector, registry: Any) -> list[dict]:
    """One case on a fresh in-process Engine."""
    engine = Engine(registry)
    await engine.open()
    try:
        return await drive_case(case, port, collector, engine.deploy)
    finally:
        await engine.close()


async def drive_case(case: dict, port: int, collector: Collector, deploy: Any) -> list[dict]:
    """Deploy the case's flow with `deploy(flow)`, wait for the readiness ping, publish the
    inputs on time and collect the outputs, as the shared runner does."""
    harness = case["harness"]
    await deploy(patch_flow(case, port))
    token = uuid.uuid4().hex
    deadline = time.monotonic() + 15
    ready = False
    while not ready and time.monotonic() < deadline:
        collector.publish(harness["ping_topic"], json.dumps({"ping": token}))
        for _ in range(25):
            await asyncio.sleep(0.01)
            if any(token.encode() in p for p, _ in collector.take(harness["out_topic"])):
                ready = True
                break
    if not ready:
        raise RuntimeError(f"{case['id']}: the engine never answered the readiness ping")
    await asyncio.sleep(case.get("ready_settle_ms", 300) / 1000)
    seen = len(collector.take(harness["out_topic"]))
    t0 = time.monotonic()
    last_at = 0
    for inp in case["inputs"]:
        at = inp.get("at", last_at)
        last_at = at
        delay = t0 + at / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        collector.publish(harness["in_topics"][inp.get("to", "in")], json.dumps(inp["msg"]))
    settle = case.get("settle_ms", 600) / 1000
    await asyncio.sleep(max(0.0, t0 + last_at / 1000 + settle - time.monotonic()))
    outputs = []
    for payload, t in collector.take(harness["out_topic"])[seen:]:
        try:
            env = json.loads(payload)
        except ValueError:
            outputs.append({"port": None, "t": round((t - t0) * 1000), "raw": payload.decode(errors="replace")})
            continue
        if isinstance(env, dict) and "ping" in env and "port" not in env:
            continue
        port_name = env.pop("port", None) if isinstance(env, dict) else None
        outputs.append({"port": port_name, "t": round((t - t0) * 1000), "msg": env})
    return outputs


async def run_all(cases: list[dict], port: int, concurrency: int = 6) -> dict[str, Any]:
    """Run every case; returns {case id: outputs or the exception raised}."""
    registry = default_registry()
    collector = Collector(port)
    gate = asyncio.Semaphore(concurrency)
    results: dict[str, Any] = {}

    async def one(case: dict) -> None:
        async with gate:
            try:
                results[case["id"]] = await run_case(case, port, collector, registry)
            except Exception as exc:  # reported per case by the test
                results[case["id"]] = exc

    try:
        await asyncio.gather(*(one(c) for c in cases))
    finally:
        collector.close()
    return results
