"""Generation benchmark: the four methods x 256 tokens in one batch with the `bach` model, and stateful
generation against window re-feeding (100 tokens), measured side by side in one run on the CPU.

The headline figure records no step distributions (`record_top=0`, as the command line generates);
the dashboard's explanation pages record the top tokens per step, timed separately."""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import torch

log = logging.getLogger(__name__)

LENGTH = 256
WINDOW = 100
TARGET_MS = 50.0
TARGET_SPEEDUP = 5.0
RECORD_TOP = 10  # top tokens per step kept for the dashboard's "before / after the cut" view


def _model_and_tokenizer():
    """The shipped `bach` checkpoint, or (not shipped yet) the bach preset's network with random weights
    and a tokenizer built from the corpus, which costs the same time per step."""
    from bachlstm.checkpoints import CheckpointError, load_checkpoint

    try:
        ckpt = load_checkpoint("bach")
        return ckpt.model, ckpt.tokenizer, "bach (shipped checkpoint)"
    except (CheckpointError, FileNotFoundError) as exc:
        log.warning("no shipped bach checkpoint (%s); timing the bach preset with random weights", exc)
    from bachlstm.corpus import load_corpus
    from bachlstm.model import LSTMModel
    from bachlstm.presets import get_preset
    from bachlstm.selection import select
    from bachlstm.tokens import build_tokenizer

    preset = get_preset("bach")
    melodies = select(load_corpus(), preset.selection).melodies
    tok = build_tokenizer(
        preset.tokenizer.name,
        melodies,
        transpositions=preset.data.augment_semitones or None,
        **preset.tokenizer.options,
    )
    torch.manual_seed(0)
    model = LSTMModel(dataclasses.replace(preset.model, vocab_size=len(tok.vocab))).eval()
    return model, tok, "bach preset, random weights (checkpoint not shipped)"


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(repeats: int = 5, threads: int = 1) -> dict:
    """Figures (milliseconds, best of `repeats`): batched generation, model-only floor, window mode."""
    from bachlstm.generation import generate
    from bachlstm.grammar import grammar_of
    from bachlstm.model import FastStep
    from bachlstm.sampling import default_configs

    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # one thread: a batch of 4 rows is too small to share out
    try:
        model, tok, source = _model_and_tokenizer()
        configs = default_configs()
        grammar_of(tok)  # built once, as in a running dashboard

        def batched(mode="stateful", constrained=True, record_top=0):
            return generate(
                model,
                configs,
                tokenizer=tok,
                length=LENGTH,
                seed=0,
                mode=mode,
                window=WINDOW,
                constrained=constrained,
                record_top=record_top,
            )

        def steps_of(gens) -> int:
            return max(len(g.tokens) + g.trimmed for g in gens)

        stateful_s, gens = _best(batched, repeats)
        stateful_steps = steps_of(gens)
        unconstrained_s, _ = _best(lambda: batched(constrained=False), repeats)
        recorded_s, _ = _best(lambda: batched(record_top=RECORD_TOP), repeats)

        def model_only(fast: bool):
            with torch.inference_mode():
                x = torch.full((len(configs),), 2, dtype=torch.long)
                hidden = model.init_hidden(len(configs))
                stepper = FastStep.make(model, hidden, x) if fast else None
                for _ in range(LENGTH):
                    logits, hidden = stepper.step(x, hidden) if stepper else model.step(x, hidden)
                    x = logits.argmax(-1)

        model_s, _ = _best(lambda: model_only(True), repeats)  # the stepping generate() uses
        module_s, _ = _best(lambda: model_only(False), repeats)  # nn.LSTM called token by token
        window_s, wgens = _best(lambda: batched("window"), max(1, repeats // 2))
        window_steps = steps_of(wgens)
    finally:
        torch.set_num_threads(before)
    per_token_stateful = stateful_s / max(1, stateful_steps)
    per_token_window = window_s / max(1, window_steps)
    return {
        "model": source,
        "vocab_size": len(tok.vocab),
        "n_params": sum(p.numel() for p in model.parameters()),
        "rows": len(configs),
        "length": LENGTH,
        "window": WINDOW,
        "threads": threads,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "stateful_ms": round(stateful_s * 1000, 1),
        "stateful_steps": stateful_steps,
        "unconstrained_ms": round(unconstrained_s * 1000, 1),
        "record_top": RECORD_TOP,
        "recorded_ms": round(recorded_s * 1000, 1),
        "model_only_ms": round(model_s * 1000, 1),
        "module_step_ms": round(module_s * 1000, 1),
        "overhead_ms": round((stateful_s - model_s) * 1000, 1),
        "window_ms": round(window_s * 1000, 1),
        "window_steps": window_steps,
        "speedup_stateful_vs_window": round(per_token_window / per_token_stateful, 2),
        "target_ms": TARGET_MS,
        "target_speedup": TARGET_SPEEDUP,
        "meets_time_target": stateful_s * 1000 <= TARGET_MS,
        "meets_speedup_target": per_token_window / per_token_stateful >= TARGET_SPEEDUP,
    }


def format_report(f: dict) -> str:
    """Human-readable lines for `run()`'s figures."""
    ok = {True: "meets", False: "MISSES"}
    return "\n".join(
        [
            f"generation benchmark: {f['model']} (V={f['vocab_size']}, {f['n_params']:,} parameters), "
            f"{f['threads']} thread(s), load average {f['load_average_1min']} on {f['cpu_count']} CPUs",
            f"  4 methods x {f['length']} tokens, one batch, grammar mask, no step records: "
            f"{f['stateful_ms']:.1f} ms ({ok[f['meets_time_target']]} the {f['target_ms']:.0f} ms target)",
            f"    of which the model's {f['length']} forward steps alone: {f['model_only_ms']:.1f} ms; "
            f"sampling + grammar: {f['overhead_ms']:.1f} ms; "
            f"without the mask: {f['unconstrained_ms']:.1f} ms",
            f"    (the same steps through nn.LSTM's own forward: {f['module_step_ms']:.1f} ms)",
            *(
                [f"    recording the top {f['record_top']} per step (dashboard): {f['recorded_ms']:.1f} ms"]
                if "recorded_ms" in f
                else []
            ),
            f"  window re-feeding ({f['window']} tokens): {f['window_ms']:.1f} ms "
            f"for {f['window_steps']} steps",
            f"  stateful is {f['speedup_stateful_vs_window']:.1f}x faster per token "
            f"({ok[f['meets_speedup_target']]} the {f['target_speedup']:.0f}x target)",
        ]
    )
