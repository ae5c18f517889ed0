"""The dashboard in a real browser, for the benchmarks and the browser tests alike: `streamlit run` on a
free port of 127.0.0.1, Debian's Chromium (/usr/bin/chromium) through Playwright, a fresh browser
context per student, the app's pages opened as a student and waited for, and everything stopped after.

Elements are found by widget key (Streamlit draws `key="seed"` as the class `st-key-seed`), so labels
can change (and be translated) without breaking a benchmark or a test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
STUDENT = "Browser test"  # the student a page is opened as, unless another is named


# ---------------------------------------------------------------- the server


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log: Path | None = None) -> None:
    """Poll /_stcore/health until it answers; raise with the server's output (`log`) when it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace") if log else ""
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{out}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
            if resp.status == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")


def start_logged(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
    """Start `cmd` in ROOT in a process group of its own, its output going to a log file: (process, log).

    A file, never a pipe nobody reads: once a pipe's 64 KB were full, the server's next print blocked
    the rerun that printed for good (a class benchmark round hung so, on verovio's layout warnings).
    The caller deletes the log."""
    with tempfile.NamedTemporaryFile("w", prefix="streamlit-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops its children too
        )
    return proc, Path(log.name)


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Run `streamlit run streamlit_app.py` on a free local port; yields its base URL, stops it after."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    proc, log = start_logged(cmd, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout, log)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.unlink(missing_ok=True)


def server_pid(url: str) -> int | None:
    """The pid of the `streamlit run` serving `url` (Linux /proc), for its CPU time; None if not found."""
    port = url.rsplit(":", 1)[-1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(args) and port.encode() in args:
                return int(cmdline.parent.name)
    return None


# ---------------------------------------------------------------- the browser


def browser_missing_reason() -> str | None:
    """Why Chromium cannot be driven here, or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium); set BACHLSTM_REQUIRE_BROWSER=1 to fail"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def launch_options(executable: str | Path = CHROMIUM) -> dict:
    """Playwright's `chromium.launch` options for Debian's headless Chromium (or a launcher of it)."""
    return {"executable_path": str(executable), "args": CHROMIUM_ARGS, "headless": True}


def context_options(width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]) -> dict:
    """`browser.new_context` options: a desktop-sized window that accepts downloads."""
    return {"viewport": {"width": width, "height": height}, "accept_downloads": True}


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's headless Chromium through Playwright (sync); closed after."""
    from playwright.sync_api import sync_playwright  # late: without it the tests still collect, and skip

    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]):
    """A page in a fresh browser context: a browser of its own, as another student's laptop is."""
    context = browser.new_context(**context_options(width, height))
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@contextlib.contextmanager
def chromium_page(width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]) -> Iterator:
    """One Playwright page in Debian's headless Chromium."""
    with chromium() as browser:
        yield new_page(browser, width, height)


# ---------------------------------------------------------------- the app's pages


def student_url(base_url: str, url_path: str = "", student: str | None = STUDENT) -> str:
    """A page's address opened as `student` (`?student=NAME`, kept by the app on every page)."""
    url = f"{base_url}/{url_path}"
    if student is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode({'student': student})}"


def wait_ready(page, timeout: float = 60.0) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_timeout(200)  # a just-triggered run may not have flipped to "running" yet
    page.wait_for_selector(READY, timeout=timeout * 1000)


async def wait_ready_async(page) -> None:
    """`wait_ready` for Playwright's async pages, with the page's own default timeout."""
    await page.wait_for_selector('[data-testid="stApp"]')
    await page.wait_for_timeout(200)  # a just-triggered run may not have flipped to "running" yet
    await page.wait_for_selector(READY)


def open_page(
    page, base_url: str, url_path: str = "", timeout: float = 60.0, student: str | None = STUDENT
) -> None:
    """Load a page of the app by its URL path as `student` and wait for its script to finish."""
    page.goto(student_url(base_url, url_path, student))
    wait_ready(page, timeout)


def click_nav(page, title: str, timeout: float = 60.0) -> None:
    """Switch page through the sidebar navigation (keeps the session, unlike goto)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_ready(page, timeout)


def by_key(page, key: str, inner: str = ""):
    """The element drawn for widget or container `key=` (Streamlit's class st-key-<key>), or a part of it."""
    return page.locator(f".st-key-{key} {inner}".strip())


def exception_texts(page) -> list[str]:
    """The text of every exception box in the page."""
    return [el.inner_text() for el in page.query_selector_all(EXCEPTION)]


# Where each drawn element of the main area sits: it changes while the frontend is still drawing.
DRAWN = r"""
() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return '';
  const parts = [document.fonts.status];
  for (const el of main.querySelectorAll('[data-testid]')) {
    const r = el.getBoundingClientRect();
    parts.push(`${el.dataset.testid}:${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.width)},${Math.round(r.height)}`);
  }
  return parts.join(';');
}
"""


def wait_drawn(page, quiet_ms: int = 1500, timeout: float = 30.0) -> None:
    """Wait until the main area has stopped changing for `quiet_ms`: the script's end ("notRunning") is
    not the end of drawing. Columns first share the row and wrap up to a second later (0.7 s after the last
    change before it on a quiet machine), charts draw late, and a web font may still be loading."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = page.evaluate(DRAWN)
        if now != last:
            last, since = now, time.monotonic()
        elif (time.monotonic() - since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page was still changing after {timeout:.0f} s")


def screenshot_full(page, path: str, width: int = VIEWPORT["width"]) -> None:
    """A screenshot of the whole app: Streamlit scrolls inside its main block, so grow the viewport first."""
    wait_drawn(page)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }"
    )
    original = page.viewport_size
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12000)})
    wait_drawn(page)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(original)
