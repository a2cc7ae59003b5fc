"""The palette's filter, categories and folding, and the view controls: zoom buttons, fit view,
the minimap (dragging on it pans the view), Ctrl+F opening search."""

from __future__ import annotations

from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    ZOOM,
    chain_flow,
    core_engine_fixture,
    editor_with_fixture,
    viewport,
)

ITEM = '[data-testid="palette-item"]'


def test_palette_filter_categories_and_folding(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    palette = page.get_by_test_id("palette")
    categories = palette.get_by_test_id("palette-category")
    assert {"common", "function", "network"} <= {c.get_attribute("data-category") for c in categories.all()}
    assert palette.locator(f'{ITEM}[data-type="mqtt-broker"], {ITEM}[data-type="tls-config"]').count() == 0
    total = palette.locator(ITEM).count()
    page.get_by_test_id("palette-search").fill("mqtt")
    shown = {i.get_attribute("data-type") for i in palette.locator(ITEM).all()}
    assert shown == {"mqtt in", "mqtt out"}
    page.get_by_test_id("palette-search").fill("zzz-nothing")
    assert palette.locator(ITEM).count() == 0 and "No node matches" in palette.inner_text()
    page.get_by_test_id("palette-search").fill("")
    assert palette.locator(ITEM).count() == total
    common = palette.locator('[data-testid="palette-category"][data-category="common"]')
    in_common = common.locator(ITEM).count()
    common.locator("button").first.click()  # fold
    assert common.locator(ITEM).count() == 0 and palette.locator(ITEM).count() == total - in_common
    common.locator("button").first.click()  # unfold
    assert palette.locator(ITEM).count() == total
    page.get_by_test_id("palette-toggle").click()  # hide it for more canvas (tablets)
    assert palette.locator(ITEM).count() == 0
    page.get_by_test_id("palette-toggle").click()
    assert palette.locator(ITEM).count() == total


def test_zoom_buttons_fit_view_and_minimap(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    zoom = page.evaluate(f"() => {ZOOM}")
    page.locator(".react-flow__controls-zoomin").click()
    page.wait_for_function(f"(z) => {ZOOM} > z * 1.1", arg=zoom)
    page.locator(".react-flow__controls-zoomout").click()
    page.locator(".react-flow__controls-zoomout").click()
    page.wait_for_function(f"(z) => {ZOOM} < z * 0.95", arg=zoom)
    # Fit view brings every node of the tab into the visible pane.
    page.mouse.move(700, 450)
    page.mouse.wheel(0, 2000)  # scroll far away first (wheel pans or zooms; either moves the view)
    page.locator(".react-flow__controls-fitview").click()
    pane = page.locator(".react-flow__pane").bounding_box()
    page.wait_for_timeout(300)
    for box in (n.bounding_box() for n in page.locator(".react-flow__node").all()):
        assert box is not None
        assert pane["x"] <= box["x"] and box["x"] + box["width"] <= pane["x"] + pane["width"] + 1
        assert pane["y"] <= box["y"] and box["y"] + box["height"] <= pane["y"] + pane["height"] + 1
    # The minimap shows the nodes, and dragging on it pans the view.
    minimap = page.locator(".react-flow__minimap")
    assert minimap.locator(".react-flow__minimap-node").count() == page.locator(".react-flow__node").count()
    before = viewport(page)
    box = minimap.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(box["x"] + box["width"] * (0.5 + step * 0.06), box["y"] + box["height"] * (0.5 + step * 0.06))
    page.mouse.up()
    page.wait_for_function("(b) => { const v = new DOMMatrixReadOnly(getComputedStyle("
                           "document.querySelector('.react-flow__viewport')).transform); "
                           "return Math.abs(v.e - b.x) + Math.abs(v.f - b.y) > 5; }", arg=before)


def test_ctrl_f_opens_search(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+f")
    page.get_by_test_id("search-dialog").wait_for()
    assert page.evaluate("() => document.activeElement.dataset.testid") == "search-input"
    page.keyboard.press("Escape")
    page.get_by_test_id("search-dialog").wait_for(state="detached")
