"""python-function: the body's return forms, the node API, context, env, initialize/finalize,
compile-time errors, the code_nodes setting, and what crosses the process boundary.

These tests start real worker processes (a few tens of ms each); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import types

import psutil
import pytest

from flowengine import UNDEFINED, FlowValidationError
from flowengine.runtime.context import ContextStores, MemoryStore
from flowengine.testing import FlowHarness
from flowengine_nodes.function.python_function import PythonFunction


def fn(func: str, wires: list[list[str]] | None = None, **props: object) -> dict:
    return {"id": "f", "type": "python-function", "func": func, "wires": wires or [["out"]], **props}


def out(nid: str = "out") -> dict:
    return {"id": nid, "type": "helper"}


def catch(nid: str = "c", to: str = "caught") -> list[dict]:
    return [{"id": nid, "type": "catch", "wires": [[to]]}, out(to)]


async def expect_none(h: FlowHarness, helper: str, wait: float = 0.15) -> None:
    """Nothing arrives at `helper` within a short real-time window (the worker answers in ms)."""
    await asyncio.sleep(wait)
    await h.settle()
    assert h.messages(helper) == []


# ---------------------------------------------------------------------------- return forms
async def test_return_msg_sends_on_port_1_with_the_changes():
    async with FlowHarness([fn("msg['payload'] = msg['payload'] * 2\nmsg['topic'] = 't'\nreturn msg"),
                            out()]) as h:
        await h.inject("f", {"payload": 21, "_msgid": "abc"})
        [m] = await h.received("out", 1)
        assert m == {"payload": 42, "topic": "t", "_msgid": "abc"}


async def test_return_none_and_an_empty_body_send_nothing():
    for body in ("return None", "", "x = 1", "# just a comment"):
        async with FlowHarness([fn(body), out()]) as h:
            await h.inject("f", {"payload": 1})
            await expect_none(h, "out", 0.1)


async def test_return_list_sends_one_message_per_port():
    body = "return [{'payload': 'a'}, None, {'payload': 'c'}]"
    async with FlowHarness([fn(body, [["o1"], ["o2"], ["o3"]], outputs=3),
                            out("o1"), out("o2"), out("o3")]) as h:
        await h.inject("f", {"payload": 0, "_msgid": "id1"})
        [a] = await h.received("o1", 1)
        [c] = await h.received("o3", 1)
        assert a == {"payload": "a", "_msgid": "id1"}  # every message carries the input's _msgid
        assert c == {"payload": "c", "_msgid": "id1"}
        assert h.messages("o2") == []


async def test_return_list_of_lists_sends_several_messages_on_a_port_in_order():
    body = "return [[{'payload': 1}, {'payload': 2}, None, {'payload': 3}], None]"
    async with FlowHarness([fn(body, [["o1"], ["o2"]], outputs=2), out("o1"), out("o2")]) as h:
        await h.inject("f", {"payload": 0})
        msgs = await h.received("o1", 3)
        assert [m["payload"] for m in msgs] == [1, 2, 3]
        assert h.messages("o2") == []


async def test_a_tuple_works_like_a_list():
    async with FlowHarness([fn("return msg, {'payload': 'second'}", [["o1"], ["o2"]], outputs=2),
                            out("o1"), out("o2")]) as h:
        await h.inject("f", {"payload": "first"})
        assert (await h.received("o1", 1))[0]["payload"] == "first"
        assert (await h.received("o2", 1))[0]["payload"] == "second"


async def test_the_same_object_on_two_ports_arrives_as_two_independent_copies():
    body = "return [msg, msg]"
    flow = [fn(body, [["m1"], ["m2"]], outputs=2),
            {"id": "m1", "type": "change", "wires": [["o1"]],
             "rules": [{"t": "set", "p": "payload.x", "pt": "msg", "to": "changed", "tot": "str"}]},
            out("o1"), {"id": "m2", "type": "helper"}]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": {"x": "orig"}})
        assert (await h.received("o1", 1))[0]["payload"] == {"x": "changed"}
        assert (await h.received("m2", 1))[0]["payload"] == {"x": "orig"}


async def test_returning_a_non_message_is_reported_with_the_input():
    for body, kind in (("return 5", "int"), ("return ['text']", "str"), ("return [[msg, 7]]", "int")):
        async with FlowHarness([fn(body), out(), *catch()]) as h:
            await h.inject("f", {"payload": "in"})
            [err] = await h.received("caught", 1)
            assert err["error"]["message"] == f"function tried to send a message of type {kind}"
            assert err["payload"] == "in"


def test_outputs_sets_the_number_of_ports():
    cfg = PythonFunction.Config.model_validate({"id": "f", "type": "python-function", "outputs": "3"})
    assert PythonFunction.output_count(cfg) == 3
    cfg = PythonFunction.Config.model_validate({"id": "f", "type": "python-function", "outputs": 0})
    assert PythonFunction.output_count(cfg) == 0
    cfg = PythonFunction.Config.model_validate({"id": "f", "type": "python-function"})
    assert PythonFunction.output_count(cfg) == 1


async def test_wiring_more_ports_than_outputs_is_a_validation_issue():
    async with FlowHarness([out()]) as h:
        _, issues = h.engine.validate([{"id": "t", "type": "tab"},
                                       {**fn("return msg", [["x"], ["y"]]), "z": "t", "outputs": 1},
                                       {"id": "x", "type": "helper", "z": "t", "wires": []},
                                       {"id": "y", "type": "helper", "z": "t", "wires": []}])
        assert any(i.node_id == "f" and i.path == "wires" for i in issues)


# ---------------------------------------------------------------------------- node API
async def test_node_send_inside_the_body_keeps_order_and_snapshots_the_message():
    body = ("node.send({'payload': 'one'})\n"
            "m = {'payload': 'two'}\n"
            "node.send(m)\n"
            "m['payload'] = 'mutated after send'\n"
            "node.send([None, {'payload': 'port2'}])\n"
            "msg['payload'] = 'three'\n"
            "return msg")
    async with FlowHarness([fn(body, [["out"], ["o2"]], outputs=2), out(), out("o2")]) as h:
        await h.inject("f", {"payload": 0, "_msgid": "m1"})
        msgs = await h.received("out", 3)
        assert [m["payload"] for m in msgs] == ["one", "two", "three"]
        assert {m["_msgid"] for m in msgs} == {"m1"}
        assert (await h.received("o2", 1))[0]["payload"] == "port2"


async def test_node_status_reaches_status_nodes():
    body = "node.status(fill='green', shape='dot', text='ok')\nnode.status('plain text')\nreturn None"
    flow = [fn(body), out(), {"id": "sn", "type": "status", "scope": ["f"], "wires": [["st"]]}, out("st")]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": 1})
        msgs = await h.received("st", 2)
        assert {k: msgs[0]["status"][k] for k in ("fill", "shape", "text")} == \
            {"fill": "green", "shape": "dot", "text": "ok"}
        assert msgs[0]["status"]["source"]["id"] == "f"
        assert msgs[1]["status"]["text"] == "plain text"


async def test_node_warn_and_log_are_logged_events():
    async with FlowHarness([fn("node.warn('careful')\nnode.log({'a': 1})\nreturn msg"), out()]) as h:
        events = h.events()
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        logs = [e for e in events.drain() if e["type"] == "log" and e["node_id"] == "f"]
        assert [(e["data"]["level"], e["data"]["msg"]) for e in logs] == [("warn", "careful"),
                                                                           ("info", '{"a": 1}')]


async def test_node_error_with_msg_reaches_catch_nodes_and_processing_continues():
    body = "if msg['payload'] < 0:\n    node.error('negative', msg)\n    return None\nreturn msg"
    async with FlowHarness([fn(body), out(), *catch()]) as h:
        await h.inject("f", {"payload": -1, "topic": "t"})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"] == "negative"
        assert err["error"]["source"]["id"] == "f"
        assert err["payload"] == -1 and err["topic"] == "t"
        await h.inject("f", {"payload": 5})
        assert (await h.received("out", 1))[0]["payload"] == 5


async def test_an_exception_in_the_body_is_reported_with_type_text_and_line():
    body = "x = 1\ny = msg['payload']\nreturn {'payload': x / y}"
    async with FlowHarness([fn(body), out(), *catch()]) as h:
        await h.inject("f", {"payload": 0, "topic": "keep"})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"] == "ZeroDivisionError: division by zero (line 3)"
        assert err["topic"] == "keep"
        await h.inject("f", {"payload": 4})  # the worker carries on
        assert (await h.received("out", 1))[0]["payload"] == 0.25


async def test_line_number_points_into_the_body_even_from_a_nested_call():
    body = "def helper(v):\n    return v['missing']\n\nreturn helper(msg)"
    async with FlowHarness([fn(body), out(), *catch()]) as h:
        await h.inject("f", {"payload": 0})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"] == "KeyError: 'missing' (line 2)"


async def test_sys_exit_in_the_body_is_an_error_not_a_dead_worker():
    async with FlowHarness([fn("import sys\nsys.exit(3)"), out(), *catch()]) as h:
        await h.inject("f", {"payload": 0})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"] == "SystemExit: 3 (line 2)"


async def test_auto_done_triggers_complete_nodes_but_not_after_an_error():
    flow = [fn("if msg['payload'] == 'bad':\n    raise ValueError('no')\nreturn None"), out(),
            {"id": "cp", "type": "complete", "scope": ["f"], "wires": [["done"]]}, out("done"), *catch()]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": "good"})
        [m] = await h.received("done", 1)
        assert m["payload"] == "good" and m["complete"]["source"]["id"] == "f"
        await h.inject("f", {"payload": "bad"})
        await h.received("caught", 1)
        await expect_none(h, "out", 0.05)
        assert len(h.messages("done")) == 1


async def test_code_mentioning_node_done_completes_only_when_it_calls_it():
    body = "if msg['payload'] == 'finish':\n    node.done()\nreturn msg"
    flow = [fn(body), out(), {"id": "cp", "type": "complete", "scope": ["f"], "wires": [["done"]]}, out("done")]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": "skip"})
        await h.received("out", 1)
        await expect_none(h, "done", 0.05)
        await h.inject("f", {"payload": "finish"})
        await h.received("out", 2)
        [m] = await h.received("done", 1)
        assert m["payload"] == "finish"


def complete(to: str = "done") -> list[dict]:
    return [{"id": "cp", "type": "complete", "scope": ["f"], "wires": [[to]]}, out(to)]


async def test_a_late_node_send_from_a_timer_carries_its_own_messages_msgid():
    body = ("import threading\n"
            "threading.Timer(0.1, lambda: node.send({'payload': 'late ' + msg['payload']})).start()\n"
            "return None")
    async with FlowHarness([fn(body), out()]) as h:
        await h.engine.inject("f", {"payload": "a", "_msgid": "id-a"})
        await h.engine.inject("f", {"payload": "b", "_msgid": "id-b"})
        msgs = await h.received("out", 2)
        assert sorted((m["payload"], m["_msgid"]) for m in msgs) == [("late a", "id-a"), ("late b", "id-b")]


async def test_executor_tasks_act_for_the_message_that_submitted_them():
    # The pool thread is created by the first submit; later tasks must not inherit that message.
    init = "import time\nfrom concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)"
    body = "pool.submit(lambda: (time.sleep(0.02), node.send({'payload': msg['payload']})))\nreturn None"
    async with FlowHarness([fn(body, initialize=init), out()]) as h:
        for i in range(3):
            await h.engine.inject("f", {"payload": i, "_msgid": f"id-{i}"})
        msgs = await h.received("out", 3)
        assert [(m["payload"], m["_msgid"]) for m in msgs] == [(i, f"id-{i}") for i in range(3)]


async def test_a_late_node_done_completes_its_own_message_not_the_one_in_flight():
    # msg 1's done fires while msg 2 is still in the body; msg 2 never calls done.
    body = ("import threading, time\n"
            "if msg['payload'] == 1:\n"
            "    threading.Timer(0.1, lambda: node.done()).start()\n"
            "else:\n"
            "    time.sleep(0.3)\n"
            "return msg")
    async with FlowHarness([fn(body), out(), *complete()]) as h:
        await h.engine.inject("f", {"payload": 1})
        await h.engine.inject("f", {"payload": 2})
        [m] = await h.received("done", 1)
        assert m["payload"] == 1
        await h.received("out", 2)
        await asyncio.sleep(0.1)
        await h.settle()
        assert [m["payload"] for m in h.messages("done")] == [1]  # msg 2 stays open


async def test_a_late_send_keeps_unpicklable_values_until_done():
    class Live:  # e.g. an http-in's msg.res: crosses as a handle
        def __init__(self) -> None:
            self.lock = threading.Lock()

    live = Live()
    body = ("import threading\n"
            "def later():\n"
            "    node.send(msg)\n"
            "    node.done()\n"
            "threading.Timer(0.1, later).start()\n"
            "return None")
    async with FlowHarness([fn(body), out(), *complete()]) as h:
        await h.engine.inject("f", {"payload": 1, "res": live, "_msgid": "m1"})
        [m] = await h.received("out", 1)
        assert m["res"] is live and m["_msgid"] == "m1"
        [d] = await h.received("done", 1)
        assert d["res"] is live
        assert h.node("f")._handles == {}  # type: ignore[attr-defined]  # released once done


async def test_messages_waiting_for_done_are_bounded_by_max_buffered():
    body = "import threading\nthreading.Timer(0.3, lambda: node.done()).start()\nreturn msg"
    async with FlowHarness([fn(body), out(), *complete()], settings={"max_buffered": 2}) as h:
        events = h.events()
        for i in range(3):
            await h.engine.inject("f", {"payload": i})
        await h.received("out", 3)
        await h.received("done", 2)
        await asyncio.sleep(0.1)
        await h.settle()
        assert [m["payload"] for m in h.messages("done")] == [1, 2]  # the oldest was dropped
        warnings = [e["data"]["msg"] for e in events.drain() if e["type"] == "log"
                    and e["data"]["level"] == "warn"]
        assert warnings == ["more than 2 messages wait for node.done(): dropping the oldest"]


async def test_node_exposes_id_name_and_outputs():
    body = "return {'payload': [node.id, node.name, node.outputs]}"
    async with FlowHarness([fn(body, [["out"], []], outputs=2, name="calc"), out()]) as h:
        await h.inject("f", {})
        assert (await h.received("out", 1))[0]["payload"] == ["f", "calc", 2]


async def test_messages_are_processed_one_at_a_time_in_order():
    body = ("import time\n"
            "global busy\n"
            "assert not busy, 'overlap'\n"
            "busy = True\n"
            "time.sleep(0.001)\n"
            "busy = False\n"
            "return msg")
    async with FlowHarness([fn(body, initialize="busy = False"), out(), *catch()]) as h:
        for i in range(40):
            await h.engine.inject("f", {"payload": i})
        msgs = await h.received("out", 40, timeout=5)
        assert [m["payload"] for m in msgs] == list(range(40))
        assert h.messages("caught") == []


# ---------------------------------------------------------------------------- context and env
async def test_context_flow_and_global_context_are_shared_with_other_nodes():
    body = ("n = (context.get('n') or 0) + 1\n"
            "context.set('n', n)\n"
            "flow.set('seen', msg['payload'])\n"
            "global_context.set('g', {'count': n})\n"
            "return msg")
    flow = [fn(body, [["ch"]]),
            {"id": "ch", "type": "change", "wires": [["out"]],
             "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "seen", "tot": "flow"},
                       {"t": "set", "p": "topic", "pt": "msg", "to": "g.count", "tot": "global"}]},
            out()]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": "first"})
        await h.inject("f", {"payload": "second"})
        msgs = await h.received("out", 2)
        assert [(m["payload"], m["topic"]) for m in msgs] == [("first", 1), ("second", 2)]
        node = h.node("f")
        assert node.context.get("n") == 2
        assert node.flow_context.get("seen") == "second"
        assert node.global_context.get("g") == {"count": 2}


async def test_context_reads_values_set_elsewhere_missing_keys_give_none_and_set_without_value_deletes():
    body = ("return {'payload': [flow.get('a'), global_context.get('b.c'), context.get('nope'),\n"
            "                    flow.get(['a', 'nope']), sorted(flow.keys())]}")
    delete = "flow.set('a')\nreturn {'payload': [flow.get('a'), flow.keys()]}"
    flow = [fn(body), out(), {**fn(delete, [["o2"]]), "id": "f2"}, out("o2")]
    async with FlowHarness(flow) as h:
        h.node("f").flow_context.set("a", [1, 2])
        h.node("f").global_context.set("b", {"c": b"\x00bin"})
        await h.inject("f", {})
        [m] = await h.received("out", 1)
        assert m["payload"] == [[1, 2], b"\x00bin", None, [[1, 2], None], ["a"]]
        await h.inject("f2", {})
        [m2] = await h.received("o2", 1)
        assert m2["payload"] == [None, []]
        assert h.node("f").flow_context.get("a") is UNDEFINED


async def test_context_store_argument_and_bad_context_key_raise_in_the_code():
    stores = ContextStores({"memory": MemoryStore(), "other": MemoryStore()})
    body = ("context.set('k', 'in-other', 'other')\n"
            "try:\n"
            "    flow.set('a..b', 1)\n"
            "    bad = 'no error'\n"
            "except RuntimeError as exc:\n"
            "    bad = 'raised'\n"
            "return {'payload': [context.get('k'), context.get('k', 'other'), bad]}")
    async with FlowHarness([fn(body), out()], contexts=stores) as h:
        await h.inject("f", {})
        [m] = await h.received("out", 1)
        assert m["payload"][:2] == [None, "in-other"]
        assert m["payload"][2] == "raised"


async def test_env_get_reads_flow_env_then_process_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYFN_TEST_VAR", "from-process")
    flow = [{"id": "t", "type": "tab", "env": [{"name": "GREETING", "value": "hello", "type": "str"}]},
            {**fn("return {'payload': [env.get('GREETING'), env.get('PYFN_TEST_VAR'), env.get('NOPE_X')]}"),
             "z": "t"},
            {**out(), "z": "t"}]
    async with FlowHarness(flow) as h:
        await h.inject("f", {})
        [m] = await h.received("out", 1)
        assert m["payload"] == ["hello", "from-process", None]


async def test_the_worker_process_does_not_see_flowengine_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLOWENGINE_CREDENTIAL_SECRET", "s3cret")
    monkeypatch.setenv("PYFN_TEST_VAR", "visible")
    body = ("import os\n"
            "return {'payload': [os.environ.get('FLOWENGINE_CREDENTIAL_SECRET'), os.environ.get('PYFN_TEST_VAR')]}")
    async with FlowHarness([fn(body), out()]) as h:
        await h.inject("f", {})
        [m] = await h.received("out", 1)
        assert m["payload"] == [None, "visible"]


# ---------------------------------------------------------------------------- initialize / finalize
async def test_initialize_runs_once_and_its_names_are_visible_to_the_body():
    init = ("import math\n"
            "def area(r):\n"
            "    return round(math.pi * r * r, 2)\n"
            "calls = 0\n"
            "global_context.set('inits', (global_context.get('inits') or 0) + 1)\n"
            "node.status(text='ready')")
    body = "global calls\ncalls += 1\nreturn {'payload': [area(msg['payload']), calls]}"
    flow = [fn(body, initialize=init), out(), {"id": "sn", "type": "status", "wires": [["st"]]}, out("st")]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": 1})
        await h.inject("f", {"payload": 2})
        msgs = await h.received("out", 2)
        assert [m["payload"] for m in msgs] == [[3.14, 1], [12.57, 2]]
        assert h.node("f").global_context.get("inits") == 1
        assert (await h.received("st", 1))[0]["status"]["text"] == "ready"


async def test_initialize_can_send_messages_at_start():
    async with FlowHarness([fn("return msg", initialize="node.send({'payload': 'hello'})"), out()]) as h:
        [m] = await h.received("out", 1)
        assert m["payload"] == "hello" and m["_msgid"]


async def test_finalize_runs_at_stop_with_the_node_namespace():
    stores = ContextStores({"memory": MemoryStore()})
    flow = [fn("global count\ncount += 1\nreturn msg", initialize="count = 0",
               finalize="global_context.set('final_count', count)"), out()]
    async with FlowHarness(flow, contexts=stores) as h:
        for i in range(3):
            await h.inject("f", {"payload": i})
        await h.received("out", 3)
    assert stores.get_store(None).scope("global")["final_count"] == 3


async def test_an_error_in_finalize_is_reported():
    async with FlowHarness([fn("return msg", finalize="1/0"), out()]) as h:
        events = h.events()
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        await h.engine.stop_flows()
        errors = [e["data"]["msg"] for e in events.drain() if e["type"] == "log"
                  and e["data"]["level"] == "error"]
        assert errors == ["finalize: ZeroDivisionError: division by zero (finalize line 1)"]


async def test_a_failing_initialize_is_reported_and_every_message_gets_an_error():
    flow = [fn("return msg", initialize="x = 1\nraise RuntimeError('no model file')"), out(), *catch()]
    async with FlowHarness(flow) as h:
        events = h.events()
        await h.inject("f", {"payload": 1})
        await h.inject("f", {"payload": 2})
        # the failure itself is logged (no msg, so no catch), then one error per message with it
        errs = await h.received("caught", 2)
        text = "initialize failed: RuntimeError: no model file (initialize line 2)"
        assert [e["error"]["message"] for e in errs] == [text, text]
        assert [e.get("payload") for e in errs] == [1, 2]
        assert h.messages("out") == []
        assert any(e["data"]["msg"] == text for e in events.drain() if e["type"] == "log")


# ---------------------------------------------------------------------------- validation and settings
@pytest.mark.parametrize(("field", "code", "line"), [
    ("func", "x = 1\nif x\n    return msg", 2),
    ("func", "return msg\n  bad_indent = 1", 2),
    ("func", "await something()", 1),
    ("initialize", "import os\n\ndef f(:\n  pass", 3),
    ("initialize", "return 5", 1),
    ("finalize", "x = (", 1),
])
async def test_syntax_errors_are_validation_issues_naming_the_field_and_line(field: str, code: str, line: int):
    props = {"func": "return msg", field: code}
    async with FlowHarness([out()]) as h:
        _, issues = h.engine.validate([{"id": "t", "type": "tab"},
                                       {"id": "f", "type": "python-function", "z": "t", "wires": [], **props}])
    [issue] = [i for i in issues if i.node_id == "f"]
    assert issue.path == field
    assert issue.severity == "error"
    assert issue.message.startswith("SyntaxError: ") and issue.message.endswith(f"(line {line})")


async def test_a_flow_with_a_syntax_error_does_not_deploy():
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness([fn("return msg +"), out()]):
            pass
    assert any(i.path == "func" for i in info.value.issues)


async def test_a_negative_timeout_is_rejected():
    async with FlowHarness([out()]) as h:
        _, issues = h.engine.validate([{"id": "t", "type": "tab"},
                                       {"id": "f", "type": "python-function", "z": "t", "wires": [],
                                        "func": "return msg", "timeout": -1}])
    assert any(i.node_id == "f" and i.path == "timeout" for i in issues)


async def test_code_nodes_false_refuses_to_start_and_spawns_nothing():
    before = set(p.pid for p in psutil.Process().children(recursive=True))
    with pytest.raises(FlowValidationError) as info:
        async with FlowHarness([fn("return msg"), out()], settings={"code_nodes": False}):
            pass
    assert "code nodes are disabled by the code_nodes setting" in str(info.value)
    assert [i.node_id for i in info.value.issues] == ["f"]
    after = set(p.pid for p in psutil.Process().children(recursive=True))
    assert after <= before


# ---------------------------------------------------------------------------- crossing the boundary
async def test_bytes_and_nested_values_round_trip_with_their_types():
    body = "msg['payload'] = msg['payload'] + b'!'\nmsg['types'] = [type(v).__name__ for v in msg['mix']]\nreturn msg"
    async with FlowHarness([fn(body), out()]) as h:
        mix = [1, 2.5, "s", None, True, {"k": [1]}, bytearray(b"ba")]
        await h.inject("f", {"payload": b"\x00\xffdata", "mix": mix})
        [m] = await h.received("out", 1)
        assert m["payload"] == b"\x00\xffdata!" and type(m["payload"]) is bytes
        assert m["types"] == ["int", "float", "str", "NoneType", "bool", "dict", "bytearray"]
        assert m["mix"] == mix


async def test_a_large_binary_payload_round_trips():
    data = bytes(range(256)) * 8192  # 2 MiB
    async with FlowHarness([fn("msg['n'] = len(msg['payload'])\nreturn msg"), out()]) as h:
        await h.inject("f", {"payload": data})
        [m] = await h.received("out", 1, timeout=5)
        assert m["n"] == len(data) and m["payload"] == data


async def test_undefined_values_survive_the_round_trip():
    async with FlowHarness([fn("msg['seen'] = repr(msg['u'])\nreturn msg"), out()]) as h:
        await h.inject("f", {"payload": 1, "u": UNDEFINED})
        [m] = await h.received("out", 1)
        assert m["u"] is UNDEFINED and m["seen"] == "UNDEFINED"


async def test_unpicklable_values_come_back_as_the_same_object():
    class Live:  # a local class with a lock: cannot be pickled
        def __init__(self) -> None:
            self.lock = threading.Lock()

    live = Live()
    body = "msg['kind'] = repr(msg['res'])\nreturn [msg, {'payload': 2, 'res': msg['res']}]"
    async with FlowHarness([fn(body, [["out"], ["o2"]], outputs=2), out(), out("o2")]) as h:
        await h.inject("f", {"payload": 1, "res": live})
        [m] = await h.received("out", 1)
        [m2] = await h.received("o2", 1)
        assert m["res"] is live and m2["res"] is live
        assert m["kind"] == "<opaque Live>"


def _class_only_in_this_process() -> type:
    """A picklable class whose module the worker process cannot import."""
    mod = types.ModuleType("pyfn_test_only_here")

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    Point.__module__, Point.__qualname__ = mod.__name__, "Point"
    mod.Point = Point  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    return Point


async def test_a_message_the_worker_cannot_load_is_an_error_and_the_worker_survives():
    point = _class_only_in_this_process()
    async with FlowHarness([fn("return msg"), out(), *catch()]) as h:
        await h.inject("f", {"payload": point(1)})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"].startswith("cannot read the message in the worker: ModuleNotFoundError")
        pid = h.node("f")._worker.proc.pid  # type: ignore[attr-defined]
        await h.inject("f", {"payload": 2})
        assert (await h.received("out", 1))[0]["payload"] == 2
        assert h.node("f")._worker.proc.pid == pid  # type: ignore[attr-defined]


async def test_a_context_value_the_worker_cannot_load_raises_in_the_code():
    point = _class_only_in_this_process()
    body = ("try:\n"
            "    flow.get('p')\n"
            "    res = 'loaded'\n"
            "except ModuleNotFoundError:\n"
            "    res = 'raised'\n"
            "return {'payload': [res, flow.get('ok')]}")
    async with FlowHarness([fn(body), out()]) as h:
        h.node("f").flow_context.set("p", point(1))
        h.node("f").flow_context.set("ok", 5)
        await h.inject("f", {})
        assert (await h.received("out", 1))[0]["payload"] == ["raised", 5]


async def test_an_unpicklable_result_is_an_error():
    async with FlowHarness([fn("import threading\nmsg['lock'] = threading.Lock()\nreturn msg"), out(),
                            *catch()]) as h:
        await h.inject("f", {"payload": 1})
        [err] = await h.received("caught", 1)
        assert err["error"]["message"].startswith("cannot send the result: TypeError")
        assert err["payload"] == 1


async def test_print_in_the_code_does_not_break_the_protocol(capfd: pytest.CaptureFixture):
    async with FlowHarness([fn("print('hello from the worker')\nreturn msg"), out()]) as h:
        await h.inject("f", {"payload": 1})
        assert (await h.received("out", 1))[0]["payload"] == 1
    assert "hello from the worker" in capfd.readouterr().err


async def test_a_crashing_worker_is_reported_and_replaced():
    body = "import os\nif msg['payload'] == 'crash':\n    os._exit(7)\nreturn msg"
    async with FlowHarness([fn(body), out(), *catch()]) as h:
        await h.inject("f", {"payload": "crash"})
        [err] = await h.received("caught", 1)
        assert "exited (exit code 7)" in err["error"]["message"]
        assert err["payload"] == "crash"
        await h.inject("f", {"payload": "fine"})
        assert (await h.received("out", 1))[0]["payload"] == "fine"


async def test_background_threads_started_in_initialize_can_use_the_api():
    init = ("import threading\n"
            "def tick():\n"
            "    flow.set('from_thread', (flow.get('from_thread') or 0) + 1)\n"
            "    node.send({'payload': 'tick'})\n"
            "threading.Timer(0.01, tick).start()")
    async with FlowHarness([fn("return msg", initialize=init), out()]) as h:
        [m] = await h.received("out", 1)
        assert m["payload"] == "tick"
        assert h.node("f").flow_context.get("from_thread") == 1


async def test_stop_ends_every_worker_process():
    flow = [fn("return msg"), {**fn("return msg"), "id": "f2"}, out()]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        await h.inject("f2", {"payload": 1})
        await h.received("out", 2)
        pids = [h.node(n)._worker.proc.pid for n in ("f", "f2")]  # type: ignore[attr-defined]
        assert all(psutil.pid_exists(p) for p in pids)
    # stopped and reaped: no process, not even a zombie
    assert not any(psutil.pid_exists(p) for p in pids)


async def test_a_redeploy_replaces_the_worker_and_runs_finalize_then_initialize():
    init = "global_context.set('log', (global_context.get('log') or []) + ['init'])"
    fin = "global_context.set('log', global_context.get('log') + ['final'])"
    flow = [fn("return msg", initialize=init, finalize=fin), out()]
    async with FlowHarness(flow) as h:
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        await h.engine.deploy(h.flow)
        await h.inject("f", {"payload": 2})
        assert (await h.received("out", 1))[0]["payload"] == 2
        assert h.node("f").global_context.get("log") == ["init", "final", "init"]


async def test_per_message_overhead_is_small():
    async with FlowHarness([fn("return msg"), out()]) as h:
        await h.inject("f", {"payload": -1})
        await h.received("out", 1)
        start = time.monotonic()
        for i in range(300):
            await h.engine.inject("f", {"payload": i})
        await h.received("out", 301, timeout=10)
        # generous bound (slow CI): one pipe round trip per message, not a process per message
        assert time.monotonic() - start < 3.0


def test_node_done_is_found_in_the_code_not_in_comments_or_strings():
    from nodes.function.python_function import uses_done

    assert uses_done("node.done()\nreturn None")
    assert uses_done("threading.Timer(1, node.done).start()\nreturn None")  # handed on, called later
    assert uses_done("if msg['x']:\n    node.done()\nreturn msg")
    assert not uses_done("# call node.done() when finished\nreturn msg")
    assert not uses_done("msg['help'] = 'call node.done() yourself'\nreturn msg")
    assert uses_done("this is not python node.done(")  # unparsable: the text decides
