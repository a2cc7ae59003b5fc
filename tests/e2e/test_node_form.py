"""The node configuration panel (web_editor/src/form): double-click a node, edit the generated
form, Done, deploy; server problems inline under their field; write-only secrets.

Selectors (kept stable for these tests):
- panel: `[data-testid=node-editor-panel]`, buttons `node-editor-done|cancel|delete`,
  help `node-editor-help`, node-level problems `node-editor-problems`
- a field: `[data-field="<path>"]` with the form path (`rules.0.to`, `payload`, `credentials.password`);
  a typed input has `.nf-typed-type` (select) and `.nf-typed-value`; errors are `.nf-errors li`
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from test_core_support import by_id, node, state, tab, wait_state

PANEL = '[data-testid="node-editor-panel"]'


def open_panel(page: Any, node_id: str) -> Any:
    node(page, node_id).dblclick()
    panel = page.locator(PANEL)
    panel.wait_for()
    return panel


def field(panel: Any, path: str) -> Any:
    return panel.locator(f'[data-field="{path}"]')


def apply(page: Any) -> None:
    """Done; a second press when the client checks asked for confirmation ("Apply anyway")."""
    page.get_by_test_id("node-editor-done").click()
    if page.get_by_test_id("node-editor-armed").count():
        page.get_by_test_id("node-editor-done").click()
    page.locator(PANEL).wait_for(state="detached")


def deploy(page: Any, expect_ok: bool = True) -> None:
    page.get_by_test_id("deploy-button").click()
    if expect_ok:
        wait_state(page, "s.problems.length === 0 && !s.deploying && s.baselineDoc === s.doc")
    else:
        wait_state(page, "s.problems.length > 0 && !s.deploying")


def flows() -> list[dict[str, Any]]:
    return [
        tab("t1"),
        {"id": "i1", "type": "inject", "z": "t1", "name": "tick", "props": [{"p": "payload"}], "payload": "42",
         "payloadType": "num", "repeat": "5", "crontab": "", "once": False, "onceDelay": 0.1, "topic": "",
         "x": 120, "y": 80, "wires": [["c1"]]},
        {"id": "c1", "type": "change", "z": "t1", "name": "set it", "rules": [
            {"t": "set", "p": "payload", "pt": "msg", "to": "5", "tot": "num"},
            {"t": "set", "p": "topic", "pt": "msg", "to": "farm", "tot": "str"},
        ], "myExtra": {"keep": [1, "two"]}, "x": 320, "y": 80, "wires": [["s1"]]},
        {"id": "s1", "type": "switch", "z": "t1", "name": "route", "property": "payload", "propertyType": "msg",
         "rules": [{"t": "regex", "v": "^ok", "vt": "str", "case": False}], "checkall": "true", "repair": False,
         "outputs": 1, "x": 520, "y": 80, "wires": [[]]},
    ]


def test_double_click_opens_the_generated_form_with_help(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(flows()))
    panel = open_panel(page, "c1")
    assert field(panel, "name").locator("input").input_value() == "set it"
    # The rules are rows; a typed value shows its type and value.
    assert panel.locator(".nf-row").count() == 2
    to = field(panel, "rules.0.to")
    assert to.locator(".nf-typed-type").input_value() == "num"
    assert to.locator(".nf-typed-value").input_value() == "5"
    assert field(panel, "rules.1.p").locator(".nf-typed-value").input_value() == "topic"
    assert "Set, change, delete or move" in page.get_by_test_id("node-editor-help").inner_text()
    # The panel fits a tablet: about 360 px wide, touch targets of 32 px or more.
    box = panel.bounding_box()
    assert 300 <= box["width"] <= 420
    assert page.get_by_test_id("node-editor-done").bounding_box()["height"] >= 32
    # Cancel (Escape) leaves the document as it was.
    before = state(page, "JSON.stringify(s.doc)")
    page.keyboard.press("Escape")
    page.locator(PANEL).wait_for(state="detached")
    assert state(page, "JSON.stringify(s.doc)") == before


def test_edit_a_change_rule_value_then_deploy(engine_factory: Any, open_editor: Any) -> None:
    engine = engine_factory(flows())
    page = open_editor(engine)
    panel = open_panel(page, "c1")
    value = field(panel, "rules.0.to").locator(".nf-typed-value")
    value.fill("7")
    value.press("Enter")  # Enter in a one-line input applies
    page.locator(PANEL).wait_for(state="detached")
    c1 = by_id(state(page, "s.doc"))["c1"]
    assert c1["rules"][0] == {"t": "set", "p": "payload", "pt": "msg", "to": "7", "tot": "num"}
    assert c1["rules"][1] == {"t": "set", "p": "topic", "pt": "msg", "to": "farm", "tot": "str"}
    assert c1["myExtra"] == {"keep": [1, "two"]} and c1["x"] == 320 and c1["wires"] == [["s1"]]
    deploy(page)
    active = by_id(engine.active_flows())["c1"]
    assert active["rules"][0]["to"] == "7" and active["rules"][0]["tot"] == "num"
    assert active["myExtra"] == {"keep": [1, "two"]}


def test_change_inject_payload_type_keeps_untouched_values(engine_factory: Any, open_editor: Any) -> None:
    engine = engine_factory(flows())
    page = open_editor(engine)
    panel = open_panel(page, "i1")
    payload = field(panel, "payload")
    payload.locator(".nf-typed-type").select_option("str")
    payload.locator(".nf-typed-value").fill("hello")
    apply(page)
    i1 = by_id(state(page, "s.doc"))["i1"]
    assert i1["payload"] == "hello" and i1["payloadType"] == "str"
    assert i1["repeat"] == "5" and i1["onceDelay"] == 0.1 and i1["props"] == [{"p": "payload"}]  # untouched, as stored
    deploy(page)
    active = by_id(engine.active_flows())["i1"]
    assert active["payload"] == "hello" and active["payloadType"] == "str" and active["repeat"] == "5"


def test_rows_can_be_added_removed_and_reordered(engine_factory: Any, open_editor: Any) -> None:
    page = open_editor(engine_factory(flows()))
    panel = open_panel(page, "c1")
    panel.get_by_role("button", name="move row 2 up").click()
    assert field(panel, "rules.0.p").locator(".nf-typed-value").input_value() == "topic"
    panel.get_by_test_id("row-add").click()
    assert panel.locator(".nf-row").count() == 3
    panel.get_by_role("button", name="remove row 1").click()
    apply(page)
    rules = by_id(state(page, "s.doc"))["c1"]["rules"]
    assert rules[0] == {"t": "set", "p": "payload", "pt": "msg", "to": "5", "tot": "num"}  # moved, unchanged
    assert rules[1]["t"] == "set" and rules[1]["pt"] == "msg"  # the new row has the schema's defaults
    assert len(rules) == 2


def test_server_error_for_an_invalid_regex_shows_under_the_rule(engine_factory: Any, open_editor: Any) -> None:
    engine = engine_factory(flows())
    page = open_editor(engine)
    panel = open_panel(page, "s1")
    field(panel, "rules.0.v").locator(".nf-typed-value").fill("([")
    apply(page)
    deploy(page, expect_ok=False)
    problems = state(page, "s.problems")
    assert any(p["node_id"] == "s1" and p["path"] == "rules[0].v" for p in problems), problems
    panel = open_panel(page, "s1")
    errors = field(panel, "rules.0.v").locator(".nf-errors li")
    errors.first.wait_for()
    assert "regular expression" in errors.first.inner_text()
    # Fixing the value hides the server's (now stale) error at once.
    field(panel, "rules.0.v").locator(".nf-typed-value").fill("^ok$")
    assert field(panel, "rules.0.v").locator(".nf-errors li").count() == 0
    apply(page)
    deploy(page)
    assert by_id(engine.active_flows())["s1"]["rules"][0]["v"] == "^ok$"


def test_invalid_cron_is_flagged_in_the_browser_and_by_the_server(engine_factory: Any, open_editor: Any) -> None:
    engine = engine_factory(flows())
    page = open_editor(engine)
    panel = open_panel(page, "i1")
    cron = field(panel, "crontab")
    cron.locator("input").fill("*/5 * * * *")
    assert "every 5 minutes" in cron.get_by_test_id("cron-preview").inner_text()
    cron.locator("input").fill("61 * * * *")
    cron.locator(".nf-errors li").first.wait_for()  # client-side check, before any deploy
    page.get_by_test_id("node-editor-done").click()
    page.get_by_test_id("node-editor-armed").wait_for()  # asks once, never blocks
    page.get_by_test_id("node-editor-done").click()
    page.locator(PANEL).wait_for(state="detached")
    deploy(page, expect_ok=False)
    panel = open_panel(page, "i1")
    server_errors = field(panel, "crontab").locator(".nf-errors li")
    server_errors.first.wait_for()
    assert any("61" in t for t in server_errors.all_inner_texts())


@pytest.fixture
def mosquitto_with_users() -> Any:
    from tests.support.mosquitto import Mosquitto

    broker = Mosquitto(users={"farmer": "s3cret-pw"})
    broker.start()
    yield broker
    broker.stop()
    broker.cleanup()


def mqtt_status(engine: Any, node_id: str) -> str:
    status = httpx.get(engine.url + "/api/v1/state", timeout=5).json()["nodes"][node_id]["status"] or {}
    return str(status.get("text", ""))


def wait_status(engine: Any, node_id: str, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mqtt_status(engine, node_id) == text:
            return
        time.sleep(0.2)
    raise AssertionError(f"{node_id} status is {mqtt_status(engine, node_id)!r}, expected {text!r}")


def test_secret_is_write_only_and_an_unchanged_one_is_kept(engine_factory: Any, open_editor: Any,
                                                          mosquitto_with_users: Any) -> None:
    broker = {"id": "b1", "type": "mqtt-broker", "name": "farm broker", "broker": "127.0.0.1",
              "port": str(mosquitto_with_users.port), "clientid": "", "autoConnect": True, "usetls": False,
              "protocolVersion": "4", "keepalive": "60", "cleansession": True}
    sub = {"id": "m1", "type": "mqtt in", "z": "t1", "name": "sensors", "topic": "farm/#", "qos": "0",
           "datatype": "auto-detect", "broker": "b1", "x": 120, "y": 200, "wires": [[]]}
    engine = engine_factory([tab("t1"), broker, sub])
    deadline = time.monotonic() + 10
    while not mqtt_status(engine, "m1") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mqtt_status(engine, "m1") != "connected"  # the broker wants a password
    page = open_editor(engine)
    # The mqtt in node picks its broker from the config nodes of that type.
    panel = open_panel(page, "m1")
    assert field(panel, "broker").locator("select").input_value() == "b1"
    page.keyboard.press("Escape")
    # Config nodes are not on the canvas: open the broker's panel through the store.
    page.evaluate("() => window.__flowengine.store.setState({editing: 'b1'})")
    panel = page.locator(PANEL)
    password = field(panel, "credentials.password").locator("input")
    assert password.get_attribute("type") == "password" and password.get_attribute("placeholder") == "unchanged"
    field(panel, "credentials.user").locator("input").fill("farmer")
    password.fill("s3cret-pw")
    apply(page)
    sent = by_id(state(page, "s.doc"))["b1"]
    assert sent["credentials"] == {"user": "farmer", "password": "s3cret-pw"}
    assert "s3cret-pw" not in str({k: v for k, v in sent.items() if k != "credentials"})
    deploy(page)
    wait_status(engine, "m1", "connected")
    served = httpx.get(engine.url + "/api/v1/flows", timeout=5).text
    assert "s3cret-pw" not in served and "farmer" not in served
    # Opened again, the secret is not shown back; a change elsewhere keeps the stored one.
    page.evaluate("() => window.__flowengine.store.setState({editing: 'b1'})")
    panel = page.locator(PANEL)
    assert field(panel, "credentials.password").locator("input").input_value() == ""
    assert "s3cret-pw" not in page.content()
    field(panel, "name").locator("input").fill("farm broker 2")
    apply(page)
    assert "credentials" not in by_id(state(page, "s.doc"))["b1"]
    deploy(page)
    assert by_id(engine.active_flows())["b1"]["name"] == "farm broker 2"
    wait_status(engine, "m1", "connected")


def test_subflow_instance_env_overrides(engine_factory: Any, open_editor: Any) -> None:
    subflow = {"id": "sf1", "type": "subflow", "name": "helper", "in": [{"x": 50, "y": 30, "wires": []}], "out": [],
               "env": [{"name": "LIMIT", "type": "num", "value": "3"}]}
    instance = {"id": "si1", "type": "subflow:sf1", "z": "t1", "name": "", "x": 200, "y": 120, "wires": [],
                "env": [{"name": "LIMIT", "type": "num", "value": "5"}]}
    engine = engine_factory([tab("t1"), subflow, instance])
    page = open_editor(engine)
    panel = open_panel(page, "si1")
    value = field(panel, "env.0.value")
    assert value.locator(".nf-typed-type").input_value() == "num"
    value.locator(".nf-typed-value").fill("9")
    apply(page)
    deploy(page)
    assert by_id(engine.active_flows())["si1"]["env"] == [{"name": "LIMIT", "type": "num", "value": "9"}]


def test_mqtt_topic_wildcards_are_checked_inline(engine_factory: Any, open_editor: Any) -> None:
    broker = {"id": "b1", "type": "mqtt-broker", "name": "", "broker": "127.0.0.1", "port": "1", "autoConnect": False}
    sub = {"id": "m1", "type": "mqtt in", "z": "t1", "name": "", "topic": "farm/+/soil", "qos": "0",
           "datatype": "auto-detect", "broker": "b1", "x": 120, "y": 120, "wires": [[]]}
    page = open_editor(engine_factory([tab("t1"), broker, sub]))
    panel = open_panel(page, "m1")
    topic = field(panel, "topic").locator("input")
    topic.fill("farm/#/soil")
    field(panel, "topic").locator(".nf-errors li").first.wait_for()
    assert "#" in field(panel, "topic").locator(".nf-errors").inner_text()
    topic.fill("farm/#")
    assert field(panel, "topic").locator(".nf-errors li").count() == 0
    # The broker select offers the config node by its fallback label, plus "add new".
    options = field(panel, "broker").locator("option").all_inner_texts()
    assert "mqtt-broker b1" in options and any(o.startswith("add new") for o in options)


def test_add_new_config_node_opens_its_panel_on_top_and_keeps_the_node_edits(engine_factory: Any,
                                                                            open_editor: Any) -> None:
    old_broker = {"id": "b0", "type": "mqtt-broker", "name": "old", "broker": "127.0.0.1", "port": "1"}  # nobody there
    page = open_editor(engine_factory([tab("t1"), old_broker,
                                       {"id": "m1", "type": "mqtt in", "z": "t1", "name": "sensors", "topic": "farm/#",
                                        "qos": "0", "datatype": "auto", "broker": "b0", "x": 120, "y": 80,
                                        "wires": [[]]}]))
    panel = open_panel(page, "m1")
    field(panel, "topic").locator("input").fill("farm/+/soil")  # an unsaved edit on the node
    select = field(panel, "broker").locator("select")
    add_new = select.locator("option", has_text="add new").get_attribute("value")
    select.select_option(add_new)
    child = page.get_by_test_id("config-node-panel")
    child.wait_for()
    assert page.locator(PANEL).count() == 2  # the node's panel waits underneath, hidden
    child.locator('[data-field="broker"] input').fill("greenhouse.local")
    child.get_by_test_id("node-editor-done").click()
    child.wait_for(state="detached")
    panel = page.locator(PANEL)
    assert field(panel, "topic").locator("input").input_value() == "farm/+/soil"  # still there
    broker_id = field(panel, "broker").locator("select").input_value()
    assert broker_id not in ("", "b0")  # the new one is selected
    apply(page)
    document = state(page, "s.doc")
    broker = by_id(document)[broker_id]
    assert broker["type"] == "mqtt-broker" and broker["broker"] == "greenhouse.local"
    mqtt_in = by_id(document)["m1"]
    assert mqtt_in["broker"] == broker_id and mqtt_in["topic"] == "farm/+/soil"
    # The pencil opens the chosen config node again.
    panel = open_panel(page, "m1")
    field(panel, "broker").get_by_test_id("edit-config-node").click()
    assert page.get_by_test_id("config-node-panel").locator('[data-field="broker"] input').input_value() == \
        "greenhouse.local"
