"""Score one melody (a student's, a chorale, a generated one) against held-out Bach, and under a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from bachlstm.analysis.bits_per_note import note_bits
from bachlstm.analysis.style import (
    EQUAL_NOTES,
    NoteRunIndex,
    divergence,
    melody_counts,
    melody_profile,
    memorization_floor,
)
from bachlstm.music.events import Event, Melody
from bachlstm.music.tonality import estimate_key


@dataclass(frozen=True)
class BachSplit:
    """Bach melodies a score is measured against: training (for copies), validation and test."""

    train: list[Melody]
    val: list[Melody]
    test: list[Melody]
    source: str  # where the split comes from ("checkpoint bach", "preset bach")


@dataclass(frozen=True)
class MelodyScore:
    """Per-melody figures, each beside what held-out Bach melodies score on it.

    `figures` are tonality.melody_profile's (transposition-invariant) plus the key-normalised
    pitch-class and transition divergences of the first EQUAL_NOTES notes from pooled Bach test, and
    `remote_key` (4+ sharps or flats). `bach` holds, for each figure, the median and the 10th-90th
    percentiles over the Bach validation melodies. `copy` is the longest run shared with a training
    melody (notes, piece) and `copy_floor` the longest any held-out Bach melody shares by chance.
    `model` holds note_bits figures under a checkpoint when one was given.
    """

    key: str
    figures: dict[str, float]
    bach: dict[str, dict[str, float]]
    copy_notes: int
    copy_piece: str | None
    copy_floor: int
    model: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN kept as NaN; json.dumps writes it as NaN)."""
        return asdict(self)


def bach_split(checkpoint=None, preset: str = "bach") -> BachSplit:
    """The split a checkpoint recorded (so "held-out" means unseen by that model), or else the split the
    named preset makes of the corpus."""
    # imported here: loading the corpus and torch-backed checkpoints only when a score is asked for
    if checkpoint is not None:
        from bachlstm.training.splits import split_melodies

        parts = split_melodies(checkpoint.meta)
        return BachSplit(parts["train"], parts["val"], parts["test"], f"checkpoint {checkpoint.path.stem}")
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import select
    from bachlstm.training.dataset import split_by_tune
    from bachlstm.training.presets import get_preset

    p = get_preset(preset)
    parts = split_by_tune(
        select(load_corpus(), p.selection).melodies, p.data.split_fractions, p.data.split_seed
    )
    return BachSplit(parts["train"], parts["val"], parts["test"], f"preset {preset}")


def _figures(events: Sequence[Event], reference: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    pcs, trans = melody_counts([events], EQUAL_NOTES)
    key = estimate_key(events)
    row = dict(melody_profile(events))
    row["pitch_classes_vs_bach"] = divergence(pcs.sum(0), reference[0])
    row["transitions_vs_bach"] = divergence(trans.sum(0), reference[1])
    row["remote_key"] = float(key is not None and abs(key.sharps) >= 4)
    return row


def score_melody(events: Sequence[Event], split: BachSplit, checkpoint=None) -> MelodyScore:
    """Every per-melody figure of `events` against `split` (see MelodyScore); ValueError if no note."""
    key = estimate_key(events)
    if key is None:
        raise ValueError("the melody has no notes to score")
    q_pc, q_tr = melody_counts(split.test, EQUAL_NOTES)
    reference = (q_pc.sum(0), q_tr.sum(0))
    figures = _figures(events, reference)
    bach_rows = [_figures(m.events, reference) for m in split.val]
    bach = {}
    for name in figures:
        values = [r[name] for r in bach_rows if not math.isnan(r[name])]
        low, median, high = np.percentile(values, [10, 50, 90]) if values else (math.nan,) * 3
        bach[name] = {"p10": float(low), "median": float(median), "p90": float(high)}
    index = NoteRunIndex(split.train)
    run = index.longest_shared(events)
    model = {}
    if checkpoint is not None:
        model = note_bits(checkpoint.model, checkpoint.tokenizer, [events]).to_dict()
    floor = memorization_floor([*split.val, *split.test], index)
    return MelodyScore(key.name, figures, bach, run.notes, run.piece_id, floor, model)
