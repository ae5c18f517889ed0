"""Corpus benchmark: cold extraction from music21 vs. loading our cache vs. music21's own pickle cache."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WARM_LOAD_TARGET_S = 0.3
RATIO_TARGET = 100.0


def _music21_parse_all(paths) -> tuple[float, float, int]:
    """(wall s, CPU s, pickles written first) to parse `paths` with music21 from its pickle cache."""
    from music21 import converter

    missing = [p for p in paths if converter.PickleFilter(p).status()[1]]
    for p in missing:  # untimed: music21 writes its pickle on the first parse from source
        converter.parse(p)
    t0, c0 = time.perf_counter(), time.process_time()
    for p in paths:
        converter.parse(p)
    return time.perf_counter() - t0, time.process_time() - c0, len(missing)


def _fresh_process_load_s(path: Path) -> float:
    """Wall time of a new Python process importing corpus.cache and loading the cache (all included)."""
    code = f"from bachlstm.corpus.cache import read_cache; read_cache({str(path)!r})"
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - t0


def run(n_files: int | None = None, repeats: int = 7) -> dict:
    """Measure in one run: cold build, warm load of our cache, music21 parse of the same files, ratios.

    `n_files` limits the cold build and the music21 parse to the first n score files (quick runs); the
    warm load always reads the whole shipped cache, so a limited run understates the ratio.
    """
    # Long but linear: the three measurements must run in this order in one process, side by side.
    import music21

    from bachlstm.corpus.cache import DEFAULT_CACHE_PATH, read_cache, save_corpus
    from bachlstm.corpus.extraction import build_corpus, score_paths

    paths = score_paths()[:n_files] if n_files else score_paths()
    t0, c0 = time.perf_counter(), time.process_time()
    built = build_corpus(paths, force_source=True)
    cold_build_s, cold_build_cpu_s = time.perf_counter() - t0, time.process_time() - c0

    # our cache: write what was just built to a temp file when it is partial, else use the shipped file
    cache = DEFAULT_CACHE_PATH
    if n_files:
        import tempfile

        cache = Path(tempfile.mkdtemp()) / "bench_corpus.json.gz"
        save_corpus(built, cache)
    loads = []
    for _ in range(repeats):
        t = time.perf_counter()
        corpus = read_cache(cache)
        loads.append(time.perf_counter() - t)
    t = time.perf_counter()
    n_events = sum(len(part.events) for piece in corpus.pieces for part in piece.parts)
    decode_all_s = time.perf_counter() - t

    m21_s, m21_cpu_s, pickles_written = _music21_parse_all(paths)
    warm = statistics.median(loads)
    return {
        "n_files": len(paths),
        "n_events": n_events,
        "music21_version": music21.__version__,
        "cache_bytes": cache.stat().st_size,
        "cold_build_s": round(cold_build_s, 3),
        "cold_build_cpu_s": round(cold_build_cpu_s, 3),  # wall time swells on a shared machine; CPU less so
        "warm_load_s": round(warm, 4),
        "warm_load_max_s": round(max(loads), 4),
        "decode_all_events_s": round(decode_all_s, 4),
        "fresh_process_load_s": round(_fresh_process_load_s(cache), 3),
        "music21_cached_parse_s": round(m21_s, 3),
        "music21_cached_parse_cpu_s": round(m21_cpu_s, 3),
        "music21_pickles_written_first": pickles_written,
        "speedup_vs_music21_cache": round(m21_s / warm, 1),
        "speedup_vs_cold_build": round(cold_build_s / warm, 1),
        "warm_load_target_met": warm <= WARM_LOAD_TARGET_S,
        "ratio_target_met": m21_s / warm >= RATIO_TARGET,
        "cpu_count": os.cpu_count(),
    }


def format_report(figures: dict) -> str:
    """The figures as a few readable lines."""
    f = figures
    ok = {True: "met", False: "MISSED"}
    return "\n".join(
        [
            f"corpus benchmark: {f['n_files']} score files, {f['n_events']} events, "
            f"music21 {f['music21_version']}, {f['cpu_count']} CPUs",
            f"  cold build (music21 from source + extraction): {f['cold_build_s']:.1f} s "
            f"(CPU {f.get('cold_build_cpu_s', float('nan')):.1f} s)",
            f"  music21 parse from its own pickle cache:        {f['music21_cached_parse_s']:.1f} s "
            f"(CPU {f.get('music21_cached_parse_cpu_s', float('nan')):.1f} s)",
            f"  our cache, warm load (median):                  {f['warm_load_s'] * 1000:.0f} ms "
            f"(max {f['warm_load_max_s'] * 1000:.0f} ms; target <= {WARM_LOAD_TARGET_S * 1000:.0f} ms: "
            f"{ok[f['warm_load_target_met']]})",
            f"  decoding every event afterwards:                {f['decode_all_events_s'] * 1000:.0f} ms",
            f"  new process, import + load:                     {f['fresh_process_load_s']:.2f} s",
            f"  cache file: {f['cache_bytes'] / 1024:.0f} KiB",
            f"  speed-up vs music21's cache: {f['speedup_vs_music21_cache']:.0f}x "
            f"(target >= {RATIO_TARGET:.0f}x: {ok[f['ratio_target_met']]}); "
            f"vs cold build: {f['speedup_vs_cold_build']:.0f}x",
        ]
    )
