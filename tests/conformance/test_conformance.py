"""The Node-RED conformance cases (recorded from real Node-RED 4.1.15), one test each."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.mosquitto import Mosquitto

from .runner import compare, load_cases, run_all

CASES = load_cases()


@pytest.fixture(scope="module")
def conformance_results():
    broker = Mosquitto()
    broker.start()
    try:
        yield asyncio.run(run_all(CASES, broker.port))
    finally:
        broker.stop()


@pytest.mark.parametrize("case", CASES, ids=[f"{c['id']}-{c['name']}" for c in CASES])
def test_case(case, conformance_results):
    result = conformance_results[case["id"]]
    if isinstance(result, Exception):
        raise result
    diffs = compare(case, result)
    assert not diffs, f"{case['id']} {case['name']}:\n  " + "\n  ".join(diffs[:10])


def test_compare_rules_catch_differences():
    """The comparison itself must fail on real differences (so a pass means something)."""
    case = {"expected": [{"port": "a", "t": 0, "msg": {"payload": 1, "_msgid": "x"}}]}
    assert compare(case, [{"port": "a", "t": 0, "msg": {"payload": 1.0, "_msgid": "y"}}]) == []
    assert compare(case, [{"port": "a", "t": 0, "msg": {"payload": True}}])
    assert compare(case, [{"port": "a", "t": 0, "msg": {"payload": "1"}}])
    assert compare(case, [{"port": "a", "t": 0, "msg": {"payload": 1, "extra": None}}])
    assert compare(case, [])
    timed = dict(case, timing={"tolerance_ms": 100})
    assert compare(timed, [{"port": "a", "t": 500, "msg": {"payload": 1}}])
