"""Where each token of an encoded melody sits: its note, its span in time, its bar; per-note musical features.

A factored note is five tokens (pitch, octave, duration, dots, separator), an event note one token (two
with a tie); bar lines are tokens of their own. The model's states are per token, the music per note:
this module is the map between the two that the activation, probe and surprise views share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bachlstm.music.events import Event

# The per-note features the probes correlate units with: column -> what it measures (page and CLI text).
FEATURES = {
    "position_in_bar": "position in the bar (quarters after the bar line)",
    "beat_strength": "metrical weight of the onset (1 downbeat, 0.5 mid-bar, 0.25 beat, 0.125 eighth)",
    "pitch_height": "pitch (MIDI number; rests left out)",
    "duration": "duration (quarters)",
    "distance_to_end": "time left until the melody ends (quarters from the onset)",
}
# Token types that close or extend the current note, per tokenizer (see token_events).
_EVENT_TOKENS = ("note", "rest", "unk")
_NO_EVENT = ("pad", "bos", "eos", "bar")


def token_events(tokenizer, ids: Sequence[int]) -> list[int]:
    """The index of the event (note or rest) each token belongs to; -1 for BOS, EOS, PAD and bar lines.

    Factored tokens: every token up to and including a separator belongs to the same event. Event
    tokens: a note/rest token (or UNK standing for one) is its own event, and TIE belongs to the note
    before it (it says that note is held on). ids (T,) as `tokenizer.encode` makes them.
    """
    out, k = [], 0
    factored = tokenizer.name == "factored"
    for i in ids:
        kind = tokenizer.token_type(int(i))
        if kind in _NO_EVENT:
            out.append(-1)
        elif factored:
            out.append(k)
            k += kind == "separator"
        elif kind == "tie":
            out.append(k - 1)
        elif kind in _EVENT_TOKENS:
            out.append(k)
            k += 1
        else:
            raise ValueError(f"token type {kind!r} of the {tokenizer.name!r} tokenizer has no place in time")
    return out


def beat_strength(position: float, bar_quarters: float = 4.0) -> float:
    """Metrical weight of an onset `position` quarters after the bar line, in a binary metre.

    1 on the downbeat, halved at each halving of the bar: in 4/4, beat 3 is 0.5, beats 2 and 4 are
    0.25, eighth off-beats 0.125, sixteenths 0.0625 (music21's `beatStrength` for 4/4). Positions
    finer than 1/128 of the bar get 1/256.
    """
    unit, strength = float(bar_quarters), 1.0
    for _ in range(8):
        ratio = position / unit
        if abs(ratio - round(ratio)) < 1e-6:
            return strength
        unit, strength = unit / 2, strength / 2
    return strength


def _name(e: Event) -> str:
    return "rest" if e.is_rest else f"{e.pitch}{e.octave}"


def note_table(events: Sequence[Event], bar_quarters: float = 4.0) -> pd.DataFrame:
    """One row per event: index, kind, name, midi, onset, duration (quarters), measure, beat and FEATURES.

    `position_in_bar` is music21's 1-based beat minus 1 (quarters in 4/4; a pickup note on beat 4 is
    3.0); `pitch_height` is NaN for a rest; `distance_to_end` counts from the onset to the end of
    the last event.
    """
    onsets = np.concatenate([[0.0], np.cumsum([e.quarter_length for e in events])])
    total = float(onsets[-1])
    rows = []
    for k, e in enumerate(events):
        position = float(e.beat) - 1.0
        rows.append(
            {
                "index": k,
                "kind": e.kind,
                "name": _name(e),
                "midi": np.nan if e.is_rest else float(e.midi),
                "onset": float(onsets[k]),
                "duration": float(e.quarter_length),
                "measure": int(e.measure),
                "beat": float(e.beat),
                "position_in_bar": position,
                "beat_strength": beat_strength(position, bar_quarters),
                "pitch_height": np.nan if e.is_rest else float(e.midi),
                "distance_to_end": total - float(onsets[k]),
            }
        )
    columns = ["index", "kind", "name", "midi", "onset", "duration", "measure", "beat", *FEATURES]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))


def bar_lines(events: Sequence[Event]) -> list[float]:
    """Onsets (quarters) of the events that start a new measure, after the first."""
    out, t = [], 0.0
    for k, e in enumerate(events):
        if k and e.measure != events[k - 1].measure:
            out.append(t)
        t += e.quarter_length
    return out


@dataclass(frozen=True)
class Timeline:
    """An encoded melody laid out in time.

    `ids` (L,) is the whole encoding, BOS ... EOS; the model reads the L - 1 inputs ids[:-1] and step t
    predicts ids[t + 1]. `token_event` (L,) is token_events(ids). `notes` is note_table(events).
    `steps` has one row per input step t: step, token, type, event (-1 for BOS/bar lines), and the
    span start..end (quarters) where a chart draws it: each note's span is shared evenly by its tokens
    and by the bar line or BOS just before it, so the steps tile the melody's time without gaps.
    """

    ids: tuple[int, ...]
    token_event: tuple[int, ...]
    notes: pd.DataFrame
    bar_lines: tuple[float, ...]
    steps: pd.DataFrame

    def note_steps(self) -> np.ndarray:
        """(N,) for each event, the last input step that belongs to it: the state after hearing the note."""
        last = np.full(len(self.notes), -1, dtype=np.int64)
        for t, k in enumerate(self.token_event[:-1]):
            if k >= 0:
                last[k] = t
        return last


def _display_owner(token_event: Sequence[int], n_events: int) -> list[int]:
    """Each step's event for drawing: its own; BOS and bar lines belong to the next event (else the last)."""
    owners, nxt = [0] * len(token_event), n_events - 1
    for t in range(len(token_event) - 1, -1, -1):
        if token_event[t] >= 0:
            nxt = token_event[t]
        owners[t] = token_event[t] if token_event[t] >= 0 else nxt
    return owners


def melody_timeline(tokenizer, events: Sequence[Event], bar_quarters: float | None = None) -> Timeline:
    """Encode `events` and lay the tokens out in time (see Timeline).

    ValueError when there are no events or the tokens do not map back onto them one group per event.
    """
    events = list(events)
    if not events:
        raise ValueError("the melody has no notes or rests to look at")
    if bar_quarters is None:
        bar_quarters = float(tokenizer.options.get("bar_quarters", 4.0))
    ids = tokenizer.encode(events)
    token_event = token_events(tokenizer, ids)
    if max(token_event) + 1 != len(events):
        raise ValueError(
            f"the {tokenizer.name} tokens of this melody form {max(token_event) + 1} notes/rests, "
            f"not {len(events)}"
        )
    notes = note_table(events, bar_quarters)
    inputs = token_event[:-1]
    owners = _display_owner(inputs, len(events))
    counts = np.bincount(owners, minlength=len(events))
    seen = np.zeros(len(events), dtype=np.int64)
    rows = []
    for t, (k, owner) in enumerate(zip(inputs, owners)):
        onset, duration = notes.onset.iat[owner], notes.duration.iat[owner]
        j, n = seen[owner], counts[owner]
        seen[owner] += 1
        token = int(ids[t])
        rows.append(
            (t, tokenizer.vocab[token], tokenizer.token_type(token), k, onset + duration * j / n,
             onset + duration * (j + 1) / n)
        )  # fmt: skip
    steps = pd.DataFrame(rows, columns=["step", "token", "type", "event", "start", "end"])
    return Timeline(tuple(ids), tuple(token_event), notes, tuple(bar_lines(events)), steps)
