"""Per-note model figures: exact values under a uniform model, and agreement with token-level evaluation."""

import math

import pytest
import torch

from bachlstm.analysis.bits_per_note import note_bits, note_bits_of_ids, sequences_of
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
