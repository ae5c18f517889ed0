"""Sampling-page domain work still waiting to move into bachlstm/compare.py (issue 8, `compare` helper).

Only these six remain here; charts, forms and texts moved to app_pages/ (charts.py, forms.py, texts.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

METHODS = ("greedy", "top-k", "top-p", "temperature")


def sampling_configs(knobs: dict, extras: dict | None = None) -> list:
    """The four columns' SamplingConfigs from the form: knobs k, k_t, p, p_t, t; extras for all columns.

    `extras` (min_p, typical_p, repetition_penalty, no_repeat_ngram) apply to every column; greedy
    takes only the penalties (cuts do not change an argmax). Raises SamplingConfigError (a ValueError).
    """
    from bachlstm.sampling import SamplingConfig

    extras = dict(extras or {})
    penalties = {k: extras.pop(k) for k in ("repetition_penalty", "no_repeat_ngram") if k in extras}
    return [
        SamplingConfig("greedy", **penalties),
        SamplingConfig("top-k", k=int(knobs["k"]), temperature=float(knobs["k_t"]), **extras, **penalties),
        SamplingConfig("top-p", p=float(knobs["p"]), temperature=float(knobs["p_t"]), **extras, **penalties),
        SamplingConfig("temperature", temperature=float(knobs["t"]), **extras, **penalties),
    ]


def memorization_threshold(bach_row: dict | None) -> int:
    """Copies at least this long (tokens) are flagged: twice what real held-out Bach shares, at least 16."""
    bach = (bach_row or {}).get("memorized")
    return max(16, int(2 * bach)) if bach else 16


def generation_warnings(label: str, row: dict, threshold: int) -> list[str]:
    """Plain-language warnings for one generated melody: loops, copies of a training piece, no notes."""
    out = []
    if not row.get("notes"):
        out.append(f"{label}: no notes at all (only rests, or nothing before the end token).")
    if row.get("loops"):
        period = int(row.get("loop_period") or 1)
        # metrics.find_loop's rule: at least 3 repeats covering at least 6 notes (so one note, 6 times)
        times = max(3, -(-6 // period))
        what = "note" if period == 1 else f"{period}-note phrase"
        out.append(f"{label}: ends in a loop (the same {what} {times} or more times in a row).")
    copied = row.get("memorized")
    if copied is not None and copied >= threshold:
        out.append(
            f"{label}: copies {copied:.0f} consecutive tokens of the training piece "
            f"{row.get('memorized_piece')} (real held-out Bach shares fewer): memorised, not composed."
        )
    return out


def compare_methods(
    checkpoint, configs, *, primer=None, length=128, seed=0, constrained=True, reference=None
):
    """Generate one melody per config and score them: {"gens", "table", "rows", "warnings"}.

    `reference` is a generation.CheckpointReference (adds KL, memorization and the Bach row) or None.
    """
    from bachlstm.generation import comparison_table, generate

    gens = generate(
        checkpoint, configs, primer=primer, length=length, seed=seed, samples=1, constrained=constrained
    )
    table = comparison_table(
        gens,
        model=checkpoint.model,
        reference=reference.reference if reference else None,
        bach=reference.bach if reference else None,
    )
    rows = table.to_dict("records")[: len(gens)]
    threshold = memorization_threshold(reference.bach if reference else None)
    warnings = [w for g, row in zip(gens, rows) for w in generation_warnings(g.config.method, row, threshold)]
    return {"gens": gens, "table": table, "rows": rows, "warnings": warnings}


def next_token_frame(checkpoint, tokens: Sequence[int], configs, *, constrained: bool = True, top: int = 12):
    """The model's next-token distribution after `tokens` (BOS first) and what each config keeps of it.

    Long DataFrame: method, token, rank (by the model's probability), before (model, grammar-masked),
    after (the distribution that config samples from), kept. Only the `top` most likely tokens.
    """
    import torch

    from bachlstm.generation import grammar_of
    from bachlstm.sampling import explain

    tok = checkpoint.tokenizer
    with torch.inference_mode():
        logits = checkpoint.model(torch.tensor([list(tokens)], dtype=torch.long))[0][0, -1]  # (V,)
    mask = None
    if constrained:
        grammar = grammar_of(tok)  # cached: building a grammar's masks is the slow part
        state = grammar.initial_state()
        for t in list(tokens)[1:]:
            state = grammar.advance(state, t)
        mask = torch.tensor(grammar.allowed(state), dtype=torch.bool)
    frames = []
    for cfg in configs:
        f = explain(logits, cfg, mask=mask, history=list(tokens)[1:]).to_frame(tok.vocab, top=top)
        f.insert(0, "method", cfg.label)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
