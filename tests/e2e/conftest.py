"""End-to-end editor tests: a real engine process serving the built editor, driven in Debian's
headless Chromium by Playwright (never a downloaded browser).

Fixtures:
- `engine_factory(flows=None, env=None)` -> a started EngineProcess (stopped after the test)
- `engine`: an engine with an empty document
- `browser`: one Chromium per test session
- `page`: a fresh page (context) per test; `page.touch_context` tests make their own
- `open_editor(engine, page=None)` -> the page, loaded and ready (window.__flowengine exists)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.engine_process import EngineProcess

CHROMIUM = os.environ.get("FLOWENGINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
EDITOR_DIST = Path(__file__).resolve().parents[2] / "flowengine" / "editor_dist"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests and run them last: Playwright's sync API keeps an event loop running
    in the main thread while its browser is open, and pytest-asyncio cannot start async tests
    after that."""
    browser_tests = [item for item in items if "tests/e2e/" in str(item.fspath)]
    for item in browser_tests:
        item.add_marker(pytest.mark.e2e)
    others = [item for item in items if "tests/e2e/" not in str(item.fspath)]
    items[:] = others + browser_tests


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    editor_dir = Path(os.environ.get("FLOWENGINE_EDITOR_DIR") or EDITOR_DIST)
    if not (editor_dir / "index.html").is_file():
        pytest.fail(f"the editor is not built in {editor_dir}: run `make editor`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    started: list[EngineProcess] = []

    def start(flows: list[dict] | None = None, env: dict[str, str] | None = None) -> EngineProcess:
        workdir = tmp_path / f"engine{len(started)}"
        workdir.mkdir()
        engine = EngineProcess(workdir, flows, env)
        started.append(engine)
        return engine.start()

    yield start
    for engine in started:
        engine.stop()


@pytest.fixture
def engine(engine_factory: Callable[..., EngineProcess]) -> EngineProcess:
    return engine_factory()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    # The editor runs under a Content-Security-Policy: anything it blocks is a bug (or an attack).
    context.add_init_script("""window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    violations = []
    for open_page in context.pages:
        try:
            violations += open_page.evaluate("() => window.__cspViolations || []")
        except Exception:  # noqa: BLE001 - a page a test closed or left mid-navigation has nothing to report
            continue
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.fixture
def open_editor(page: object) -> Callable[..., object]:
    def open_(engine: EngineProcess, target: object | None = None) -> object:
        p = target or page
        p.goto(engine.url + "/")  # type: ignore[attr-defined]
        p.wait_for_function("() => window.__flowengine && window.__flowengine.ready === true")  # type: ignore[attr-defined]
        return p

    return open_
