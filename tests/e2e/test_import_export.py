"""Import and export in the browser editor: paste, file upload and drop of a real Node-RED export,
id clashes on a second import, export scopes, clipboard fallback, download and a round trip
through a second engine.

The editor exposes `window.__flowengine.store` (the zustand store: `doc`, `activeTab`, `selection`);
dialogs open with Ctrl+I / Ctrl+E.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_core_support import state, wait_state

DATA = Path(__file__).parent / "data" / "nodered-greenhouse-export.json"
EXPORT: list[dict[str, Any]] = json.loads(DATA.read_text())
EXPORT_TEXT = DATA.read_text()

TAB = "3f1c9a7e2b8d4c61"
GROUP = "a7d2e4b19c3f5086"
BROKER = "8e0a2c4d6f1b3579"
MQTT_IN = "1d3f5b7a9c0e2468"



def editor_doc(page: Any) -> list[dict[str, Any]]:
    return state(page, "s.doc")


def by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in nodes}


def deploy_editor_doc(page: Any, engine: Any) -> list[dict[str, Any]]:
    """Deploys what the editor holds (the server validates it) and returns the active flows."""
    engine.deploy(editor_doc(page))
    return engine.active_flows()


def open_import(page: Any) -> None:
    page.keyboard.press("Control+i")
    page.get_by_test_id("import-dialog").wait_for()


def open_export(page: Any) -> None:
    page.keyboard.press("Control+e")
    page.get_by_test_id("export-dialog").wait_for()


def paste_and_import(page: Any, text: str, target: str) -> None:
    open_import(page)
    page.get_by_test_id("import-text").fill(text)
    page.get_by_test_id("import-summary").wait_for()
    page.get_by_test_id("import-target-new" if target == "new-tab" else "import-target-current").check()
    page.get_by_test_id("import-confirm").click()
    page.get_by_test_id("import-dialog").wait_for(state="detached")


def test_paste_a_node_red_export_into_a_new_tab_and_deploy(engine: Any, open_editor: Any) -> None:
    page = open_editor(engine)
    open_import(page)
    page.get_by_test_id("import-text").fill(EXPORT_TEXT)
    assert page.get_by_test_id("import-summary").inner_text().startswith("9 nodes, 1 tab, 1 group, 1 config node")
    assert page.get_by_test_id("import-confirm").is_enabled()
    page.get_by_test_id("import-target-new").check()
    page.get_by_test_id("import-confirm").click()
    page.get_by_test_id("import-dialog").wait_for(state="detached")

    # No clash with an empty document: every node keeps its id and content, and the tab is shown.
    wait_state(page, f"s.activeTab === {json.dumps(TAB)}")
    doc = by_id(editor_doc(page))
    for node in EXPORT:
        assert doc[node["id"]] == node

    active = by_id(deploy_editor_doc(page, engine))
    for node in EXPORT:
        assert active[node["id"]] == node


def test_import_errors_are_shown_and_block_the_import(engine: Any, open_editor: Any) -> None:
    page = open_editor(engine)
    before = editor_doc(page)
    open_import(page)
    text = page.get_by_test_id("import-text")
    confirm = page.get_by_test_id("import-confirm")
    assert confirm.is_disabled()  # nothing pasted yet

    text.fill('[\n  {"id": "a", "type": "inject",}\n]')
    error = page.get_by_test_id("import-error")
    error.wait_for()
    assert "not JSON" in error.inner_text() and "line 2" in error.inner_text()
    assert confirm.is_disabled()

    text.fill('[{"id": "a", "type": "inject", "x": 1, "y": 1}, {"id": "b", "type": "debug"}, {"type": "debug"}]')
    page.wait_for_function("() => document.querySelector('[data-testid=import-error]')?.textContent.includes('item 3')")
    assert "has no id" in error.inner_text()
    assert confirm.is_disabled()

    text.fill('{"rev": "x"}')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-error]')?.textContent.includes('expected')"
    )

    # The admin API v2 shape is accepted.
    text.fill(json.dumps({"flows": EXPORT, "rev": "abc"}))
    page.get_by_test_id("import-summary").wait_for()
    assert confirm.is_enabled()
    page.keyboard.press("Escape")
    page.get_by_test_id("import-dialog").wait_for(state="detached")
    assert editor_doc(page) == before  # cancelled: nothing added


def test_import_by_file_upload(engine: Any, open_editor: Any) -> None:
    page = open_editor(engine)
    open_import(page)
    page.get_by_test_id("import-file").set_input_files(str(DATA))
    page.get_by_test_id("import-summary").wait_for()
    assert json.loads(page.get_by_test_id("import-text").input_value()) == EXPORT
    page.get_by_test_id("import-confirm").click()
    page.get_by_test_id("import-dialog").wait_for(state="detached")
    wait_state(page, f"s.doc.some(n => n.id === {json.dumps(MQTT_IN)})")
    assert by_id(editor_doc(page))[BROKER] == by_id(EXPORT)[BROKER]
    active = by_id(deploy_editor_doc(page, engine))
    assert set(by_id(EXPORT)) <= set(active)


def test_drop_a_file_on_the_canvas(engine: Any, open_editor: Any) -> None:
    page = open_editor(engine)
    tab = state(page, "s.activeTab")
    page.evaluate(
        """(text) => {
            const target = document.querySelector('[data-testid=canvas]') || document.querySelector('.react-flow');
            if (!target) throw new Error('no canvas element to drop on');
            const dt = new DataTransfer();
            dt.items.add(new File([text], 'greenhouse.json', {type: 'application/json'}));
            const r = target.getBoundingClientRect();
            const at = {bubbles: true, cancelable: true, dataTransfer: dt,
                        clientX: r.left + r.width / 2, clientY: r.top + r.height / 2};
            target.dispatchEvent(new DragEvent('dragenter', at));
            target.dispatchEvent(new DragEvent('dragover', at));
            target.dispatchEvent(new DragEvent('drop', at));
        }""",
        EXPORT_TEXT,
    )
    wait_state(page, f"s.doc.some(n => n.id === {json.dumps(MQTT_IN)})")
    doc = by_id(editor_doc(page))
    # A drop goes to the tab on screen (or, with none, to the export's own tab); no id clashes here,
    # so everything keeps its id and only `z` may differ.
    home = tab or TAB
    for node in EXPORT:
        if node["type"] == "tab":
            continue
        expected = {**node, "z": home} if "z" in node else node
        assert doc[node["id"]] == expected
    active = by_id(deploy_editor_doc(page, engine))
    assert set(by_id(EXPORT)) - {TAB} <= set(active)


def test_importing_the_same_export_twice_into_the_current_tab_gives_new_ids(
    engine_factory: Any, open_editor: Any
) -> None:
    engine = engine_factory(EXPORT)
    page = open_editor(engine)
    wait_state(page, f"s.activeTab === {json.dumps(TAB)}")
    paste_and_import(page, EXPORT_TEXT, "current-tab")

    doc = editor_doc(page)
    ids = [n["id"] for n in doc]
    assert len(ids) == len(set(ids)), "ids must stay unique"
    old = set(by_id(EXPORT))
    added = [n for n in doc if n["id"] not in old]
    # The tab is not duplicated (its nodes went into the current tab) and the identical broker is reused.
    assert sorted(n["type"] for n in added) == sorted(
        n["type"] for n in EXPORT if n["type"] not in ("tab", "mqtt-broker")
    )
    assert all(n["z"] == TAB for n in added)

    def copy_of(name: str) -> dict[str, Any]:
        (node,) = [n for n in added if n.get("name") == name]
        return node

    change, switch, debug, alarm = (
        copy_of("tag reading"),
        copy_of("too dry?"),
        copy_of("moisture log"),
        copy_of("dry alarm"),
    )
    link_out, link_in, catch, group = (
        copy_of("to alarms"),
        copy_of("alarms"),
        copy_of("conversion errors"),
        copy_of("Moisture check"),
    )
    inject, mqtt_in = copy_of("every 10 min"), copy_of("bed sensors")
    assert inject["wires"] == [[change["id"]]]
    assert change["wires"] == [[switch["id"]]]
    assert switch["wires"] == [[debug["id"], link_out["id"]], [debug["id"]]]
    assert link_out["links"] == [link_in["id"]] and link_in["links"] == [link_out["id"]]
    assert link_in["wires"] == [[alarm["id"]]]
    assert catch["scope"] == [change["id"], switch["id"]]
    assert group["nodes"] == [inject["id"], change["id"], switch["id"]]
    assert inject["g"] == change["g"] == switch["g"] == group["id"]
    assert mqtt_in["broker"] == BROKER
    assert mqtt_in["wires"] == [[change["id"]]]
    # Key order and unknown properties survive.
    original = by_id(EXPORT)["c94a6d2e1b7f8350"]
    assert list(change) == list(original)
    assert {k: v for k, v in change.items() if k not in ("id", "g", "wires", "y")} == {
        k: v for k, v in original.items() if k not in ("id", "g", "wires", "y")
    }
    # The copy does not sit on top of the original.
    positions = {(n["x"], n["y"]) for n in EXPORT if "x" in n}
    assert not any((n["x"], n["y"]) in positions for n in added if "x" in n)
    # The new nodes are selected.
    assert set(state(page, "[...s.selection]")) == {n["id"] for n in added}

    active = deploy_editor_doc(page, engine)
    assert len(active) == len(EXPORT) + len(added)


def test_export_all_reimports_into_an_empty_engine(engine_factory: Any, open_editor: Any, browser: Any) -> None:
    source = engine_factory(EXPORT)
    page = open_editor(source)
    open_export(page)
    page.get_by_test_id("export-scope-all").check()
    exported = json.loads(page.get_by_test_id("export-text").input_value())
    assert exported == source.active_flows() == EXPORT

    # The current tab scope holds the same here (one tab, its broker).
    page.get_by_test_id("export-scope-tab").check()
    assert json.loads(page.get_by_test_id("export-text").input_value()) == EXPORT

    target = engine_factory()
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page2 = open_editor(target, other.new_page())
        paste_and_import(page2, json.dumps(exported), "new-tab")
        active = deploy_editor_doc(page2, target)
    finally:
        other.close()
    # The editor may hold a tab of its own for an empty document; the imported part is identical.
    imported = [n for n in active if n["id"] in by_id(EXPORT)]
    assert imported == EXPORT


def test_export_selection_brings_config_nodes_and_group_members(engine_factory: Any, open_editor: Any) -> None:
    engine = engine_factory(EXPORT)
    page = open_editor(engine)
    page.evaluate(
        f"() => window.__flowengine.store.setState({{selection: new Set({json.dumps([GROUP, MQTT_IN])})}})"
    )
    open_export(page)
    assert page.get_by_test_id("export-scope-selection").is_checked()
    exported = by_id(json.loads(page.get_by_test_id("export-text").input_value()))
    group = by_id(EXPORT)[GROUP]
    assert set(exported) == {GROUP, MQTT_IN, BROKER, *group["nodes"]}
    assert "credentials" not in json.dumps(list(exported.values()))
    # A wire to a node left out would dangle in the copy: it is trimmed.
    assert exported["0b7e3c5f9a1d2846"]["wires"] == [[], []]
    assert exported["c94a6d2e1b7f8350"]["wires"] == [["0b7e3c5f9a1d2846"]]


def test_export_selection_is_disabled_without_a_selection(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(EXPORT))
    page.evaluate("() => window.__flowengine.store.setState({selection: new Set()})")
    open_export(page)
    assert page.get_by_test_id("export-scope-selection").is_disabled()
    assert page.get_by_test_id("export-scope-tab").is_checked()
    page.get_by_test_id("export-pretty").check()
    text = page.get_by_test_id("export-text").input_value()
    assert text == json.dumps(EXPORT, indent=2, ensure_ascii=False)


COPY_SPY = """
    // Simulate plain http on a LAN IP: no async clipboard API. Record execCommand calls.
    delete Navigator.prototype.clipboard;
    window.__execCalls = [];
    const realExec = document.execCommand.bind(document);
    document.execCommand = (cmd, ...rest) => { window.__execCalls.push(cmd); return %s; };
"""

SELECTION = """() => { const t = document.querySelector('[data-testid=export-text]');
    return {focused: document.activeElement === t, start: t.selectionStart, end: t.selectionEnd,
            length: t.value.length}; }"""


def test_copy_falls_back_when_the_clipboard_api_is_missing(engine_factory: Any, open_editor: Any, page: Any) -> None:
    page.add_init_script(COPY_SPY % "realExec(cmd, ...rest)")
    open_editor(engine_factory(EXPORT))
    assert page.evaluate("() => typeof navigator.clipboard") == "undefined"
    open_export(page)
    page.get_by_test_id("export-copy").click()
    page.get_by_test_id("export-copied").wait_for()
    assert page.evaluate("() => window.__execCalls") == ["copy"]
    sel = page.evaluate(SELECTION)
    assert sel == {"focused": True, "start": 0, "end": sel["length"], "length": sel["length"]} and sel["length"] > 0


def test_copy_tells_the_user_to_press_ctrl_c_when_the_browser_refuses(
    engine_factory: Any, open_editor: Any, page: Any
) -> None:
    page.add_init_script(COPY_SPY % "false")
    open_editor(engine_factory(EXPORT))
    open_export(page)
    page.get_by_test_id("export-copy").click()
    manual = page.get_by_test_id("export-copy-manual")
    manual.wait_for()
    assert "Ctrl+C" in manual.inner_text()
    assert page.get_by_test_id("export-copied").count() == 0
    sel = page.evaluate(SELECTION)
    assert sel["focused"] and sel["start"] == 0 and sel["end"] == sel["length"] > 0


def test_copy_uses_the_clipboard_api_when_there_is_one(engine_factory: Any, open_editor: Any, page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_editor(engine_factory(EXPORT))
    open_export(page)
    page.get_by_test_id("export-scope-all").check()
    page.get_by_test_id("export-copy").click()
    page.get_by_test_id("export-copied").wait_for()
    assert json.loads(page.evaluate("() => navigator.clipboard.readText()")) == EXPORT


def test_download_gives_the_export_as_flows_json(engine_factory: Any, open_editor: Any, tmp_path: Path) -> None:
    page = open_editor(engine_factory(EXPORT))
    open_export(page)
    page.get_by_test_id("export-scope-all").check()
    shown = page.get_by_test_id("export-text").input_value()
    with page.expect_download() as info:
        page.get_by_test_id("export-download").click()
    download = info.value
    assert download.suggested_filename == "flows.json"
    saved = tmp_path / "flows.json"
    download.save_as(saved)
    assert saved.read_text() == shown
    assert json.loads(saved.read_text()) == EXPORT


@pytest.mark.parametrize("target", ["new-tab", "current-tab"])
def test_a_single_node_object_imports(engine_factory: Any, open_editor: Any, target: str) -> None:
    page = open_editor(engine_factory(EXPORT))
    wait_state(page, f"s.activeTab === {json.dumps(TAB)}")
    node = {
        "id": "5e8b1f2a7c4d9e03",
        "type": "inject",
        "name": "lone",
        "props": [{"p": "payload"}],
        "x": 160,
        "y": 80,
        "wires": [["c94a6d2e1b7f8350"]],
    }
    paste_and_import(page, json.dumps(node), target)
    doc = editor_doc(page)
    (copy,) = [n for n in doc if n.get("name") == "lone"]
    assert copy["id"] != node["id"]  # clashed with the original inject
    assert copy["wires"] == [[]]  # its wire pointed outside the import
    if target == "current-tab":
        assert copy["z"] == TAB
    else:
        tab = by_id(doc)[copy["z"]]
        assert tab["type"] == "tab" and tab["label"] == "Imported"
        assert state(page, "s.activeTab") == tab["id"]
