"""Regression tests for defects found in a review of the editor: sign-in again keeps undeployed
edits, secrets do not survive in the undo history or after sign-out, flow-supplied colours and
icons cannot load URLs, `__proto__` keys in imported JSON, no-op Done, edits during a deploy,
shortcuts while the node panel or a form control has focus, a stale CSRF token, pasting a subflow
into itself, a failing sign-out, and the websocket batch buffer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_core_support import (  # noqa: F401 (fixtures)
    chain_flow,
    core_engine_fixture,
    editor_with_fixture,
    node,
    state,
    tab,
    wait_state,
)

from tests.support.engine_process import EngineProcess

PASSWORD = "correct horse battery staple"
SECRET = "hunter2-SECRET"
DEPLOYED = "!s.deploying && s.baselineDoc === s.doc"
PANEL = '[data-testid="node-editor-panel"]'
BROKER = {"id": "b1", "type": "mqtt-broker", "name": "broker", "broker": "127.0.0.1", "port": "1",
          "clientid": "", "autoConnect": False, "usetls": False, "protocolVersion": "4", "keepalive": "60",
          "cleansession": True}


def flows() -> list[dict[str, Any]]:
    return chain_flow() + [dict(BROKER)]


# --- an engine with an account (one per module; each test has its own browser context) --------


@pytest.fixture(scope="module")
def account_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    workdir = tmp_path_factory.mktemp("hardening-accounts")
    engine = EngineProcess(workdir, flows())
    engine.add_user("alice", PASSWORD)
    engine.start()
    yield engine
    engine.stop()


def as_alice(engine: EngineProcess, method: str, document: list[dict[str, Any]] | None = None) -> Any:
    """GET or PUT /api/v1/flows with a session of its own (not the browser's)."""
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        r = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
        r.raise_for_status()
        r = client.request(method, "/api/v1/flows", json=document, headers={"X-CSRF-Token": r.json()["csrf_token"]})
        r.raise_for_status()
        return r.json()


def deploy_as_alice(engine: EngineProcess, document: list[dict[str, Any]]) -> str:
    return as_alice(engine, "PUT", document)["rev"]


def served_tabs(engine: EngineProcess) -> int:
    return sum(n["type"] == "tab" for n in as_alice(engine, "GET")["flows"])


def sign_in(page: Any) -> None:
    page.get_by_test_id("login-username").fill("alice")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_function("() => window.__flowengine.ready === true")


def open_signed_in(engine: EngineProcess, page: Any) -> Any:
    page.goto(engine.url + "/")
    sign_in(page)
    return page


def tab_count(page: Any) -> int:
    return state(page, "s.doc.filter(n => n.type === 'tab').length")


# --- 1. signing in again keeps the document --------------------------------------------------


def test_signing_in_again_keeps_undeployed_edits_and_undo(account_engine: EngineProcess, page: Any) -> None:
    deploy_as_alice(account_engine, flows())
    open_signed_in(account_engine, page)
    page.get_by_test_id("tab-add").click()
    page.get_by_test_id("tab-add").click()
    assert tab_count(page) == 3 and state(page, "s.history.past.length") == 2
    baseline = state(page, "s.baselineDoc")
    # The session ends; the next request (Deploy) is a 401 and the login form comes back.
    page.context.clear_cookies()
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("login-form").wait_for()
    sign_in(page)
    assert tab_count(page) == 3, "undeployed edits were dropped by the new sign-in"
    assert state(page, "s.history.past.length") == 2
    assert state(page, "s.baselineDoc") == baseline
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "true"
    page.get_by_test_id("deploy-button").click()
    wait_state(page, DEPLOYED)
    assert served_tabs(account_engine) == 3


def test_signing_in_again_after_a_deploy_elsewhere_keeps_edits_and_asks(account_engine: EngineProcess,
                                                                        page: Any) -> None:
    deploy_as_alice(account_engine, flows())
    open_signed_in(account_engine, page)
    page.get_by_test_id("tab-add").click()
    page.context.clear_cookies()
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("login-form").wait_for()
    deploy_as_alice(account_engine, flows() + [tab("t9", "Elsewhere")])  # someone deploys meanwhile
    sign_in(page)
    assert tab_count(page) == 2 and state(page, "s.history.past.length") == 1
    assert not state(page, "s.doc.some(n => n.id === 't9')")
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("conflict-dialog").wait_for()


# --- 2. secrets after deploy and after sign-out ----------------------------------------------


def type_broker_password(page: Any, secret: str) -> None:
    page.evaluate("() => window.__flowengine.store.setState({editing: 'b1'})")
    page.locator(PANEL).locator('[data-field="credentials.password"] input').fill(secret)
    page.get_by_test_id("node-editor-done").click()
    page.locator(PANEL).wait_for(state="detached")
    assert SECRET in json.dumps(state(page, "s.doc"))


def test_deploy_drops_typed_secrets_from_the_undo_history(editor_with: Any) -> None:
    page = editor_with(flows())
    type_broker_password(page, SECRET)
    page.get_by_test_id("tab-toggle-disabled").click()  # a later, unrelated edit
    page.get_by_test_id("deploy-button").click()
    wait_state(page, DEPLOYED)
    assert SECRET not in json.dumps(state(page, "s.doc"))
    assert SECRET not in json.dumps(state(page, "s.history")), "the password stays in the undo snapshots"
    page.get_by_test_id("undo").click()
    assert SECRET not in json.dumps(state(page, "s.doc")), "Undo brought the password back"
    # The undone step still shares the deployed broker object: the broker is not "modified".
    assert state(page, "s.doc.find(n => n.id === 'b1') === s.baseline.get('b1')")
    page.get_by_test_id("undo").click()
    assert SECRET not in json.dumps(state(page, "s.doc"))


def test_sign_out_clears_document_history_and_debug(account_engine: EngineProcess, page: Any) -> None:
    deploy_as_alice(account_engine, flows())
    open_signed_in(account_engine, page)
    type_broker_password(page, SECRET)
    node(page, "A").get_by_test_id("inject-button").click()
    wait_state(page, "s.debug.length > 0")
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-logout").click()
    page.get_by_test_id("login-form").wait_for()
    left = state(page, "({doc: s.doc, history: s.history, baseline: s.baselineDoc, debug: s.debug})")
    assert SECRET not in json.dumps(left)
    assert left["doc"] == [] and left["history"] == {"past": [], "future": []} and left["baseline"] == []
    assert left["debug"] == []
    sign_in(page)
    assert state(page, "s.debug.length") == 0, "debug messages carried over into the next session"
    assert state(page, "s.history.past.length") == 0 and SECRET not in json.dumps(state(page, "s.doc"))


# --- 3. colours and icons are only colours and our icons -------------------------------------


EVIL = "http://evil.test"


def test_flow_colours_and_palette_icons_cannot_load_urls(editor_with: Any, page: Any) -> None:
    hits: list[str] = []

    def evil(route: Any) -> None:
        hits.append(route.request.url)
        route.fulfill(status=204, body="")

    page.route(f"{EVIL}/**", evil)

    def palette(route: Any) -> None:
        body = route.fetch().json()
        for t in body["types"]:
            if t["type"] == "change":
                t["color"] = f"url({EVIL}/palette-color)"
                t["icon"] = "//evil.test/palette-icon.png"
            if t["type"] == "debug":
                t["icon"] = f"{EVIL}/debug-icon.png"
        route.fulfill(json=body)

    page.route("**/api/v1/nodes", palette)
    sf = {"id": "sfA", "type": "subflow", "name": "S", "info": "", "in": [], "out": [], "env": [],
          "color": f"url({EVIL}/subflow-color)"}
    group = {"id": "g1", "type": "group", "z": "t1", "name": "G", "nodes": ["I1"], "x": 560, "y": 380, "w": 220,
             "h": 100, "style": {"fill": f"url({EVIL}/group-fill)", "stroke": f"url({EVIL}/group-stroke)",
                                 "color": f"url({EVIL}/group-color)", "label": True}}
    inst = {"id": "I1", "type": "subflow:sfA", "z": "t1", "g": "g1", "name": "", "env": [], "x": 660, "y": 420,
            "wires": []}
    page = editor_with(chain_flow() + [sf, group, inst])
    node(page, "B").locator('[data-testid="node"]').wait_for()
    page.wait_for_timeout(300)
    assert hits == [], f"the editor fetched URLs from flow or palette data: {hits}"
    styles = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="group"], [data-testid="node"], [data-testid="palette-item"], .fe-group-label')]
        .map(e => e.getAttribute('style') || '').join(' ')""")
    assert "url(" not in styles
    assert page.locator('img[src*="evil"]').count() == 0
    # Real colours still apply.
    assert node(page, "B").locator('[data-testid="node"]').evaluate("e => e.style.background") != ""


# --- 4. `__proto__` keys in imported or pasted JSON ------------------------------------------


PROTO_NODE = ('{"id":"imp1","type":"debug","__proto__":{"d":true},"name":"looks disabled",'
              '"x":300,"y":300,"wires":[],"extra":{"__proto__":{"polluted":1}}}')
CLEAN = """(id) => { const n = window.__flowengine.store.getState().doc.find(n => n.id === id);
    return Object.getPrototypeOf(n) === Object.prototype && !Object.hasOwn(n, '__proto__') && !('d' in n)
        && !Object.hasOwn(n.extra, '__proto__') && n.extra.polluted === undefined; }"""


def test_proto_keys_are_dropped_on_import_and_paste(editor_with: Any, core_engine: EngineProcess) -> None:
    page = editor_with(chain_flow())
    page.keyboard.press("Control+i")
    page.get_by_test_id("import-text").fill(f"[{PROTO_NODE}]")
    page.get_by_test_id("import-target-current").check()
    page.get_by_test_id("import-summary").wait_for()
    notes = page.get_by_test_id("import-note").filter(has_text="__proto__").count()
    page.get_by_test_id("import-confirm").click()
    wait_state(page, "s.doc.some(n => n.id === 'imp1')")
    assert "fe-disabled" not in node(page, "imp1").locator('[data-testid="node"]').get_attribute("class")
    assert page.evaluate(CLEAN, "imp1"), "a __proto__ key reached the document"
    assert notes == 1, "the import does not say that it dropped keys"
    # The same through the system clipboard (paste gives fresh ids).
    before = state(page, "s.doc.length")
    page.evaluate("""(text) => {
        const dt = new DataTransfer(); dt.setData('text/plain', text);
        document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    }""", PROTO_NODE)
    wait_state(page, f"s.doc.length === {before + 1}")
    pasted = state(page, "s.doc[s.doc.length - 1].id")
    assert page.evaluate(CLEAN, pasted), "a pasted __proto__ key reached the document"
    page.get_by_test_id("deploy-button").click()
    wait_state(page, DEPLOYED)
    served = {n["id"]: n for n in core_engine.active_flows()}
    assert "d" not in served["imp1"] and "__proto__" not in served[pasted]


# --- 5. Done without changes ------------------------------------------------------------------


def test_done_without_changes_is_not_an_edit(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    node(page, "B").dblclick()
    page.locator(PANEL).wait_for()
    page.get_by_test_id("node-editor-done").click()
    page.locator(PANEL).wait_for(state="detached")
    assert state(page, "s.history.past.length") == 0
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "false"
    assert node(page, "B").locator('[data-testid="node-modified"]').count() == 0
    # A real change still applies.
    node(page, "B").dblclick()
    page.locator(PANEL).locator('[data-field="name"] input').fill("renamed")
    page.get_by_test_id("node-editor-done").click()
    wait_state(page, "s.doc.find(n => n.id === 'B').name === 'renamed' && s.history.past.length === 1")


# --- 6. an edit while a deploy is in flight ---------------------------------------------------


SLOW_DEPLOY = """() => { const f = window.fetch; window.fetch = async (u, o) => {
    if (o && o.method === 'POST' && String(u) === '/flows') await new Promise(r => setTimeout(r, 800));
    return f(u, o); }; }"""


def test_edit_during_deploy_keeps_the_baseline_exact(editor_with: Any) -> None:
    page = editor_with(flows())
    type_broker_password(page, SECRET)
    page.evaluate("() => window.__flowengine.store.setState({selection: new Set(['B'])})")
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-toggle-disabled").click()
    page.evaluate(SLOW_DEPLOY)
    page.get_by_test_id("deploy-button").click()
    wait_state(page, "s.deploying")
    page.get_by_test_id("tab-add").click()  # made while the request is in flight
    wait_state(page, "!s.deploying")
    assert state(page, "s.baselineDoc.find(n => n.id === 'B').d") is True
    assert state(page, "s.doc.find(n => n.id === 'B') === s.baseline.get('B')"), "the deployed node is 'modified'"
    assert SECRET not in json.dumps(state(page, "[s.doc, s.baselineDoc, s.history]"))
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "true"  # the new tab
    page.get_by_test_id("undo").click()
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "false"


# --- 7. Ctrl+D/F/I/E while the node panel is open ---------------------------------------------


def test_dialog_and_deploy_shortcuts_leave_an_open_node_panel_alone(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    rev = state(page, "s.rev")
    node(page, "B").dblclick()
    panel = page.locator(PANEL)
    name = panel.locator('[data-field="name"] input')
    name.fill("my unsaved name")
    panel.locator(".nf-title").click()  # focus on the panel, not in a field
    for key in ("Control+e", "Control+f", "Control+i", "Control+d"):
        page.keyboard.press(key)
    page.wait_for_timeout(200)
    assert state(page, "[s.editing, s.dialog, s.deploying, s.rev]") == ["B", None, False, rev]
    assert name.input_value() == "my unsaved name"
    page.get_by_test_id("node-editor-done").click()
    wait_state(page, "s.doc.find(n => n.id === 'B').name === 'my unsaved name'")


# --- 8. a stale CSRF token ---------------------------------------------------------------------


def test_a_stale_csrf_token_is_refreshed_once(account_engine: EngineProcess, browser: Any) -> None:
    deploy_as_alice(account_engine, flows())
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        first = open_signed_in(account_engine, context.new_page())
        second = context.new_page()
        second.goto(account_engine.url + "/")
        second.wait_for_function("() => window.__flowengine && window.__flowengine.ready === true")
        context.clear_cookies()  # the session ends; the first tab signs in again (a new session)
        first.reload()
        sign_in(first)
        statuses: list[int] = []
        second.on("response", lambda r: statuses.append(r.status)
                  if r.request.method == "POST" and r.url.endswith("/flows") else None)
        second.get_by_test_id("tab-add").click()
        second.get_by_test_id("deploy-button").click()
        wait_state(second, DEPLOYED)
        assert statuses == [403, 200]
        assert served_tabs(account_engine) == 2
    finally:
        context.close()


# --- 9. clipboard keys while a form control has focus ------------------------------------------


@pytest.mark.parametrize("control", ["debug-filter", "deploy-type"])
def test_clipboard_keys_in_a_select_leave_the_canvas_alone(editor_with: Any, control: str) -> None:
    page = editor_with(chain_flow())
    page.evaluate("() => window.__flowengine.store.setState({selection: new Set(['B'])})")
    page.keyboard.press("Control+c")  # something in the editor's clipboard
    before = state(page, "s.doc")
    page.get_by_test_id(control).focus()
    # Ctrl+A in a select selects the page's text: clipboard events then target the element where
    # that selection starts, not the focused select.
    for key in ("Control+a", "Control+x", "Control+v", "Delete"):
        page.keyboard.press(key)
    page.wait_for_timeout(150)
    assert state(page, "s.doc") == before and state(page, "s.history.past.length") == 0


# --- 10. a subflow's instance pasted into the subflow ------------------------------------------


def test_paste_does_not_put_a_subflow_inside_itself(editor_with: Any) -> None:
    sf = {"id": "sfS", "type": "subflow", "name": "S", "info": "", "in": [{"x": 60, "y": 80, "wires": []}],
          "out": [], "env": []}
    inst = {"id": "instS", "type": "subflow:sfS", "z": "t1", "name": "", "env": [], "x": 700, "y": 400,
            "wires": []}
    page = editor_with(chain_flow() + [sf, inst])
    page.evaluate("() => window.__flowengine.store.setState({selection: new Set(['instS', 'D'])})")
    page.keyboard.press("Control+c")
    page.locator('[data-testid="palette-item"][data-type="subflow:sfS"]').get_by_test_id(
        "palette-edit-subflow").click()
    wait_state(page, "s.activeTab === 'sfS'")
    page.mouse.move(600, 400)
    page.keyboard.press("Control+v")
    wait_state(page, "s.doc.some(n => n.z === 'sfS' && n.type === 'change')")
    assert state(page, "s.doc.filter(n => n.z === 'sfS' && n.type === 'subflow:sfS').length") == 0
    page.get_by_test_id("toast").filter(has_text="cannot contain itself").wait_for()


# --- 11. a failing sign-out request -------------------------------------------------------------


def test_a_failing_sign_out_request_still_signs_out(account_engine: EngineProcess, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_signed_in(account_engine, page)
    page.route("**/api/v1/auth/logout", lambda route: route.abort())
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-logout").click()
    page.get_by_test_id("login-form").wait_for()
    page.wait_for_timeout(300)
    assert errors == [], "the failed request escaped as an unhandled rejection"
    page.get_by_test_id("toast").filter(has_text="Sign-out").wait_for()
    assert state(page, "[s.user, s.doc.length, s.history.past.length]") == [None, 0, 0]


# --- the reviewer's suspicions: a keydown without a key, the websocket batch buffer --------------


def test_a_keydown_event_without_a_key_is_ignored(editor_with: Any, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page = editor_with(chain_flow())
    page.evaluate("() => { window.dispatchEvent(new Event('keydown')); window.dispatchEvent(new Event('keyup')); }")
    page.wait_for_timeout(100)
    assert errors == []


SOCKET_OPEN = "() => window.__hardeningSockets.length > 0 && window.__hardeningSockets.at(-1).readyState === 1"


def test_websocket_frames_waiting_for_a_batch_are_capped(editor_with: Any, page: Any) -> None:
    page.add_init_script("""(() => {
        const Real = window.WebSocket;
        window.__hardeningSockets = [];
        window.WebSocket = class extends Real {
            constructor(...args) { super(...args); window.__hardeningSockets.push(this); }
        };
    })()""")
    page = editor_with(chain_flow())
    page.wait_for_function(SOCKET_OPEN)
    page.evaluate("""() => {
        const ws = window.__hardeningSockets.at(-1);
        for (let i = 0; i < 5000; i++) {
            ws.onmessage({data: JSON.stringify({type: 'status', node_id: 'x' + i, data: {text: 't', fill: 'green'}})});
        }
    }""")
    page.wait_for_timeout(300)
    count = state(page, "Object.keys(s.status).filter(k => k.startsWith('x')).length")
    assert count <= 2000, f"{count} frames went into one batch"
