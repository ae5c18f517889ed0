"""Class benchmark: one `streamlit run`, N browser sessions at once (`bench class`).

Per N sessions clicking Generate at the same moment: click -> all four columns (median, max), the
server's CPU seconds per Generate (the server and its worker processes), the bytes it sent per
Generate (counted on the wire by a relay between browsers and server), and the server's memory
growth per finished session (after the sessions closed and the server let them go). With
`watchers=W`: one default run trains alone, then again while W sessions queue a run and watch the
queue and one more session clicks Generate every GENERATE_EVERY_S seconds; the running job's speed
against alone (`train_speed_ratio`) and the Generate latencies meanwhile. Headless Chromium runs on
the same machine as the server, so the figures are pessimistic, but comparable between versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from benchmarks.app import FOURTH_COLUMN_DRAWN, WATCH_NEXT_RUN
from benchmarks.browser import (
    CHROMIUM,
    context_options,
    launch_options,
    server_pid,
    streamlit_server,
    student_url,
    wait_ready_async,
)

_STUDENTS = itertools.count(1)  # each browser session is a student with a name of its own
SESSION_TTL_S = 5  # the server forgets a closed tab after this (Streamlit's default is 120 s)
# In a class the browsers run on the students' own machines. Here they share the server's two cores, so
# the pages that only watch a run (its owner, the queued students) run in a second browser at a lower
# CPU priority (nice 10): they take what the server and its worker leave instead of stealing it. The
# sessions whose clicks are timed stay at normal priority. `browser_nice=0`: all at normal priority.
BROWSER_NICE = 10
TIMEOUT_MS = 300_000
RELOAD_FIND_S = 600.0  # how long a reloaded page may take to show its run again (30 pages on 2 cores)
# While one run trains and others watch, a student clicks Generate, then reads and listens to four
# melodies of ~30 s each before the next click: one click per 10 s is already a busy student.
GENERATE_EVERY_S = 10.0
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


# --- bytes on the wire -------------------------------------------------------------------------------


class CountingProxy:
    """A TCP relay between the browsers and the server that counts the bytes the server sends.

    Counted on the wire, so websocket compression and media downloads are seen as they are. Replies
    to requests for the app's static files (its JavaScript, fonts: fetched once per browser and then
    cached, or loaded lazily the first time a chart is drawn) are counted apart, in `static`.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0  # server -> browsers: websocket frames and media files
        self.static = 0  # server -> browsers: /static/ files and the page shell
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        """Listen on a free local port; the URL the browsers use instead of the server's."""
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _client(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        state = {"static": False}  # what the last request on this connection asked for
        await asyncio.gather(
            _relay(reader, up_writer, lambda data: self._request(data, state)),
            _relay(up_reader, writer, lambda data: self._count(len(data), state)),
        )

    @staticmethod
    def _request(data: bytes, state: dict) -> None:
        if data[:4] in (b"GET ", b"HEAD"):  # browsers do not pipeline: one request at a time
            path = data.split(b" ", 2)[1]
            state["static"] = not (path.startswith(b"/_stcore/") or path.startswith(b"/media/"))

    def _count(self, n: int, state: dict) -> None:
        if state["static"]:
            self.static += n
        else:
            self.sent += n


async def _relay(reader, writer, seen) -> None:
    """Copy one direction of a connection, showing each chunk to `seen` first, until either side ends."""
    try:
        while data := await reader.read(65536):
            seen(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


# --- browser sessions -------------------------------------------------------------------------------


@dataclass
class Session:
    """One browser tab with its own Streamlit session."""

    context: object
    page: object


async def _open(browser, url: str, path: str, student: str | None = None) -> Session:
    """A fresh browser context on `path` as `student` (a new name for each session by default)."""
    context = await browser.new_context(**context_options())
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(student_url(url, path, student or f"Student {next(_STUDENTS)}"))
    await wait_ready_async(page)
    return Session(context, page)


async def _generate(s: Session, seed: int) -> tuple[float, float]:
    """(s until the 4th column shows, s until the page is done) for one click on Generate."""
    page = s.page
    box = page.locator(".st-key-seed input")
    await box.fill(str(seed))
    await box.press("Tab")
    await wait_ready_async(page)  # the run the new seed starts is over: a click during it may be merged away
    await page.evaluate(WATCH_NEXT_RUN)
    t0 = time.perf_counter()
    await page.locator(".st-key-generate button").click()
    await page.wait_for_function(FOURTH_COLUMN_DRAWN, timeout=TIMEOUT_MS)
    columns = time.perf_counter() - t0
    await wait_ready_async(page)
    return columns, time.perf_counter() - t0


# --- the rounds ---------------------------------------------------------------------------------------


# Later Generates measured per round, at least: one session clicks again this many times (one Generate's
# server CPU varies by a third with the melodies drawn), 4 or more sessions click once more each.
MEASURED_GENERATES = 4


def sampling_path(query: str = "") -> str:
    """The Sampling page's address, with `query` (a link's settings: "model=bach&cadence=0") when given."""
    return f"sampling?{query}" if query else "sampling"


async def _round(browser, url: str, proxy: CountingProxy, pid: int, n: int, query: str = "") -> dict:
    """N sessions open Sampling at once, click Generate at once (different seeds), click it again at
    once (as many times as it takes to measure MEASURED_GENERATES), then close. Latencies and bytes are
    the first click's; server CPU is given for the first click and the later ones, the target applies to
    the later ones (the first includes serving the chart code each fresh browser loads once:
    `static_bytes_first_generate`)."""
    rss0 = rss_mb(pid)
    t0 = time.perf_counter()
    sessions = await asyncio.gather(*[_open(browser, url, sampling_path(query)) for _ in range(n)])
    opened = time.perf_counter() - t0
    cpu0, sent0, static0 = tree_cpu_s(pid), proxy.sent, proxy.static
    results = await asyncio.gather(*[_generate(s, 1000 * n + i) for i, s in enumerate(sessions)])
    await asyncio.sleep(1)  # media files the browsers fetch after the last redraw
    cpu_first, sent, static = tree_cpu_s(pid) - cpu0, proxy.sent - sent0, proxy.static - static0
    # The same sessions click again at once (other seeds): a fresh browser's first Generate also loads
    # the chart code and fonts it draws with (`static`, once per browser, then cached); the second is
    # what every later Generate of a class costs the server.
    cpu0, again = tree_cpu_s(pid), []
    repeats = -(-MEASURED_GENERATES // n)  # ceil
    for k in range(repeats):
        seeds = [1000 * n + 500 + 100 * k + i for i in range(n)]
        again += await asyncio.gather(*[_generate(s, seed) for s, seed in zip(sessions, seeds)])
    await asyncio.sleep(1)
    cpu_again = tree_cpu_s(pid) - cpu0
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
        "columns_s_median_again": round(statistics.median(r[0] for r in again), 2),
        "server_cpu_s_per_generate": round(cpu_again / len(again), 3),
        "generates_measured": len(again),
        "server_cpu_s_first_generate": round(cpu_first / n, 3),
        "bytes_per_generate": round(sent / n),
        # the chart library and fonts a fresh browser loads on its first Generate (then cached)
        "static_bytes_first_generate": round(static / n),
        "rss_mb_open_per_session": round((rss_open - rss0) / n, 1),
        "rss_mb_per_session": round((rss_mb(pid) - rss0) / n, 1),
    }


async def _listen_all(s: Session, proxy: CountingProxy, pid: int) -> dict:
    """Click Listen in all four columns: the audio's bytes and the server's CPU for it."""
    cpu0, sent0 = tree_cpu_s(pid), proxy.sent
    for i in range(4):
        button = s.page.locator(f".st-key-listen_{i} button")
        if await button.count():
            await button.click()
            await s.page.locator(f".st-key-listen_{i}").wait_for(state="detached")
    await s.page.wait_for_function(
        "() => [...document.querySelectorAll('audio')].every(a => a.readyState >= 1)"
    )
    await wait_ready_async(s.page)
    await asyncio.sleep(1)
    return {"bytes": proxy.sent - sent0, "server_cpu_s": round(tree_cpu_s(pid) - cpu0, 3)}


def _synth_name() -> str:
    from bachlstm.music.audio import synth_name  # what the server uses, if it runs with this environment

    return synth_name()


async def _start_training(s: Session, name: str) -> None:
    page = s.page
    box = page.locator(".st-key-train_run_name input")
    await box.fill(name)
    await box.press("Tab")
    await page.locator(".st-key-train_start button").click()
    await wait_ready_async(page)


async def _train_and_watch(
    browser, background, url: str, proxy: CountingProxy, runs: Path, pid: int, name: str, watchers: int | None
) -> dict:
    """One default run trains. Alone (`watchers` None): nobody else uses the server. Watched: `watchers`
    sessions queue runs and keep their Training page open, and one more session clicks Generate every
    GENERATE_EVERY_S seconds meanwhile (its latencies are the Generate-while-training figure).

    The owner and the watchers live in `background` (the lower-priority browser: other students'
    machines); the student whose Generate is timed in `browser`. The run's time is the server's: from
    the click on Start to the last write of its checkpoint, not until a background page shows it."""
    owner = await _open(background, url, "training")
    sampler = await _open(browser, url, "sampling") if watchers is not None else None
    cpu0, sent0, t0, started = tree_cpu_s(pid), proxy.sent, time.perf_counter(), time.time()
    await _start_training(owner, name)
    latencies: list[float] = []
    done = asyncio.Event()

    async def click_generate() -> None:  # from the start of the run until it ends
        while not done.is_set():
            clicked = time.perf_counter()
            columns, _ = await _generate(sampler, 7 + len(latencies))
            latencies.append(columns)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), GENERATE_EVERY_S - (time.perf_counter() - clicked))

    clicking = asyncio.create_task(click_generate()) if sampler is not None else None
    others = []
    if watchers is not None:
        others = await asyncio.gather(*[_open(background, url, "training") for _ in range(watchers)])
        for i, s in enumerate(others):
            await _start_training(s, f"{name}-w{i}")
    path = runs / f"{name}.safetensors"
    finished = owner.page.locator('[data-testid="stAlertContentSuccess"]')
    while not await finished.count():
        await asyncio.sleep(1)
    wall = time.perf_counter() - t0
    run_s = path.stat().st_mtime - started  # the last write of the run's checkpoint
    done.set()
    if clicking is not None:
        await clicking  # the Generate in flight finishes
    cpu, sent = tree_cpu_s(pid) - cpu0, proxy.sent - sent0
    for s in [owner, *others] + ([sampler] if sampler else []):
        await s.context.close()
    return {
        "steps_per_s": round(_steps_per_s(path), 2),
        "run_s": round(run_s, 1),
        "generate_s": [round(x, 2) for x in latencies],
        "server_cpu_s": round(cpu, 1),
        "kb_sent_per_s": round(sent / wall / 1000, 1),
    }


def _steps_per_s(path: Path) -> float:
    """Optimizer steps per second between the first and the last epoch of a saved run."""
    from bachlstm.model.checkpoints import read_meta

    history = read_meta(path).get("history") or []
    first, last = history[0], history[-1]
    return (last["step"] - first["step"]) / max(last["elapsed_s"] - first["elapsed_s"], 1e-9)


def _niced_chromium(folder: Path, nice: int) -> str:
    """A launcher for CHROMIUM at CPU priority `nice` (its renderers inherit it): a shell script.

    Playwright starts the browser in a session of its own, and Linux (with autogroup scheduling, the
    default on desktop and server kernels) first shares the CPU fairly between sessions, whatever
    their processes' nice values: so the launcher also lowers its session's group (/proc/self/autogroup)."""
    if nice == 0:
        return str(CHROMIUM)
    script = folder / "chromium-niced"
    script.write_text(
        f"#!/bin/sh\n(echo {int(nice)} > /proc/self/autogroup) 2>/dev/null\n"
        f'exec nice -n {int(nice)} {CHROMIUM} "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


async def _main(
    sessions: list[int], watchers: int | None, runs: Path, browser_nice: int, query: str = ""
) -> dict:
    from playwright.async_api import async_playwright

    env = {
        "BACHLSTM_RUNS_DIR": str(runs),
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S),
    }
    figures: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "browser_nice": browser_nice,
        "sampling_query": query,
        "per_sessions": {},
    }
    with streamlit_server(env=env, timeout=120) as server_url:
        pid = server_pid(server_url)
        proxy = CountingProxy(int(server_url.rsplit(":", 1)[1]))
        url = await proxy.start()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**launch_options())
            launcher = _niced_chromium(runs, browser_nice)
            background = await pw.chromium.launch(**launch_options(launcher))
            warm = await _open(browser, url, sampling_path(query))  # first use is not what a class waits for
            await _generate(warm, 1)
            await _listen_all(warm, proxy, pid)
            await _generate(warm, 2)
            figures["listen_all_four"] = await _listen_all(warm, proxy, pid)
            figures["synth"] = _synth_name()
            await warm.context.close()
            figures["rss_mb_start"] = round(rss_mb(pid), 1)
            for n in sessions:
                figures["per_sessions"][str(n)] = await _round(browser, url, proxy, pid, n, query)
            if watchers is not None:
                figures["watchers"] = watchers
                figures["generate_every_s"] = GENERATE_EVERY_S
                pages = (browser, background, url, proxy, runs, pid)
                alone = await _train_and_watch(*pages, "bench-alone", None)
                watched = await _train_and_watch(*pages, "bench-watched", watchers)
                figures["train_alone"] = alone
                figures["train_watched"] = watched
                figures["train_speed_ratio"] = round(watched["steps_per_s"] / alone["steps_per_s"], 3)
                # 30 default runs one after another (BACHLSTM_MAX_JOBS=1), each as slow as the watched one
                figures["class_of_30_minutes"] = round(30 * watched["run_s"] / 60, 1)
                figures["generate_while_training_s_median"] = (
                    round(statistics.median(watched["generate_s"]), 2) if watched["generate_s"] else None
                )
            await background.close()
            await browser.close()
        proxy.server.close()
        figures["rss_mb_end"] = round(rss_mb(pid), 1)
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    return figures


def run(
    sessions: tuple[int, ...] = (1, 4, 8, 16),
    watchers: int | None = None,
    browser_nice: int = BROWSER_NICE,
    query: str = "",
) -> dict:
    """Run the benchmark; figures per number of sessions under "per_sessions" (see the module doc).
    The browsers run at CPU priority `browser_nice` (see BROWSER_NICE); every session opens Sampling with
    the address query `query` (a link's settings), or with the page's defaults."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="bachlstm-bench-runs-") as runs:
        figures = asyncio.run(_main(list(sessions), watchers, Path(runs), browser_nice, query))
    figures["targets"] = TARGETS
    return figures


def format_report(f: dict) -> str:
    """The figures as a table, one row per number of sessions, and the training lines."""
    lines = [
        f"class benchmark ({f['machine']}): one server, N Chromium sessions on the same machine "
        f"(watching pages at nice {f.get('browser_nice', 0)}); Sampling opened "
        + (f"at ?{f['sampling_query']}" if f.get("sampling_query") else "with the page's defaults"),
        "  N | open Sampling s | columns s median / max | page done s | server CPU s/Generate (1st / 2nd) | "
        "KB/Generate | RSS MB/session (open / after close)",
    ]
    for n, r in f["per_sessions"].items():
        lines.append(
            f"  {n:>2} | {r['open_sampling_s']:>15.2f} | {r['columns_s_median']:>13.2f} / "
            f"{r['columns_s_max']:<6.2f} | {r['page_done_s_median']:>11.2f} | "
            f"{r.get('server_cpu_s_first_generate', float('nan')):>24.3f} / "
            f"{r['server_cpu_s_per_generate']:<7.3f} | {r['bytes_per_generate'] / 1000:>11.1f} | "
            f"{r['rss_mb_open_per_session']:.1f} / {r['rss_mb_per_session']:.1f}"
        )
    lines.append(
        "  (server CPU: a fresh browser's 1st Generate also loads the chart code it draws with, once; "
        "the 2nd click is what every later Generate costs: target <= 0.25 s; one session clicks it "
        f"{MEASURED_GENERATES} times)"
    )
    if "train_speed_ratio" in f:
        a, w = f["train_alone"], f["train_watched"]
        lines += [
            f"  training alone: {a['steps_per_s']:.1f} steps/s; with {f['watchers']} watching sessions and "
            f"a Generate every {f['generate_every_s']:.0f} s: {w['steps_per_s']:.1f} steps/s "
            f"(ratio {f['train_speed_ratio']:.2f}, target >= 0.8)",
            f"  Generate while training: median {f['generate_while_training_s_median']} s "
            f"of {w['generate_s']} (target <= 3 s)",
            f"  server sends {a['kb_sent_per_s']} KB/s to the owner's page alone, {w['kb_sent_per_s']} KB/s "
            f"to the owner, {f['watchers']} watchers and one Generate session",
            f"  one default run: {a['run_s']:.0f} s alone, {w['run_s']:.0f} s watched",
            f"  a class of 30 default runs, one at a time: about {f['class_of_30_minutes']} min "
            "(target <= 20)",
        ]
    a = f["listen_all_four"]
    lines.append(
        f"  Listen to all four columns ({f['synth']}): {a['bytes'] / 1000:.1f} KB, "
        f"server CPU {a['server_cpu_s']:.2f} s"
    )
    lines.append(f"  server RSS: {f['rss_mb_start']} MB after warm-up, {f['rss_mb_end']} MB at the end")
    lines.append(f"  targets: {f['targets']}")
    return "\n".join(lines)


# --- a class starting together (`--students N`) --------------------------------------------------------

START_WITHIN_S = 2.0  # the class presses Start "together": every click within this many seconds
WAIT_TEXT = re.compile(r"about (.+?) to wait")


def _say(text: str) -> None:
    """Progress on stderr (the figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def student_names(n: int) -> list[str]:
    """N distinct display names whose run names collide in pairs: 'Zoe 1' and 'Zoë 1' are both offered
    'zoe-1-workshop-1', so the records must move one of each pair on."""
    return [f"Zo{'e' if i % 2 == 0 else 'ë'} {i // 2 + 1}" for i in range(n)]


def parse_duration(text: str) -> float | None:
    """The seconds of a duration as the pages write it ('1 h 02 min', '3 min 05 s', '42 s'); None for '?'."""
    units = {"h": 3600, "min": 60, "s": 1}
    parts = re.findall(r"(\d+)\s*(h|min|s)\b", text)
    return float(sum(int(v) * units[u] for v, u in parts)) if parts else None


async def _value_when_drawn(box, timeout_s: float = 10.0) -> str:
    """An input's value once the page has drawn it (a rerun right after loading empties it briefly)."""
    deadline = time.time() + timeout_s
    while not (value := await box.input_value()) and time.time() < deadline:
        await asyncio.sleep(0.25)
    return value


async def _shows_run(page, run: str, timeout_s: float = 15.0) -> bool:
    """True once the page shows the run with an enabled Stop (retried while the page redraws)."""
    stop = page.locator(".st-key-train_stop button")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if f"Run {run}" in await _main_text(page) and await stop.count() and await stop.is_enabled():
            return True
        await asyncio.sleep(0.5)
    return False


async def _main_text(page) -> str:
    return await page.locator('[data-testid="stMain"]').inner_text()


def _run_in_url(url: str) -> str | None:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("run", [None])[0]


async def _run_settings(s: Session, max_steps: int | None, epochs: int | None) -> None:
    """Shorten (max_steps) or lengthen (epochs) the run on a Training page's form; None leaves the default."""
    for key, value in (("max_steps", max_steps), ("epochs", epochs)):
        if value:
            box = s.page.locator(f".st-key-train_{key} input")
            await box.fill(str(value))
            await box.press("Tab")


WAITING = ("reserved", "queued")  # a run in one of these states in the class's records has not started


def _start_states(runs: Path) -> dict[str, str]:
    """run name -> its state in the class's records ("reserved", "queued", "running", "done", ...)."""
    from bachlstm.classroom.records import ClassRecords

    return {r.name: r.state for r in ClassRecords(runs / "class.sqlite3").runs()}


def _relative_errors(estimates: dict[str, float | None], waits: dict[str, float]) -> list[float]:
    """(estimate - real wait) / real wait for each run with both (and a real wait above 0)."""
    return [(estimates[r] - w) / w for r, w in waits.items() if estimates.get(r) is not None and w > 0]


async def _quiet_queue(
    browser, url: str, runs: Path, n: int, max_steps: int | None, timeout_s: float, epochs: int | None
) -> dict:
    """The wait estimate on a quiet server: N students press Start one after another, each from a page of
    their own that closes once it has shown the wait (in a class each browser is a student's laptop), so
    only the training worker and one page at a time share the server's cores. Each queued run's estimate,
    read right after its Start, against its real wait (from the class's records) until `timeout_s`."""
    estimates: dict[str, float | None] = {}
    read_at: dict[str, float] = {}  # run -> the moment its page showed the estimate
    waits: dict[str, float] = {}  # run -> seconds from read_at until it left the queue (the records)
    runs_started: list[str] = []
    watching = [True]

    async def watch_starts() -> None:  # from the first Start on: a run may leave the queue meanwhile
        while watching[0]:
            states = _start_states(runs) if (runs / "class.sqlite3").exists() else {}
            for run in [r for r in estimates if r not in waits]:
                if states.get(run) not in WAITING:
                    waits[run] = round(time.time() - read_at[run], 1)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_starts())
    for name in student_names(n):
        s = await _open(browser, url, "training", student=name)
        await _run_settings(s, max_steps, epochs)
        await s.page.locator(".st-key-train_start button").click()
        await wait_ready_async(s.page)
        run, text = _run_in_url(s.page.url), await _main_text(s.page)
        if run is not None:
            runs_started.append(run)
            read_at[run] = time.time()
            m = WAIT_TEXT.search(text)
            if m and _start_states(runs).get(run) in WAITING:
                estimates[run] = parse_duration(m.group(1))
        await s.context.close()
        _say(f"{name}: {run}, estimate {estimates.get(run)} s")
    deadline = time.time() + timeout_s
    while set(estimates) - set(waits) and time.time() < deadline:
        await asyncio.sleep(0.5)
    watching[0] = False
    await watcher
    waiting = set(estimates) - set(waits)
    errors = _relative_errors(estimates, waits)
    return {
        "students": n,
        "accepted": len(runs_started),
        "waits_read_quiet": len(errors),
        "waits_not_started_in_time": len(waiting),
        "wait_estimate_error_quiet": round(statistics.median(abs(e) for e in errors), 3) if errors else None,
        "wait_estimate_bias_quiet": round(statistics.median(errors), 3) if errors else None,
        "wait_estimate_error_quiet_max": round(max(abs(e) for e in errors), 3) if errors else None,
        # run -> [estimate read right after Start, real wait from that moment]
        "waits_s": {r: [estimates.get(r), waits.get(r)] for r in estimates},
    }


async def _class_start(
    browser, url: str, runs: Path, n: int, max_steps: int | None, timeout_s: float, epochs: int | None = None
) -> dict:
    """N students open Training, press Start within START_WITHIN_S seconds, reload once while their run is
    queued or training, press Start again; then each queued run's real wait against its estimate, the
    pages closed (a quiet server), until `timeout_s` after they close."""
    from bachlstm.classroom.records import ClassRecords

    names = student_names(n)
    _say(f"{n} students open Training")
    sessions = await asyncio.gather(*[_open(browser, url, "training", student=name) for name in names])
    for s in sessions:
        await _run_settings(s, max_steps, epochs)
    offered = [await _value_when_drawn(s.page.locator(".st-key-train_run_name input")) for s in sessions]
    _say("all press Start")
    t0 = time.time()
    await asyncio.gather(*[s.page.locator(".st-key-train_start button").click() for s in sessions])
    click_spread = time.time() - t0
    await asyncio.gather(*[wait_ready_async(s.page) for s in sessions])
    clicked_at = time.time()
    followed, estimates, refused = [], {}, 0
    for s in sessions:
        run = _run_in_url(s.page.url)
        text = await _main_text(s.page)
        followed.append(run)
        if run is None or "Training not started" in text:
            refused += 1
        m = WAIT_TEXT.search(text)
        if run and m:
            estimates[run] = parse_duration(m.group(1))
    accepted = sum(r is not None for r in followed)
    # The real waits: each queued run's start, read from the class's records (the job manager writes it
    # there as the run leaves the queue) every 0.5 s from now on, whatever the pages are doing.
    started: dict[str, float] = {}
    deadline = [math.inf]  # set once the pages have closed: timeout_s from then
    waiting = {run for run in followed if run in estimates}

    async def watch_starts() -> None:
        while waiting and time.time() < deadline[0]:
            states = _start_states(runs)
            for run in list(waiting):
                if states.get(run) not in WAITING:
                    started[run] = time.time() - clicked_at
                    waiting.discard(run)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_starts())
    # Two tabs of different students following one run name: what the class used to get.
    collisions = sum(followed.count(r) - 1 for r in set(followed) if r is not None)
    # Every student reloads once (F5), all at the same moment, right after Start, while the run is queued
    # or training: the page must find it again. (One after another and after the second Start, at 30
    # Chromium pages on these 2 cores, the reloads took minutes and most runs had ended before them.)
    _say("all reload")
    active_pages = [
        (s, run)
        for s, run in zip(sessions, followed)
        if run and await s.page.locator(".st-key-train_stop button").count()
    ]  # a run that has ended already (a short run) is not a reload during the run
    reloaded_at = time.time()

    async def reload_finds(s: Session, run: str) -> bool:
        # Not "wait until the script stops": a training run's page redraws its progress every second, and
        # at 30 pages on 2 cores those redraws overlap. The student's question is only: is my run there?
        await s.page.reload(wait_until="domcontentloaded")
        return await _shows_run(s.page, run, timeout_s=RELOAD_FIND_S)

    found = await asyncio.gather(*[reload_finds(s, run) for s, run in active_pages])
    reload_s = time.time() - reloaded_at
    reattached = sum(found)
    missed: list[tuple[str, str | None]] = []  # (run, its state in the records) for each reload that lost it
    later: dict[str, tuple[float | None, float]] = {}  # run -> (estimate, s after the clicks it was read)
    states = _start_states(runs)
    shown_instead: dict[str, str] = {}  # run -> the start of what its page showed instead (a miss)
    for (s, run), ok in zip(active_pages, found):
        if not ok:  # a run that ended during its reload is not one the page lost
            missed.append((run, states.get(run)))
            shown_instead[run] = (await _main_text(s.page))[:300]
        text = await _main_text(s.page)
        m = WAIT_TEXT.search(text)
        if m and run in estimates:  # what the student reads once the run ahead has been measured a while
            later[run] = (parse_duration(m.group(1)), round(time.time() - clicked_at, 1))
    # A second Start by every student: refused with an offer to stop the first, nothing queued twice.
    _say("all press Start again")
    await asyncio.gather(*[s.page.locator(".st-key-train_start button").click() for s in sessions])

    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    async def offers_to_stop(s: Session) -> bool:  # the offer appears; no wait for the live progress to pause
        try:
            await s.page.locator(".st-key-train_replace_go").first.wait_for(timeout=RELOAD_FIND_S * 1000)
        except PlaywrightTimeoutError:
            return False
        return True

    offers = sum(await asyncio.gather(*[offers_to_stop(s) for s in sessions]))
    records = ClassRecords(runs / "class.sqlite3").runs()
    active = {}
    for r in records:
        if r.state in (*WAITING, "running"):
            active.setdefault(r.owner.casefold(), []).append(r.name)
    orphaned = sum(len(v) - 1 for v in active.values()) + sum(
        1
        for r in records
        if r.state == "reserved"  # a name taken at Start whose run never queued
    )
    # In a classroom each browser runs on its student's laptop: the class's Chromium pages close here
    # (their runs stay queued on the server), so the rest of the queue trains on a quiet server.
    addresses = {run: s.page.url for s, run in zip(sessions, followed) if run in estimates}
    for s in sessions:
        await s.context.close()
    deadline[0] = time.time() + timeout_s
    _say(f"pages closed; waiting for {len(waiting)} queued runs to start (at most {timeout_s:.0f} s)")
    # On the quiet server each student looks once more (one page at a time, in queue order): the wait the
    # page says then, against the wait that was really still ahead.
    quiet: dict[str, tuple[float | None, float]] = {}  # run -> (estimate, s after the clicks it was read)
    context = await browser.new_context()
    page = await context.new_page()
    for run, address in addresses.items():
        if run not in waiting:
            continue
        await page.goto(address)
        await wait_ready_async(page)
        m = WAIT_TEXT.search(await _main_text(page))
        if m:
            quiet[run] = (parse_duration(m.group(1)), round(time.time() - clicked_at, 1))
    await context.close()
    await watcher
    errors = _relative_errors(estimates, started)
    # The estimate read after the reload, against the wait still ahead at that moment.
    later_errors = [
        (est - (started[r] - read)) / (started[r] - read)
        for r, (est, read) in later.items()
        if r in started and est is not None and started[r] - read > 0
    ]
    quiet_errors = [
        (est - (started[r] - read)) / (started[r] - read)
        for r, (est, read) in quiet.items()
        if r in started and est is not None and started[r] - read > 0
    ]
    return {
        "students": n,
        "start_clicks_within_s": round(click_spread, 2),
        "accepted": accepted,
        "refused": refused,
        "name_collisions": collisions,
        "names_moved_on": sum(o != r for o, r in zip(offered, followed) if r),
        "second_start_offers_to_stop": offers,
        "orphaned_slots": orphaned,
        "reattached_after_reload": reattached,
        "reloads_while_queued_or_training": len(active_pages),
        "reload_all_s": round(reload_s, 1),
        "runs_ended_during_reload": sum(state in FINAL_STATES for _, state in missed),
        "not_reattached": missed,
        "not_reattached_pages": shown_instead,
        "waits_measured": len(errors),
        "waits_not_started_in_time": len(waiting),
        "wait_estimate_error": round(statistics.median(abs(e) for e in errors), 3) if errors else None,
        "wait_estimate_bias": round(statistics.median(errors), 3) if errors else None,
        "wait_estimate_error_quiet": (
            round(statistics.median(abs(e) for e in quiet_errors), 3) if quiet_errors else None
        ),
        "wait_estimate_bias_quiet": round(statistics.median(quiet_errors), 3) if quiet_errors else None,
        "waits_read_quiet": len(quiet_errors),
        "wait_estimate_error_after_reload": (
            round(statistics.median(abs(e) for e in later_errors), 3) if later_errors else None
        ),
        # run -> [estimate at Start, real wait, estimate after the reload, s after Start it was read,
        #         estimate read on the quiet server, s after Start it was read]
        "waits_s": {
            r: [
                estimates.get(r),
                round(started[r], 1),
                *(later.get(r, (None, None))),
                *(quiet.get(r, (None, None))),
            ]
            for r in started
        },
    }


async def _main_students(
    n: int,
    runs: Path,
    browser_nice: int,
    max_steps: int | None,
    timeout_s: float,
    epochs: int | None = None,
    one_by_one: bool = False,
) -> dict:
    from playwright.async_api import async_playwright

    env = {"BACHLSTM_RUNS_DIR": str(runs), "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S)}
    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "browser_nice": browser_nice}
    with streamlit_server(env=env, timeout=120) as url:
        async with async_playwright() as pw:
            launcher = _niced_chromium(runs, browser_nice)
            browser = await pw.chromium.launch(**launch_options(launcher))
            args = (browser, url, runs, n, max_steps, timeout_s, epochs)
            if one_by_one:
                figures["quiet_queue"] = await _quiet_queue(*args)
            else:
                figures["class_start"] = await _class_start(*args)
            await browser.close()
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    figures["targets"] = STUDENT_TARGETS
    return figures


FINAL_STATES = ("done", "failed", "stopped", "stopping")  # a run's page shows no enabled Stop any more
STUDENT_TARGETS = {
    "refused": 0,
    "name_collisions": 0,
    "orphaned_slots": 0,
    "reattached_after_reload": "all",
    "wait_estimate_error_quiet": 0.5,
}


def run_students(
    students: int,
    browser_nice: int = BROWSER_NICE,
    max_steps: int | None = None,
    timeout_s: float = 1800.0,
    epochs: int | None = None,
    one_by_one: bool = False,
) -> dict:
    """A class of `students` starting default runs together (see `_class_start`), or one after another
    from pages that close (`one_by_one`: the wait estimate on a quiet server, see `_quiet_queue`);
    `max_steps` shortens each run (development), `epochs` lengthens it (so that every run is still queued
    or training when the 30 pages have reloaded), `timeout_s` bounds the wait for the last queued run to
    start."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="bachlstm-bench-class-") as runs:
        return asyncio.run(
            _main_students(students, Path(runs), browser_nice, max_steps, timeout_s, epochs, one_by_one)
        )


def format_students_report(f: dict) -> str:
    """The class-start figures, one line each."""
    if "quiet_queue" in f:
        q = f["quiet_queue"]
        return "\n".join(
            [
                f"quiet queue ({f['machine']}): {q['students']} students press Start one after another, "
                f"each page closing after it showed the wait; {q['accepted']} runs accepted",
                f"  wait estimate read right after Start, on the quiet server: median relative error "
                f"{q['wait_estimate_error_quiet']} (bias {q['wait_estimate_bias_quiet']}, largest "
                f"{q['wait_estimate_error_quiet_max']}) over {q['waits_read_quiet']} queued runs; "
                f"{q['waits_not_started_in_time']} not started in time",
                f"  [estimate s, real wait s] per run: {q['waits_s']}",
                f"  targets: {f['targets']}",
            ]
        )
    c = f["class_start"]
    return "\n".join(
        [
            f"class start ({f['machine']}): {c['students']} students press Start within "
            f"{c['start_clicks_within_s']} s (browsers at nice {f['browser_nice']})",
            f"  accepted {c['accepted']}, refused {c['refused']}, name collisions {c['name_collisions']} "
            f"(names moved on: {c['names_moved_on']})",
            f"  second Start: {c['second_start_offers_to_stop']} offers to stop the first; orphaned slots "
            f"{c['orphaned_slots']}",
            f"  reattached after reload: {c['reattached_after_reload']} of "
            f"{c['reloads_while_queued_or_training']} reloads while queued or training, all at once "
            f"({c.get('reload_all_s', '?')} s until every page was drawn again; "
            f"{c.get('runs_ended_during_reload', 0)} of the others ended during their reload: "
            f"{c.get('not_reattached', [])})",
            f"  wait estimate, read on the quiet server (the class's pages closed, one page at a time): "
            f"median relative error {c.get('wait_estimate_error_quiet')} (bias "
            f"{c.get('wait_estimate_bias_quiet')}) over {c.get('waits_read_quiet')} queued runs",
            f"  wait estimate read at Start, beside the class's {c['students']} pages: median relative error "
            f"{c['wait_estimate_error']} (bias {c['wait_estimate_bias']}) over {c['waits_measured']} queued "
            f"runs ({c['wait_estimate_error_after_reload']} read after the reload); "
            f"{c['waits_not_started_in_time']} not started in time",
            f"  targets: {f['targets']}",
        ]
    )
