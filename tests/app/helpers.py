"""Shared AppTest setup for the page tests: fresh Streamlit caches and the app opened on one page."""

from __future__ import annotations

import contextlib
import logging
import time
from types import SimpleNamespace
from unittest import mock

import pytest
import streamlit as st
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from tests.builders import ROOT

APP = str(ROOT / "streamlit_app.py")


def clear_caches() -> None:
    """Forget every st.cache_data / st.cache_resource entry (the corpus, models, job manager)."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts and ends with empty Streamlit caches (a new job manager, checkpoints re-read).

    Autouse in every test module that imports it: `from tests.app.helpers import fresh_caches  # noqa: F401`.
    """
    clear_caches()
    yield
    clear_caches()


STUDENT = "Tess"  # the student the page tests are, unless a test names another


def new_app(student: str | None = STUDENT, timeout: float = 120, **query: str) -> AppTest:
    """The app, not yet run, opened as `student` (`?student=NAME`; None: a first visit) with `query`."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if student is not None:
        at.query_params["student"] = student
    at.query_params.update(query)
    return at


def open_app(page: str | None = None, timeout: float = 120, student: str | None = STUDENT) -> AppTest:
    """Run the app once (home page) as `student`, then switch to `page` ("app_pages/corpus.py", ...)."""
    at = new_app(student, timeout)
    at.run()
    return at if page is None else at.switch_page(page).run()


@contextlib.contextmanager
def widget_value_warnings():
    """Collect Streamlit's "created with a default value but also had its value set via the Session
    State API" warnings while the block runs (a list, filled as they come).

    Streamlit checks that rule only where a server runtime exists, which AppTest lacks; the check's
    module is shown one (nothing else changes), and the warning's once-per-process flag is reset.
    """
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    log = logging.getLogger(policies.__name__)
    log.addHandler(handler)
    try:
        with (
            mock.patch.object(policies, "runtime", SimpleNamespace(exists=lambda: True)),
            mock.patch.object(policies, "_shown_default_value_warning", False),
        ):
            yield seen
    finally:
        log.removeHandler(handler)


def leave_and_return(at: AppTest, page: str, other: str = "app_pages/home.py") -> AppTest:
    """Open another page, then come back to `page` (as a student clicking in the sidebar)."""
    at.switch_page(other).run()
    assert not at.exception
    return at.switch_page(page).run()


def training_page() -> AppTest:
    """The app opened on the Training page."""
    return open_app("app_pages/training.py")


# --- the Training form ----------------------------------------------------------------------------


def fill(at: AppTest, **values) -> None:
    """Type `values` into the Training form's fields (text for str values, numbers otherwise)."""
    for name, value in values.items():
        widget = (
            at.text_input(key=f"train_{name}")
            if isinstance(value, str)
            else at.number_input(key=f"train_{name}")
        )
        widget.set_value(value)


def submit(at: AppTest) -> AppTest:
    """Press the Training form's Start."""
    return at.button(key="train_start").click().run()


def wait_for(at: AppTest, done, timeout: float = 90.0) -> AppTest:
    """Rerun the page (as the browser's run_every fragment would) until done(at) or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, [e.value for e in at.markdown]
        time.sleep(0.3)
        at.run()
    return at
