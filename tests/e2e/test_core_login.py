"""Signing in when the server has accounts: the login form, the CSRF token on deploys, and the
way back to the form when the session ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_core_support import chain_flow, wait_state

from tests.support.engine_process import EngineProcess

PASSWORD = "correct horse battery staple"


@pytest.fixture
def engine_with_account(tmp_path: Path) -> Iterator[EngineProcess]:
    engine = EngineProcess(tmp_path, chain_flow())
    engine.add_user("alice", PASSWORD)
    engine.start()
    yield engine
    engine.stop()


def test_login_then_deploy_then_sign_out(engine_with_account: EngineProcess, page: Any) -> None:
    page.goto(engine_with_account.url + "/")
    form = page.get_by_test_id("login-form")
    form.wait_for()
    page.get_by_test_id("login-username").fill("alice")
    page.get_by_test_id("login-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("login-error").wait_for()
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_function("() => window.__flowengine.ready === true")
    # A deploy is a state-changing request: it needs the session's CSRF token.
    page.locator('[data-testid="palette-item"][data-type="delay"]').click()
    page.keyboard.press("Control+d")
    wait_state(page, "!s.deploying && s.baselineDoc === s.doc")
    # A reload keeps the session (the token comes back from /auth/me).
    page.reload()
    page.wait_for_function("() => window.__flowengine && window.__flowengine.ready === true")
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("menu-logout").click()
    form.wait_for()


def test_a_401_returns_to_the_login_form(engine_with_account: EngineProcess, page: Any) -> None:
    page.goto(engine_with_account.url + "/")
    page.get_by_test_id("login-username").fill("alice")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_function("() => window.__flowengine.ready === true")
    # The session ends behind the editor's back (cookie gone): the next request is a 401.
    page.context.clear_cookies()
    page.keyboard.press("Control+d")
    page.get_by_test_id("login-form").wait_for()
