"""Dashboard benchmark in a real browser: server start to first page, and Generate to four columns.

Starts `streamlit run streamlit_app.py` on a free local port, drives Debian's Chromium with Playwright
(python package from requirements-dev.txt) and times what a workshop user waits for. It finds the
page's elements by their widget keys (Streamlit draws `key="seed"` as the class `st-key-seed`), so
labels, tooltips and captions can change without breaking it.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

from benchmarks.browser import (
    CHROMIUM,
    chromium_page,
    server_pid,
    streamlit_server,
    student_url,
    wait_ready,
)

STUDENT = "Benchmark"  # the name the benchmark's browser gives the app

FIRST_PAGE_TARGET_S = 5.0
GENERATE_TARGET_S = 2.0
PAGE_LENGTH = 128  # tokens per melody: the Sampling page's default, which the benchmark keeps
# Before a click (the page idle): note in the page when the app's script starts its next run. Any change
# of the state counts: a run of a few milliseconds can flip it to "running" and back before the observer
# is called, which then reads "notRunning" again.
WATCH_NEXT_RUN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__benchRunStarted = false;
  if (window.__benchWatch) window.__benchWatch.disconnect();
  window.__benchWatch = new MutationObserver(() => { window.__benchRunStarted = true; });
  window.__benchWatch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# The 4th column is drawn by that run: its MIDI button (key midi_3) is there and not left from the last run.
FOURTH_COLUMN_DRAWN = """() => window.__benchRunStarted
  && document.querySelector('.st-key-midi_3[data-stale="false"]') !== null"""


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
        page.goto(student_url(url, "", STUDENT))
        page.get_by_role("heading", name="bachlstm", exact=False).first.wait_for(timeout=60_000)
        figures["first_content_s"] = round(time.perf_counter() - t0, 2)
        wait_ready(page)
        figures["first_page_s"] = round(time.perf_counter() - t0, 2)
        if used is None:
            figures["generate_note"] = "no checkpoint found: train or ship one first"
            return figures
        t1 = time.perf_counter()
        page.goto(student_url(url, "sampling", STUDENT))
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
