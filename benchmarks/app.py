"""Dashboard benchmark in a real browser: server start to first page, and Generate to four columns.

Starts `streamlit run streamlit_app.py` on a free local port, drives Debian's Chromium with Playwright
(python package from requirements-dev.txt) and times what a workshop user waits for. It finds the
page's elements by their widget keys (Streamlit draws `key="seed"` as the class `st-key-seed`), so
labels, tooltips and captions can change without breaking it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
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
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FIRST_PAGE_TARGET_S = 5.0
GENERATE_TARGET_S = 2.0
PAGE_LENGTH = 128  # tokens per melody: the Sampling page's default, which the benchmark keeps
# Before a click: note in the page when the app's script starts its next run.
WATCH_NEXT_RUN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__benchRunStarted = false;
  if (window.__benchWatch) window.__benchWatch.disconnect();
  window.__benchWatch = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__benchRunStarted = true;
  });
  window.__benchWatch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# The 4th column is drawn by that run: its MIDI button (key midi_3) is there and not left from the last run.
FOURTH_COLUMN_DRAWN = """() => window.__benchRunStarted
  && document.querySelector('.st-key-midi_3[data-stale="false"]') !== null"""


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Poll /_stcore/health until it answers; raise with the server's output when it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{out}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
            if resp.status == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Run `streamlit run streamlit_app.py` on a free local port; yields its base URL."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so stopping it stops its children too
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def wait_ready(page, timeout: float = 60.0) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_timeout(200)  # a just-triggered run may not have flipped to "running" yet
    page.wait_for_selector(READY, timeout=timeout * 1000)


def server_pid(url: str) -> int | None:
    """The pid of the `streamlit run` serving `url` (Linux /proc), for its CPU time; None if not found."""
    port = url.rsplit(":", 1)[-1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(args) and port.encode() in args:
                return int(cmdline.parent.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _generate_s(page, seed: int) -> tuple[float, float]:
    """(seconds until the 4th column is drawn, seconds until the whole page has finished) for one click."""
    seed_box = page.locator(".st-key-seed input")
    seed_box.fill(str(seed))
    seed_box.press("Tab")  # inside the form: no rerun until Generate
    page.evaluate(WATCH_NEXT_RUN)
    t0 = time.perf_counter()
    page.locator(".st-key-generate button").click()
    page.wait_for_function(FOURTH_COLUMN_DRAWN, timeout=120_000)
    columns_s = time.perf_counter() - t0
    wait_ready(page, 120)
    return columns_s, time.perf_counter() - t0


def run(model: str = "bach", repeats: int = 5) -> dict:
    """Measure in one browser session: first page after server start, then `repeats` Generate clicks."""
    from bachlstm.model.checkpoints import list_checkpoints

    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    names = [info.name for info in list_checkpoints() if not info.error]
    used = model if model in names else (names[0] if names else None)
    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "model": used}
    t0 = time.perf_counter()
    with streamlit_server() as url, chromium_page() as page:
        figures["server_healthy_s"] = round(time.perf_counter() - t0, 2)
        page.goto(f"{url}/?student=Benchmark")
        page.get_by_role("heading", name="bachlstm", exact=False).first.wait_for(timeout=60_000)
        figures["first_content_s"] = round(time.perf_counter() - t0, 2)
        wait_ready(page)
        figures["first_page_s"] = round(time.perf_counter() - t0, 2)
        if used is None:
            figures["generate_note"] = "no checkpoint found: train or ship one first"
            return figures
        t1 = time.perf_counter()
        page.goto(f"{url}/sampling?student=Benchmark")
        wait_ready(page, 120)
        page.locator(".st-key-generate button").wait_for()
        figures["sampling_page_s"] = round(time.perf_counter() - t1, 2)
        page.locator(".st-key-ckpt [data-testid='stSelectbox']").click()  # the Model select
        page.get_by_role("option", name=used, exact=True).click()
        wait_ready(page, 120)
        columns, finished, cpu = [], [], []
        pid = server_pid(url)
        for seed in range(1, repeats + 1):
            c0 = cpu_seconds(pid)
            c, f = _generate_s(page, seed)
            cpu.append(cpu_seconds(pid) - c0)
            columns.append(c)
            finished.append(f)
    figures.update(
        length_tokens=PAGE_LENGTH,
        generate_columns_s=[round(c, 2) for c in columns],
        generate_columns_median_s=round(statistics.median(columns), 2),
        generate_page_done_median_s=round(statistics.median(finished), 2),
        # the server's CPU time per Generate: what the click costs on an idle machine (wall time on a
        # shared one also counts waiting for other processes)
        generate_server_cpu_median_s=round(statistics.median(cpu), 2),
        load_average_1min=round(os.getloadavg()[0], 2),
        first_page_target_s=FIRST_PAGE_TARGET_S,
        generate_target_s=GENERATE_TARGET_S,
    )
    return figures


def format_report(f: dict) -> str:
    """The figures as a few human-readable lines."""
    lines = [
        f"dashboard in Chromium ({f['machine']}), model {f.get('model')}",
        f"  server start -> health check:     {f['server_healthy_s']:.2f} s",
        f"  server start -> home page title shown: {f['first_content_s']:.2f} s",
        f"  server start -> home page complete: {f['first_page_s']:.2f} s "
        f"(target <= {FIRST_PAGE_TARGET_S:g} s)",
    ]
    if "generate_columns_median_s" in f:
        lines += [
            f"  open Sampling page (model + held-out reference): {f['sampling_page_s']:.2f} s",
            f"  Generate -> four columns shown: median {f['generate_columns_median_s']:.2f} s "
            f"of {f['generate_columns_s']} (target <= {GENERATE_TARGET_S:g} s)",
            "  Generate -> page finished (table, charts, explorer): "
            f"{f['generate_page_done_median_s']:.2f} s",
            f"  server CPU time per Generate: median {f['generate_server_cpu_median_s']:.2f} s "
            f"(load average {f['load_average_1min']} on {os.cpu_count()} CPUs during the run)",
        ]
    else:
        lines.append(f"  generate: {f.get('generate_note')}")
    return "\n".join(lines)
