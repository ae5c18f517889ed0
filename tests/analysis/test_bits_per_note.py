"""Per-note model figures: exact values under a uniform model, and agreement with token-level evaluation."""

import math

import pytest
import torch

from bachlstm.analysis.bits_per_note import (
    note_bits,
    note_bits_of_ids,
    pitch_bits_given_duration,
    sequences_of,
)
from bachlstm.model.lstm import LSTMModel, ModelConfig
from bachlstm.music.events import Event
from bachlstm.tokens.tokenizers import build_tokenizer
from bachlstm.training.dataset import sequence_tensors
from bachlstm.training.evaluation import evaluate_tensors

# C4 quarter, C4 half, D4 quarter, a quarter rest
MELODY = (
    Event("note", 1.0, "quarter", 0, "C", 4, 60, measure=1, beat=1.0),
    Event("note", 2.0, "half", 0, "C", 4, 60, measure=1, beat=2.0),
    Event("note", 1.0, "quarter", 0, "D", 4, 62, measure=1, beat=4.0),
    Event("rest", 1.0, "quarter", 0, measure=2, beat=1.0),
)
B_SHARP = (Event("note", 1.0, "quarter", 0, "B#", 3, 60, measure=1, beat=1.0),)  # C4 spelled another way


def uniform_model(vocab_size: int) -> LSTMModel:
    """A real LSTM with every weight zero: logits 0, so every token has probability 1/V."""
    model = LSTMModel(ModelConfig(vocab_size=vocab_size, embedding_dim=2, lstm_sizes=(3,), dropouts=(0.0,)))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def test_event_tokens_under_a_uniform_model_exact():
    tok = build_tokenizer("event", [MELODY, B_SHARP])
    v = tok.vocab_size  # specials 4 + B#3_1, C4_1, C4_2, D4_1, R_1, BAR, TIE = 11
    assert v == 11
    nb = note_bits(uniform_model(v), tok, [MELODY])
    # targets: C4_1 C4_2 D4_1 BAR R_1 BAR EOS = 7 tokens for 4 events
    assert nb.n_events == 4 and nb.n_notes == 3
    assert nb.bits_per_event == pytest.approx(7 * math.log2(v) / 4)
    # C4 is spelled by 3 tokens (B#3_1, C4_1, C4_2), D4 by one
    assert nb.pitch_bits_per_note == pytest.approx((2 * math.log2(v / 3) + math.log2(v)) / 3)
    assert nb.duration_bits_per_note == pytest.approx((2 * math.log2(3)) / 3)
    assert nb.pitch_top1 == pytest.approx(2 / 3)  # C4 is the most probable pitch every time


def test_factored_tokens_under_a_uniform_model_exact():
    tok = build_tokenizer("factored", [MELODY, B_SHARP])
    v = tok.vocab_size  # 4 specials + B#, C, D + o3, o4 + half, quarter + d0 + separator = 13
    assert v == 13
    nb = note_bits(uniform_model(v), tok, [MELODY])
    # p(pitch) = sum over (name, octave) spelling it of 1/V^2: C4 = {C o4, B# o3}, D4 = {D o4}
    assert nb.n_notes == 3 and nb.n_events == 4
    assert nb.pitch_bits_per_note == pytest.approx((2 * math.log2(v * v / 2) + math.log2(v * v)) / 3)
    assert nb.bits_per_event == pytest.approx((5 * 3 + 3 + 1) * math.log2(v) / 4)  # 3 notes, a rest, EOS
    assert nb.duration_bits_per_note == pytest.approx(5 * math.log2(v) - nb.pitch_bits_per_note)
    assert nb.pitch_top1 == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", ["event", "factored"])
def test_bits_per_event_agree_with_token_loss(name, one_thread):
    torch.manual_seed(0)
    melodies = [MELODY, MELODY[::-1], B_SHARP + MELODY]
    tok = build_tokenizer(name, melodies)
    model = LSTMModel(
        ModelConfig(vocab_size=tok.vocab_size, embedding_dim=4, lstm_sizes=(8, 5), dropouts=(0.0, 0.0))
    )
    nb = note_bits(model, tok, melodies)
    x, y = sequence_tensors([tok.encode(m) for m in melodies])
    tokens = evaluate_tensors(model, x, y)
    assert nb.bits_per_event * nb.n_events == pytest.approx(tokens["loss"] * tokens["n_tokens"] / math.log(2))
    assert 0 <= nb.pitch_top1 <= 1 and nb.pitch_bits_per_note > 0
    assert note_bits_of_ids(model, tok, sequences_of(x, y)) == nb  # what training reports from tensors


def test_pitch_bits_given_duration_exact_on_a_hand_made_joint():
    # candidates: C4 quarter, C4 half, D4 quarter, B#3 quarter (C4 spelled another way)
    pitch_of, duration_of = torch.tensor([60, 60, 62, 60]), torch.tensor([0, 1, 0, 0])
    joint = torch.tensor([[0.2, 0.4, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    bits = pitch_bits_given_duration(
        joint, pitch_of, duration_of, true_pitch=torch.tensor([60, 62]), true_duration=torch.tensor([0, 0])
    )
    # row 0: C4 of the quarters (0.2 + 0.1) / 0.4; row 1: D4 of the quarters 0.25 / 0.75
    assert bits.tolist() == pytest.approx([-math.log2(0.3 / 0.4), math.log2(3)])


def test_pitch_given_duration_under_a_uniform_model_exact():
    tok = build_tokenizer("event", [MELODY, B_SHARP])
    nb = note_bits(uniform_model(tok.vocab_size), tok, [MELODY])
    # quarters: B#3_1, C4_1, D4_1 -> C4 2/3, D4 1/3; halves: C4_2 alone -> C4 certain
    assert nb.pitch_bits_given_duration == pytest.approx((math.log2(3 / 2) + 0 + math.log2(3)) / 3)
    tok = build_tokenizer("factored", [MELODY, B_SHARP])
    nb = note_bits(uniform_model(tok.vocab_size), tok, [MELODY])
    # every (name, octave, type, dots) equally likely: C4 = {C o4, B# o3} of 3 names x 2 octaves, D4 one
    assert nb.pitch_bits_given_duration == pytest.approx((2 * math.log2(6 / 2) + math.log2(6)) / 3)


@pytest.mark.parametrize("name", ["event", "factored"])
def test_knowing_the_duration_never_costs_more_than_the_joint(name, one_thread):
    torch.manual_seed(1)
    melodies = [MELODY, MELODY[::-1], B_SHARP + MELODY]
    tok = build_tokenizer(name, melodies)
    model = LSTMModel(
        ModelConfig(vocab_size=tok.vocab_size, embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,))
    )
    nb = note_bits(model, tok, melodies)
    # p(pitch | duration) = p(pitch, duration) / p(duration) >= p(pitch, duration); a note's bits include
    # the joint's, so given-duration bits stay below pitch + duration bits per note
    assert 0 < nb.pitch_bits_given_duration < nb.pitch_bits_per_note + nb.duration_bits_per_note
