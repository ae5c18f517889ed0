"""Shared AppTest setup for the page tests: fresh Streamlit caches and the app opened on one page."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


def clear_caches() -> None:
    """Forget every st.cache_data / st.cache_resource entry (the corpus, models, job manager)."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts and ends with empty Streamlit caches (a new job manager, checkpoints re-read).

    Autouse in every test module that imports it: `from app_helpers import fresh_caches  # noqa: F401`.
    """
    clear_caches()
    yield
    clear_caches()


def open_app(page: str | None = None, timeout: float = 120) -> AppTest:
    """Run the app once (home page), then switch to `page` ("app_pages/corpus.py", ...) if given."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    return at if page is None else at.switch_page(page).run()
