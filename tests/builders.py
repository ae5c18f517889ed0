"""The test suite's shared builders: tiny notes, melodies, models and checkpoints built inline.

One definition of each, imported by the test modules (`from tests.builders import note, rest`); a test
module never imports another test module.
"""

from __future__ import annotations

from pathlib import Path

from bachlstm.music.durations import duration_type_of
from bachlstm.music.events import Event, Melody
from bachlstm.music.pitches import midi_of, spelled_pitch

ROOT = Path(__file__).resolve().parents[1]  # the repository
CHECKPOINTS = ROOT / "checkpoints"  # the shipped models


# ---------------------------------------------------------------- notes and rests


def note(pitch: str, octave: int, ql: float = 1.0, measure: int = 1, beat: float = 1.0, tie=None) -> Event:
    """A spelled note ("F#", 4): its MIDI number from the spelling, its duration type from `ql`."""
    dtype, dots = duration_type_of(ql)
    return Event("note", ql, dtype, dots, pitch, octave, midi_of(pitch, octave), tie, measure, beat)


def n(midi: int, ql: float = 1.0, measure: int = 1, beat: float = 1.0, tie=None) -> Event:
    """A note by its MIDI number (70 spelled "B-" 4, as in C major), its duration type from `ql`."""
    return note(*spelled_pitch(midi), ql, measure, beat, tie)


def rest(ql: float = 1.0, measure: int = 1, beat: float = 1.0) -> Event:
    """A rest, its duration type from `ql`."""
    return Event("rest", ql, *duration_type_of(ql), measure=measure, beat=beat)


# ---------------------------------------------------------------- melodies

SCALE = [("C", 60), ("D", 62), ("E", 64), ("F", 65), ("G", 67), ("A", 69), ("B", 71)]


def scale_melodies(count: int = 12) -> list[Melody]:
    """`count` short 4/4 melodies on the C major scale, each its own tune, with a few different shapes."""
    out = []
    for i in range(count):
        idx = [(i + k * (1 + i % 3)) % 7 for k in range(12)]
        events = [
            Event("note", 1.0, "quarter", 0, SCALE[j][0], 4, SCALE[j][1], measure=1 + k // 4)
            for k, j in enumerate(idx)
        ]
        events.append(Event("rest", 4.0, "whole", measure=4))
        out.append(Melody(f"p{i:02d}", "soprano", tuple(events), tune=f"t{i}"))
    return out


def short_melody(i: int = 0) -> Melody:
    """C D E G twice in quarters, then a half rest: tune `t{i}` of piece `p{i}`."""
    pitches = [("C", 60), ("D", 62), ("E", 64), ("G", 67)]
    events = tuple(
        Event("note", 1.0, "quarter", 0, p, 4, m, measure=1 + k // 4) for k, (p, m) in enumerate(pitches * 2)
    )
    return Melody(f"p{i}", "soprano", events + (Event("rest", 2.0, "half", measure=3),), tune=f"t{i}")


def mel(piece, tune="", voice="soprano", pitches=(("G", 4), ("F#", 4), ("B", 4)), key_sharps=1) -> Melody:
    """A melody of spelled quarter notes (by default G F# B in G major)."""
    return Melody(piece, voice, tuple(note(p, o) for p, o in pitches), tune=tune, key_sharps=key_sharps)


def pitches(m: Melody) -> list[tuple]:
    """(name, octave, MIDI) of each note of a melody."""
    return [(e.pitch, e.octave, e.midi) for e in m.events if e.kind == "note"]


# A quarter pickup, a tie across the bar line, a rest: every token kind shows up.
EVENTS = (
    note("G", 4, 1.0, 0, 4.0),
    note("C", 5, 2.0, 1, 1.0), note("B", 4, 1.0, 1, 3.0), note("A", 4, 1.0, 1, 4.0, "start"),
    note("A", 4, 1.0, 2, 1.0, "stop"), rest(1.0, 2, 2.0), note("G", 4, 2.0, 2, 3.0),
)  # fmt: skip
MELODY = Melody("m", "soprano", EVENTS)

# Two tiny 4/4 melodies: a pickup, dotted values, a rest, a tie across a bar line.
MELODIES = [
    Melody(
        "a",
        "soprano",
        (
            note("G", 4, 1.0, 0),
            note("C", 5, 1.5, 1), note("B", 4, 0.5, 1), note("A", 4, 1.0, 1), note("G", 4, 1.0, 1),
            note("E", 4, 2.0, 2), rest(1.0, 2), note("F#", 4, 1.0, 2, tie="start"),
            note("F#", 4, 1.0, 3, tie="stop"), note("G", 4, 2.0, 3), note("D", 5, 0.5, 3),
            note("C", 5, 0.5, 3),
        ),
    ),
    Melody(
        "b",
        "soprano",
        (
            note("E", 4, 4.0, 1),
            note("D", 4, 0.5, 2), note("E", 4, 0.5, 2), note("F", 4, 1.0, 2), note("G", 4, 2.0, 2),
            note("A", 4, 1.0, 3), rest(0.5, 3), note("B-", 4, 0.5, 3), note("C", 5, 2.0, 3),
        ),
    ),
]  # fmt: skip


# ---------------------------------------------------------------- models and checkpoints

TOKENIZERS = {
    "factored": ("factored", {}),
    "factored-rest": ("factored", {"rest_marker": True}),
    "event-bars-ties": ("event", {}),
    "event-plain": ("event", {"bar_tokens": False, "ties": False}),
}


def generation_model(name: str = "event-bars-ties", seed: int = 0):
    """(untrained model, tokenizer) over `MELODIES` with one of the four `TOKENIZERS`."""
    import torch

    from bachlstm.model.lstm import LSTMModel, ModelConfig
    from bachlstm.tokens.tokenizers import build_tokenizer

    kind, options = TOKENIZERS[name]
    tok = build_tokenizer(kind, MELODIES, **options)
    torch.manual_seed(seed)
    model = LSTMModel(
        ModelConfig(vocab_size=len(tok.vocab), embedding_dim=8, lstm_sizes=(16,), dropouts=(0.0,))
    )
    return model, tok


def inspection_model(kind: str, seed: int = 0, **config):
    """(untrained model in eval mode, tokenizer of `kind`) over `MELODY`; `config` overrides the sizes."""
    import torch

    from bachlstm.model.lstm import LSTMModel, ModelConfig
    from bachlstm.tokens.tokenizers import build_tokenizer

    tok = build_tokenizer(kind, [MELODY])
    torch.manual_seed(seed)
    base = dict(vocab_size=len(tok.vocab), embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,))
    return LSTMModel(ModelConfig(**{**base, **config})).eval(), tok


def as_checkpoint(model, tok):
    """An in-memory Checkpoint of a test model (generate() takes only a Checkpoint)."""
    from bachlstm.model.checkpoints import Checkpoint

    return Checkpoint(model, tok, {}, Path("tiny.safetensors"))


class Ckpt:
    """What inspect_melody needs of a checkpoint: a model and its tokenizer."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model, tokenizer


def step_progress(step, loss, epoch=1, total=10, eta=None, tps=0.0):
    """A training step's Progress record."""
    from bachlstm.training.loop import Progress

    return Progress("step", epoch, step, total, train_loss=loss, eta_s=eta, tokens_per_s=tps)


# Eight events, 8 quarters: two full 4/4 bars; the half note on beat 4 of bar 1 crosses the bar line.
TWO_BARS = [
    note("G", 4, 1.0),
    note("A", 4, 0.5),
    note("B", 4, 0.5),
    note("C", 5, 1.0),
    note("D", 5, 2.0),
    rest(1.0),
    note("F#", 4, 1.0),
    note("G", 4, 1.0),
]
