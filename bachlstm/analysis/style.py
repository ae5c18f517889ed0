"""Style against held-out Bach: key-normalised divergences pooled per method at equal length, with a noise
floor, bootstrap intervals, and memorization counted in sung notes.

A single melody's pitch-class histogram against a pooled reference measures its key and its length more
than its style (one chorale in 13 transpositions scored KL 0.47-1.80). So every melody is first moved to
C major / A minor (tonality.estimate_key), only its first N sung notes are taken, the notes of all
melodies of one method are pooled, and the pool is compared with the pooled held-out test melodies
(smoothed KL, in bits). Bach
validation against Bach test, pooled the same way, is the noise floor: a method at or below it is as
close to the test set as other Bach is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bachlstm.analysis.memorization import NgramIndex
from bachlstm.analysis.metrics import kl_divergence
from bachlstm.music.events import Event, Melody
from bachlstm.music.tonality import (
    DURATION_CLASSES,
    INTERVAL_CLASSES,
    closure,
    duration_shares,
    estimate_key,
    inner_rests,
    interval_class_shares,
    normalised_pcs,
    outside_key_share,
    pc_entropy_counted,
    sung_notes,
)

EQUAL_NOTES = 32  # first N sung notes per melody: most chorale melodies have 40-60, so nearly all reach it
REMOTE_SHARPS = 4  # a key with this many sharps or flats or more counts as remote (Bach: 3 at most, mostly)
BOOTSTRAP = 1000  # resamples for the 95% intervals


def _events(m: Melody | Sequence[Event]) -> Sequence[Event]:
    return m.events if isinstance(m, Melody) else m


def melody_counts(melodies: Iterable, n_notes: int | None = EQUAL_NOTES) -> tuple[np.ndarray, np.ndarray]:
    """Per melody: (M, 12) key-normalised pitch-class counts and (M, 144) transition counts (row-major:
    from * 12 + to) of its first `n_notes` sung notes. A shorter melody gives all its notes; None = all."""
    rows_pc, rows_tr = [], []
    for m in melodies:
        pcs = normalised_pcs(_events(m))[:n_notes]
        rows_pc.append(np.bincount(pcs, minlength=12))
        rows_tr.append(np.bincount([12 * a + b for a, b in zip(pcs, pcs[1:])], minlength=144))
    shape = (len(rows_pc), 12), (len(rows_tr), 144)
    return (
        np.array(rows_pc, dtype=float).reshape(shape[0]),
        np.array(rows_tr, dtype=float).reshape(shape[1]),
    )


def divergence(counts: np.ndarray, reference: np.ndarray) -> float:
    """Smoothed KL(sample || reference) in bits of two pooled count histograms (metrics.kl_divergence:
    each mixed with the uniform distribution at weight 0.01). It asks how surprising the sample's notes
    are to Bach, so a melody on few common pitch classes is not punished for the ones it leaves out
    (measured on single melodies against the `bach` test pool: with Jensen-Shannon a chromatic scale's
    pitch classes score better than 25 of the 359 4/4 chorale lines; with this KL better than 2, two
    modal lines; on transitions better than none with either). NaN if the sample has no count."""
    counts = np.asarray(counts, dtype=float)
    return kl_divergence(counts, reference) if counts.sum() > 0 else float("nan")


def pooled_divergence(
    melodies: Sequence, reference: Sequence, n_notes: int | None = EQUAL_NOTES
) -> tuple[float, float]:
    """(pitch-class, transition) `divergence` of the pooled, key-normalised first `n_notes` sung notes of
    `melodies` against those of `reference` (see melody_counts); NaN where `melodies` has no note."""
    p_pc, p_tr = melody_counts(melodies, n_notes)
    q_pc, q_tr = melody_counts(reference, n_notes)
    return divergence(p_pc.sum(0), q_pc.sum(0)), divergence(p_tr.sum(0), q_tr.sum(0))


def remote_key_share(melodies: Sequence) -> float:
    """Share of melodies whose estimated key has REMOTE_SHARPS or more sharps or flats (key choice, kept
    out of the divergences above); melodies without notes are left out; NaN if none has a note."""
    keys = [k for k in (estimate_key(_events(m)) for m in melodies) if k is not None]
    return sum(abs(k.sharps) >= REMOTE_SHARPS for k in keys) / len(keys) if keys else float("nan")


@dataclass(frozen=True)
class Interval:
    """A statistic and its bootstrap 95% interval (percentile method); low = high = value when it
    cannot be resampled (one melody, or identical ones)."""

    value: float
    low: float
    high: float


def bootstrap(
    rows: np.ndarray, statistic: Callable[[np.ndarray], float], *, n: int = BOOTSTRAP, seed: int = 0
) -> Interval:
    """`statistic(rows)` with the 2.5th and 97.5th percentiles of `statistic` over `n` resamples of the
    rows (one row per melody, drawn with replacement; numpy Generator seeded by `seed`; the percentile
    bootstrap of Efron & Tibshirani 1993). Fewer than 2 rows: the interval is the value itself."""
    rows = np.asarray(rows)
    value = float(statistic(rows))
    if len(rows) < 2:
        return Interval(value, value, value)
    rng = np.random.default_rng(seed)
    stats = [statistic(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(n)]
    low, high = np.nanpercentile(stats, [2.5, 97.5])
    return Interval(value, float(low), float(high))


def melody_profile(events: Sequence[Event]) -> dict[str, float]:
    """Per-melody figures (all exactly invariant under transposition): sung notes, closure, outside-key
    share, inner rests, counted pitch-class entropy, interval-class and duration-class shares.

    A fresh dict each call; the figures are memoised on the events (the last 256 melodies), since the
    Sampling page asks for one column's melody twice (its figures and its style row)."""
    return dict(_melody_profile(tuple(events)))


@functools.lru_cache(maxsize=256)
def _melody_profile(events: tuple[Event, ...]) -> dict[str, float]:
    key = estimate_key(events)
    end = closure(events, key)
    row = {
        "notes": float(len(sung_notes(events))),
        "ends_on_tonic": float(end.ends_on_tonic),
        "tonic_by_step": float(end.tonic_by_step),
        "final_quarters": end.final_quarters,
        "outside_key": outside_key_share(events, key),
        "inner_rests": float(inner_rests(events)),
        "pc_entropy_counted": pc_entropy_counted(events),
    }
    row.update({f"interval_{k}": v for k, v in interval_class_shares(events).items()})
    row.update({f"duration_{k}": v for k, v in duration_shares(events).items()})
    return row


PROFILE_KEYS = (
    ["notes", "ends_on_tonic", "tonic_by_step", "final_quarters", "outside_key", "inner_rests"]
    + ["pc_entropy_counted"]
    + [f"interval_{k}" for k in INTERVAL_CLASSES]
    + [f"duration_{k}" for k in DURATION_CLASSES]
)

# ---------------------------------------------------------------------------------------------------
# Memorization in sung notes


@dataclass(frozen=True)
class SharedRun:
    """The longest run of sung notes (interval from the previous note, duration) also in a training
    melody: its length in notes, the training piece (None if nothing is shared), where it starts in each."""

    notes: int
    piece_id: str | None
    piece_start: int
    start: int


def note_steps(events: Sequence[Event]) -> list[tuple[int, float]]:
    """(interval in semitones from the previous sung note, quarter length) for every sung note after the
    first (ties merged, rests skipped): a transposition-invariant spelling of a melody."""
    notes = sung_notes(events)
    return [(b.midi - a.midi, round(b.quarter_length, 6)) for a, b in zip(notes, notes[1:])]


class NoteRunIndex:
    """Training melodies as (interval, duration) steps, for `longest_shared` queries in notes."""

    REMEMBERED = 256  # answers kept per index: one column's melody is asked for twice per Generate

    def __init__(self, melodies: Iterable[Melody]) -> None:
        self._codes: dict[tuple[int, float], int] = {}
        self._found: dict[tuple[Event, ...], SharedRun] = {}
        self._index = NgramIndex(
            ((m.piece_id, self._encode(note_steps(m.events), grow=True)) for m in melodies), ignore=()
        )

    def _encode(self, steps: Sequence[tuple[int, float]], grow: bool = False) -> list[int]:
        out = []
        for s in steps:
            if s not in self._codes:
                if not grow:
                    out.append(-2)  # a step no training melody has: matches nothing
                    continue
                self._codes[s] = len(self._codes)
            out.append(self._codes[s])
        return out

    def longest_shared(self, events: Sequence[Event]) -> SharedRun:
        """Longest run of consecutive sung-note steps of `events` found in one training melody.

        A run of k steps is k notes that repeat a training melody's intervals and durations (in any key).
        SharedRun(0, None, 0, 0) if nothing is shared. Ties go to the earliest position.
        """
        events = tuple(events)
        found = self._found.get(events)
        if found is None:
            shared = self._index.longest_shared(self._encode(note_steps(events)))
            found = SharedRun(shared.length, shared.piece_id, shared.piece_start, shared.start)
            if len(self._found) >= self.REMEMBERED:
                self._found.pop(next(iter(self._found)))  # the oldest answer
            self._found[events] = found
        return found


def memorization_floor(heldout: Iterable[Melody], index: NoteRunIndex) -> int:
    """The longest run (in notes) any held-out Bach melody shares with the training melodies by chance:
    a generated melody is flagged as copying only above it. 0 for no held-out melodies."""
    return max((index.longest_shared(m.events).notes for m in heldout), default=0)


def memorization_profile(melodies: Sequence, index: NoteRunIndex, floor: int) -> Mapping[str, object]:
    """Longest shared run per melody, the share of melodies above `floor`, and the longest run's piece."""
    runs = [index.longest_shared(_events(m)) for m in melodies]
    longest = max(runs, key=lambda r: r.notes, default=SharedRun(0, None, 0, 0))
    return {
        "runs": [r.notes for r in runs],
        "copied_share": sum(r.notes > floor for r in runs) / len(runs) if runs else float("nan"),
        "longest": longest,
    }


# ---------------------------------------------------------------------------------------------------
# One table: methods side by side with Bach and the noise floor

COLUMNS = {
    "melodies": "distinct melodies in the pool (identical samples, e.g. greedy's, count once)",
    "pitch classes vs Bach": "KL (bits) of the pooled pitch classes, each melody moved to C major / "
    "A minor, first {n} notes, from held-out Bach test melodies; lower is closer",
    "transitions vs Bach": "the same for pairs of consecutive pitch classes (melodic motion)",
    "remote keys": "share of melodies in keys with 4 or more sharps or flats (Bach's chorales rarely are)",
    "ends on tonic": "share of melodies whose last note is the tonic of their estimated key",
    "tonic by step": "share ending on the tonic reached by a step (1-2 semitones)",
    "outside key": "share of notes outside the estimated key's scale",
    "awkward intervals": "share of intervals that are tritones, sevenths or beyond an octave",
    "inner rests": "rests between the first and last note, per melody",
    "copied": "share of melodies repeating a training melody for more notes than any held-out Bach does",
    "longest copy": "longest run of notes (intervals and durations, any key) shared with one training melody",
}
_MEANS = {
    "ends on tonic": "ends_on_tonic",
    "tonic by step": "tonic_by_step",
    "outside key": "outside_key",
    "awkward intervals": "interval_awkward",
    "inner rests": "inner_rests",
}


@dataclass(frozen=True)
class StyleRow:
    """One pool (a method, or Bach) in the comparison: each figure with its bootstrap 95% interval."""

    label: str
    melodies: int
    figures: dict[str, Interval]  # COLUMNS name -> value and interval
    longest_copy: SharedRun


@dataclass(frozen=True)
class StyleReport:
    """Rows for the pools and for Bach validation (whose divergences are the noise floor)."""

    rows: list[StyleRow]
    noise_floor: tuple[float, float]  # (pitch classes, transitions): Bach validation vs Bach test
    memorization_floor: int  # longest run any held-out Bach melody shares with the training melodies
    n_notes: int | None

    def frame(self):
        """A pandas DataFrame: one row per pool, values rounded, intervals as "low-high" columns."""
        import pandas as pd  # pandas only for display

        records = []
        for row in self.rows:
            rec = {"method": row.label, "melodies": row.melodies}
            for name, iv in row.figures.items():
                rec[name] = iv.value
                rec[f"{name} 95%"] = f"{iv.low:.3g}-{iv.high:.3g}" if iv.low != iv.high else ""
            rec["longest copy"] = row.longest_copy.notes
            rec["copied from"] = row.longest_copy.piece_id or ""
            records.append(rec)
        return pd.DataFrame(records)

    def meanings(self) -> dict[str, str]:
        """Column name -> one-line meaning (N filled in)."""
        return {k: v.format(n=self.n_notes or "all") for k, v in COLUMNS.items()}


def distinct_melodies(melodies: Sequence) -> list:
    """The melodies with exact repeats (same events) removed, first occurrence kept."""
    seen, out = set(), []
    for m in melodies:
        key = tuple(_events(m))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def style_row(
    label: str,
    melodies: Sequence,
    reference: tuple[np.ndarray, np.ndarray],
    index: NoteRunIndex,
    floor: int,
    *,
    n_notes: int | None = EQUAL_NOTES,
    n_boot: int = BOOTSTRAP,
    seed: int = 0,
    distinct: bool = True,
) -> StyleRow:
    """Figures of one pool against `reference` = pooled (pitch-class, transition) counts of Bach test.

    `distinct` counts identical melodies once (greedy's samples are all one melody); Bach's own pools
    keep theirs (two chorales may set one tune identically)."""
    melodies = distinct_melodies(melodies) if distinct else list(melodies)
    pcs, trans = melody_counts(melodies, n_notes)
    profiles = [melody_profile(_events(m)) for m in melodies]
    keys = [estimate_key(_events(m)) for m in melodies]
    runs = [index.longest_shared(_events(m)) for m in melodies]

    def mean(values):
        return bootstrap(np.array(values, dtype=float), np.mean, n=n_boot, seed=seed)

    figures = {
        "pitch classes vs Bach": bootstrap(
            pcs, lambda r: divergence(r.sum(0), reference[0]), n=n_boot, seed=seed
        ),
        "transitions vs Bach": bootstrap(
            trans, lambda r: divergence(r.sum(0), reference[1]), n=n_boot, seed=seed
        ),
        "remote keys": mean([k is not None and abs(k.sharps) >= REMOTE_SHARPS for k in keys]),
    }
    figures.update({name: mean([p[key] for p in profiles]) for name, key in _MEANS.items()})
    figures["copied"] = mean([r.notes > floor for r in runs])
    longest = max(runs, key=lambda r: r.notes, default=SharedRun(0, None, 0, 0))
    return StyleRow(label, len(melodies), figures, longest)


@dataclass(frozen=True)
class StyleBaseline:
    """What a style report needs from held-out Bach alone, computed once per split: pooled Bach test
    counts, the training melodies' note-run index, the chance copy floor and the Bach validation row."""

    reference: tuple[np.ndarray, np.ndarray]
    index: NoteRunIndex
    floor: int
    bach_row: StyleRow
    n_notes: int | None
    n_boot: int
    seed: int


def style_baseline(
    *,
    train: Sequence[Melody],
    val: Sequence[Melody],
    test: Sequence[Melody],
    n_notes: int | None = EQUAL_NOTES,
    n_boot: int = BOOTSTRAP,
    seed: int = 0,
) -> StyleBaseline:
    """The Bach side of `style_report` (the part that does not depend on the generated pools)."""
    q_pc, q_tr = melody_counts(test, n_notes)
    reference = (q_pc.sum(0), q_tr.sum(0))
    index = NoteRunIndex(train)
    floor = memorization_floor([*val, *test], index)
    options = {"n_notes": n_notes, "n_boot": n_boot, "seed": seed}
    bach = style_row("Bach (validation)", val, reference, index, floor, distinct=False, **options)
    return StyleBaseline(reference, index, floor, bach, n_notes, n_boot, seed)


def style_report(
    pools: Mapping[str, Sequence],
    *,
    train: Sequence[Melody] = (),
    val: Sequence[Melody] = (),
    test: Sequence[Melody] = (),
    n_notes: int | None = EQUAL_NOTES,
    n_boot: int = BOOTSTRAP,
    seed: int = 0,
    baseline: StyleBaseline | None = None,
) -> StyleReport:
    """Each pool (label -> melodies or event lists) against held-out Bach test, with a "Bach (validation)"
    row first: its divergences are the noise floor, its copy figures the chance level. A `baseline` made
    by `style_baseline` for the same split saves recomputing the Bach side (the dashboard keeps one per
    model, its bootstrap seeded 0); without it one is made from train/val/test with `seed`. `n_boot`
    and `seed` seed the pools' bootstrap intervals."""
    if baseline is None:
        baseline = style_baseline(train=train, val=val, test=test, n_notes=n_notes, n_boot=n_boot, seed=seed)
    options = {"n_notes": baseline.n_notes, "n_boot": n_boot, "seed": seed}
    rows = [baseline.bach_row]
    rows += [
        style_row(label, ms, baseline.reference, baseline.index, baseline.floor, **options)
        for label, ms in pools.items()
    ]
    bach = rows[0].figures
    noise = (bach["pitch classes vs Bach"].value, bach["transitions vs Bach"].value)
    return StyleReport(rows, noise, baseline.floor, baseline.n_notes)
