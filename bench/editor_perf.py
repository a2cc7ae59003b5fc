"""The editor with a big flow, in Debian's headless Chromium: how fast a 1,000-node tab is ready
to edit, how smoothly it pans at working zoom, and how long a deploy takes from the editor.

    .venv/bin/python bench/editor_perf.py [--nodes 1000] [--rounds 5]

Needs the built editor (make editor) and /usr/bin/chromium. Prints one JSON object:
- ready_ms: navigation start -> canvas rendered with every node of the tab (warm cache: the
  first, cold load is reported apart), median over rounds;
- pan_fps: frames per second while the mouse drags the canvas for ~2 s at zoom 1 (Chromium
  headless renders with the GPU off, so a real screen does at least as well);
- deploy_ms: deploy button click -> the new rev is shown, for the whole 1,000-node document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.engine_process import EngineProcess  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def big_flow(nodes: int) -> list[dict]:
    """One tab with `nodes` nodes in rows of 25: inject -> change x23 -> debug chains."""
    flow: list[dict] = [{"id": "tab", "type": "tab", "label": f"{nodes} nodes"}]
    per_row = 25
    for i in range(nodes):
        row, col = divmod(i, per_row)
        last_in_row = col == per_row - 1 or i == nodes - 1
        node: dict = {"id": f"n{i}", "z": "tab", "x": 120 + col * 180, "y": 60 + row * 70,
                      "wires": [] if last_in_row else [[f"n{i + 1}"]]}
        if col == 0:
            node.update(type="inject", name=f"tick {row}", props=[{"p": "payload"}], payload="", payloadType="date",
                        repeat="", once=False)
        elif last_in_row:
            node.update(type="debug", name=f"out {row}", active=False, tosidebar=True, console=False,
                        complete="payload")
        else:
            node.update(type="change", name=f"step {i}", rules=[{"t": "set", "p": "payload", "pt": "msg",
                                                                 "to": str(i), "tot": "num"}])
        flow.append(node)
    return flow


READY = "() => window.__flowengine && window.__flowengine.ready === true"
RENDERED = "(n) => document.querySelectorAll('.react-flow__node').length > 0"


def measure_ready(page, url: str) -> float:
    page.goto(url)
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_function(RENDERED, arg=0, timeout=60_000)
    # Two frames later the canvas is painted: the user can act.
    return page.evaluate("""() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
        () => done(performance.now()))))""")


def measure_pan(page, seconds: float = 2.0) -> dict:
    page.evaluate("""() => {
        window.__frames = [];
        window.__transforms = new Set();
        const viewport = document.querySelector('.react-flow__viewport');
        const tick = (t) => {
            window.__frames.push(t);
            window.__transforms.add(viewport.style.transform);
            if (window.__panning) requestAnimationFrame(tick);
        };
        window.__panning = true;
        requestAnimationFrame(tick);
    }""")
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6
    page.keyboard.down("Space")  # space + drag pans (a plain drag on the pane box-selects)
    page.mouse.move(x0, y0)
    page.mouse.down()
    steps = int(seconds * 60)
    start = time.perf_counter()
    for i in range(steps):
        dx = 400 * ((i % 60) / 60) - 200
        page.mouse.move(x0 + dx, y0 - dx / 2)
        page.wait_for_timeout(1000 / 60)
    page.mouse.up()
    page.keyboard.up("Space")
    elapsed = time.perf_counter() - start
    frames = page.evaluate("() => { window.__panning = false; return window.__frames; }")
    moved = page.evaluate("() => window.__transforms.size")
    if moved < steps // 2:  # the drag must have panned the view, not box-selected
        raise SystemExit(f"the view moved in only {moved} of {len(frames)} frames: panning did not happen")
    intervals = [b - a for a, b in zip(frames, frames[1:], strict=False)]
    return {"pan_fps": round(len(frames) / elapsed, 1),
            "pan_frame_ms_p95": round(statistics.quantiles(intervals, n=20)[-1], 1) if len(intervals) > 20 else None,
            "pan_seconds": round(elapsed, 2), "pan_distinct_views": moved}


def measure_deploy(page) -> float:
    before = page.evaluate("() => window.__flowengine.store.getState().rev")
    page.evaluate("""() => {
        const s = window.__flowengine.store.getState();
        const doc = s.doc.map(n => n.id === 'n1' ? {...n, name: 'renamed ' + Date.now()} : n);
        window.__flowengine.store.setState({doc});
    }""")
    start = time.perf_counter()
    page.get_by_test_id("deploy-button").click()
    page.wait_for_function("(before) => { const s = window.__flowengine.store.getState(); "
                           "return s.rev && s.rev !== before && !s.deploying; }", arg=before, timeout=30_000)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        engine = EngineProcess(Path(tmp), big_flow(args.nodes)).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                cold = measure_ready(page, engine.url + "/")
                warm = [measure_ready(page, engine.url + "/") for _ in range(args.rounds)]
                rendered = page.evaluate("() => document.querySelectorAll('.react-flow__node').length")
                page.evaluate("() => window.__flowengine.store.getState()")  # warm the store
                pan = measure_pan(page)
                deploys = [measure_deploy(page) for _ in range(max(args.rounds // 2, 2))]
                browser.close()
        finally:
            engine.stop()
    print(json.dumps({"nodes": args.nodes, "ready_ms_cold": round(cold), "ready_ms": round(statistics.median(warm)),
                      "ready_ms_max": round(max(warm)), "nodes_in_dom": rendered, **pan,
                      "deploy_ms": round(statistics.median(deploys)), "deploy_ms_max": round(max(deploys))}))


if __name__ == "__main__":
    main()
