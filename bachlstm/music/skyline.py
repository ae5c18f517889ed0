"""One melody from many notes: the top line (skyline) in exact time, then fitted to the model's grid so that
the notes sounding on the grid points are the ones kept.

Pure functions on (start, end, pitch) notes in quarters; MIDI and MusicXML readers both feed them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

EPS = 1e-9


@dataclass(frozen=True)
class LineNote:
    """A note of a one-voice line: onset and end in quarters, MIDI pitch, and its spelling if known."""

    start: float
    end: float
    midi: int
    name: str | None = None  # music21 spelling ("F#"), None when the source (MIDI) has none
    octave: int | None = None


def top_line(notes: Sequence[LineNote]) -> list[LineNote]:
    """The highest note sounding at each moment, as a sequence of non-overlapping notes (exact times).

    A lower voice moving under a held top note is ignored; when the top note ends while a lower one still
    sounds, the lower one is the top line for the rest of its duration. At the same pitch the most recent
    strike wins, so a key struck again while it still sounds is two notes, not one long one.
    Notes with end <= start are ignored. Returns [] for no notes.
    """
    notes = sorted((n for n in notes if n.end > n.start + EPS), key=lambda n: (n.start, -n.midi))
    times = sorted({t for n in notes for t in (n.start, n.end)})
    line: list[tuple[LineNote, int]] = []  # (piece of the line, index of the note it comes from)
    active: list[int] = []
    nxt = 0
    for t0, t1 in zip(times, times[1:]):
        while nxt < len(notes) and notes[nxt].start <= t0 + EPS:
            active.append(nxt)
            nxt += 1
        active = [i for i in active if notes[i].end > t0 + EPS]
        if not active:
            continue
        top = max(active, key=lambda i: (notes[i].midi, notes[i].start))
        if line and line[-1][1] == top and abs(line[-1][0].end - t0) < EPS:
            line[-1] = (replace(line[-1][0], end=t1), top)
        else:
            line.append((replace(notes[top], start=t0, end=t1), top))
    return [piece for piece, _ in line]


def snap(t: float, grid: float) -> float:
    """`t` rounded to the nearest multiple of `grid` (halves round up, not to even)."""
    return math.floor(t / grid + 0.5 + EPS) * grid


def fit_to_grid(line: Sequence[LineNote], grid: float) -> list[LineNote]:
    """A one-voice line with onsets and ends on multiples of `grid` quarters.

    Each onset moves to its nearest grid point. When several notes land on the same point (a run faster
    than the grid, a triplet), the one whose onset is nearest to the point is kept: the note that sounds on
    the grid, not an off-grid neighbour. A kept note ends at its own snapped end, or where the next kept
    note starts if that is earlier, and lasts at least one grid step. `line` must not overlap
    (`top_line`'s output). Raises ValueError for grid <= 0.
    """
    if grid <= 0:
        raise ValueError(f"grid must be > 0 quarters, got {grid}")
    best: dict[float, LineNote] = {}
    for n in line:
        q = snap(n.start, grid)
        held = best.get(q)
        if held is None or abs(n.start - q) < abs(held.start - q) - EPS:
            best[q] = n
    starts = sorted(best)
    out = []
    for q, q_next in zip(starts, [*starts[1:], math.inf]):
        n = best[q]
        end = min(max(snap(n.end, grid), q + grid), q_next)
        out.append(replace(n, start=q, end=end))
    return out


def primer_segments(
    line: Sequence[LineNote], bar_origin: float = 0.0, bar_quarters: float = 4.0
) -> tuple[list[tuple[float, float, LineNote | None]], float]:
    """(segments, pickup): a grid-fitted line as (start, end, note or None for a rest) from its first note.

    Leading silence is dropped, so the segments start at 0; inner gaps become rests. `bar_origin` is the
    time of any bar line in the source (bar lines at bar_origin + k * bar_quarters): the first note's
    distance to the next bar line is the pickup (anacrusis) in quarters, 0 when it falls on a bar line.
    So a file that opens with three beats of silence and a note on beat 4 gives a one-quarter pickup.
    Returns ([], 0.0) for an empty line.
    """
    if not line:
        return [], 0.0
    first = line[0].start
    pickup = (bar_origin - first) % bar_quarters
    pickup = 0.0 if pickup < EPS or bar_quarters - pickup < EPS else pickup
    segments: list[tuple[float, float, LineNote | None]] = []
    t = first
    for n in line:
        if n.start > t + EPS:
            segments.append((t - first, n.start - first, None))
        segments.append((n.start - first, n.end - first, n))
        t = n.end
    return segments, pickup
