"""The browser tests' plumbing: the one copy in `benchmarks/browser.py`, and the tests' assertion."""

from __future__ import annotations

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
    wait_ready,
)


def assert_no_exception(page, where: str) -> None:
    """Fail with the exception text when the page shows an exception box."""
    texts = exception_texts(page)
    assert not texts, f"exception on {where}: {texts}"
