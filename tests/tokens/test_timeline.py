"""Tokens laid out in time: which note each token belongs to, the note features, the steps' spans."""

import numpy as np
import pytest

from bachlstm.tokens.timeline import beat_strength, melody_timeline, note_table, token_events
from bachlstm.tokens.tokenizers import build_tokenizer
from tests.builders import EVENTS, MELODY


def test_event_tokens_map_to_their_notes():
    tok = build_tokenizer("event", [MELODY])
    ids = tok.encode(EVENTS)
    words = [tok.vocab[i] for i in ids]
    assert words == [
        "<bos>", "G4_1", "BAR", "C5_2", "B4_1", "A4_1", "TIE", "BAR", "A4_1", "R_1", "G4_2", "BAR", "<eos>"
    ]  # fmt: skip
    assert token_events(tok, ids) == [-1, 0, -1, 1, 2, 3, 3, -1, 4, 5, 6, -1, -1]


def test_factored_tokens_map_to_their_notes():
    tok = build_tokenizer("factored", [MELODY])
    ids = tok.encode(EVENTS[:2])
    assert [tok.vocab[i] for i in ids] == [
        "<bos>",
        "G",
        "o4",
        "quarter",
        "d0",
        " ",
        "C",
        "o5",
        "half",
        "d0",
        " ",
        "<eos>",
    ]
    assert token_events(tok, ids) == [-1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1]


@pytest.mark.parametrize(
    "position, strength",
    [
        (0.0, 1.0),
        (2.0, 0.5),
        (1.0, 0.25),
        (3.0, 0.25),
        (0.5, 0.125),
        (3.5, 0.125),
        (0.25, 0.0625),
        (1 / 3, 1 / 256),
    ],
)
def test_beat_strength_in_four_four(position, strength):
    assert beat_strength(position) == strength


def test_note_table_features():
    notes = note_table(EVENTS)
    assert notes.name.tolist() == ["G4", "C5", "B4", "A4", "A4", "rest", "G4"]
    assert notes.onset.tolist() == [0.0, 1.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert notes.position_in_bar.tolist() == [3.0, 0.0, 2.0, 3.0, 0.0, 1.0, 2.0]
    assert notes.beat_strength.tolist() == [0.25, 1.0, 0.5, 0.25, 1.0, 0.25, 0.5]
    assert notes.distance_to_end.tolist() == [9.0, 8.0, 6.0, 5.0, 4.0, 3.0, 2.0]
    assert notes.pitch_height.tolist()[:2] == [67.0, 72.0] and np.isnan(notes.pitch_height[5])


def test_timeline_steps_tile_the_melody_and_note_steps_close_each_note():
    tok = build_tokenizer("event", [MELODY])
    tl = melody_timeline(tok, EVENTS)
    steps = tl.steps
    assert len(steps) == len(tl.ids) - 1  # EOS is only ever a target
    assert steps.start.iat[0] == 0.0 and steps.end.iat[-1] == 9.0
    np.testing.assert_allclose(steps.start.to_numpy()[1:], steps.end.to_numpy()[:-1])
    # BOS shares the pickup's quarter with G4; the tied A4's TIE shares its note's span.
    assert steps[["token", "start", "end"]].head(2).values.tolist() == [
        ["<bos>", 0.0, 0.5],
        ["G4_1", 0.5, 1.0],
    ]
    assert tl.note_steps().tolist() == [1, 3, 4, 6, 8, 9, 10]  # after the TIE for the tied A4
    assert tl.bar_lines == (1.0, 5.0)


def test_timeline_errors():
    tok = build_tokenizer("event", [MELODY])
    with pytest.raises(ValueError, match="no notes or rests"):
        melody_timeline(tok, [])
