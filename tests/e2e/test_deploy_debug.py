"""Deploy from the editor (types, the stale-revision dialog, server validation errors), inject
buttons, the debug sidebar and live status badges."""

from __future__ import annotations

from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    by_id,
    center,
    chain_flow,
    core_engine_fixture,
    debug,
    doc,
    editor_with_fixture,
    inject,
    mouse_drag,
    node,
    state,
    tab,
    wait_state,
)

DEPLOYED = "!s.deploying && s.baselineDoc === s.doc"


def add_from_palette(page: Any, node_type: str) -> str:
    count = len(doc(page))
    page.locator(f'[data-testid="palette-item"][data-type="{node_type}"]').click()
    wait_state(page, f"s.doc.length === {count + 1}")
    return doc(page)[-1]["id"]


def test_deploy_puts_new_nodes_into_the_running_flows(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    button = page.get_by_test_id("deploy-button")
    assert button.get_attribute("data-dirty") == "false"
    new_id = add_from_palette(page, "delay")
    assert button.get_attribute("data-dirty") == "true"
    node(page, new_id).locator('[data-testid="node-modified"]').wait_for()
    rev_before = state(page, "s.rev")
    with page.expect_request(lambda r: r.url.endswith("/flows") and r.method == "POST") as req:
        button.click()
    assert req.value.headers["node-red-deployment-type"] == "full"
    wait_state(page, DEPLOYED)
    assert button.get_attribute("data-dirty") == "false"
    assert state(page, "s.rev") != rev_before
    assert node(page, new_id).locator('[data-testid="node-modified"]').count() == 0
    active = by_id(core_engine.active_flows())
    assert active[new_id]["type"] == "delay" and active[new_id]["z"] == "t1"
    page.get_by_test_id("toast").filter(has_text="Deployed").wait_for()


def test_deploy_type_and_ctrl_d(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    page.get_by_test_id("deploy-type").select_option("nodes")
    new_id = add_from_palette(page, "json")
    page.get_by_test_id("canvas").click(position={"x": 700, "y": 500})
    with page.expect_request(lambda r: r.url.endswith("/flows") and r.method == "POST") as req:
        page.keyboard.press("Control+d")
    assert req.value.headers["node-red-deployment-type"] == "nodes"
    assert req.value.headers["node-red-api-version"] == "v2"
    wait_state(page, DEPLOYED)
    assert new_id in by_id(core_engine.active_flows())


def test_inject_button_shows_a_debug_message(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    button = node(page, "A").get_by_test_id("inject-button")
    assert button.get_attribute("data-enabled") == "true"
    button.click()
    message = page.get_by_test_id("debug-message").first
    message.wait_for()
    assert message.get_attribute("data-node-id") == "C"
    assert message.get_by_test_id("debug-value").inner_text() == "hello"
    # Clicking the message's node name selects that node.
    message.get_by_test_id("debug-node").click()
    wait_state(page, "s.selection.has('C') && s.selection.size === 1")


def test_inject_button_is_off_while_the_node_has_undeployed_changes(editor_with: Any) -> None:
    page = editor_with(chain_flow())
    x, y = center(node(page, "A"))
    mouse_drag(page, (x + 20, y), (x + 60, y + 40))
    wait_state(page, "s.doc.find(n => n.id === 'A').x !== 120")
    button = node(page, "A").get_by_test_id("inject-button")
    assert button.get_attribute("data-enabled") == "false"
    assert button.is_disabled()
    page.keyboard.press("Control+z")
    wait_state(page, "s.doc.find(n => n.id === 'A').x === 120")
    assert button.get_attribute("data-enabled") == "true", "undo back to the deployed node re-enables it"


def test_status_badge_updates_live(editor_with: Any) -> None:
    z = "t1"
    flows = [tab(z), inject("A", z, 120, 100, [["S"]], payload="first"),
             inject("A2", z, 120, 180, [["S"]], payload="second"),
             debug("S", z, 360, 140, tostatus=True, tosidebar=False)]
    page = editor_with(flows)
    assert node(page, "S").get_by_test_id("node-status").count() == 0
    node(page, "A").get_by_test_id("inject-button").click()
    badge = node(page, "S").get_by_test_id("node-status")
    badge.filter(has_text="first").wait_for()
    assert badge.get_attribute("data-fill") == "grey" and badge.get_attribute("data-shape") == "dot"
    node(page, "A2").get_by_test_id("inject-button").click()
    badge.filter(has_text="second").wait_for()


def test_debug_sidebar_filter_clear_pause_and_truncation(editor_with: Any) -> None:
    z = "t1"
    long_text = "x" * 1000
    flows = [tab(z), inject("A", z, 120, 100, [["C"]]), debug("C", z, 360, 100),
             inject("L", z, 120, 200, [["D"]], payload=long_text), debug("D", z, 360, 200)]
    page = editor_with(flows)
    messages = page.get_by_test_id("debug-message")
    node(page, "A").get_by_test_id("inject-button").click()
    node(page, "L").get_by_test_id("inject-button").click()
    messages.nth(1).wait_for()
    # Long values are cut at 300 characters until expanded.
    long_msg = messages.filter(has=page.locator('[data-testid="debug-more"]')).first
    assert len(long_msg.get_by_test_id("debug-value").inner_text()) == 301
    long_msg.get_by_test_id("debug-more").click()
    assert long_msg.get_by_test_id("debug-value").inner_text() == long_text
    # Filter: selected nodes only.
    node(page, "C").click()
    page.get_by_test_id("debug-filter").select_option("selected")
    assert messages.count() == 1 and messages.first.get_attribute("data-node-id") == "C"
    page.get_by_test_id("debug-filter").select_option("all")
    # Pause freezes the list; resume shows what arrived meanwhile.
    page.get_by_test_id("debug-pause").click()
    node(page, "A").get_by_test_id("inject-button").click()
    page.get_by_test_id("debug-pause").filter(has_text="Resume (1)").wait_for()
    assert messages.count() == 2
    page.get_by_test_id("debug-pause").click()
    messages.nth(2).wait_for()
    page.get_by_test_id("debug-clear").click()
    assert messages.count() == 0


def test_stale_revision_reload(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    add_from_palette(page, "delay")
    # Someone else deploys behind the editor's back.
    theirs = chain_flow() + [debug("THEIRS", "t1", 700, 300)]
    core_engine.deploy(theirs)
    page.get_by_test_id("deploy-button").click()
    dialog = page.get_by_test_id("conflict-dialog")
    dialog.wait_for()
    page.get_by_test_id("conflict-reload").click()
    dialog.wait_for(state="detached")
    wait_state(page, "s.doc.some(n => n.id === 'THEIRS')")
    assert [n["id"] for n in doc(page)] == [n["id"] for n in theirs]
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "false"
    node(page, "THEIRS").wait_for()


def test_stale_revision_overwrite(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    mine = add_from_palette(page, "delay")
    core_engine.deploy(chain_flow() + [debug("THEIRS", "t1", 700, 300)])
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("conflict-dialog").wait_for()
    page.get_by_test_id("conflict-overwrite").click()
    wait_state(page, DEPLOYED)
    active = by_id(core_engine.active_flows())
    assert mine in active and "THEIRS" not in active


def test_server_validation_error_highlights_the_node(editor_with: Any, core_engine: Any) -> None:
    page = editor_with(chain_flow())
    rev = state(page, "s.rev")
    # An edit the server refuses: a cron expression that does not parse.
    page.evaluate("""() => {
        const st = window.__flowengine.store, s = st.getState();
        st.setState({doc: s.doc.map(n => n.id === 'A' ? {...n, crontab: 'every blue moon'} : n)});
    }""")
    page.get_by_test_id("deploy-button").click()
    panel = page.get_by_test_id("problems-panel")
    panel.wait_for()
    problem = panel.locator('[data-testid="problem"][data-node-id="A"]')
    assert "crontab" in problem.inner_text()
    outlined = node(page, "A").locator(".fe-node.fe-problem")
    outlined.wait_for()
    assert "crontab" in (outlined.get_attribute("title") or "")
    assert node(page, "B").locator(".fe-problem").count() == 0
    assert state(page, "s.rev") == rev and page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "true"
    assert by_id(core_engine.active_flows())["A"]["crontab"] == ""
    problem.click()
    wait_state(page, "s.selection.has('A') && s.selection.size === 1")
    # Fixing and deploying clears the marks.
    page.evaluate("""() => {
        const st = window.__flowengine.store, s = st.getState();
        st.setState({doc: s.doc.map(n => n.id === 'A' ? {...n, crontab: ''} : n)});
    }""")
    page.keyboard.press("Control+d")
    wait_state(page, DEPLOYED + " && s.problems.length === 0")
    assert node(page, "A").locator(".fe-problem").count() == 0
    panel.wait_for(state="detached")
