"""Inside-the-model benchmark: the "Inside the model" page for a ~64-note melody with the `bach` model.

Library: times (best of `repeats`, one torch thread as the dashboard runs) the recorded forward pass
with every gate, the surprise and unit tables (`inspect_melody`), the embedding view and the JSON the
command line prints, for the first 64 notes/rests of the first held-out chorale that has as many.

Page (when Debian's Chromium is installed): a real `streamlit run` driven by Playwright, as the app
benchmark does; the time from choosing a held-out chorale not seen before (the held-out chorales
closest to 64 notes, each once) until the page's script has finished, and a rerun that only redraws
(another signal in the heatmap). Target: the page answers within 2 s.
"""

from __future__ import annotations

import os
import time

import torch

from bachlstm.model.checkpoints import load_checkpoint
from bachlstm.reports.inspection import checkpoint_embedding, inspect_melody, inspection_json
from bachlstm.training.splits import split_melodies
from benchmarks import best_of
from benchmarks.app import STUDENT, WATCH_NEXT_RUN
from benchmarks.browser import CHROMIUM, chromium_page, streamlit_server, student_url, wait_ready

N_EVENTS = 64
TARGET_S = 2.0
PAGE_MELODIES = 3  # chorales chosen one after another on the page, each new to the server's cache
RUN_FINISHED = """() => window.__benchRunStarted && document.querySelector('[data-testid="stApp"]')
  .getAttribute('data-test-script-state') === 'notRunning'"""


def run(repeats: int = 5, threads: int = 1, browser: bool = True) -> dict:
    """Figures: the library's work in milliseconds (inspect_melody, the embedding view, JSON, their sum)
    and, with `browser` and Chromium installed, the page's answer times in seconds (page_figures)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        checkpoint = load_checkpoint("bach")
        test = split_melodies(checkpoint.meta)["test"]
        melody = next(m for m in test if len(m.events) >= N_EVENTS)
        events = melody.events[:N_EVENTS]
        inspect_s, inspection = best_of(lambda: inspect_melody(checkpoint, events, melody.piece_id), repeats)
        embedding_s, embedding = best_of(lambda: checkpoint_embedding(checkpoint), repeats)
        json_s, _ = best_of(lambda: inspection_json(inspection, embedding), repeats)
    finally:
        torch.set_num_threads(before)
    total = inspect_s + embedding_s + json_s
    figures = {
        "model": "bach",
        "melody": f"{melody.piece_id}, first {N_EVENTS} notes/rests",
        "tokens": len(inspection.timeline.ids),
        "units": sum(layer.size for layer in inspection.activations.layers),
        "threads": threads,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "inspect_ms": round(inspect_s * 1000, 1),
        "embedding_ms": round(embedding_s * 1000, 1),
        "json_ms": round(json_s * 1000, 1),
        "total_ms": round(total * 1000, 1),
        "mean_bits_per_note": round(inspection.surprise.mean_bits, 3),
        "target_s": TARGET_S,
        "meets_target": total <= TARGET_S,
    }
    if browser:
        figures.update(page_figures(test))
    return figures


def _choose(page, key: str, text: str) -> float:
    """Pick the option of selectbox `key` that matches `text`; seconds until the page's rerun finished."""
    page.locator(f".st-key-{key} [data-testid='stSelectbox']").click()
    page.keyboard.type(text)
    page.evaluate(WATCH_NEXT_RUN)
    t0 = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_function(RUN_FINISHED, timeout=120_000)
    return time.perf_counter() - t0


def page_figures(test: list) -> dict:
    """The page in Chromium (module docstring); {"page_note": why not} without Chromium."""
    if not CHROMIUM.exists():
        return {"page_note": f"{CHROMIUM} is missing: apt-get install chromium to time the page"}
    chosen = sorted(test, key=lambda m: abs(len(m.events) - N_EVENTS))[:PAGE_MELODIES]
    with streamlit_server() as url, chromium_page() as page:
        page.goto(student_url(url, "inside", STUDENT))
        wait_ready(page, 120)
        _choose(page, "inside_ckpt", "bach")
        wait_ready(page, 120)
        new = [_choose(page, "inside_piece", f"{m.piece_id} ") for m in chosen]
        page.get_by_role("tab", name="Gates and states").click()
        redraw = _choose(page, "inside_signal", "cell state")
    return {
        "page_melodies": [f"{m.piece_id} ({len(m.events)} notes/rests)" for m in chosen],
        "page_new_melody_s": [round(s, 2) for s in new],
        "page_redraw_s": round(redraw, 2),
        "page_meets_target": max(new) <= TARGET_S,
    }


def format_report(f: dict) -> str:
    """Human-readable lines for `run()`'s figures."""
    ok = "meets" if f["meets_target"] else "MISSES"
    return "\n".join(
        [
            f"inside-the-model benchmark: {f['model']}, {f['melody']} ({f['tokens']} tokens, "
            f"{f['units']} units), {f['threads']} thread(s), load average {f['load_average_1min']} "
            f"on {f['cpu_count']} CPUs",
            f"  gates, states, surprise and unit table: {f['inspect_ms']:.1f} ms",
            f"  embedding view (PCA): {f['embedding_ms']:.1f} ms; JSON: {f['json_ms']:.1f} ms",
            f"  total {f['total_ms']:.1f} ms ({ok} the {f['target_s']:.0f} s target); "
            f"mean surprise {f['mean_bits_per_note']:.2f} bits per note",
            *_page_lines(f),
        ]
    )


def _page_lines(f: dict) -> list[str]:
    if "page_new_melody_s" not in f:
        return [f"  page: {f.get('page_note', 'not timed')}"]
    ok = "meets" if f["page_meets_target"] else "MISSES"
    return [
        f"  page in Chromium, a new held-out chorale ({', '.join(f['page_melodies'])}) until the page "
        f"has answered: {f['page_new_melody_s']} s ({ok} the {f['target_s']:.0f} s target)",
        f"  page redraw only (another signal): {f['page_redraw_s']:.2f} s",
    ]
