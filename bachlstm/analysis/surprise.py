"""Surprise: each note's information content, -log2 p(note | the notes before it), in bits.

Information content is how music-cognition research measures expectation (Pearce's IDyOM, 2005; Pearce
and Wiggins, 2012): 1 bit is a coin toss, a note the model was sure of costs ~0 bits, one it gave a
1-in-1000 chance costs ~10. The probabilities are the model's own, teacher-forced over the real melody
(with its short-term model where it has one, as in generation; the grammar mask of the Sampling page is
not applied).

A note spans its tokens: with factored tokens (pitch, octave, duration, dots, separator) the note's
bits are the SUM of its tokens' bits, which is -log2 of the product of their probabilities, i.e. of the
probability of the whole note by the chain rule. With event tokens a note is one token, plus TIE when
it is held on. Bar lines and the end token carry bits too; they are reported apart as structure bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bachlstm.tokens.timeline import Timeline

_LN2 = math.log(2.0)


def token_bits(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits (T,), probability (T,)) of each target id under logits (T, V), computed in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    logp = z[np.arange(len(targets)), np.asarray(targets, dtype=np.int64)] - log_norm  # natural log
    return -logp / _LN2, np.exp(logp)


@dataclass(frozen=True)
class Surprise:
    """Surprise of one melody under one model.

    `notes`: one row per event (timeline.notes columns plus n_tokens and bits). `tokens`: one row per
    predicted token (position in ids, token, type, event (-1: bar line or end), probability, bits).
    `mean_bits`: mean bits per note, rests included (a rest is a note of silence). `structure_bits`:
    the sum over bar-line and end tokens. `total_bits` = notes' bits + structure bits, which is the
    model's whole negative log-likelihood of the melody in bits.
    """

    notes: pd.DataFrame
    tokens: pd.DataFrame
    mean_bits: float
    structure_bits: float
    total_bits: float


def melody_surprise(logits: np.ndarray, timeline: Timeline, vocab) -> Surprise:
    """Surprise from the logits (L - 1, V) of a recorded pass over timeline.ids[:-1].

    ValueError when the logits do not match the timeline's length.
    """
    ids = np.asarray(timeline.ids, dtype=np.int64)
    if len(logits) != len(ids) - 1:
        raise ValueError(f"{len(logits)} logits rows for {len(ids) - 1} input tokens")
    bits, prob = token_bits(logits, ids[1:])
    events = np.asarray(timeline.token_event[1:], dtype=np.int64)
    tokens = pd.DataFrame(
        {
            "position": np.arange(1, len(ids)),
            "token": [vocab[i] for i in ids[1:]],
            "event": events,
            "probability": prob,
            "bits": bits,
        }
    )
    n = len(timeline.notes)
    on_note = events >= 0
    note_bits = np.bincount(events[on_note], weights=bits[on_note], minlength=n)
    notes = timeline.notes.copy()
    notes["n_tokens"] = np.bincount(events[on_note], minlength=n)
    notes["bits"] = note_bits
    structure = float(bits[~on_note].sum())
    return Surprise(
        notes=notes,
        tokens=tokens,
        mean_bits=float(note_bits.mean()),
        structure_bits=structure,
        total_bits=float(note_bits.sum()) + structure,
    )


def extremes(surprise: Surprise, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the n most surprising notes, the n least surprising), most/least first; ties keep melody order."""
    cols = ["index", "name", "measure", "beat", "duration", "bits"]
    notes = surprise.notes
    most = notes.sort_values("bits", ascending=False, kind="stable").head(n)
    least = notes.sort_values("bits", kind="stable").head(n)
    return most[cols].reset_index(drop=True), least[cols].reset_index(drop=True)
