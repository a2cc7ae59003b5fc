"""The canvas: adding nodes from the palette, wiring (drag and tap-tap), selecting, moving,
deleting with undo/redo, copy/paste across tabs, groups and subflows."""

from __future__ import annotations

import json
from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    ZOOM,
    by_id,
    canvas_point,
    center,
    chain_flow,
    change,
    core_engine_fixture,
    doc,
    editor_with_fixture,
    in_port,
    mouse_drag,
    node,
    out_port,
    state,
    tab,
    wait_state,
    wires_of,
)


def test_drag_from_palette_adds_a_node_where_dropped(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    before = len(doc(page))
    target = canvas_point(page, 700, 400)
    canvas = page.get_by_test_id("canvas")
    box = canvas.bounding_box()
    page.locator('[data-testid="palette-item"][data-type="delay"]').drag_to(
        canvas, target_position={"x": target[0] - box["x"], "y": target[1] - box["y"]})
    wait_state(page, f"s.doc.length === {before + 1}")
    added = doc(page)[-1]
    assert added["type"] == "delay" and added["z"] == "t1"
    assert abs(added["x"] - 700) <= 2 and abs(added["y"] - 400) <= 2
    assert added["wires"] == [[]]
    node(page, added["id"]).wait_for()
    assert state(page, f"[...s.selection].includes({added['id']!r})")


def test_click_on_palette_item_adds_a_node_in_the_middle_of_the_view(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    page.locator('[data-testid="palette-item"][data-type="debug"]').click()
    wait_state(page, "s.doc.length === 7")
    added = doc(page)[-1]
    assert added["type"] == "debug"
    x, y = center(node(page, added["id"]))
    box = page.get_by_test_id("canvas").bounding_box()
    assert abs(x - (box["x"] + box["width"] / 2)) < 40 and abs(y - (box["y"] + box["height"] / 2)) < 40


def test_wire_by_mouse_drag(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    mouse_drag(page, center(out_port(page, "D")), center(in_port(page, "E")))
    wait_state(page, "s.doc.find(n => n.id === 'D').wires[0].includes('E')")
    assert wires_of(page, "D") == [["E"]]
    page.locator('.react-flow__edge[data-id="D|0|E"]').wait_for(state="attached")
    # Undo removes the wire again.
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.find(n => n.id === 'D').wires[0].length === 0")


def test_wire_by_tapping_two_ports(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    out_port(page, "A").click()
    in_port(page, "D").click()
    wait_state(page, "s.doc.find(n => n.id === 'A').wires[0].includes('D')")
    assert wires_of(page, "A") == [["B", "D"]]


def test_box_select_delete_undo_redo(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    # A box around D and E (the lower row), started on empty canvas.
    start = canvas_point(page, 230, 220)
    end = canvas_point(page, 620, 300)
    mouse_drag(page, start, end)
    wait_state(page, "s.selection.size === 2")
    assert sorted(state(page, "[...s.selection]")) == ["D", "E"]
    page.keyboard.press("Delete")
    wait_state(page, "!s.doc.some(n => n.id === 'D' || n.id === 'E')")
    assert node(page, "D").count() == 0
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.some(n => n.id === 'D') && s.doc.some(n => n.id === 'E')")
    node(page, "D").wait_for()
    page.keyboard.press("Control+y")
    wait_state(page, "!s.doc.some(n => n.id === 'D')")
    page.keyboard.press("Control+Shift+z")  # nothing left to redo: no change
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.some(n => n.id === 'D')")


def test_delete_a_wired_node_removes_its_wires_and_undo_restores_them(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "B").click()
    page.keyboard.press("Backspace")
    wait_state(page, "!s.doc.some(n => n.id === 'B')")
    assert wires_of(page, "A") == [[]]
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.some(n => n.id === 'B')")
    assert wires_of(page, "A") == [["B"]]


def test_move_a_node_is_one_undo_step(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    x, y = center(node(page, "E"))
    mouse_drag(page, (x, y), (x + 100, y + 60), steps=20)
    wait_state(page, "s.doc.find(n => n.id === 'E').x !== 520")
    moved = by_id(doc(page))["E"]
    assert abs(moved["x"] - 620) <= 2 and abs(moved["y"] - 320) <= 2
    assert state(page, "s.history.past.length") == 1
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.find(n => n.id === 'E').x === 520")
    assert by_id(doc(page))["E"]["y"] == 260


def test_copy_paste_across_tabs(editor_with: Any) -> None:
    flows = chain_flow() + [tab("t2", "Second")]
    page = editor_with(flows)
    # Select A and B (wired together) with Ctrl+click, copy, paste on the second tab.
    node(page, "A").click()
    node(page, "B").click(modifiers=["Control"])
    wait_state(page, "s.selection.size === 2")
    page.keyboard.press("Control+c")
    page.locator('[data-testid="tab"][data-tab-id="t2"]').click()
    wait_state(page, "s.activeTab === 't2'")
    page.mouse.move(*canvas_point(page, 300, 300))
    page.keyboard.press("Control+v")
    wait_state(page, "s.doc.filter(n => n.z === 't2').length === 2")
    pasted = [n for n in doc(page) if n.get("z") == "t2"]
    ids = {n["id"] for n in pasted}
    assert not ids & {"A", "B"}, "pasted nodes get fresh ids"
    inj = next(n for n in pasted if n["type"] == "inject")
    chg = next(n for n in pasted if n["type"] == "change")
    assert inj["wires"] == [[chg["id"]]], "the wire between the copies is kept, pointing at the new id"
    assert abs(inj["x"] - 300) <= 2 and abs(inj["y"] - 300) <= 2, "pasted at the mouse"
    assert sorted(state(page, "[...s.selection]")) == sorted(ids)
    # The originals are untouched; undo removes the paste.
    assert wires_of(page, "A") == [["B"]]
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.filter(n => n.z === 't2').length === 0")


def test_cut_and_paste_moves_nodes(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "E").click()
    page.keyboard.press("Control+x")
    wait_state(page, "!s.doc.some(n => n.id === 'E')")
    page.keyboard.press("Control+v")
    wait_state(page, "s.doc.filter(n => n.type === 'debug').length === 2")


def test_select_all(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    page.get_by_test_id("canvas").click(position={"x": 600, "y": 500})
    page.keyboard.press("Control+a")
    wait_state(page, "s.selection.size === 5")


def test_group_selection_and_ungroup(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "D").click()
    node(page, "E").click(modifiers=["Control"])
    page.keyboard.press("Control+g")
    wait_state(page, "s.doc.some(n => n.type === 'group')")
    nodes = doc(page)
    group = next(n for n in nodes if n["type"] == "group")
    assert sorted(group["nodes"]) == ["D", "E"] and group["z"] == "t1"
    assert by_id(nodes)["D"]["g"] == group["id"] and by_id(nodes)["E"]["g"] == group["id"]
    assert group["x"] < 320 - 50 and group["x"] + group["w"] > 520 + 50, "the box surrounds its members"
    page.get_by_test_id("group").wait_for()
    # Dragging the group moves its members.
    box = node(page, group["id"]).bounding_box()
    mouse_drag(page, (box["x"] + 8, box["y"] + 8), (box["x"] + 8, box["y"] + 88))
    wait_state(page, "s.doc.find(n => n.id === 'D').y !== 260")
    assert abs(by_id(doc(page))["D"]["y"] - 340) <= 2 and abs(by_id(doc(page))["E"]["y"] - 340) <= 2
    # Ungroup: the group goes, the members stay without `g`.
    page.evaluate(f"() => window.__flowengine.store.setState({{selection: new Set([{group['id']!r}])}})")
    page.keyboard.press("Control+Shift+g")
    wait_state(page, "!s.doc.some(n => n.type === 'group')")
    assert "g" not in by_id(doc(page))["D"]


def test_subflow_from_selection(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "B").click()
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-subflow-from-selection").click()
    wait_state(page, "s.doc.some(n => n.type === 'subflow')")
    nodes = doc(page)
    sf = next(n for n in nodes if n["type"] == "subflow")
    inst = next(n for n in nodes if n["type"] == f"subflow:{sf['id']}")
    b = by_id(nodes)["B"]
    assert b["z"] == sf["id"] and b["wires"] == [[]]
    assert sf["in"][0]["wires"] == [{"id": "B"}]
    assert sf["out"][0]["wires"] == [{"id": "B", "port": 0}]
    assert sf["env"] == []
    assert inst["z"] == "t1" and inst["wires"] == [["C"]]
    assert by_id(nodes)["A"]["wires"] == [[inst["id"]]]
    node(page, inst["id"]).wait_for()
    # The subflow palette entry exists, and the server accepts the result.
    page.locator(f'[data-testid="palette-item"][data-type="subflow:{sf["id"]}"]').wait_for()
    page.get_by_test_id("deploy-button").click()
    wait_state(page, "s.problems.length === 0 && !s.deploying && s.rev !== null && s.baselineDoc === s.doc")
    active = by_id(core_engine.active_flows())
    assert active[inst["id"]]["type"] == f"subflow:{sf['id']}"
    # Double-click opens the instance's panel (its env overrides are edited there).
    node(page, inst["id"]).dblclick()
    page.locator(f'[data-testid="node-panel"][data-node-id="{inst["id"]}"]').wait_for()


def test_open_subflow_tab_shows_ports_and_wires(editor_with: Any) -> None:
    sf = {"id": "sf1", "type": "subflow", "name": "Double", "info": "", "category": "",
          "in": [{"x": 60, "y": 80, "wires": [{"id": "sfB"}]}],
          "out": [{"x": 460, "y": 80, "wires": [{"id": "sfB", "port": 0}]}], "env": [], "color": "#DDAA99"}
    flows = chain_flow() + [sf, change("sfB", "sf1", 260, 80)]
    page = editor_with(flows)
    count = len(doc(page))
    page.locator('[data-testid="palette-item"][data-type="subflow:sf1"]').get_by_test_id("palette-edit-subflow").click()
    wait_state(page, "s.activeTab === 'sf1'")
    assert len(doc(page)) == count, "opening the subflow adds no instance"
    page.locator('[data-testid="tab"][data-tab-id="sf1"]').wait_for()
    page.locator('[data-testid="subflow-port"][data-key="in"]').wait_for()
    page.locator('[data-testid="subflow-port"][data-key="out"]').wait_for()
    page.locator('.react-flow__edge[data-id="__sfport:in:0|0|sfB"]').wait_for(state="attached")
    page.locator('.react-flow__edge[data-id="sfB|0|__sfport:out:0"]').wait_for(state="attached")
    # Add an output port, wire it by tapping.
    page.get_by_test_id("subflow-output-add").click()
    wait_state(page, "s.doc.find(n => n.id === 'sf1').out.length === 2")
    out_port(page, "sfB").click()
    page.locator('.react-flow__node[data-id="__sfport:out:1"] .react-flow__handle').click()
    wait_state(page, "s.doc.find(n => n.id === 'sf1').out[1].wires.length === 1")
    assert state(page, "s.doc.find(n => n.id === 'sf1').out[1].wires") == [{"id": "sfB", "port": 0}]
    # Closing the subflow tab goes back to a flow tab.
    page.locator('[data-testid="tab"][data-tab-id="sf1"]').get_by_test_id("tab-close").click()
    wait_state(page, "s.activeTab === 't1'")


def test_link_nodes_show_dashed_edges_when_selected(editor_with: Any) -> None:
    z = "t1"
    flows = [tab(z),
             {"id": "LO", "type": "link out", "z": z, "name": "", "mode": "link", "links": ["LI"], "x": 200, "y": 100,
              "wires": []},
             {"id": "LI", "type": "link in", "z": z, "name": "", "links": ["LO"], "x": 500, "y": 200, "wires": [[]]}]
    page = editor_with(flows)
    assert page.locator(".react-flow__edge.fe-link-edge").count() == 0
    node(page, "LO").click()
    page.locator('.react-flow__edge.fe-link-edge[data-id="link|LO|LI"]').wait_for(state="attached")
    page.get_by_test_id("canvas").click(position={"x": 700, "y": 500})
    page.locator(".react-flow__edge.fe-link-edge").wait_for(state="detached")


def test_junction_and_comment_render(editor_with: Any) -> None:
    z = "t1"
    flows = [tab(z), {"id": "J", "type": "junction", "z": z, "x": 200, "y": 100, "wires": [[]]},
             {"id": "K", "type": "comment", "z": z, "name": "a note", "info": "", "x": 300, "y": 200, "wires": []}]
    page = editor_with(flows)
    assert node(page, "J").locator(".fe-junction").count() == 1
    comment = node(page, "K").locator(".fe-comment")
    assert comment.inner_text() == "a note"
    assert node(page, "K").locator(".react-flow__handle").count() == 0


def test_disabled_node_is_greyed(editor_with: Any) -> None:
    flows = chain_flow()
    flows[3]["d"] = True
    page = editor_with(flows)
    assert node(page, "C").locator(".fe-node.fe-disabled").count() == 1
    assert node(page, "B").locator(".fe-node.fe-disabled").count() == 0


def test_touch_tap_to_connect_and_pinch_zoom(core_engine: Any, browser: Any) -> None:
    engine = core_engine
    engine.deploy(chain_flow())
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, is_mobile=False)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(engine.url + "/")
        page.wait_for_function("() => window.__flowengine && window.__flowengine.ready === true")
        out_port(page, "D").tap()
        in_port(page, "E").tap()
        wait_state(page, "s.doc.find(n => n.id === 'D').wires[0].includes('E')")

        # Pinch out with two fingers on empty canvas: the zoom grows.
        before = page.evaluate(
            f"() => {ZOOM}")
        box = page.get_by_test_id("canvas").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] - 150
        cdp = context.new_cdp_session(page)

        def touch(kind: str, spread: float) -> None:
            points = [] if kind == "touchEnd" else [
                {"x": cx - spread, "y": cy, "id": 0}, {"x": cx + spread, "y": cy, "id": 1}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", 30)
        for step in range(1, 11):
            touch("touchMove", 30 + step * 12)
        touch("touchEnd", 0)
        page.wait_for_timeout(100)
        after = page.evaluate(
            f"() => {ZOOM}")
        assert after > before * 1.5, (before, after)
        assert not errors, errors
    finally:
        context.close()


def test_select_a_wire_and_delete_it(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    # A straight wire has a zero-height box, which Playwright calls hidden: wait for it to exist.
    page.locator('.react-flow__edge[data-id="A|0|B"]').wait_for(state="attached")
    # Click the middle of the wire (its invisible wide interaction path).
    a, b = center(out_port(page, "A")), center(in_port(page, "B"))
    page.mouse.click((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    wait_state(page, "s.selectedEdges.has('A|0|B')")
    page.keyboard.press("Delete")
    wait_state(page, "s.doc.find(n => n.id === 'A').wires[0].length === 0")
    assert state(page, "s.doc.some(n => n.id === 'B')"), "deleting a wire keeps its nodes"
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.find(n => n.id === 'A').wires[0].includes('B')")


def test_system_clipboard_copy_and_paste_carry_node_red_json(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "D").click()
    copied = page.evaluate("""() => {
        const dt = new DataTransfer();
        document.dispatchEvent(new ClipboardEvent('copy', {clipboardData: dt, bubbles: true, cancelable: true}));
        return dt.getData('text/plain');
    }""")
    assert [n["id"] for n in json.loads(copied)] == ["D"]
    # Paste JSON that came from elsewhere (e.g. Node-RED): two wired nodes, at the mouse.
    foreign = [{"id": "x1", "type": "inject", "z": "other", "name": "from NR", "x": 10, "y": 10, "wires": [["x2"]]},
               {"id": "x2", "type": "debug", "z": "other", "name": "sink", "x": 210, "y": 10, "wires": []}]
    page.mouse.move(*canvas_point(page, 400, 420))
    page.evaluate("""(text) => {
        const dt = new DataTransfer();
        dt.setData('text/plain', text);
        document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    }""", json.dumps(foreign))
    wait_state(page, "s.doc.some(n => n.name === 'from NR')")
    pasted = {n["name"]: n for n in doc(page) if n.get("name") in ("from NR", "sink")}
    assert pasted["from NR"]["z"] == "t1" and pasted["from NR"]["id"] != "x1"
    assert pasted["from NR"]["wires"] == [[pasted["sink"]["id"]]]
    assert abs(pasted["from NR"]["x"] - 400) <= 2 and abs(pasted["sink"]["x"] - 600) <= 2
