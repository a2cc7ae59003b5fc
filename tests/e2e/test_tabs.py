"""Tabs: add, rename, reorder (buttons and drag), disable/enable, delete with undo, and the
per-tab canvas contents."""

from __future__ import annotations

from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    ZOOM,
    chain_flow,
    core_engine_fixture,
    doc,
    editor_with_fixture,
    node,
    state,
    tab,
    wait_state,
)


def tab_ids(page: Any) -> list[str]:
    return [n["id"] for n in doc(page) if n["type"] == "tab"]


def shown_tabs(page: Any) -> list[str]:
    return page.eval_on_selector_all('[data-testid="tab"]', "els => els.map(e => e.dataset.tabId)")


def test_add_and_rename_a_tab(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    page.get_by_test_id("tab-add").click()
    wait_state(page, "s.doc.filter(n => n.type === 'tab').length === 2")
    new_id = tab_ids(page)[1]
    assert state(page, "s.activeTab") == new_id
    assert shown_tabs(page) == ["t1", new_id]
    assert page.locator(".react-flow__node").count() == 0, "the new tab's canvas is empty"
    page.locator(f'[data-testid="tab"][data-tab-id="{new_id}"]').dblclick()
    field = page.get_by_test_id("tab-rename-input")
    field.fill("Greenhouse")
    field.press("Enter")
    wait_state(page, f"s.doc.find(n => n.id === {new_id!r}).label === 'Greenhouse'")
    assert page.locator(f'[data-testid="tab"][data-tab-id="{new_id}"]').inner_text() == "Greenhouse"
    # Back on the first tab its nodes are there again.
    page.locator('[data-testid="tab"][data-tab-id="t1"]').click()
    node(page, "A").wait_for()


def test_reorder_tabs_with_buttons_and_drag(editor_with: Any) -> None:
    flows = chain_flow() + [tab("t2", "Two"), tab("t3", "Three")]
    page = editor_with(flows)
    page.locator('[data-testid="tab"][data-tab-id="t3"]').click()
    page.get_by_test_id("tab-move-left").click()
    wait_state(page, "s.doc.filter(n => n.type === 'tab').map(n => n.id).join() === 't1,t3,t2'")
    assert shown_tabs(page) == ["t1", "t3", "t2"]
    page.get_by_test_id("tab-move-right").click()
    wait_state(page, "s.doc.filter(n => n.type === 'tab').map(n => n.id).join() === 't1,t2,t3'")
    # Drag the third tab onto the first: it goes before it.
    page.locator('[data-testid="tab"][data-tab-id="t3"]').drag_to(page.locator('[data-testid="tab"][data-tab-id="t1"]'))
    wait_state(page, "s.doc.filter(n => n.type === 'tab').map(n => n.id).join() === 't3,t1,t2'")
    # Non-tab entries keep their order; undo restores the previous order.
    assert [n["id"] for n in doc(page) if n["type"] != "tab"] == ["A", "B", "C", "D", "E"]
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.filter(n => n.type === 'tab').map(n => n.id).join() === 't1,t2,t3'")


def test_disable_and_enable_a_tab(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    page.get_by_test_id("tab-toggle-disabled").click()
    wait_state(page, "s.doc.find(n => n.id === 't1').disabled === true")
    assert page.locator('[data-testid="tab"][data-tab-id="t1"]').get_attribute("data-disabled") == "true"
    assert page.locator(".fe-canvas-disabled").count() == 1
    page.keyboard.press("Control+d")
    wait_state(page, "!s.deploying && s.baselineDoc === s.doc")
    assert next(n for n in core_engine.active_flows() if n["id"] == "t1")["disabled"] is True
    page.get_by_test_id("tab-toggle-disabled").click()
    wait_state(page, "s.doc.find(n => n.id === 't1').disabled === false")
    assert page.locator(".fe-canvas-disabled").count() == 0


def test_delete_a_tab_and_undo(editor_with: Any) -> None:
    flows = chain_flow() + [tab("t2", "Two")]
    page = editor_with(flows)
    page.get_by_test_id("tab-delete").click()
    wait_state(page, "!s.doc.some(n => n.id === 't1')")
    assert not [n for n in doc(page) if n.get("z") == "t1"], "the tab's nodes go with it"
    assert state(page, "s.activeTab") == "t2"
    page.get_by_test_id("undo").click()
    wait_state(page, "s.doc.some(n => n.id === 't1') && s.doc.some(n => n.id === 'A')")
    assert state(page, "s.activeTab") == "t1"
    node(page, "A").wait_for()
    assert [n["id"] for n in doc(page)] == [n["id"] for n in flows], "undo restores the exact document"


def test_each_tab_keeps_its_own_viewport(editor_with: Any) -> None:
    flows = chain_flow() + [tab("t2", "Two")]
    page = editor_with(flows)
    canvas = page.get_by_test_id("canvas")
    canvas.hover(position={"x": 400, "y": 300})
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(200)
    zoom1 = page.evaluate(
        f"() => {ZOOM}")
    assert zoom1 > 1.05
    page.locator('[data-testid="tab"][data-tab-id="t2"]').click()
    page.wait_for_function(
        f"() => {ZOOM} === 1")
    page.locator('[data-testid="tab"][data-tab-id="t1"]').click()
    page.wait_for_function(
        f"() => Math.abs({ZOOM} - {zoom1}) < 1e-6")


def test_config_nodes_view_lists_config_nodes_with_usage(editor_with: Any) -> None:
    broker = {"id": "BR", "type": "mqtt-broker", "name": "local", "broker": "127.0.0.1", "port": "1",
              "clientid": "", "autoConnect": False, "usetls": False, "protocolVersion": "4", "keepalive": "60",
              "cleansession": True}
    spare = {**broker, "id": "BR2", "name": "spare"}
    mqtt_in = {"id": "M", "type": "mqtt in", "z": "t1", "name": "in", "topic": "x/#", "qos": "0", "datatype": "auto",
               "broker": "BR", "x": 200, "y": 400, "wires": [[]]}
    page = editor_with(chain_flow() + [broker, spare, mqtt_in])
    page.get_by_test_id("sidebar-config").click()
    used = page.locator('[data-testid="config-node"][data-node-id="BR"]')
    assert "1" in used.inner_text()
    assert "unused" in page.locator('[data-testid="config-node"][data-node-id="BR2"]').inner_text()
    used.click()
    page.locator('[data-testid="node-panel"][data-node-id="BR"]').wait_for()


def test_disable_selected_nodes_from_the_menu(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "B").click()
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-toggle-disabled").click()
    wait_state(page, "s.doc.find(n => n.id === 'B').d === true")
    node(page, "B").locator(".fe-disabled").wait_for()
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.find(n => n.id === 'B').d === undefined")
