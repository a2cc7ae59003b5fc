"""The example flows in flows/ are valid, and the smart-farm demo does what its README says."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from flowengine.flowdoc import errors_only
from flowengine.registry import default_registry
from flowengine.runtime.engine import Engine
from flowengine.testing import FakeClock, FlowHarness

FLOWS = sorted((Path(__file__).parents[2] / "flows").glob("*.json"))


@pytest.mark.parametrize("path", FLOWS, ids=[p.name for p in FLOWS])
def test_example_flow_is_valid(path):
    _, issues = Engine(default_registry()).validate(json.loads(path.read_text()))
    assert issues == [], [str(i) for i in issues]


def test_smart_farm_exists():
    assert any(p.name == "smart-farm.json" for p in FLOWS)


async def test_smart_farm_waters_when_dry_then_stops():
    flow = json.loads((Path(__file__).parents[2] / "flows" / "smart-farm.json").read_text())
    clock = FakeClock()
    async with FlowHarness(flow, clock=clock) as h:
        events = h.events()
        valve: list[str] = []
        soil: list[float] = []
        for _ in range(20):  # 20 ticks of the simulator, 3 s each
            before = len(soil)
            await h.advance(3)
            deadline = time.monotonic() + 3
            while len(soil) == before and time.monotonic() < deadline:  # the function runs in a process
                await asyncio.sleep(0.01)
                for e in events.drain():
                    if e["type"] == "debug" and e["data"]["name"] == "soil":
                        soil.append(float(e["data"]["msg"]))
                    elif e["type"] == "debug" and e["data"]["name"] == "valve":
                        valve.append(e["data"]["msg"])
        await asyncio.sleep(0.1)
        valve += [e["data"]["msg"] for e in events.drain() if e["type"] == "debug" and e["data"]["name"] == "valve"]
        assert soil[0] == 34.5 and min(soil) < 30  # dries out below the tab's DRY_BELOW (30)
        assert valve[:2] == ["on", "off"]  # watered for WATERING_SECONDS, then closed
        assert max(soil) > 50  # watering raised the moisture
        assert errors_only([]) == []
