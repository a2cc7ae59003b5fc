"""In-process per-hop cost: N messages through a chain of K change nodes (no MQTT).

    .venv/bin/python bench/hops.py [--messages 20000] [--hops 20]

Prints wall and CPU microseconds per message-hop, the figure Node-RED's chain scenario measures
(4.8 µs per change-node hop for Node-RED 5 on the dev machine).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from flowengine.testing import FlowHarness


def chain_flow(hops: int) -> list[dict]:
    flow: list[dict] = []
    for i in range(hops):
        nxt = f"c{i + 1}" if i + 1 < hops else "sink"
        flow.append({"id": f"c{i}", "type": "change", "wires": [[nxt]],
                     "rules": [{"t": "set", "p": "payload.seen", "pt": "msg", "to": "true", "tot": "bool"}]})
    flow.append({"id": "sink", "type": "helper"})
    return flow


async def run(messages: int, hops: int) -> tuple[float, float]:
    async with FlowHarness(chain_flow(hops)) as h:
        sink = h.node("sink")
        first = h.node("c0")
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(messages):
            await first._inbox.put({"payload": {"seq": i}})
        while len(sink.messages) < messages:  # type: ignore[attr-defined]
            await asyncio.sleep(0.001)
        return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--hops", type=int, default=20)
    args = ap.parse_args()
    w0, c0 = asyncio.run(run(args.messages, 1))
    w, c = asyncio.run(run(args.messages, args.hops + 1))
    per_hop_wall = (w - w0) / (args.messages * args.hops) * 1e6
    per_hop_cpu = (c - c0) / (args.messages * args.hops) * 1e6
    print(f"messages={args.messages} hops={args.hops}")
    print(f"wall µs per hop: {per_hop_wall:.2f}")
    print(f"cpu  µs per hop: {per_hop_cpu:.2f}")
    print(f"msg·hops/s: {args.messages * args.hops / (w - w0):,.0f}")


if __name__ == "__main__":
    main()
