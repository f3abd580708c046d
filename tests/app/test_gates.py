"""Gates over the whole browser suite, run after it (tests/conftest.py moves them to the end).

Every event listener of every Gradio page mounted in the app (a button, a keyboard-driven
submit, a filter, a timer, the page load and unload...) must have been fired by the browser
suite at least once, and the server's log must hold no traceback. Both skip unless the whole
browser suite ran in this session (a subset cannot fire everything).
"""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS, whole_browser_suite

pytestmark = [pytest.mark.browser, pytest.mark.gate]


def _whole_suite_ran(request: pytest.FixtureRequest) -> None:
    if not whole_browser_suite(request.config):
        pytest.skip("only part of the browser suite ran in this session")


def test_every_event_listener_was_fired_by_the_browser_suite(live, request) -> None:  # noqa: ANN001
    _whole_suite_ran(request)
    assert len(live.listeners.described) > 40  # the pages' listeners were found at all
    assert live.listeners.missing() == []


def test_the_server_log_of_the_browser_suite_has_no_traceback(live, request) -> None:  # noqa: ANN001
    _whole_suite_ran(request)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-server.log").write_text(live.log.text(), encoding="utf-8")
    assert live.log.tracebacks() == []
