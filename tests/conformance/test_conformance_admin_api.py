"""The conformance cases deployed through Node-RED's admin API (POST /flows) to one
long-running engine, as `run.py --engine admin-api` does. The default suite runs a sample
across node types; `make test-all` runs all 54."""

from __future__ import annotations

import httpx
import pytest

from flowengine.app import Application
from flowengine.settings import load_settings
from tests.support.mosquitto import Mosquitto

from .runner import Collector, compare, drive_case, load_cases

CASES = load_cases()
SAMPLE = {"ch04", "ct02", "dl02", "lk03", "sf02", "sj05", "sw07", "tr02"}


async def run_through_api(cases: list[dict], tmp_path) -> dict:
    broker = Mosquitto()
    broker.start()
    app = Application(load_settings(data_dir=tmp_path, port=0))
    assert await app.start(None)
    collector = Collector(broker.port)
    results: dict = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30) as client:
            async def deploy(flow: list) -> None:
                r = await client.post("/flows", json=flow, headers={"Node-RED-Deployment-Type": "full"})
                assert r.status_code == 204, r.text

            for case in cases:
                results[case["id"]] = await drive_case(case, broker.port, collector, deploy)
                await deploy([])  # as the shared runner does between cases
    finally:
        collector.close()
        await app.stop()
        broker.cleanup()
    return results


def _check(cases: list[dict], results: dict) -> None:
    failures = {c["id"]: compare(c, results[c["id"]]) for c in cases}
    failures = {k: v[:5] for k, v in failures.items() if v}
    assert not failures, failures


async def test_sample_of_cases_through_the_admin_api(tmp_path):
    cases = [c for c in CASES if c["id"] in SAMPLE]
    assert len(cases) == len(SAMPLE)
    _check(cases, await run_through_api(cases, tmp_path))


@pytest.mark.slow
async def test_all_cases_through_the_admin_api(tmp_path):
    _check(CASES, await run_through_api(CASES, tmp_path))
