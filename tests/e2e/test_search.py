"""Searching nodes in the browser editor (Ctrl+F): by name, type, id and property value; picking a
result selects the node and shows its tab. The store is `window.__flowengine.store`.
"""

from __future__ import annotations

import json
from typing import Any

from test_core_support import state, wait_state

FLOWS: list[dict[str, Any]] = [
    {"id": "tab1", "type": "tab", "label": "Field", "disabled": False, "info": "", "env": []},
    {"id": "tab2", "type": "tab", "label": "Barn", "disabled": False, "info": "", "env": []},
    {"id": "inj1", "type": "inject", "z": "tab1", "name": "Morning check", "props": [{"p": "payload"}],
     "repeat": "", "crontab": "", "once": False, "onceDelay": 0.1, "topic": "field/north",
     "payload": "", "payloadType": "date", "x": 120, "y": 80, "wires": [["sw1"]]},
    {"id": "sw1", "type": "switch", "z": "tab1", "name": "", "property": "payload", "propertyType": "msg",
     "rules": [{"t": "gt", "v": "4711", "vt": "num"}], "checkall": "true", "repair": False, "outputs": 1,
     "x": 300, "y": 80, "wires": [["dbg1"]]},
    {"id": "dbg1", "type": "debug", "z": "tab1", "name": "Field log", "active": True, "tosidebar": True,
     "console": False, "tostatus": False, "complete": "payload", "targetType": "msg", "x": 480, "y": 80, "wires": []},
    {"id": "inj2", "type": "inject", "z": "tab2", "name": "Barn tick", "props": [{"p": "payload"}],
     "repeat": "", "crontab": "", "once": False, "onceDelay": 0.1, "topic": "barn/Ventilation/fan-2",
     "payload": "", "payloadType": "date", "x": 120, "y": 80, "wires": [["dbg2"]]},
    {"id": "dbg2", "type": "debug", "z": "tab2", "name": "Barn log", "active": True, "tosidebar": True,
     "console": False, "tostatus": False, "complete": "payload", "targetType": "msg", "x": 320, "y": 80, "wires": []},
]


def open_search(page: Any) -> None:
    page.keyboard.press("Control+f")
    page.get_by_test_id("search-dialog").wait_for()


def results(page: Any) -> list[str]:
    return page.get_by_test_id("search-result").evaluate_all("els => els.map(e => e.dataset.nodeId)")


def test_search_by_property_value_selects_the_node_and_switches_tab(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(FLOWS))
    wait_state(page, "s.activeTab === 'tab1'")
    open_search(page)
    box = page.get_by_test_id("search-input")
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "search-input"  # autofocus
    box.fill("ventilation/FAN")  # case-insensitive, part of the inject's topic
    page.wait_for_function("() => document.querySelectorAll('[data-testid=search-result]').length === 1")
    row = page.get_by_test_id("search-result")
    assert row.get_attribute("data-node-id") == "inj2"
    text = row.inner_text()
    assert "Barn tick" in text and "inject" in text and "Barn" in text and "topic" in text
    box.press("Enter")
    page.get_by_test_id("search-dialog").wait_for(state="detached")
    wait_state(page, "s.activeTab === 'tab2'")
    assert state(page, "[...s.selection]") == ["inj2"]


def test_search_by_name_type_id_and_nested_rule_value(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(FLOWS))
    open_search(page)
    box = page.get_by_test_id("search-input")

    def search(q: str, expected: list[str]) -> None:
        box.fill(q)
        page.wait_for_function(
            "(want) => JSON.stringify([...document.querySelectorAll('[data-testid=search-result]')]"
            ".map(e => e.dataset.nodeId)) === want",
            arg=json.dumps(expected, separators=(",", ":")),
        )

    search("LOG", ["dbg1", "dbg2"])  # names, in document order
    search("debug", ["dbg1", "dbg2"])  # type
    search("sw1", ["sw1"])  # id
    search("4711", ["sw1"])  # rules[0].v: one level down in a list of objects
    search("field", ["dbg1", "inj1"])  # names ("Field log") first, then property values (topic field/north)
    search("no such thing", [])
    search("tab1", [])  # tabs are not results


def test_search_keyboard_picks_and_escape_closes(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(FLOWS))
    wait_state(page, "s.activeTab === 'tab1'")
    before = state(page, "[...s.selection]")
    open_search(page)
    page.keyboard.type("log")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=search-result]').length === 2")
    page.keyboard.press("Escape")
    page.get_by_test_id("search-dialog").wait_for(state="detached")
    assert state(page, "[...s.selection]") == before and state(page, "s.activeTab") == "tab1"

    open_search(page)
    page.keyboard.type("log")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=search-result]').length === 2")
    page.keyboard.press("ArrowDown")
    assert page.locator("[data-testid=search-result][aria-selected=true]").get_attribute("data-node-id") == "dbg2"
    page.keyboard.press("ArrowDown")  # wraps around
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.get_by_test_id("search-dialog").wait_for(state="detached")
    wait_state(page, "s.activeTab === 'tab2'")
    assert state(page, "[...s.selection]") == ["dbg2"]


def test_clicking_a_result_picks_it(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(FLOWS))
    open_search(page)
    page.get_by_test_id("search-input").fill("morning")
    page.get_by_test_id("search-result").click()
    page.get_by_test_id("search-dialog").wait_for(state="detached")
    wait_state(page, "s.activeTab === 'tab1'")
    assert state(page, "[...s.selection]") == ["inj1"]


def test_results_are_bounded(engine_factory: Any, open_editor: Any) -> None:
    many = [FLOWS[0]] + [
        {"id": f"c{i:03d}", "type": "comment", "z": "tab1", "name": f"note {i}", "info": "", "x": 100 + (i % 10) * 120,
         "y": 40 + (i // 10) * 40, "wires": []}
        for i in range(150)
    ]
    page = open_editor(engine_factory(many))
    open_search(page)
    page.get_by_test_id("search-input").fill("note")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=search-result]').length === 100")
    assert results(page)[:2] == ["c000", "c001"]
