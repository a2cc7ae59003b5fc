"""Usability fixes of the editor (UX review): leaving with undeployed changes asks first, an open
panel with unapplied edits is not replaced by another node's, a switch's output ports and wires
follow its rules, a subflow instance's panel lists the subflow's env variables, and "Selection to
subflow" opens the new definition as a tab."""

from __future__ import annotations

from typing import Any

from test_core_support import (  # noqa: F401 (fixtures)
    core_engine_fixture,
    debug,
    editor_with_fixture,
    inject,
    node,
    state,
    tab,
    wait_state,
)

PANEL = '[data-testid="node-editor-panel"]'
T = "t1"


def open_panel(page: Any, node_id: str) -> Any:
    node(page, node_id).dblclick()
    panel = page.locator(PANEL)
    panel.wait_for()
    return panel


def apply(page: Any) -> None:
    page.get_by_test_id("node-editor-done").click()
    if page.get_by_test_id("node-editor-armed").count():
        page.get_by_test_id("node-editor-done").click()
    page.locator(PANEL).wait_for(state="detached")


def node_state(page: Any, node_id: str) -> dict[str, Any]:
    return state(page, f"s.doc.find(n => n.id === {node_id!r})")


def synthetic_unload_prevented(page: Any) -> bool:
    return page.evaluate("""() => { const e = new Event('beforeunload', {cancelable: true});
                                    window.dispatchEvent(e); return e.defaultPrevented; }""")


def test_leaving_with_undeployed_changes_asks_first(editor_with: Any) -> None:
    page = editor_with([tab(T), inject("A", T, 120, 100)])
    assert not synthetic_unload_prevented(page), "no changes: leaving must not ask"
    page.locator('[data-testid="palette-item"][data-type="debug"]').click()
    wait_state(page, "s.doc.length === 3")
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") == "true"
    assert synthetic_unload_prevented(page)

    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert not page.is_closed() and state(page, "s.doc.length") == 3, "dismissing the prompt keeps the edits"

    # Deployed: nothing to lose, the page reloads without asking.
    page.get_by_test_id("deploy-button").click()
    wait_state(page, "!s.deploying && s.baselineDoc === s.doc")
    assert not synthetic_unload_prevented(page)
    page.reload()
    page.wait_for_function("() => window.__flowengine && window.__flowengine.ready === true")
    assert dialogs == ["beforeunload"] and state(page, "s.doc.length") == 3


def test_double_click_on_another_node_keeps_a_panel_with_unapplied_edits(editor_with: Any) -> None:
    page = editor_with([tab(T), inject("A", T, 120, 100, [["C"]]), debug("C", T, 520, 100)])
    panel = open_panel(page, "A")
    panel.locator('[data-field="name"] input').fill("edited name")
    node(page, "C").dblclick()
    page.wait_for_timeout(300)
    assert state(page, "s.editing") == "A", "the panel with unapplied edits was replaced"
    assert panel.locator('[data-field="name"] input').input_value() == "edited name"
    assert "finish or cancel" in page.get_by_test_id("toast").last.inner_text().lower()
    apply(page)
    assert node_state(page, "A")["name"] == "edited name"

    # A panel without changes gives way, as before.
    open_panel(page, "C")
    node(page, "A").dblclick()
    wait_state(page, "s.editing === 'A'")
    # Typing the old value back means no changes either.
    panel = page.locator(PANEL)
    name = panel.locator('[data-field="name"] input')
    name.fill("x")
    name.fill("edited name")
    node(page, "C").dblclick()
    wait_state(page, "s.editing === 'C'")


def test_removing_or_moving_a_switch_rule_moves_its_wires(editor_with: Any) -> None:
    sw = {"id": "S", "type": "switch", "z": T, "name": "S", "property": "payload", "propertyType": "msg",
          "rules": [{"t": "eq", "v": "a", "vt": "str"}, {"t": "eq", "v": "b", "vt": "str"}, {"t": "else"}],
          "checkall": "true", "repair": False, "outputs": 3, "x": 320, "y": 160,
          "wires": [["MA"], ["MB"], ["OTHER"]]}
    page = editor_with([tab(T), inject("A", T, 120, 160, [["S"]]), sw, debug("MA", T, 620, 60),
                        debug("MB", T, 620, 160), debug("OTHER", T, 620, 260)])
    panel = open_panel(page, "S")
    panel.get_by_role("button", name="remove row 1").click()  # the 'eq a' rule and its port go
    apply(page)
    s = node_state(page, "S")
    assert s["wires"] == [["MB"], ["OTHER"]] and s["outputs"] == 2
    assert s["rules"] == [{"t": "eq", "v": "b", "vt": "str"}, {"t": "else"}], "no editor bookkeeping in the rules"
    assert node(page, "S").locator('[data-testid="port-out"]').count() == 2

    panel = open_panel(page, "S")
    panel.get_by_role("button", name="move row 2 up").click()  # 'else' first: its wire comes along
    apply(page)
    s = node_state(page, "S")
    assert s["wires"] == [["OTHER"], ["MB"]] and s["rules"][0] == {"t": "else"}

    # Done without a change leaves the node (and its wires) alone.
    before = node_state(page, "S")
    open_panel(page, "S")
    apply(page)
    assert node_state(page, "S") == before
    page.get_by_test_id("deploy-button").click()
    wait_state(page, "!s.deploying && s.baselineDoc === s.doc && s.problems.length === 0")


def test_a_switch_gets_one_output_port_per_rule(editor_with: Any) -> None:
    page = editor_with([tab(T)])
    page.locator('[data-testid="palette-item"][data-type="switch"]').click()
    wait_state(page, "s.doc.length === 2")
    sw = state(page, "s.doc[1].id")
    panel = open_panel(page, sw)
    rules = len(node_state(page, sw).get("rules") or [])
    panel.get_by_test_id("row-add").click()
    panel.get_by_test_id("row-add").click()
    apply(page)
    s = node_state(page, sw)
    assert s["outputs"] == rules + 2 and s["wires"] == [[] for _ in range(rules + 2)]
    assert node(page, sw).locator('[data-testid="port-out"]').count() == rules + 2


def test_subflow_instance_panel_lists_the_subflow_env_variables(editor_with: Any) -> None:
    sf = {"id": "sf1", "type": "subflow", "name": "helper", "info": "", "category": "",
          "in": [{"x": 50, "y": 30, "wires": []}], "out": [], "color": "#DDAA99",
          "env": [{"name": "LIMIT", "type": "num", "value": "3"}, {"name": "MODE", "type": "str", "value": "auto"}]}
    inst = {"id": "si1", "type": "subflow:sf1", "z": T, "name": "", "x": 200, "y": 120, "wires": [], "env": []}
    page = editor_with([tab(T), sf, inst])
    panel = open_panel(page, "si1")
    assert panel.locator(".nf-title").inner_text() == "helper"
    names = [i.input_value() for i in panel.locator('[data-field^="env."][data-field$=".name"] input').all()]
    values = [i.input_value() for i in panel.locator('[data-field^="env."][data-field$=".value"] input').all()]
    assert names == ["LIMIT", "MODE"] and values == ["3", "auto"]
    apply(page)  # nothing changed: no override is stored
    assert node_state(page, "si1")["env"] == []
    assert page.get_by_test_id("deploy-button").get_attribute("data-dirty") != "true"

    panel = open_panel(page, "si1")
    panel.locator('[data-field="env.0.value"] input').fill("5")
    apply(page)
    assert node_state(page, "si1")["env"] == [{"name": "LIMIT", "type": "num", "value": "5"}]
    panel = open_panel(page, "si1")  # the override shows in its variable's row
    assert panel.locator('[data-field="env.0.value"] input').input_value() == "5"
    assert panel.locator('[data-field^="env."][data-field$=".name"] input').count() == 2


def test_a_server_problem_on_an_instance_env_entry_shows_under_its_variable(editor_with: Any) -> None:
    sf = {"id": "sf2", "type": "subflow", "name": "helper", "in": [{"x": 50, "y": 30, "wires": []}], "out": [],
          "env": [{"name": "LIMIT", "type": "num", "value": "3"}, {"name": "MODE", "type": "str", "value": "auto"}]}
    # Stored order differs from the panel's (which lists the subflow's variables first).
    inst = {"id": "si2", "type": "subflow:sf2", "z": T, "name": "", "x": 200, "y": 120, "wires": [],
            "env": [{"name": "MODE", "type": "str", "value": "manual"}, {"name": "LIMIT", "type": "num", "value": "4"}]}
    page = editor_with([tab(T), sf, inst])
    page.evaluate("""() => { const st = window.__flowengine.store; const s = st.getState();
        const bad = (n) => ({...n, env: [n.env[0], {...n.env[1], value: 'lots'}]});
        st.setState({doc: s.doc.map(n => n.id === 'si2' ? bad(n) : n)}); }""")
    page.get_by_test_id("deploy-button").click()
    wait_state(page, "s.problems.length > 0 && !s.deploying")
    assert state(page, "s.problems[0].path") == "env[1].value"  # the server names the stored entry (LIMIT)
    panel = open_panel(page, "si2")
    assert panel.locator('[data-field="env.0.name"] input').input_value() == "LIMIT"  # listed first
    assert "not a number" in panel.locator('[data-field="env.0.value"]').inner_text()
    assert "not a number" not in panel.locator('[data-field="env.1.value"]').inner_text()


def test_selection_to_subflow_opens_the_definition_as_a_tab(editor_with: Any) -> None:
    page = editor_with([tab(T), inject("A", T, 120, 100, [["C"]]), debug("C", T, 520, 100)])
    node(page, "C").click()
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-subflow-from-selection").click()
    wait_state(page, "s.doc.some(n => n.type === 'subflow')")
    sf = state(page, "s.doc.find(n => n.type === 'subflow').id")
    sf_tab = page.locator(f'[data-testid="tab"][data-tab-id="{sf}"]')
    sf_tab.wait_for()
    assert state(page, "s.openSubflows") == [sf]
    # The view stays on the flow with the new instance selected; the tab shows the moved node.
    inst = state(page, f"s.doc.find(n => n.type === 'subflow:{sf}').id")
    assert state(page, "s.activeTab") == T and state(page, "[...s.selection]") == [inst]
    sf_tab.click()
    wait_state(page, f"s.activeTab === {sf!r}")
    node(page, "C").wait_for()
    page.get_by_test_id("undo").click()
    wait_state(page, f"s.activeTab === {T!r} && s.openSubflows.length === 0")
    assert page.locator(f'[data-testid="tab"][data-tab-id="{sf}"]').count() == 0
