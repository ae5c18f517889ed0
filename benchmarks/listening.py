"""Listening benchmark: N browser sessions play "Bach or model?" together for R rounds (`bench listening`).

Every session is a student of its own. Each round, all sessions answer at once (every third answer is
a double click), wait for the answer, then press Next round at once. With `spread_s`, each student
answers and presses Next round at a moment of their own within that many seconds after the class is
ready (students listen at their own pace): 30 headless browsers redrawing at the same instant on the
server's two cores measure the browsers more than the server. Reported: answers given and
stored (`lost`, `duplicates`: the class's records against the clicks), the time from an answer to the
next round's question (the answer drawn plus the next question drawn; the student's own pause left
out), the server's CPU per round (the server and its children), and the bytes it sent per round
(counted on the wire by the class benchmark's relay, the two excerpts' audio included), and the CPU
the students' browsers used per round (every Chromium process: drawing, playing both excerpts,
waiting), which on this machine competes with the server. The pools
are made before the sessions start (once per model, method and length; kept under the runs folder),
as a teacher's first round would make them. Headless Chromium runs on the same machine as the server
at CPU priority 10 (the class benchmark's BROWSER_NICE), so the figures are pessimistic.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.browser import CHROMIUM, launch_options, server_pid, streamlit_server
from benchmarks.classroom import (
    BROWSER_NICE,
    SESSION_TTL_S,
    TIMEOUT_MS,
    CountingProxy,
    _children,
    _niced_chromium,
    _open,
    tree_cpu_s,
)

MODEL, METHODS, BARS = "bach", ("top-k", "top-p", "temperature"), 4  # the class's choice
TARGETS = {"next_round_s_median": 2.0, "server_cpu_s_per_round": 0.2, "bytes_per_round": 200_000}
# A step of a round is over when the element its run draws is in the page and the app's script has
# stopped (a question: both players also know their files). The element was not in the page before the
# click (the question has no Next round, the answer no pick buttons), so it shows that the click's run
# has started: no fixed pause is needed (browser.wait_ready_async's 0.2 s, which every step paid). A
# watch for the run's start set up only after the click misses it: the new element is drawn as the run
# ends (measured: Next round appears 0-25 ms after "notRunning"), so the run is over before it is seen.
STEP_DONE = """([selector, players]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !!document.querySelector(selector)
    && (!players || [...document.querySelectorAll('audio')].every(a => a.readyState >= 1));
}"""
POLL_MS = 20  # the wait looks every 20 ms, not on every animation frame (Playwright's default), so that
# 30 waiting pages do not draw a frame each 16 ms
QUESTION, NEXT_ROUND = ".st-key-pick_B button", ".st-key-next_round button"
# A student plays both excerpts: the players fetch their files as they play them (muted, 16 times as
# fast, so that a round does not take half a minute of listening); resolves when both have ended.
PLAY_BOTH = (
    "() => Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(done => {"
    " a.muted = true; a.playbackRate = 16; a.onended = a.onerror = done; a.play().catch(done); })))"
)


def prepare_pools(runs: Path) -> float:
    """Make the class's pools and their audio as the server will find them (seconds it took)."""
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.excerpts import bach_excerpts, excerpt_audio, model_pool

    t0 = time.perf_counter()
    ck = load_checkpoint(MODEL)
    folder = runs / "listening"
    excerpts = bach_excerpts(ck.meta, BARS)
    for method in METHODS:
        excerpts += model_pool(ck, method, BARS, folder)
    for x in excerpts:
        excerpt_audio(x, BARS, folder)
    return time.perf_counter() - t0


def chromium_cpu_s() -> float:
    """CPU seconds used so far by this process's Chromium processes (browser, renderers, GPU, network),
    each its own: their renderers live through the rounds."""
    total = 0.0
    for pid in _children(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "chromium":
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def _step_done(page, selector: str, players: bool = False) -> None:
    """Wait until the step's run has drawn `selector` and stopped (see STEP_DONE)."""
    await page.wait_for_function(STEP_DONE, arg=[selector, players], polling=POLL_MS, timeout=TIMEOUT_MS)


async def _question(page) -> None:
    """Wait for a round's question: its two answer buttons drawn, the run over, both players ready."""
    await _step_done(page, QUESTION, players=True)


async def _play(
    session, rounds: int, rng: random.Random, barrier: asyncio.Barrier, spread_s: float = 0.0
) -> dict:
    """One student's rounds: answer (sometimes twice), then Next round; timings per round (the pauses,
    up to `spread_s` before each click, left out)."""
    page, times, parts, given = session.page, [], [], 0
    await _question(page)
    await page.evaluate(PLAY_BOTH)
    for i in range(rounds):
        await barrier.wait()  # the class answers together (within `spread_s`)
        await asyncio.sleep(rng.uniform(0, spread_s))
        letter = rng.choice("AB")
        button = page.locator(f".st-key-pick_{letter} button")
        t0 = time.perf_counter()
        await (button.dblclick() if i % 3 == 2 else button.click())
        given += 1
        await _step_done(page, NEXT_ROUND)
        answered = time.perf_counter() - t0
        await barrier.wait()
        await asyncio.sleep(rng.uniform(0, spread_s))
        t1 = time.perf_counter()
        await page.locator(NEXT_ROUND).click()
        await _question(page)
        parts.append((answered, time.perf_counter() - t1))
        times.append(sum(parts[-1]))
        await page.evaluate(PLAY_BOTH)  # the student listens before answering
    return {"given": given, "times": times, "parts": parts}


async def _main(
    sessions: int, rounds: int, runs: Path, db_path: Path, browser_nice: int, spread_s: float = 0.0
) -> dict:
    from playwright.async_api import async_playwright

    from bachlstm.classroom.records import ClassRecords

    db = ClassRecords(db_path)
    db.set_listening_settings([MODEL], list(METHODS), BARS)
    prepare_s = prepare_pools(runs)
    env = {
        "BACHLSTM_RUNS_DIR": str(runs),
        "BACHLSTM_CLASS_DB": str(db_path),
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S),
    }
    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "sessions": sessions,
                     "rounds": rounds, "spread_s": spread_s, "model": MODEL, "methods": list(METHODS),
                     "bars": BARS, "pools_prepare_s": round(prepare_s, 1)}  # fmt: skip
    with streamlit_server(env=env, timeout=120) as server_url:
        pid = server_pid(server_url)
        proxy = CountingProxy(int(server_url.rsplit(":", 1)[1]))
        url = await proxy.start()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**launch_options(_niced_chromium(runs, browser_nice)))
            warm = await _open(browser, url, "listening", student="Warm-up")  # loads the pools once
            await _question(warm.page)
            await warm.context.close()
            opened = await asyncio.gather(*[_open(browser, url, "listening") for _ in range(sessions)])
            cpu0, sent0, browser0 = tree_cpu_s(pid), proxy.sent, chromium_cpu_s()
            barrier = asyncio.Barrier(sessions)
            played = await asyncio.gather(
                *[_play(s, rounds, random.Random(i), barrier, spread_s) for i, s in enumerate(opened)]
            )
            await asyncio.sleep(1)
            cpu, sent, browser_cpu = tree_cpu_s(pid) - cpu0, proxy.sent - sent0, chromium_cpu_s() - browser0
            for s in opened:
                await s.context.close()
            await browser.close()
        proxy.server.close()
    answered = [r for r in db.answered_rounds() if r.student != "Warm-up"]
    given = sum(p["given"] for p in played)
    per_student: dict[str, int] = {}
    for r in answered:
        per_student[r.student] = per_student.get(r.student, 0) + 1
    times = [t for p in played for t in p["times"]]
    n_rounds = sessions * rounds
    figures.update(
        answers_given=given,
        answers_stored=len(answered),
        lost=max(0, given - len(answered)),
        duplicates=sum(max(0, n - rounds) for n in per_student.values()),
        next_round_s_median=round(statistics.median(times), 2),
        next_round_s_max=round(max(times), 2),
        # its two parts: the answer drawn after the click, the next question drawn after Next round
        answer_drawn_s_median=round(statistics.median(a for p in played for a, _ in p["parts"]), 2),
        question_drawn_s_median=round(statistics.median(q for p in played for _, q in p["parts"]), 2),
        server_cpu_s_per_round=round(cpu / n_rounds, 3),
        bytes_per_round=round(sent / n_rounds),
        # the students' browsers (here on the server's machine): drawing, playing both excerpts, waiting
        browser_cpu_s_per_round=round(browser_cpu / n_rounds, 3),
        load_average_1min=round(os.getloadavg()[0], 2),
        targets=TARGETS,
    )
    return figures


def run(sessions: int = 30, rounds: int = 5, browser_nice: int = BROWSER_NICE, spread_s: float = 0.0) -> dict:
    """Run the benchmark (see the module doc): figures as a dict."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="bachlstm-bench-listening-") as folder:
        runs = Path(folder) / "runs"
        runs.mkdir()
        db = Path(folder) / "class.sqlite3"
        return asyncio.run(_main(sessions, rounds, runs, db, browser_nice, spread_s))


def format_report(f: dict) -> str:
    """The figures as lines for a reader."""
    return "\n".join(
        [
            f"listening: {f['sessions']} sessions x {f['rounds']} rounds, clicks within "
            f"{f.get('spread_s', 0.0)} s ({f['model']}: "
            f"{', '.join(f['methods'])}; {f['bars']} bars) on {f['machine']}",
            f"  pools made beforehand in {f['pools_prepare_s']} s",
            f"  answers given {f['answers_given']}, stored {f['answers_stored']}: lost {f['lost']}, "
            f"duplicates {f['duplicates']}",
            f"  answer -> next round: median {f['next_round_s_median']} s, max {f['next_round_s_max']} s "
            f"(target {TARGETS['next_round_s_median']} s): answer drawn {f['answer_drawn_s_median']} s, "
            f"next question drawn {f['question_drawn_s_median']} s",
            f"  server CPU per round {f['server_cpu_s_per_round']} s "
            f"(target {TARGETS['server_cpu_s_per_round']})",
            f"  bytes per round {f['bytes_per_round']:,} (target {TARGETS['bytes_per_round']:,})",
            f"  browser CPU per round {f.get('browser_cpu_s_per_round', '?')} s (all the Chromium processes, "
            "on the server's machine)",
            f"  load average {f['load_average_1min']}",
        ]
    )
