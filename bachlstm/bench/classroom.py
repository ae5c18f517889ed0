"""Class benchmark: one `streamlit run`, N browser sessions at once (`bench class`).

Per N sessions clicking Generate at the same moment: click -> all four columns (median, max), the
server's CPU seconds per Generate (the server and its worker processes), the bytes it sent per
Generate (websocket frames and media files, as the browser received them), and the server's memory
growth per finished session (after the sessions closed and the server let them go). With
`watchers=W`: W sessions queue a training run and watch the queue while one default run trains;
the running job's speed against the same run alone (`train_speed_ratio`) and a Generate's latency
meanwhile. Headless Chromium runs on the same machine as the server, so the figures are
pessimistic, but comparable between versions.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bachlstm.bench.app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FOURTH_COLUMN_DRAWN,
    READY,
    WATCH_NEXT_RUN,
    server_pid,
    streamlit_server,
)

SESSION_TTL_S = 5  # the server forgets a closed tab after this (Streamlit's default is 120 s)
TIMEOUT_MS = 300_000
TARGETS = {
    "server_cpu_s_per_generate": 0.25,
    "columns_s_median_16": 10.0,
    "bytes_per_generate": 400_000,
    "train_speed_ratio": 0.8,
    "generate_while_training_s": 3.0,
    "rss_mb_per_session": 10.0,
}


# --- the server seen from outside (Linux /proc) ----------------------------------------------------


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (worker processes), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        kids = [c for c, p in parents.items() if p in frontier]
        found += kids
        frontier = kids
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # own time (13, 14) plus reaped children's (15, 16): finished workers still count
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- browser sessions -------------------------------------------------------------------------------


@dataclass
class Session:
    """One browser tab with its own Streamlit session, counting the bytes it receives."""

    context: object
    page: object
    received: int = 0
    pending: list = field(default_factory=list)

    def count(self, n: int) -> None:
        self.received += n


async def _open(browser, url: str, path: str) -> Session:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    s = Session(context, page)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: s.count(len(data))))
    page.on("requestfinished", lambda req: s.pending.append(asyncio.ensure_future(_body_size(req, s))))
    await page.goto(f"{url}/{path}")
    await _ready(page)
    return s


async def _body_size(request, s: Session) -> None:
    try:
        sizes = await request.sizes()
    except Exception:  # the page closed meanwhile: nothing to count
        return
    s.count(sizes["responseBodySize"])


async def _ready(page) -> None:
    await page.wait_for_selector('[data-testid="stApp"]')
    await page.wait_for_timeout(200)  # a just-triggered run may not have flipped to "running" yet
    await page.wait_for_selector(READY)


async def _generate(s: Session, seed: int) -> tuple[float, float, int]:
    """(s until the 4th column shows, s until the page is done, bytes received) for one click."""
    page = s.page
    box = page.locator(".st-key-seed input")
    await box.fill(str(seed))
    await box.press("Tab")
    await page.evaluate(WATCH_NEXT_RUN)
    await asyncio.gather(*s.pending)
    before = s.received
    t0 = time.perf_counter()
    await page.locator(".st-key-generate button").click()
    await page.wait_for_function(FOURTH_COLUMN_DRAWN, timeout=TIMEOUT_MS)
    columns = time.perf_counter() - t0
    await _ready(page)
    done = time.perf_counter() - t0
    await page.wait_for_timeout(500)  # media requests started by the last redraw
    await asyncio.gather(*s.pending)
    return columns, done, s.received - before


# --- the rounds ---------------------------------------------------------------------------------------


async def _round(browser, url: str, pid: int, n: int) -> dict:
    """N sessions open Sampling at once, then click Generate at once (different seeds), then close."""
    rss0 = rss_mb(pid)
    t0 = time.perf_counter()
    sessions = await asyncio.gather(*[_open(browser, url, "sampling") for _ in range(n)])
    opened = time.perf_counter() - t0
    cpu0 = tree_cpu_s(pid)
    results = await asyncio.gather(*[_generate(s, 1000 * n + i) for i, s in enumerate(sessions)])
    cpu = tree_cpu_s(pid) - cpu0
    rss_open = rss_mb(pid)
    for s in sessions:
        await s.context.close()
    await asyncio.sleep(SESSION_TTL_S + 6)  # the server drops the closed sessions after its TTL
    columns = [r[0] for r in results]
    return {
        "sessions": n,
        "open_sampling_s": round(opened, 2),
        "columns_s_median": round(statistics.median(columns), 2),
        "columns_s_max": round(max(columns), 2),
        "page_done_s_median": round(statistics.median(r[1] for r in results), 2),
        "server_cpu_s_per_generate": round(cpu / n, 3),
        "bytes_per_generate": round(statistics.mean(r[2] for r in results)),
        "rss_mb_open_per_session": round((rss_open - rss0) / n, 1),
        "rss_mb_per_session": round((rss_mb(pid) - rss0) / n, 1),
    }


async def _start_training(s: Session, name: str) -> None:
    page = s.page
    box = page.locator(".st-key-train_run_name input")
    await box.fill(name)
    await box.press("Tab")
    await page.locator(".st-key-train_start button").click()
    await _ready(page)


async def _train_and_watch(browser, url: str, runs: Path, pid: int, name: str, watchers: int) -> dict:
    """One default run trains while `watchers` sessions queue runs and watch; a Generate meanwhile."""
    owner = await _open(browser, url, "training")
    cpu0 = tree_cpu_s(pid)
    await _start_training(owner, name)
    others = await asyncio.gather(*[_open(browser, url, "training") for _ in range(watchers)])
    for i, s in enumerate(others):
        await _start_training(s, f"{name}-w{i}")
    sampler = await _open(browser, url, "sampling")
    latencies = []
    path = runs / f"{name}.safetensors"
    finished = owner.page.locator('[data-testid="stAlertContentSuccess"]')
    while not await finished.count():
        columns, _, _ = await _generate(sampler, 7 + len(latencies))
        latencies.append(columns)
        await asyncio.sleep(2)
    cpu = tree_cpu_s(pid) - cpu0
    for s in [owner, *others, sampler]:
        await s.context.close()
    return {"steps_per_s": _steps_per_s(path), "generate_s": latencies, "server_cpu_s": round(cpu, 1)}


def _steps_per_s(path: Path) -> float:
    """Optimizer steps per second between the first and the last epoch of a saved run."""
    from bachlstm.checkpoints import read_meta

    history = read_meta(path).get("history") or []
    first, last = history[0], history[-1]
    return (last["step"] - first["step"]) / max(last["elapsed_s"] - first["elapsed_s"], 1e-9)


async def _main(sessions: list[int], watchers: int | None, runs: Path) -> dict:
    from playwright.async_api import async_playwright

    env = {
        "BACHLSTM_RUNS_DIR": str(runs),
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S),
    }
    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "per_sessions": {}}
    with streamlit_server(env=env, timeout=120) as url:
        pid = server_pid(url)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            warm = await _open(browser, url, "sampling")  # first-use costs are not what a class waits for
            await _generate(warm, 1)
            await warm.context.close()
            figures["rss_mb_start"] = round(rss_mb(pid), 1)
            for n in sessions:
                figures["per_sessions"][str(n)] = await _round(browser, url, pid, n)
            if watchers is not None:
                figures["watchers"] = watchers
                alone = await _train_and_watch(browser, url, runs, pid, "bench-alone", 0)
                watched = await _train_and_watch(browser, url, runs, pid, "bench-watched", watchers)
                figures["train_alone"] = alone
                figures["train_watched"] = watched
                figures["train_speed_ratio"] = round(watched["steps_per_s"] / alone["steps_per_s"], 3)
                figures["generate_while_training_s_median"] = round(
                    statistics.median(watched["generate_s"]), 2
                )
            await browser.close()
        figures["rss_mb_end"] = round(rss_mb(pid), 1)
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    return figures


def run(sessions: tuple[int, ...] = (1, 4, 8, 16), watchers: int | None = None) -> dict:
    """Run the benchmark; figures per number of sessions under "per_sessions" (see the module doc)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="bachlstm-bench-runs-") as runs:
        figures = asyncio.run(_main(list(sessions), watchers, Path(runs)))
    figures["targets"] = TARGETS
    return figures


def format_report(f: dict) -> str:
    """The figures as a table, one row per number of sessions, and the training lines."""
    lines = [
        f"class benchmark ({f['machine']}): one server, N Chromium sessions on the same machine",
        "  N | open Sampling s | columns s median / max | page done s | server CPU s/Generate | "
        "KB/Generate | RSS MB/session (open / after close)",
    ]
    for n, r in f["per_sessions"].items():
        lines.append(
            f"  {n:>2} | {r['open_sampling_s']:>15.2f} | {r['columns_s_median']:>13.2f} / "
            f"{r['columns_s_max']:<6.2f} | {r['page_done_s_median']:>11.2f} | "
            f"{r['server_cpu_s_per_generate']:>21.3f} | {r['bytes_per_generate'] / 1000:>11.1f} | "
            f"{r['rss_mb_open_per_session']:.1f} / {r['rss_mb_per_session']:.1f}"
        )
    if "train_speed_ratio" in f:
        a, w = f["train_alone"], f["train_watched"]
        lines += [
            f"  training alone: {a['steps_per_s']:.1f} steps/s; with {f['watchers']} watching sessions: "
            f"{w['steps_per_s']:.1f} steps/s (ratio {f['train_speed_ratio']:.2f}, target >= 0.8)",
            f"  Generate while training: median {f['generate_while_training_s_median']:.2f} s "
            f"of {[round(x, 2) for x in w['generate_s']]} (target <= 3 s)",
        ]
    lines.append(f"  server RSS: {f['rss_mb_start']} MB after warm-up, {f['rss_mb_end']} MB at the end")
    lines.append(f"  targets: {f['targets']}")
    return "\n".join(lines)
