"""Helpers shared by the editor-core e2e tests (canvas, tabs, deploy/debug). No tests here.

Test modules import the fixtures `core_engine_fixture` and `editor_with_fixture`; they register
as `core_engine` and `editor_with`.

The editor exposes `window.__flowengine.store` (zustand: `getState()`); nodes on the canvas are
React Flow nodes (`.react-flow__node[data-id=ID]`), ports carry `data-testid=port-in/port-out`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.engine_process import EngineProcess

STATE = "window.__flowengine.store.getState()"
#: JavaScript expression: React Flow's current zoom, from the viewport's CSS transform.
ZOOM = "new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport')).transform).a"


@pytest.fixture(scope="module", name="core_engine")
def core_engine_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine per test module (starting and stopping one per test costs seconds); each test
    deploys the flows it needs through `editor_with`."""
    engine = EngineProcess(tmp_path_factory.mktemp("core-engine"), []).start()
    yield engine
    engine.stop()


@pytest.fixture(name="editor_with")
def editor_with_fixture(core_engine: EngineProcess, open_editor: Callable[..., Any]) -> Callable[..., Any]:
    """`editor_with(flows)` deploys `flows` on the module's engine and opens the editor on them."""

    def open_(flows: list[dict[str, Any]]) -> Any:
        core_engine.deploy(flows)
        return open_editor(core_engine)

    return open_


def state(page: Any, expr: str) -> Any:
    """Evaluates `expr` with `s` bound to the editor store's state."""
    return page.evaluate(f"() => {{ const s = {STATE}; return {expr}; }}")


def wait_state(page: Any, expr: str, timeout: float = 10_000) -> None:
    page.wait_for_function(f"() => {{ const s = {STATE}; return {expr}; }}", timeout=timeout)


def doc(page: Any) -> list[dict[str, Any]]:
    return state(page, "s.doc")


def by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in nodes}


def node(page: Any, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def out_port(page: Any, node_id: str, port: int = 0) -> Any:
    return node(page, node_id).locator(f'[data-testid="port-out"][data-port="{port}"]')


def in_port(page: Any, node_id: str) -> Any:
    return node(page, node_id).locator('[data-testid="port-in"]')


def center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, "element is not visible"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def mouse_drag(page: Any, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    # A first small step crosses React Flow's drag threshold without losing distance.
    page.mouse.move(start[0] + 2, start[1] + 1)
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def canvas_point(page: Any, fx: float, fy: float) -> tuple[float, float]:
    """Screen position of a flow-coordinate point (the viewport of a fresh tab is the origin)."""
    box = page.get_by_test_id("canvas").bounding_box()
    t = viewport(page)
    return box["x"] + t["x"] + fx * t["zoom"], box["y"] + t["y"] + fy * t["zoom"]


def viewport(page: Any) -> dict[str, float]:
    """React Flow's pan and zoom, read from the viewport's CSS transform."""
    return page.evaluate(
        """() => {
            const t = getComputedStyle(document.querySelector('.react-flow__viewport')).transform;
            const m = new DOMMatrixReadOnly(t);
            return {x: m.e, y: m.f, zoom: m.a};
        }"""
    )


def wires_of(page: Any, node_id: str) -> list[list[str]]:
    return state(page, f"s.doc.find(n => n.id === {node_id!r}).wires")


def tab(node_id: str, label: str = "Flow 1", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "tab", "label": label, "disabled": False, "info": "", "env": [], **extra}


def inject(node_id: str, z: str, x: int, y: int, wires: list[list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "inject", "z": z, "name": extra.pop("name", node_id), "props": [{"p": "payload"}],
            "payload": "hello", "payloadType": "str", "repeat": "", "crontab": "", "once": False, "onceDelay": 0.1,
            "topic": "", "x": x, "y": y, "wires": wires if wires is not None else [[]], **extra}


def debug(node_id: str, z: str, x: int, y: int, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "debug", "z": z, "name": extra.pop("name", node_id), "active": True,
            "tosidebar": True, "console": False, "tostatus": False, "complete": "payload", "targetType": "msg",
            "x": x, "y": y, "wires": [], **extra}


def change(node_id: str, z: str, x: int, y: int, wires: list[list[str]] | None = None) -> dict[str, Any]:
    return {"id": node_id, "type": "change", "z": z, "name": node_id,
            "rules": [{"t": "set", "p": "topic", "pt": "msg", "to": "t", "tot": "str"}],
            "x": x, "y": y, "wires": wires if wires is not None else [[]]}


def chain_flow() -> list[dict[str, Any]]:
    """One tab: inject A -> change B -> debug C (wired), plus an unwired change D and debug E."""
    z = "t1"
    return [
        tab(z),
        inject("A", z, 120, 100, [["B"]]),
        change("B", z, 320, 100, [["C"]]),
        debug("C", z, 520, 100),
        change("D", z, 320, 260),
        debug("E", z, 520, 260),
    ]
