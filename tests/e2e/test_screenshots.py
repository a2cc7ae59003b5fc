"""The README's screenshots, taken from the smart-farm demo in the real editor. They go to
$FLOWENGINE_SCREENSHOT_DIR (`make screenshots` sets docs/screenshots), else to a temp dir, so
an ordinary test run leaves the checkout clean. Each shot is checked for what it must show."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_screenshots_of_the_smart_farm_demo(engine_factory: Any, open_editor: Any, page: Any, tmp_path: Path,
                                            mosquitto: Any) -> None:
    out = Path(os.environ.get("FLOWENGINE_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    flows = json.loads((ROOT / "flows" / "smart-farm.json").read_text())
    for node in flows:  # the demo's broker is the test's mosquitto
        if node["type"] == "mqtt-broker":
            node.update(broker="127.0.0.1", port=str(mosquitto.port))
    engine = engine_factory(flows)
    page.set_viewport_size({"width": 1680, "height": 760})
    open_editor(engine)
    page.locator(".react-flow__node").first.wait_for()
    page.locator('[data-testid="node-status"]', has_text="connected").first.wait_for(timeout=15_000)
    page.locator(".react-flow__controls-fitview").click()
    page.get_by_test_id("inject-button").first.click()  # a reading for the debug sidebar
    page.get_by_test_id("debug-message").first.wait_for(timeout=15_000)
    shots = {"editor.png": None}
    page.screenshot(path=str(out / "editor.png"))

    switch_id = next(n["id"] for n in flows if n["type"] == "switch")
    page.locator(f'.react-flow__node[data-id="{switch_id}"]').dblclick()
    page.get_by_test_id("node-editor-panel").wait_for()
    assert "dry" in page.get_by_test_id("node-editor-panel").inner_text()
    page.screenshot(path=str(out / "node-form.png"))
    shots["node-form.png"] = None
    page.keyboard.press("Escape")

    for name in shots:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, name  # a real, non-blank picture
