"""Drive `streamlit run` from a real Chromium: start the server, open pages, wait for runs, find errors."""

from __future__ import annotations

from pathlib import Path

# Server and browser plumbing is shared with the dashboard benchmark (bachlstm/bench/app.py).
from bachlstm.bench.app import CHROMIUM, READY, chromium_page, streamlit_server, wait_ready  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
EXCEPTION = '[data-testid="stException"]'


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium); set BACHLSTM_REQUIRE_BROWSER=1 to fail"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def exception_texts(page) -> list[str]:
    """The text of every exception box in the page."""
    return [el.inner_text() for el in page.query_selector_all(EXCEPTION)]


def assert_no_exception(page, where: str) -> None:
    """Fail with the exception text when the page shows an exception box."""
    texts = exception_texts(page)
    assert not texts, f"exception on {where}: {texts}"


def open_page(page, base_url: str, url_path: str = "", timeout: float = 60.0) -> None:
    """Load a page of the app by its URL path and wait for its script to finish."""
    page.goto(f"{base_url}/{url_path}")
    wait_ready(page, timeout)


def click_nav(page, title: str, timeout: float = 60.0) -> None:
    """Switch page through the sidebar navigation (keeps the session, unlike goto)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_ready(page, timeout)


def screenshot_full(page, path: str, width: int = 1400) -> None:
    """A screenshot of the whole app: Streamlit scrolls inside its main block, so grow the viewport first."""
    page.wait_for_timeout(500)  # charts and images draw after the script has finished
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }"
    )
    original = page.viewport_size
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(500)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(original)
