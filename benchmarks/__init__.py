"""Benchmarks: scripts that measure and print figures (speed ratios measured side by side in one run)."""

import time


def best_of(fn, repeats: int) -> tuple[float, object]:
    """(fastest wall time of `repeats` calls of `fn` in seconds, the last call's result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
