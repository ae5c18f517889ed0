"""Per-melody tonality and closure: sung notes, key estimate, key-normalised pitch classes, intervals.

Plain functions on events (muspy's style: edge cases in the docstring). "Sung notes" are notes with
ties merged (a tied chain is one note, its durations summed) and rests left out; every count here is in
sung notes. Everything that should not depend on the key is exactly invariant under transposition:
the key estimate rotates with the melody (exactly-rounded sums, ties broken relative to the melody).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bachlstm.music.events import Event
from bachlstm.music.pitches import key_for_tonic, key_name

# Key profiles, tonic first: Temperley's, from the Kostka-Payne harmony textbook excerpts (Temperley,
# "Music and Probability", 2007; music21.analysis.discrete.TemperleyKostkaPayne has the same numbers).
# Correlated with a melody's duration-weighted pitch-class histogram as in the Krumhansl-Schmuckler
# algorithm. Measured on the 359 4/4 soprano lines: the estimate's key signature agrees with the score's
# for 81.6% (Krumhansl-Kessler's probe-tone profiles: 62.4%; Aarden-Essen 80.8%), and Bach's lines then
# end on the tonic in 75-89% (Krumhansl-Kessler: 61-81%).
TKP_MAJOR = (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400)
TKP_MINOR = (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330)
PROFILES = (TKP_MAJOR, TKP_MINOR)
MAJOR_SCALE = frozenset({0, 2, 4, 5, 7, 9, 11})
# Minor: natural, harmonic and melodic together (Bach raises the 6th and 7th degrees going up).
MINOR_SCALE = frozenset({0, 2, 3, 5, 7, 8, 9, 10, 11})
INTERVAL_CLASSES = ("unison", "step", "third", "leap", "awkward")
DURATION_CLASSES = ("< 8th", "8th", "quarter", "dotted quarter", "half", "longer")
_DURATION_EDGES = (0.5, 1.0, 1.5, 2.0, 3.0)  # lower edges of DURATION_CLASSES[1:], in quarters


@dataclass(frozen=True)
class SungNote:
    """A note as sung: MIDI number and total quarter length of its tied chain."""

    midi: int
    quarter_length: float


@dataclass(frozen=True)
class Key:
    """An estimated key: tonic pitch class (C = 0) and mode ("major" | "minor")."""

    tonic: int
    mode: str

    @property
    def shift(self) -> int:
        """Semitones (-5..6) that move this key to C major or A minor."""
        target = 0 if self.mode == "major" else 9
        return (target - self.tonic + 5) % 12 - 5

    @property
    def sharps(self) -> int:
        """Sharps (> 0) or flats (< 0) of its key signature, -6..5 (pitches.key_for_tonic's spelling)."""
        return key_for_tonic(self.tonic, self.mode)

    @property
    def name(self) -> str:
        """Spelled name, e.g. "E- major", "F# minor"."""
        return key_name(self.sharps, self.mode)

    @property
    def scale(self) -> frozenset[int]:
        """Pitch classes in the key (minor: natural, harmonic and melodic together)."""
        return frozenset(
            (self.tonic + s) % 12 for s in (MAJOR_SCALE if self.mode == "major" else MINOR_SCALE)
        )


def sung_notes(events: Sequence[Event]) -> list[SungNote]:
    """The notes as sung: tied chains merged into one note (durations summed), rests dropped.

    A tie "stop"/"continue" on a note of the same pitch as the previous note extends it; a dangling
    tie (different pitch, or after a rest) starts a new note. [] for no notes.
    """
    out: list[SungNote] = []
    tied = False  # the previous sung note's last event tied forward
    for e in events:
        if e.is_rest:
            tied = False
            continue
        if tied and e.tie in ("stop", "continue") and out and out[-1].midi == e.midi:
            out[-1] = SungNote(e.midi, out[-1].quarter_length + e.quarter_length)
        else:
            out.append(SungNote(e.midi, float(e.quarter_length)))
        tied = e.tie in ("start", "continue")
    return out


def _pc_weights(notes: Sequence[SungNote]) -> list[list[float]]:
    bins: list[list[float]] = [[] for _ in range(12)]
    for n in notes:
        bins[n.midi % 12].append(n.quarter_length)
    return bins


def _centred(values: Sequence[float]) -> tuple[list[float], float]:
    """(values minus their mean, sum of their squares), with exactly rounded sums (math.fsum): the same
    numbers in another order (a transposed melody, a rotated histogram) give bit-identical results."""
    mean = math.fsum(values) / len(values)
    d = [v - mean for v in values]
    return d, math.fsum(v * v for v in d)


_CENTRED_PROFILES = tuple(_centred(p) for p in PROFILES)  # the profiles' share of every correlation


def estimate_key(events: Sequence[Event]) -> Key | None:
    """Key of a melody, Krumhansl-Schmuckler style: the one of 24 keys whose profile (PROFILES)
    correlates best with the duration-weighted pitch-class histogram of its sung notes.

    Ties (e.g. a chromatic scale, where all keys tie) go to the key whose tonic lies the fewest
    semitones above the first note's pitch class, then major: the choice moves with the melody when it
    is transposed, and never favours ending on the tonic. None if there is no note.

    Memoised on the events (the last 256 melodies): a page asks for the same melody's key several
    times (its figures, its style row, its closure).
    """
    return _estimate_key(tuple(events))


@functools.lru_cache(maxsize=256)
def _estimate_key(events: tuple[Event, ...]) -> Key | None:
    notes = sung_notes(events)
    if not notes:
        return None
    bins = _pc_weights(notes)
    hist = [math.fsum(b) for b in bins]
    first = notes[0].midi % 12
    d, sxx = _centred(hist)
    best: tuple | None = None
    for tonic in range(12):
        rotated = [d[(tonic + i) % 12] for i in range(12)]
        for rank, (mode, (dp, spp)) in enumerate(zip(("major", "minor"), _CENTRED_PROFILES)):
            r = 0.0 if sxx == 0 else math.fsum(a * b for a, b in zip(rotated, dp)) / math.sqrt(sxx * spp)
            score = (r, -((tonic - first) % 12), -rank)
            if best is None or score > best[0]:
                best = (score, Key(tonic, mode))
    return best[1]


def normalised_pcs(events: Sequence[Event], key: Key | None = None) -> list[int]:
    """Pitch classes of the sung notes moved to C major / A minor by the melody's estimated key
    (or `key`): 0 is C whatever the melody's key. [] for no notes."""
    key = key or estimate_key(events)
    if key is None:
        return []
    return [(n.midi + key.shift) % 12 for n in sung_notes(events)]


def interval_class(semitones: int) -> str:
    """Class of a melodic interval: unison (0), step (1-2), third (3-4), leap (a 4th, 5th, 6th or octave:
    5, 7, 8, 9, 12), awkward (tritone 6, seventh 10-11, beyond an octave > 12). Direction is ignored."""
    s = abs(semitones)
    if s == 0:
        return "unison"
    if s <= 2:
        return "step"
    if s <= 4:
        return "third"
    if s in (6, 10, 11) or s > 12:
        return "awkward"
    return "leap"


def interval_class_shares(events: Sequence[Event]) -> dict[str, float]:
    """Share of each INTERVAL_CLASSES class among intervals between consecutive sung notes (rests are
    skipped, so the interval across a rest counts); all 0.0 if fewer than 2 notes."""
    notes = sung_notes(events)
    counts = dict.fromkeys(INTERVAL_CLASSES, 0)
    for a, b in zip(notes, notes[1:]):
        counts[interval_class(b.midi - a.midi)] += 1
    total = max(1, len(notes) - 1)
    return {k: (v / total if len(notes) > 1 else 0.0) for k, v in counts.items()}


def duration_class(quarter_length: float) -> str:
    """Class of a sung note's length in quarters: < 8th (< 0.5), 8th [0.5, 1), quarter [1, 1.5),
    dotted quarter [1.5, 2), half [2, 3), longer (>= 3)."""
    return DURATION_CLASSES[sum(quarter_length >= edge - 1e-9 for edge in _DURATION_EDGES)]


def duration_shares(events: Sequence[Event]) -> dict[str, float]:
    """Share of sung notes (counted, ties merged) in each DURATION_CLASSES class; all 0.0 if no note."""
    notes = sung_notes(events)
    counts = dict.fromkeys(DURATION_CLASSES, 0)
    for n in notes:
        counts[duration_class(n.quarter_length)] += 1
    return {k: v / len(notes) if notes else 0.0 for k, v in counts.items()}


def inner_rests(events: Sequence[Event]) -> int:
    """Number of rests between the first and the last note (leading and trailing rests not counted)."""
    kinds = [e.is_rest for e in events]
    if False not in kinds:
        return 0
    first, last = kinds.index(False), len(kinds) - 1 - kinds[::-1].index(False)
    return sum(kinds[first:last])


def outside_key_share(events: Sequence[Event], key: Key | None = None) -> float:
    """Share of sung notes whose pitch class lies outside the estimated key's scale (Key.scale); 0.0 if
    there is no note."""
    key = key or estimate_key(events)
    notes = sung_notes(events)
    if key is None or not notes:
        return 0.0
    return sum(n.midi % 12 not in key.scale for n in notes) / len(notes)


@dataclass(frozen=True)
class Closure:
    """How a melody ends, judged against its estimated key."""

    ends_on_tonic: bool  # the last sung note's pitch class is the tonic
    tonic_by_step: bool  # ... and it is reached by a step (1 or 2 semitones) from the note before
    final_quarters: float  # length of the last sung note (ties merged), quarters; 0.0 if no note


def closure(events: Sequence[Event], key: Key | None = None) -> Closure:
    """Ending of a melody (see Closure); all False / 0.0 if there is no note."""
    key = key or estimate_key(events)
    notes = sung_notes(events)
    if key is None or not notes:
        return Closure(False, False, 0.0)
    on_tonic = notes[-1].midi % 12 == key.tonic
    by_step = on_tonic and len(notes) > 1 and 1 <= abs(notes[-1].midi - notes[-2].midi) <= 2
    return Closure(on_tonic, by_step, notes[-1].quarter_length)


STRONG_BEATS = (1.0, 3.0)  # of a 4/4 bar: where a chorale's final note begins


def last_chain_start(notes: Sequence[Event]) -> int:
    """Index in `notes` (events without rests) where the last note's tied chain begins: a tied note
    counts from its first event. 0 for a single note."""
    k = len(notes) - 1
    while k > 0 and notes[k].tie in ("stop", "continue") and notes[k - 1].midi == notes[k].midi:
        k -= 1
    return k


def may_close(events: Sequence[Event]) -> bool:
    """`closes` without the key: the last sung note begins on a strong beat (STRONG_BEATS; a tied note
    where its chain begins) and is reached by a step (1 or 2 semitones) from the one before."""
    notes = [e for e in events if not e.is_rest]
    if not notes or notes[last_chain_start(notes)].beat not in STRONG_BEATS:
        return False
    sung = sung_notes(events)
    return len(sung) >= 2 and 1 <= abs(sung[-1].midi - sung[-2].midi) <= 2


def closes(events: Sequence[Event]) -> bool:
    """Whether a line may end here as a chorale's top voice does: its last sung note is the tonic of its
    estimated key reached by a step (`closure`: 2-1 or 7-1, the soprano's clausula) and begins on a strong
    beat (STRONG_BEATS; a tied note where its chain begins). The key is estimated last, only for a line
    that `may_close`: generation asks at every bar."""
    return may_close(events) and closure(events).tonic_by_step


def pc_entropy_counted(events: Sequence[Event]) -> float:
    """Shannon entropy in bits of the pitch-class histogram of sung notes, counted (not timed), as in
    muspy's pitch_class_entropy; 0.0 if there is no note. metrics.pitch_class_entropy is duration-weighted."""
    notes = sung_notes(events)
    if not notes:
        return 0.0
    shares = np.bincount([n.midi % 12 for n in notes], minlength=12) / len(notes)
    # an exactly rounded sum of the sorted terms: the same value in any key (bins are reordered there)
    return float(-math.fsum(sorted(p * math.log2(p) for p in shares if p > 0)))
