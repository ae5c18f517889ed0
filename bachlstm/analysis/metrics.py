"""Melody metrics: plain functions on events or token sequences, each edge case defined in its docstring.

Conventions: "notes" are events of kind "note" (rests are skipped where a metric is about pitch);
an event's "key" is (MIDI number or None for a rest, quarter length), the unit for repetition
metrics, so they mean the same for every tokenizer. Entropies and KL divergences are in bits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bachlstm.analysis.memorization import NgramIndex
from bachlstm.music.events import Event, Melody
from bachlstm.music.pitches import key_for_tonic, key_name
from bachlstm.tokens.tokenizers import validity

BAR_QUARTERS = 4.0
MAJOR = (0, 2, 4, 5, 7, 9, 11)
# Harmonic minor: Bach's minor-mode chorales raise the leading tone, and the natural minor would only
# repeat the relative major's pitch-class set.
MINOR = (0, 2, 3, 5, 7, 8, 11)
SMOOTHING = 0.01  # weight of the uniform distribution mixed into histograms before a KL divergence


def _notes(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if not e.is_rest and e.midi is not None]


def event_key(e: Event) -> tuple[int | None, float]:
    """(MIDI number, quarter length) of a note, (None, quarter length) of a rest."""
    return (None if e.is_rest else e.midi, float(e.quarter_length))


def n_events(events: Sequence[Event]) -> int:
    """Number of notes and rests."""
    return len(events)


def n_notes(events: Sequence[Event]) -> int:
    """Number of notes (rests not counted)."""
    return len(_notes(events))


def length_quarters(events: Sequence[Event]) -> float:
    """Total duration in quarter notes, rests included; 0.0 for no events."""
    return float(sum(e.quarter_length for e in events))


def pitch_range(events: Sequence[Event]) -> int:
    """Highest minus lowest MIDI number in semitones; 0 if there is no note."""
    midis = [e.midi for e in _notes(events)]
    return max(midis) - min(midis) if midis else 0


def pitch_classes_used(events: Sequence[Event]) -> int:
    """Number of distinct pitch classes (0-12); 0 if there is no note."""
    return len({e.midi % 12 for e in _notes(events)})


def pitch_class_histogram(events: Sequence[Event], weighted: bool = True) -> np.ndarray:
    """12-bin pitch-class histogram summing to 1 (C=0), weighted by duration (or counts); zeros if no note.

    Zero-length notes weigh nothing when `weighted`.
    """
    hist = np.zeros(12)
    for e in _notes(events):
        hist[e.midi % 12] += e.quarter_length if weighted else 1.0
    total = hist.sum()
    return hist / total if total > 0 else hist


def pitch_class_entropy(events: Sequence[Event]) -> float:
    """Shannon entropy in bits of the duration-weighted pitch-class histogram (0 to log2 12 = 3.585);
    0.0 if there is no note."""
    h = pitch_class_histogram(events)
    h = h[h > 0]
    return float(-(h * np.log2(h)).sum()) if h.size else 0.0


def scales() -> list[tuple[str, frozenset[int]]]:
    """The 24 scales: 12 major and 12 harmonic minor, as (name, pitch-class set), C major first.

    Named as keys are (`pitches.key_for_tonic`): "A- major", "G# minor".
    """
    return [
        (key_name(key_for_tonic(t, mode), mode), frozenset((t + s) % 12 for s in steps))
        for mode, steps in (("major", MAJOR), ("minor", MINOR))
        for t in range(12)
    ]


def best_scale(events: Sequence[Event]) -> tuple[str, float]:
    """(scale name, share of notes in it) for the scale holding the most notes (counted, not timed).

    Ties go to the first scale in `scales()` order; ("", 0.0) if there is no note.
    """
    pcs = [e.midi % 12 for e in _notes(events)]
    if not pcs:
        return ("", 0.0)
    best = ("", -1.0)
    for name, members in scales():
        share = sum(pc in members for pc in pcs) / len(pcs)
        if share > best[1]:
            best = (name, share)
    return best


def scale_consistency(events: Sequence[Event]) -> float:
    """Largest share of notes (by count) that lie in one of the 24 major/minor scales; 0.0 if no note."""
    return best_scale(events)[1]


def mean_abs_interval(events: Sequence[Event]) -> float:
    """Mean absolute interval in semitones between consecutive notes (rests skipped); 0.0 if < 2 notes."""
    midis = [e.midi for e in _notes(events)]
    if len(midis) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(midis))))


def ngrams(items: Sequence, n: int) -> list[tuple]:
    """All contiguous n-grams of a sequence (an empty list if it is shorter than n)."""
    return [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]


def distinct_n(items: Sequence, n: int) -> float:
    """Unique n-grams / all n-grams (1.0 = nothing repeats); 0.0 if the sequence has no n-gram."""
    grams = ngrams(items, n)
    return len(set(grams)) / len(grams) if grams else 0.0


def seq_rep_n(items: Sequence, n: int) -> float:
    """Share of n-grams that repeat an earlier one: 1 - distinct-n; 0.0 if the sequence has no n-gram."""
    grams = ngrams(items, n)
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


@dataclass(frozen=True)
class Loop:
    """The sequence ends in `repeats` back-to-back copies of a phrase of `period` items, from `start`."""

    period: int
    repeats: int
    start: int


def find_loop(items: Sequence, min_repeats: int = 3, min_span: int = 6) -> Loop | None:
    """The shortest phrase the sequence ends in, repeated at least `min_repeats` times back to back
    and covering at least `min_span` items; None if there is none.

    `min_span` keeps a final held note repeated three times (common in chorales) from counting as a
    loop: a phrase of one item must repeat 6 times, of two items 3 times. The repeat count is maximal.
    """
    n = len(items)
    for period in range(1, n // min_repeats + 1):
        repeats = 1
        while (repeats + 1) * period <= n and list(
            items[n - (repeats + 1) * period : n - repeats * period]
        ) == list(items[n - period :]):
            repeats += 1
        if repeats >= min_repeats and repeats * period >= min_span:
            return Loop(period, repeats, n - repeats * period)
    return None


def bar_sums(events: Sequence[Event]) -> list[tuple[int, float]]:
    """(measure, total quarter length) for each run of events sharing a measure number, in order.

    Events without bar numbers (all measure 0) are numbered every 4 quarters from the start, by the
    bar they start in.
    """
    if events and all(e.measure == 0 for e in events):
        offset, numbered = 0.0, []
        for e in events:
            numbered.append((1 + int(offset // BAR_QUARTERS + 1e-9), e.quarter_length))
            offset += e.quarter_length
    else:
        numbered = [(e.measure, e.quarter_length) for e in events]
    out: list[list] = []
    for measure, ql in numbered:
        if out and out[-1][0] == measure:
            out[-1][1] += ql
        else:
            out.append([measure, ql])
    return [(m, float(q)) for m, q in out]


def bar_validity(events: Sequence[Event]) -> float:
    """Share of 4/4 bars whose events sum to exactly 4 quarters; 0.0 if there is no bar to judge.

    Bars are the runs of equal `measure` numbers (see `bar_sums`). A pickup bar (measure 0, shorter
    than 4) is not judged; a last bar that completes such a pickup (pickup + last = 4) counts as valid,
    as in the chorales. A note that crosses a bar line without being split makes both bars invalid.
    """
    sums = bar_sums(events)
    pickup = sums[0][1] if sums and sums[0][0] == 0 and sums[0][1] < BAR_QUARTERS else 0.0
    judged = [s for s in sums if not (s[0] == 0 and pickup)]
    if not judged:
        return 0.0
    valid = 0
    for k, (_, total) in enumerate(judged):
        if math.isclose(total, BAR_QUARTERS) or (
            k == len(judged) - 1 and pickup and math.isclose(total + pickup, BAR_QUARTERS)
        ):
            valid += 1
    return valid / len(judged)


def pc_transitions(events: Sequence[Event]) -> np.ndarray:
    """12 x 12 counts of pitch-class transitions between consecutive notes (rests skipped)."""
    counts = np.zeros((12, 12))
    pcs = [e.midi % 12 for e in _notes(events)]
    for a, b in zip(pcs, pcs[1:]):
        counts[a, b] += 1
    return counts


def kl_divergence(p: np.ndarray, q: np.ndarray, smoothing: float = SMOOTHING) -> float:
    """KL(p || q) in bits of two histograms (any shape, normalised here), each first mixed with the
    uniform distribution at weight `smoothing` so no bin is zero. An all-zero histogram becomes uniform."""
    p = np.asarray(p, dtype=float).ravel()
    q = np.asarray(q, dtype=float).ravel()
    if p.shape != q.shape:
        raise ValueError(f"histograms differ in size: {p.shape} vs {q.shape}")

    def norm(h: np.ndarray) -> np.ndarray:
        total = h.sum()
        h = h / total if total > 0 else np.full_like(h, 1.0 / h.size)
        return (1 - smoothing) * h + smoothing / h.size

    p, q = norm(p), norm(q)
    return float((p * np.log2(p / q)).sum())


# ----------------------------------------------------------------------------------------------------
# Model-based


def self_perplexity(model, tokens: Sequence[int], start: int = 1) -> float:
    """exp(mean negative log-likelihood) the model gives tokens[start:], each predicted from all before it.

    `start` >= 1 (the first token, usually BOS, is never predicted); pass the primer's length to score
    only the generated part. NaN if there is nothing to predict.
    """
    return self_perplexities(model, [tokens], [start])[0]


PERPLEXITY_ROWS = 16  # sequences per forward pass in self_perplexities (bounds the (B, T, V) logits)


def self_perplexities(model, sequences: Sequence[Sequence[int]], starts: Sequence[int]) -> list[float]:
    """`self_perplexity` of each sequence (with its own start), in forward passes of up to
    PERPLEXITY_ROWS sequences padded at the end: an LSTM reads left to right, so padding after a
    sequence never changes its predictions. One pass for a Generate's four columns instead of four."""
    import torch  # here for start-up cost only: the other metrics need no torch (about a second)

    from bachlstm.model.short_term import has_short_term, short_term_log_probs

    out = [float("nan")] * len(sequences)
    todo = [k for k, (seq, st) in enumerate(zip(sequences, starts)) if len(seq) > max(1, int(st))]
    device = next(model.parameters()).device
    config = getattr(model, "config", None)
    pad = getattr(config, "pad_id", 0) or 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for first in range(0, len(todo), PERPLEXITY_ROWS):
                rows = todo[first : first + PERPLEXITY_ROWS]
                width = max(len(sequences[k]) for k in rows)
                x = torch.full((len(rows), width), pad, dtype=torch.long)
                for r, k in enumerate(rows):
                    x[r, : len(sequences[k])] = torch.tensor(list(sequences[k]), dtype=torch.long)
                logits, _ = model(x[:, :-1].to(device))  # (R, W-1, V)
                logits = logits.float().cpu()
                if has_short_term(config):  # each melody's own short-term model
                    for r, k in enumerate(rows):
                        n = len(sequences[k]) - 1
                        logits[r, :n] = short_term_log_probs(config, sequences[k], logits[r, :n])
                logp = torch.log_softmax(logits, dim=-1)
                picked = logp.gather(2, x[:, 1:, None])[:, :, 0]  # (R, W-1): log p(token t | before t)
                for r, k in enumerate(rows):
                    start, n = max(1, int(starts[k])), len(sequences[k])
                    out[k] = float(torch.exp(-picked[r, start - 1 : n - 1].mean()))
    finally:
        model.train(was_training)
    return out


# ----------------------------------------------------------------------------------------------------
# Reference ("Bach") and the per-melody dict


@dataclass
class Reference:
    """Real held-out melodies' pitch-class statistics (and optionally a training n-gram index).

    Keeps per-melody counts so a held-out melody can be compared against the others (leave one out).
    """

    pc_weights: np.ndarray  # (12,) duration per pitch class, summed over melodies
    transitions: np.ndarray  # (12, 12) transition counts, summed
    per_melody: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    index: NgramIndex | None = None
    n_melodies: int = 0


def _pc_weights(events: Sequence[Event]) -> np.ndarray:
    w = np.zeros(12)
    for e in _notes(events):
        w[e.midi % 12] += e.quarter_length
    return w


def _events(m) -> Sequence[Event]:
    return m.events if isinstance(m, Melody) else m


def build_reference(heldout: Iterable[Melody | Sequence[Event]], *, training_tokens=None) -> Reference:
    """A Reference from held-out melodies; `training_tokens`: (piece id, token ids) pairs or an NgramIndex."""
    per = [(_pc_weights(_events(m)), pc_transitions(_events(m))) for m in heldout]
    if not per:
        raise ValueError("build_reference needs at least one held-out melody")
    index = None
    if training_tokens is not None:
        index = training_tokens if isinstance(training_tokens, NgramIndex) else NgramIndex(training_tokens)
    return Reference(
        pc_weights=sum(p for p, _ in per),
        transitions=sum(t for _, t in per),
        per_melody=per,
        index=index,
        n_melodies=len(per),
    )


METRIC_COLUMNS = (
    "validity",
    "events",
    "notes",
    "quarters",
    "pitch_range",
    "pitch_classes",
    "pc_entropy",
    "scale_consistency",
    "mean_interval",
    "distinct_2",
    "distinct_3",
    "loops",
    "loop_period",
    "bar_validity",
    "self_perplexity",
    "kl_pc",
    "kl_transitions",
    "memorized",
    "memorized_piece",
)


def melody_metrics(
    events: Sequence[Event],
    *,
    n_groups: int | None = None,
    n_invalid: int = 0,
    primer: Sequence[Event] = (),
    tokens: Sequence[int] | None = None,
    token_start: int = 1,
    model=None,
    reference: Reference | None = None,
    leave_out: int | None = None,
    perplexity: float | None = None,
) -> dict:
    """Every metric of one melody as a dict (keys in METRIC_COLUMNS order; missing inputs give None).

    `events` is what is judged (a generated continuation, or a whole real melody). `primer` events are
    prepended only for bar validity, since bars run across the primer's end. `tokens` (full sequence,
    BOS first) with `token_start` (first generated position) enable self-perplexity (with `model`) and
    memorization (with `reference.index`). KL divergences are against `reference`'s held-out pool,
    without melody `leave_out` (its index in the reference) when a held-out melody judges itself;
    they are None for a melody without notes (pitch classes) or without two notes (transitions).
    `perplexity`, when the caller has it already (`self_perplexities` for a batch), is used as is.
    """
    keys = [event_key(e) for e in events]
    loop = find_loop(keys)
    row: dict = {
        "validity": validity(n_groups, n_invalid) if n_groups is not None else None,
        "events": n_events(events),
        "notes": n_notes(events),
        "quarters": length_quarters(events),
        "pitch_range": pitch_range(events),
        "pitch_classes": pitch_classes_used(events),
        "pc_entropy": pitch_class_entropy(events),
        "scale_consistency": scale_consistency(events),
        "mean_interval": mean_abs_interval(events),
        "distinct_2": distinct_n(keys, 2),
        "distinct_3": distinct_n(keys, 3),
        "loops": loop is not None,
        "loop_period": loop.period if loop else None,
        "bar_validity": bar_validity(list(primer) + list(events)),
        "self_perplexity": None,
        "kl_pc": None,
        "kl_transitions": None,
        "memorized": None,
        "memorized_piece": None,
    }
    if perplexity is not None:
        row["self_perplexity"] = perplexity
    elif model is not None and tokens is not None:
        row["self_perplexity"] = self_perplexity(model, tokens, token_start)
    if reference is not None:
        pool_pc, pool_tr = reference.pc_weights, reference.transitions
        if leave_out is not None:
            own_pc, own_tr = reference.per_melody[leave_out]
            pool_pc, pool_tr = pool_pc - own_pc, pool_tr - own_tr
        # No notes (or no transition) is no distribution: None rather than a uniform stand-in.
        own_weights, own_transitions = _pc_weights(events), pc_transitions(events)
        row["kl_pc"] = kl_divergence(own_weights, pool_pc) if own_weights.sum() > 0 else None
        row["kl_transitions"] = kl_divergence(own_transitions, pool_tr) if own_transitions.sum() > 0 else None
        if reference.index is not None and tokens is not None:
            shared = reference.index.longest_shared(list(tokens)[token_start:])
            row["memorized"] = shared.length
            row["memorized_piece"] = shared.piece_id
    return row


def reference_metrics(
    melodies: Sequence[Melody],
    reference: Reference | None = None,
    *,
    tokenizer=None,
    model=None,
) -> dict:
    """The "Bach" row: the mean of `melody_metrics` over real held-out melodies.

    With `reference` built from these same melodies (in this order) each one's KL divergences are
    measured against the others. `tokenizer` enables memorization (and, with `model`, perplexity).
    Booleans average to a share (loops: share of melodies ending in a loop); the memorized piece is
    the most common one.
    """
    if not melodies:
        raise ValueError("reference_metrics needs at least one melody")
    same = reference is not None and reference.n_melodies == len(melodies)
    rows = []
    for i, m in enumerate(melodies):
        tokens, n_groups, n_invalid = None, 0, 0
        if tokenizer is not None:
            tokens = tokenizer.encode(m.events)[:-1]  # BOS + melody; EOS is not part of it
            decoded = tokenizer.decode(tokens)
            n_groups, n_invalid = decoded.n_groups, decoded.n_invalid
        rows.append(
            melody_metrics(
                m.events,
                n_groups=n_groups,
                n_invalid=n_invalid,
                tokens=tokens,
                model=model,
                reference=reference,
                leave_out=i if same else None,
            )
        )
    return mean_row(rows)


def mean_row(rows: Sequence[dict]) -> dict:
    """Column means of several metric dicts (None skipped; bools as shares; strings: the most common)."""
    out: dict = {}
    for key in rows[0]:
        vals = [r[key] for r in rows if r.get(key) is not None]
        if not vals:
            out[key] = None
        elif isinstance(vals[0], str):
            out[key] = max(set(vals), key=vals.count)
        else:
            finite = [float(v) for v in vals if not (isinstance(v, float) and math.isnan(v))]
            out[key] = float(np.mean(finite)) if finite else None
    return out
