"""The browser tests' plumbing: the one copy in `benchmarks/browser.py`, and the tests' assertion."""

from __future__ import annotations

import os

import pytest

from benchmarks.browser import (  # noqa: F401 (the browser tests import them from here)
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    STUDENT,
    browser_missing_reason,
    by_key,
    chromium,
    chromium_page,
    click_nav,
    exception_texts,
    new_page,
    open_page,
    screenshot_full,
    streamlit_server,
    student_url,
    wait_drawn,
    wait_ready,
)


def assert_no_exception(page, where: str) -> None:
    """Fail with the exception text when the page shows an exception box."""
    texts = exception_texts(page)
    assert not texts, f"exception on {where}: {texts}"


def need_browser() -> None:
    """Skip the test without Chromium or Playwright; fail instead where BACHLSTM_REQUIRE_BROWSER=1 (CI)."""
    reason = browser_missing_reason()
    if reason:
        if os.environ.get("BACHLSTM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required (BACHLSTM_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
