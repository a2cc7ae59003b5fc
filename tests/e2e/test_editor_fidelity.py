"""Node-RED fidelity and busy-page fixes of the editor (review 3): a re-import keeps tab-scoped
config nodes with their tab, the subflow status output (drawn, wired, toggled, cleaned on delete),
link nodes whose partner is on another tab, and the debug sidebar under many messages (only the
newest rows drawn; a server `dropped` frame refreshes the status badges)."""

from __future__ import annotations

import json
import re
from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    change,
    core_engine_fixture,
    debug,
    doc,
    editor_with_fixture,
    inject,
    node,
    out_port,
    state,
    tab,
    wait_state,
)

BROKER = {"broker": "127.0.0.1", "port": "1", "clientid": "", "autoConnect": False, "usetls": False,
          "protocolVersion": "4", "keepalive": "60", "cleansession": True}


def mqtt_out(node_id: str, z: str, broker: str, y: int) -> dict[str, Any]:
    return {"id": node_id, "type": "mqtt out", "z": z, "name": node_id, "topic": "t", "qos": "0", "retain": "",
            "broker": broker, "x": 300, "y": y, "wires": []}


def subflow_flows(with_status: bool = True) -> list[dict[str, Any]]:
    sf: dict[str, Any] = {
        "id": "sf1", "type": "subflow", "name": "Filter", "info": "", "category": "",
        "in": [{"x": 60, "y": 80, "wires": [{"id": "sfA"}]}],
        "out": [{"x": 460, "y": 80, "wires": [{"id": "sfA", "port": 0}]}], "env": [], "color": "#DDAA99"}
    if with_status:
        sf["status"] = {"x": 460, "y": 180, "wires": [{"id": "sfS", "port": 0}]}
    return [tab("t1"), sf, change("sfA", "sf1", 260, 80), change("sfS", "sf1", 260, 180)]


def open_subflow(page: Any, sf_id: str = "sf1") -> None:
    page.locator(f'[data-testid="palette-item"][data-type="subflow:{sf_id}"]').get_by_test_id("palette-edit-subflow").click()
    wait_state(page, f"s.activeTab === {sf_id!r}")


def sf_status(page: Any) -> Any:
    return state(page, "s.doc.find(n => n.id === 'sf1').status ?? null")


# --- 1. re-import: a tab-scoped config node follows its tab -------------------------------------

def test_reimport_copies_tab_scoped_config_with_its_tab(editor_with: Any, core_engine: Any) -> None:
    flows = [tab("t1", "Sensors"),
             {"id": "bT", "type": "mqtt-broker", "z": "t1", "name": "tab broker", **BROKER},
             {"id": "bG", "type": "mqtt-broker", "name": "global broker", **BROKER},
             mqtt_out("pT", "t1", "bT", 100), mqtt_out("pG", "t1", "bG", 200)]
    page = editor_with(flows)
    before = {n["id"] for n in doc(page)}
    page.keyboard.press("Control+i")
    page.get_by_test_id("import-text").fill(json.dumps(flows))
    page.get_by_test_id("import-summary").wait_for()
    page.get_by_test_id("import-target-new").check()
    page.get_by_test_id("import-confirm").click()
    page.get_by_test_id("import-dialog").wait_for(state="detached")
    nodes = {n["id"]: n for n in doc(page)}
    added = [n for i, n in nodes.items() if i not in before]
    new_tab = next(n for n in added if n["type"] == "tab")
    copy_t = next(n for n in added if n.get("name") == "pT")
    copy_g = next(n for n in added if n.get("name") == "pG")
    # The global broker is identical and global: reused. The tab's broker is copied with the tab.
    assert copy_g["broker"] == "bG"
    assert copy_t["z"] == new_tab["id"] and copy_t["broker"] != "bT", "the copy must not use the original tab's broker"
    broker_copy = nodes[copy_t["broker"]]
    assert broker_copy["type"] == "mqtt-broker" and broker_copy["z"] == new_tab["id"]
    assert sum(1 for n in added if n["type"] == "mqtt-broker") == 1
    # Deleting the original tab leaves the copy complete: the server takes it.
    page.locator('[data-testid="tab"][data-tab-id="t1"]').click()
    page.get_by_test_id("tab-delete").click()
    wait_state(page, "!s.doc.some(n => n.id === 't1' || n.id === 'bT')")
    assert copy_t["broker"] in {n["id"] for n in doc(page)}
    core_engine.deploy(doc(page))


# --- 2. deleting the node that feeds the status port cleans `status.wires` ----------------------

def test_deleting_the_node_feeding_the_status_port_removes_the_reference(editor_with: Any) -> None:
    page = editor_with(subflow_flows())
    open_subflow(page)
    node(page, "sfS").click()
    page.keyboard.press("Delete")
    wait_state(page, "!s.doc.some(n => n.id === 'sfS')")
    assert sf_status(page) == {"x": 460, "y": 180, "wires": []}
    # The output port wires are untouched.
    assert state(page, "s.doc.find(n => n.id === 'sf1').out[0].wires") == [{"id": "sfA", "port": 0}]


# --- 3. a selected link node shows its partners on other tabs -----------------------------------

def test_selected_link_node_shows_off_tab_partner_and_jumps_there(editor_with: Any) -> None:
    flows = [tab("t1", "Sensors"), tab("t2", "Actuators"),
             {"id": "LO", "type": "link out", "z": "t1", "name": "to valves", "mode": "link", "links": ["LI"],
              "x": 200, "y": 100, "wires": []},
             {"id": "LC", "type": "link call", "z": "t1", "name": "ask", "links": ["LI"], "linkType": "static",
              "timeout": "30", "x": 200, "y": 220, "wires": [[]]},
             {"id": "LI", "type": "link in", "z": "t2", "name": "valves in", "links": ["LO"], "x": 900, "y": 600,
              "wires": [[]]}]
    page = editor_with(flows)
    labels = page.get_by_test_id("link-offtab")
    assert labels.count() == 0, "nothing is drawn while no link node is selected"
    for link in ("LO", "LC"):
        node(page, link).click()
        page.locator(f'.react-flow__edge.fe-link-edge[data-id="link|{link}|__linkoff:{link}:LI"]').wait_for(state="attached")
        label = page.locator(f'.react-flow__node[data-id="__linkoff:{link}:LI"] [data-testid="link-offtab"]')
        assert labels.count() == 1
        assert label.get_attribute("data-partner") == "LI"
        assert "Actuators" in label.inner_text() and "valves in" in label.inner_text()
    # The link in on the other tab shows the way back (its `links` name the link out).
    label.click()
    wait_state(page, "s.activeTab === 't2' && s.selection.has('LI') && s.selection.size === 1")
    # The partner is centred in the view.
    page.wait_for_function("""() => {
        const n = document.querySelector('.react-flow__node[data-id="LI"]')?.getBoundingClientRect();
        const c = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
        return !!n && Math.abs(n.x + n.width / 2 - (c.x + c.width / 2)) < 40
            && Math.abs(n.y + n.height / 2 - (c.y + c.height / 2)) < 40;
    }""")
    back = page.locator('[data-testid="link-offtab"][data-partner="LO"]')
    back.wait_for()
    assert "Sensors" in back.inner_text()


# --- 4. the subflow status output: drawn, wired, toggled ----------------------------------------

def test_subflow_status_port_is_drawn_wired_and_toggled(editor_with: Any) -> None:
    page = editor_with(subflow_flows())
    open_subflow(page)
    port = page.locator('[data-testid="subflow-port"][data-key="status"]')
    port.wait_for()
    assert port.inner_text() == "status"
    page.locator('.react-flow__edge[data-id="sfS|0|__sfport:status:0"]').wait_for(state="attached")
    toggle = page.get_by_test_id("subflow-status")
    assert toggle.is_checked()
    # Off: the definition loses `status`; on: an unwired status output.
    toggle.uncheck()
    wait_state(page, "!('status' in s.doc.find(n => n.id === 'sf1'))")
    port.wait_for(state="detached")
    toggle.check()
    wait_state(page, "s.doc.find(n => n.id === 'sf1').status?.wires.length === 0")
    port.wait_for()
    # Wire a node to it by tapping its output port, then the status port.
    out_port(page, "sfA").click()
    page.locator('.react-flow__node[data-id="__sfport:status:0"] .react-flow__handle').click()
    wait_state(page, "s.doc.find(n => n.id === 'sf1').status.wires.length === 1")
    assert sf_status(page)["wires"] == [{"id": "sfA", "port": 0}]
    # Undo takes the wire away again.
    page.get_by_test_id("undo").click()
    wait_state(page, "s.doc.find(n => n.id === 'sf1').status.wires.length === 0")


# --- 5. debug sidebar: newest rows only; a `dropped` frame refreshes the badges -----------------

def test_debug_sidebar_draws_the_newest_rows_only(editor_with: Any) -> None:
    z = "t1"
    sinks = [debug(f"D{i}", z, 400 + (i % 6) * 130, 60 + (i // 6) * 50) for i in range(60)]
    flows = [tab(z), inject("A", z, 120, 100, [[d["id"] for d in sinks]]), *sinks]
    page = editor_with(flows)
    button = node(page, "A").get_by_test_id("inject-button")
    for i in range(5):
        button.click()
        wait_state(page, f"s.debug.length === {60 * (i + 1)}")
    messages = page.get_by_test_id("debug-message")
    assert messages.count() == 200
    older = page.get_by_test_id("debug-older")
    assert older.inner_text() == "show 100 older messages"
    older.click()
    wait_state(page, "document.querySelectorAll('[data-testid=debug-message]').length === 300")
    assert older.count() == 0


def test_dropped_frame_from_the_server_refreshes_status_badges(editor_with: Any, page: Any) -> None:
    """The server sends {type: "dropped"} when this client fell behind; status frames it skipped
    are simulated here by holding them back, so only a refresh from GET /api/v1/state shows the badge."""
    sockets: list[Any] = []

    def route(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            text = message.decode() if isinstance(message, bytes) else message
            if json.loads(text).get("type") != "status":
                ws.send(text)

        server.on_message(from_server)
        sockets.append(ws)

    page.route_web_socket(re.compile(r".*/api/v1/events$"), route)
    z = "t1"
    flows = [tab(z), inject("A", z, 120, 100, [["S"]], payload="seen"),
             debug("S", z, 360, 100, tostatus=True, tosidebar=False)]
    editor_with(flows)
    assert sockets, "the event stream goes through the route"
    node(page, "A").get_by_test_id("inject-button").click()
    badge = node(page, "S").get_by_test_id("node-status")
    page.wait_for_timeout(500)
    assert badge.count() == 0, "status frames are held back"
    sockets[0].send(json.dumps({"type": "dropped", "ts": 0, "node_id": None, "data": {"count": 1}}))
    badge.filter(has_text="seen").wait_for()
