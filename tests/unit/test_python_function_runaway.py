"""python-function isolation: a runaway body is really stopped, and nothing else waits for it.

The first test runs in real time (about a second): it measures behaviour bounds (error within
timeout + 1 s, the process gone within 2 s, other paths answering within 0.2 s throughout), not
speed. The others use a FakeClock for the timeout itself.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from flowengine.testing import FakeClock, FlowHarness

TIMEOUT = 0.5
SPIN = "if msg['payload'] == 'spin':\n    while True:\n        pass\nreturn msg"
COUNT_INITS = "global_context.set('inits', (global_context.get('inits') or 0) + 1)"


def flow(**fn_props: object) -> list[dict]:
    return [
        {"id": "f", "type": "python-function", "func": SPIN, "initialize": COUNT_INITS,
         "wires": [["out"]], **fn_props},
        {"id": "out", "type": "helper"},
        {"id": "c", "type": "catch", "scope": ["f"], "wires": [["caught"]]},
        {"id": "caught", "type": "helper"},
        # an unrelated path that must keep answering during the runaway
        {"id": "ch", "type": "change", "wires": [["fast"]],
         "rules": [{"t": "set", "p": "topic", "pt": "msg", "to": "changed", "tot": "str"}]},
        {"id": "fast", "type": "helper"},
    ]


def gone(pid: int) -> bool:
    """The process no longer runs: reaped, or at worst a zombie using no CPU."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_until(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.01)
    return bool(cond())  # type: ignore[operator]


async def test_a_runaway_loop_is_killed_reported_and_replaced_while_other_flows_keep_answering():
    async with FlowHarness(flow(timeout=TIMEOUT)) as h:
        await h.inject("f", {"payload": "warm-up"})
        await h.received("out", 1)
        node = h.node("f")
        pid = node._worker.proc.pid  # type: ignore[attr-defined]
        proc = psutil.Process(pid)

        started = time.monotonic()
        await h.engine.inject("f", {"payload": "spin", "topic": "runaway"})
        cpu0 = sum(proc.cpu_times()[:2])
        await asyncio.sleep(0.15)
        assert sum(proc.cpu_times()[:2]) > cpu0  # it really spins (CPU time grows)

        # while it spins, the event loop and other paths answer promptly
        for i in range(3):
            t0 = time.monotonic()
            await h.engine.inject("ch", {"payload": i})
            await h.received("fast", i + 1)
            assert time.monotonic() - t0 < 0.2
            assert h.messages("caught") == []  # measured during the runaway, not after it
            await asyncio.sleep(0.05)

        # the timeout error reaches the catch node with the message, within timeout + 1 s
        [err] = await h.received("caught", 1, timeout=TIMEOUT + 2.0)
        elapsed = time.monotonic() - started
        assert elapsed < TIMEOUT + 1.0
        assert err["payload"] == "spin" and err["topic"] == "runaway"
        assert err["error"]["source"]["id"] == "f"
        assert "timed out after 0.5 s" in err["error"]["message"]

        # the runaway process is really gone (not abandoned): CPU back to idle within 2 s
        assert await wait_until(lambda: gone(pid), 2.0)

        # the next message is handled by a fresh worker that re-ran initialize
        t0 = time.monotonic()
        await h.inject("f", {"payload": "after"})
        [_, after] = await h.received("out", 2, timeout=5.0)
        assert after["payload"] == "after"
        assert node._worker.proc.pid != pid  # type: ignore[attr-defined]
        assert node.global_context.get("inits") == 2
        assert time.monotonic() - t0 < 2.0
        assert h.messages("caught") == [err]  # nothing else went wrong


async def test_the_timeout_is_real_time_and_the_setting_gives_the_default():
    # The engine's clock is fake here, yet the runaway is still bounded in real seconds.
    clock = FakeClock()
    async with FlowHarness(flow(timeout=""), clock=clock, settings={"function_timeout": 0.6}) as h:
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        pid = h.node("f")._worker.proc.pid  # type: ignore[attr-defined]
        started = time.monotonic()
        await h.engine.inject("f", {"payload": "spin"})
        await asyncio.sleep(0.3)
        assert h.messages("caught") == []
        [err] = await h.received("caught", 1, timeout=3.0)
        assert time.monotonic() - started >= 0.6
        assert "timed out after 0.6 s" in err["error"]["message"]
        assert await wait_until(lambda: gone(pid), 2.0)
        await h.inject("f", {"payload": 2})
        assert (await h.received("out", 2))[1]["payload"] == 2


async def test_a_node_timeout_overrides_the_setting_and_a_slow_call_within_it_succeeds():
    clock = FakeClock()
    body = "import time\ntime.sleep(0.2)\nreturn msg"
    f = flow(timeout=5)
    f[0]["func"] = body
    async with FlowHarness(f, clock=clock, settings={"function_timeout": 0.1}) as h:
        await h.engine.inject("f", {"payload": 1})
        await h.advance(4.9)  # fake time passes, the call is still within its 5 s
        [m] = await h.received("out", 1)
        assert m["payload"] == 1
        assert h.messages("caught") == []


async def test_with_no_timeout_at_all_a_long_call_is_not_killed():
    clock = FakeClock()
    f = flow(timeout=0)
    f[0]["func"] = "import time\ntime.sleep(0.2)\nreturn msg"
    async with FlowHarness(f, clock=clock, settings={"function_timeout": 0}) as h:
        await h.engine.inject("f", {"payload": 1})
        await h.advance(10_000)
        [m] = await h.received("out", 1)
        assert m["payload"] == 1 and h.messages("caught") == []


async def test_stopping_during_a_runaway_kills_the_worker_in_bounded_time():
    h = FlowHarness(flow(timeout=0), settings={"function_timeout": 0})
    async with h:
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        pid = h.node("f")._worker.proc.pid  # type: ignore[attr-defined]
        await h.engine.inject("f", {"payload": "spin"})
        await asyncio.sleep(0.05)
        started = time.monotonic()
    # finalize cannot run (the worker is busy); closing its input ends it
    assert time.monotonic() - started < 4.0
    assert await wait_until(lambda: gone(pid), 2.0)


async def test_a_finalize_that_cannot_run_is_bounded_and_warned_about():
    f = flow(timeout=0, finalize="node.warn('finalized')")
    h = FlowHarness(f, settings={"function_timeout": 0})
    async with h:
        events = h.events()
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        pid = h.node("f")._worker.proc.pid  # type: ignore[attr-defined]
        await h.engine.inject("f", {"payload": "spin"})
        await asyncio.sleep(0.05)
        started = time.monotonic()
    assert time.monotonic() - started < 4.0
    assert await wait_until(lambda: gone(pid), 2.0)
    warnings = [e["data"]["msg"] for e in events.drain() if e["type"] == "log" and e["data"]["level"] == "warn"]
    assert warnings == ["finalize did not finish within 2 s; the worker was stopped"]


async def test_a_runaway_initialize_is_bounded_by_the_init_timeout_setting():
    f = flow(initialize="while True:\n    pass")
    async with FlowHarness(f, settings={"function_init_timeout": 0.3}) as h:
        pid = h.node("f")._worker.proc.pid  # type: ignore[attr-defined]
        await h.engine.inject("f", {"payload": 1})
        errs = await h.received("caught", 1, timeout=3.0)
        text = "initialize failed: initialize did not finish within 0.3 s"
        assert [e["error"]["message"] for e in errs] == [text]
        assert errs[0]["payload"] == 1
        assert await wait_until(lambda: gone(pid), 2.0)
        assert h.messages("out") == []


async def test_a_worker_dying_while_idle_is_reported_and_replaced_on_the_next_message():
    init = ("import os, threading\n"
            "if not global_context.get('crashed'):\n"
            "    global_context.set('crashed', True)\n"
            "    threading.Timer(0.05, lambda: os._exit(3)).start()")
    async with FlowHarness(flow(initialize=init)) as h:
        events = h.events()
        text = "the worker process exited unexpectedly (exit code 3)"
        # With no message involved the crash is logged (and shown as status), not sent to catch.
        assert await wait_until(lambda: any(e["type"] == "log" and e["data"]["msg"] == text
                                            for e in list(events._items)), 3.0)
        assert h.messages("caught") == []
        await h.inject("f", {"payload": "again"})
        assert (await h.received("out", 1))[0]["payload"] == "again"


async def test_processes_started_by_the_code_end_with_the_node_on_redeploy_and_stop():
    body = "import subprocess\ncontext.set('child', subprocess.Popen(['sleep', '300']).pid)\nreturn msg"
    async with FlowHarness(flow(func=body)) as h:
        await h.inject("f", {"payload": 1})
        await h.received("out", 1)
        first = h.node("f").context.get("child")
        assert not gone(first)
        await h.engine.deploy(h.flow)  # a redeploy stops the old node normally
        assert await wait_until(lambda: gone(first), 2.0)
        await h.inject("f", {"payload": 2})
        await h.received("out", 1)
        second = h.node("f").context.get("child")
        assert second != first and not gone(second)
    assert await wait_until(lambda: gone(second), 2.0)
