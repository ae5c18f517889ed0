"""Inside-the-model benchmark: what the "Inside the model" page computes for a 64-note melody with `bach`.

Times (best of `repeats`, one torch thread as the dashboard runs) the recorded forward pass with every
gate, the surprise and unit tables (`inspect_melody`), the embedding view and the JSON the command line
prints, against the page's 2 s target. The melody is the first 64 notes/rests of the first held-out
(test split) chorale that has at least 64.
"""

from __future__ import annotations

import os
import time

import torch

N_EVENTS = 64
TARGET_S = 2.0


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(repeats: int = 5, threads: int = 1) -> dict:
    """Figures in milliseconds: inspect_melody, the embedding view, JSON, and their sum."""
    from bachlstm.checkpoints import load_checkpoint
    from bachlstm.inspection import checkpoint_embedding, inspect_melody, inspection_json
    from bachlstm.training import split_melodies

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        checkpoint = load_checkpoint("bach")
        test = split_melodies(checkpoint.meta)["test"]
        melody = next(m for m in test if len(m.events) >= N_EVENTS)
        events = melody.events[:N_EVENTS]
        inspect_s, inspection = _best(lambda: inspect_melody(checkpoint, events, melody.piece_id), repeats)
        embedding_s, embedding = _best(lambda: checkpoint_embedding(checkpoint), repeats)
        json_s, _ = _best(lambda: inspection_json(inspection, embedding), repeats)
    finally:
        torch.set_num_threads(before)
    total = inspect_s + embedding_s + json_s
    return {
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
        ]
    )
