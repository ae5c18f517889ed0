"""The "Bach or model?" listening test's excerpts: openings of held-out Bach melodies and a model's
melodies, cut to the same bars, played on the same instrument at the same tempo and for the same time.

- Bach: the first `bars` whole bars (after any pickup) of the model's validation and test melodies,
  never one it trained on (the checkpoint's recorded split).
- The model: a pool per model, method and length, generated once with the method's default knobs, no
  primer, cut the same way, identical excerpts kept once (greedy without a primer writes one melody),
  and kept on disk beside the runs (`runs/listening/`), keyed by the model's weights.
- A round pairs a model excerpt with a Bach excerpt of comparable range (mean pitch within
  `SAME_RANGE` semitones where one is, else the nearest), and draws which plays first: the draw is
  seeded by the round's key, so a round is the same round wherever it is drawn again.
- Audio of an excerpt lasts `excerpt_seconds(bars)` exactly, whatever its last note.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bachlstm.generation.generator import generate
from bachlstm.generation.sampling import METHODS
from bachlstm.model.checkpoints import Checkpoint, runs_dir
from bachlstm.music.audio import DEFAULT_TEMPO, TAIL_S, synth_name, to_ogg
from bachlstm.music.events import Event, Melody
from bachlstm.music.scores import BAR_QUARTERS
from bachlstm.reports.comparison import Knobs, method_config
from bachlstm.training.splits import melody_key, split_melodies

log = logging.getLogger(__name__)

POOL_SIZE = 24  # excerpts a model's pool aims for per method (fewer for greedy: identical ones count once)
BARS = (2, 4, 6, 8)  # the excerpt lengths a teacher can choose
DEFAULT_BARS = 4  # 12 s at the audio's tempo: long enough to hear a phrase, short enough for many rounds
SAME_RANGE = 3.0  # semitones between mean pitches that count as the same range
TOKENS_PER_BAR = 24  # generation budget: a bar of sixteenths in the factored tokenizer fits
POOL_VERSION = 1  # bump when the way pools are made changes: old files are then made again


@dataclass(frozen=True)
class Excerpt:
    """One excerpt: its id (a Bach melody's key, or 'method/i' in a model's pool) and its events."""

    id: str
    events: tuple[Event, ...]

    @cached_property  # asked for every Bach excerpt in every round's pairing
    def mean_pitch(self) -> float:
        """The mean MIDI pitch of its notes, weighted by duration (0 without notes)."""
        notes = [(e.midi, e.quarter_length) for e in self.events if not e.is_rest]
        total = sum(d for _, d in notes)
        return sum(m * d for m, d in notes) / total if total else 0.0


def excerpt_seconds(bars: int, tempo_bpm: float = DEFAULT_TEMPO) -> float:
    """How long every excerpt of `bars` bars plays: the bars plus the instrument's release."""
    return bars * BAR_QUARTERS * 60.0 / tempo_bpm + TAIL_S


def opening_bars(events: Sequence[Event], bars: int) -> tuple[Event, ...] | None:
    """The first `bars` whole bars after any pickup (events with measure 1..bars); None when the
    melody has fewer whole bars or no note in them."""
    cut = tuple(e for e in events if 1 <= e.measure <= bars)
    length = sum(e.quarter_length for e in cut)
    if abs(length - bars * BAR_QUARTERS) > 1e-6 or all(e.is_rest for e in cut):
        return None
    return cut


def bach_excerpts(meta: dict, bars: int, melodies: Sequence[Melody] | None = None) -> list[Excerpt]:
    """The openings of the checkpoint's held-out melodies (validation and test: never a training
    melody), `bars` whole bars each; `melodies` replaces the corpus selection (split_melodies')."""
    parts = split_melodies(meta, list(melodies) if melodies is not None else None)
    out = []
    for melody in [*parts["val"], *parts["test"]]:
        cut = opening_bars(melody.events, bars)
        if cut is not None:
            out.append(Excerpt(melody_key(melody), cut))
    return out


def model_excerpts(
    checkpoint: Checkpoint, method: str, bars: int, *, size: int = POOL_SIZE, seed: int = 0
) -> list[Excerpt]:
    """Up to `size` distinct excerpts of `bars` bars the model writes with `method` (its default
    knobs, no primer): twice as many melodies are generated in one batch, those too short are dropped."""
    config = method_config(Knobs(), method)
    gens = generate(
        checkpoint,
        [config],
        length=bars * TOKENS_PER_BAR + TOKENS_PER_BAR,
        min_length=int(bars * BAR_QUARTERS),  # a bar of quarters is four notes: rarely ends too soon
        seed=seed,
        samples=2 * size,
    )
    out, seen = [], set()
    for g in gens:
        cut = opening_bars(g.events, bars)
        if cut is None or cut in seen:
            continue
        seen.add(cut)
        out.append(Excerpt(f"{method}/{len(out)}", cut))
        if len(out) == size:
            break
    return out


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (two servers writing it at once write the same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".tmp", delete=False) as f:
        f.write(data)
    os.replace(f.name, path)


def excerpt_audio(excerpt: Excerpt, bars: int, folder: Path | None = None) -> bytes | None:
    """The excerpt as OGG Vorbis lasting exactly `excerpt_seconds(bars)`, made once and kept on disk
    (`runs/listening/audio/`, by content and synthesiser): a class's rounds replay the same excerpts,
    and encoding one costs about 0.2 s of CPU. None without a note."""
    seconds = excerpt_seconds(bars)
    events = json.dumps([e.to_dict() for e in excerpt.events], sort_keys=True)
    digest = hashlib.sha256(f"{events}|{seconds}|{synth_name()}".encode()).hexdigest()[:24]
    path = (folder if folder is not None else runs_dir() / "listening") / "audio" / f"{digest}.ogg"
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = to_ogg(excerpt.events, seconds=seconds)
    if data is not None:
        try:
            _write_atomically(path, data)
        except OSError as exc:  # a read-only runs folder: the audio still plays
            log.warning("excerpt audio not saved to %s: %s", path, exc)
    return data


def pool_path(checkpoint: Checkpoint, method: str, bars: int, folder: Path | None = None) -> Path:
    """Where a model's pool is kept: named by the model, a fingerprint of its weights, method and bars."""
    weights = (
        checkpoint.meta.get("weights_sha256") or hashlib.sha256(str(checkpoint.path).encode()).hexdigest()
    )
    name = f"{Path(str(checkpoint.path)).stem}-{weights[:12]}-{method}-{bars}bars-v{POOL_VERSION}.json"
    return (folder if folder is not None else runs_dir() / "listening") / name


def model_pool(checkpoint: Checkpoint, method: str, bars: int, folder: Path | None = None) -> list[Excerpt]:
    """The model's pool for a method and length: read from disk, or made once and written (atomically:
    two servers making it at once write the same file)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    path = pool_path(checkpoint, method, bars, folder)
    try:
        data = json.loads(path.read_text())
        return [Excerpt(x["id"], tuple(Event.from_dict(e) for e in x["events"])) for x in data["excerpts"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: made again below
    pool = model_excerpts(checkpoint, method, bars)
    data = {"excerpts": [{"id": x.id, "events": [e.to_dict() for e in x.events]} for x in pool]}
    try:
        _write_atomically(path, json.dumps(data).encode())
    except OSError as exc:  # a read-only runs folder: the pool still serves this process
        log.warning("listening pool not saved to %s: %s", path, exc)
    return pool


@dataclass(frozen=True)
class Pairing:
    """A round's two excerpts and which plays first."""

    generated: Excerpt
    bach: Excerpt
    bach_first: bool


def pair(generated_pool: Sequence[Excerpt], bach_pool: Sequence[Excerpt], round_key: str) -> Pairing:
    """A round's excerpts, drawn with the round's key as seed: a model excerpt, a Bach excerpt of
    comparable range (mean pitch within SAME_RANGE, else the nearest), and which plays first.
    ValueError when a pool is empty."""
    if not generated_pool or not bach_pool:
        raise ValueError("a listening round needs a model excerpt and a Bach excerpt")
    rng = random.Random(round_key)
    generated = rng.choice(list(generated_pool))
    distance = [abs(b.mean_pitch - generated.mean_pitch) for b in bach_pool]
    close = [b for b, d in zip(bach_pool, distance) if d <= SAME_RANGE]
    bach = rng.choice(close) if close else bach_pool[distance.index(min(distance))]
    return Pairing(generated, bach, rng.random() < 0.5)
