"""Inside the model, for one melody: gates and states, what units track, and each note's surprise.

The one entry point the "Inside the model" page and `python -m bachlstm inspect` share:
`inspect_melody(checkpoint, events)` -> Inspection, and `inspection_json` for the command line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bachlstm.analysis.activations import Activations, record_activations
from bachlstm.analysis.embeddings import EmbeddingView, embedding_view
from bachlstm.analysis.probes import best_units, melody_correlations
from bachlstm.analysis.surprise import Surprise, melody_surprise
from bachlstm.generation.primer import upload_primer
from bachlstm.model.short_term import short_term_log_probs
from bachlstm.music.events import Event, Melody
from bachlstm.settings.problems import CodedError
from bachlstm.tokens.timeline import Timeline, melody_timeline
from bachlstm.tokens.tokenizers import UNK
from bachlstm.training.splits import inspection_order, split_melodies

log = logging.getLogger(__name__)

SPLIT_NAMES = ("test", "val", "train")  # where a chorale id is looked up, held-out melodies first
MAX_EVENTS = 512  # read_primer's limit for a file; the longest chorale melody has ~150
TOO_LONG = "too_long"  # InspectionError: events, max


class InspectionError(CodedError):
    """A melody the model cannot be looked inside over (`code` and `values` for a page)."""

    kind = "inspection"


@dataclass(frozen=True)
class Inspection:
    """One melody seen by one model: timeline (tokens in time), recorded activations, surprise, unit table.

    `units` is probes.melody_correlations (every unit x feature); `n_unknown` counts tokens the
    vocabulary lacks (their bits are large and say nothing about the music).
    """

    label: str
    events: tuple[Event, ...]
    timeline: Timeline
    activations: Activations
    surprise: Surprise
    units: pd.DataFrame
    n_unknown: int


def inspect_melody(checkpoint: Any, events: Sequence[Event] | Melody, label: str = "") -> Inspection:
    """Run `checkpoint` (anything with .model and .tokenizer) over a whole melody and look inside.

    ValueError for a melody without events or longer than the model can be shown over (MAX_EVENTS).
    """
    events = tuple(events.events if isinstance(events, Melody) else events)
    if len(events) > MAX_EVENTS:
        raise InspectionError(
            f"the melody has {len(events)} notes and rests; the page shows at most {MAX_EVENTS}",
            TOO_LONG,
            events=len(events),
            max=MAX_EVENTS,
        )
    timeline = melody_timeline(checkpoint.tokenizer, events)
    activations = record_activations(checkpoint.model, timeline.ids[:-1])
    scores = short_term_log_probs(checkpoint.model.config, timeline.ids, torch.from_numpy(activations.logits))
    surprise = melody_surprise(np.asarray(scores), timeline, checkpoint.tokenizer.vocab)
    units = melody_correlations(activations, timeline)
    n_unknown = sum(1 for i in timeline.ids if i == UNK)
    return Inspection(label, events, timeline, activations, surprise, units, n_unknown)


def find_melody(
    checkpoint: Any, melody: str | None = None, *, line: int | str | None = None, melodies: list | None = None
) -> tuple[list[Event], str]:
    """Events and a label for `melody`: a chorale id of the checkpoint's selection (e.g. "bwv66.6";
    the label says whether it was held out) or a MIDI/MusicXML file, transposed into the vocabulary
    if it has to be (`line`: the file's track or part, `upload_primer`); None: the first held-out (test
    split) melody line by `inspection_order`, the rule of the Inside the model page's default.
    `melodies` replaces the corpus (tests).
    ValueError naming what was tried.
    """
    if melody is None:
        test = inspection_order(split_melodies(checkpoint.meta, melodies)["test"])
        if not test:
            raise ValueError(
                "this model records no held-out melodies: give a chorale id or a MIDI/MusicXML file"
            )
        return list(
            test[0].events
        ), f"{test[0].piece_id} ({test[0].voice}, test split, the first held-out melody line)"
    path = Path(melody)
    if path.is_file():
        primer = upload_primer(path.read_bytes(), path.name, checkpoint.tokenizer, line=line)
        for warning in primer.warnings:  # damaged bytes, dropped ghost notes, another meter, the line
            log.warning("%s: %s", path.name, warning)
        taken = f", line {primer.line}" if len(primer.lines) > 1 else ""
        moved = f", transposed {primer.shift:+d} semitones to fit the vocabulary" if primer.shift else ""
        return primer.events, f"{path.name}{taken}{moved}"
    parts = split_melodies(checkpoint.meta, melodies)
    for split in SPLIT_NAMES:
        for m in parts[split]:
            if melody in (m.piece_id, f"{m.piece_id}:{m.voice}"):
                return list(m.events), f"{m.piece_id} ({m.voice}, {split} split)"
    raise ValueError(
        f"{melody!r} is neither a file nor a chorale id of this model's melodies "
        f"(e.g. {parts['test'][0].piece_id if parts['test'] else 'bwv66.6'})"
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _finite(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def inspection_json(inspection: Inspection, embedding: EmbeddingView, per_feature: int = 3) -> dict:
    """JSON-safe dict: `surprise` (one row per note with `bits`), `mean_bits_per_note`, `structure_bits`,
    `units` (the best `per_feature` units per feature), `embedding` (method, dims, explained, points)."""
    notes = inspection.surprise.notes
    cols = ["index", "name", "onset", "duration", "measure", "beat", "n_tokens", "bits"]
    points = embedding.frame[["token", "type", *[c for c in "xyz" if c in embedding.frame]]]
    return {
        "melody": inspection.label,
        "n_events": len(inspection.events),
        "n_tokens": len(inspection.timeline.ids),
        "n_unknown": inspection.n_unknown,
        "mean_bits_per_note": inspection.surprise.mean_bits,
        "structure_bits": inspection.surprise.structure_bits,
        "total_bits": inspection.surprise.total_bits,
        "surprise": _records(notes[cols]),
        "units": _records(best_units(inspection.units, per_feature)),
        "embedding": {
            "method": embedding.method,
            "dims": embedding.dims,
            "explained": list(embedding.explained),
            "points": _records(points),
        },
    }


def checkpoint_embedding(checkpoint: Any) -> EmbeddingView:
    """embedding_view of a checkpoint (anything with .model and .tokenizer)."""
    return embedding_view(checkpoint.model, checkpoint.tokenizer)
