"""Metrics: exact values on tiny hand-made melodies, edge cases, and the Bach reference on the real corpus."""

import math

import numpy as np
import pytest
import torch

from bachlstm.analysis.metrics import (
    METRIC_COLUMNS,
    Loop,
    bar_sums,
    bar_validity,
    best_scale,
    build_reference,
    distinct_n,
    event_key,
    find_loop,
    kl_divergence,
    length_quarters,
    mean_abs_interval,
    mean_row,
    melody_metrics,
    n_events,
    n_notes,
    pc_transitions,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_classes_used,
    pitch_range,
    reference_metrics,
    scale_consistency,
    scales,
    self_perplexity,
    seq_rep_n,
    validity,
)
from bachlstm.music.events import Event, Melody
from tests.builders import n, rest

# Bars: [C E G(h)] [r G(e) F(e) E(h)] [D C] -> 4, 4, 2 quarters.
FIX = [
    n(60, 1.0, 1), n(64, 1.0, 1), n(67, 2.0, 1),
    rest(1.0, 2), n(67, 0.5, 2), n(65, 0.5, 2), n(64, 2.0, 2),
    n(62, 1.0, 3), n(60, 1.0, 3),
]  # fmt: skip


def test_counts_and_range():
    assert (n_events(FIX), n_notes(FIX), length_quarters(FIX)) == (9, 8, 10.0)
    assert pitch_range(FIX) == 7
    assert pitch_classes_used(FIX) == 5
    assert (n_events([]), n_notes([]), length_quarters([]), pitch_range([]), pitch_classes_used([])) == (
        0,
        0,
        0.0,
        0,
        0,
    )
    assert pitch_range([rest(1.0)]) == 0


def test_pitch_class_histogram_and_entropy_exact():
    hist = pitch_class_histogram(FIX)
    expected = np.zeros(12)
    expected[[0, 2, 4, 5, 7]] = [2, 1, 3, 0.5, 2.5]
    np.testing.assert_allclose(hist, expected / 9)
    np.testing.assert_allclose(
        pitch_class_histogram(FIX, weighted=False)[[0, 2, 4, 5, 7]], [2 / 8, 1 / 8, 2 / 8, 1 / 8, 2 / 8]
    )
    ps = np.array([2, 1, 3, 0.5, 2.5]) / 9
    assert pitch_class_entropy(FIX) == pytest.approx(float(-(ps * np.log2(ps)).sum()))
    assert pitch_class_entropy([n(60, 1.0)] * 3) == 0.0
    assert pitch_class_entropy([]) == 0.0
    assert pitch_class_histogram([]).sum() == 0.0
    # Twelve equal pitch classes: the maximum, log2 12.
    chromatic = [Event("note", 1.0, pitch="C", octave=4, midi=60 + k) for k in range(12)]
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))


def test_scale_consistency():
    assert len(scales()) == 24
    assert best_scale(FIX) == ("C major", 1.0)
    # F# is outside C major; G major holds all of C D E F# G but not F.
    with_fsharp = [*FIX, n(66, 1.0)]
    assert scale_consistency(with_fsharp) == pytest.approx(8 / 9)
    assert best_scale([n(60, 1), n(62, 1), n(64, 1), n(66, 1), n(67, 1)]) == ("G major", 1.0)
    # Harmonic minor: A B C D E F G#; D minor holds C# and B-.
    assert best_scale([]) == ("", 0.0)


def test_mean_abs_interval():
    assert mean_abs_interval(FIX) == 2.0  # |4|+|3|+0+|2|+|1|+|2|+|2| = 14 over 7
    assert mean_abs_interval([n(60, 1.0)]) == 0.0
    assert mean_abs_interval([n(60, 1.0), rest(1.0), n(67, 1.0)]) == 7.0


def test_distinct_and_seq_rep():
    items = list("ababc")
    assert distinct_n(items, 2) == 0.75
    assert distinct_n(items, 3) == 1.0
    assert seq_rep_n(items, 2) == 0.25
    assert distinct_n(list("a"), 2) == 0.0 and seq_rep_n([], 2) == 0.0
    keys = [event_key(e) for e in FIX]
    assert keys[3] == (None, 1.0)
    assert distinct_n(keys, 2) == 1.0


@pytest.mark.parametrize(
    "items,expected",
    [
        ([1, 2, 3] * 3, Loop(3, 3, 0)),
        ([9, 1, 2, 1, 2, 1, 2], Loop(2, 3, 1)),
        ([7] + [5] * 6, Loop(1, 6, 1)),
        ([5, 5, 5], None),  # a held final note is not a loop
        ([1, 2, 1, 2], None),
        ([1, 2, 3, 4, 5, 6], None),
        ([], None),
        ([4, 1, 2, 1, 2, 1, 2, 1, 2], Loop(2, 4, 1)),
    ],
    ids=["period3", "period2", "held6", "held3", "twice", "none", "empty", "maximal"],
)
def test_find_loop(items, expected):
    assert find_loop(items) == expected


def test_bar_validity():
    assert bar_sums(FIX) == [(1, 4.0), (2, 4.0), (3, 2.0)]
    assert bar_validity(FIX) == pytest.approx(2 / 3)
    # A pickup of 1 and a last bar of 3 complete each other.
    pickup = [n(67, 1.0, 0), n(60, 4.0, 1), n(62, 3.0, 2)]
    assert bar_validity(pickup) == 1.0
    # Without bar numbers, bars are cut every 4 quarters; the half note at offset 3 crosses a bar line.
    assert bar_validity([n(60, ql, measure=0) for ql in (1.0, 1.0, 1.0, 2.0, 1.0, 2.0)]) == 0.0
    assert bar_validity([n(60, ql, measure=0) for ql in (2.0, 2.0, 4.0)]) == 1.0
    assert bar_validity([]) == 0.0
    assert bar_validity([n(60, 1.0, 0)]) == 0.0  # a lone pickup: nothing to judge


def test_validity():
    assert validity(10, 3) == 0.7
    assert validity(0, 0) == 1.0


def test_transitions_and_kl():
    t = pc_transitions(FIX)
    assert t.sum() == 7
    assert t[0, 4] == 1 and t[7, 7] == 1 and t[4, 2] == 1 and t[2, 0] == 1
    assert kl_divergence(np.ones(12), np.ones(12)) == 0.0
    assert kl_divergence([1, 0], [0, 1]) == pytest.approx(0.99 * math.log2(199))
    assert kl_divergence([0, 0], [3, 1], smoothing=0.0) == pytest.approx(
        0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2)
    )
    with pytest.raises(ValueError, match="size"):
        kl_divergence(np.ones(12), np.ones(144))


def test_self_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    from bachlstm.model.lstm import LSTMModel, ModelConfig

    model = LSTMModel(ModelConfig(vocab_size=17, embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,)))
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.zero_()
    assert self_perplexity(model, [2, 5, 6, 7, 3]) == pytest.approx(17.0)
    assert self_perplexity(model, [2, 5, 6, 7, 3], start=3) == pytest.approx(17.0)
    assert math.isnan(self_perplexity(model, [2]))
    assert model.training  # the model's mode is restored


def test_melody_metrics_keys_and_reference_leave_one_out():
    row = melody_metrics(FIX, n_groups=10, n_invalid=1)
    assert tuple(row) == METRIC_COLUMNS
    assert row["validity"] == 0.9 and row["pitch_range"] == 7 and row["loops"] is False
    assert row["kl_pc"] is None and row["self_perplexity"] is None
    other = [n(67, 2.0, 1), n(70, 2.0, 1)]
    melodies = [Melody("a", "soprano", tuple(FIX)), Melody("b", "soprano", tuple(other))]
    ref = build_reference(melodies)
    bach = reference_metrics(melodies, ref)
    weights_a = pitch_class_histogram(FIX) * 9
    weights_b = pitch_class_histogram(other) * 4
    expected = (kl_divergence(weights_a, weights_b) + kl_divergence(weights_b, weights_a)) / 2
    assert bach["kl_pc"] == pytest.approx(expected)
    assert bach["events"] == 5.5 and bach["validity"] == 1.0
    # Primer events count for bar validity only.
    row = melody_metrics(FIX[7:], primer=FIX[:7])
    assert row["events"] == 2 and row["bar_validity"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        build_reference([])


def test_melody_metrics_with_tokens_model_and_memorization():
    from bachlstm.model.lstm import LSTMModel, ModelConfig
    from bachlstm.tokens.tokenizers import build_tokenizer

    melodies = [Melody("a", "soprano", tuple(FIX)), Melody("b", "soprano", (n(67, 2.0, 1), n(70, 2.0, 1)))]
    tok = build_tokenizer("event", melodies, bar_tokens=False, ties=False)
    model = LSTMModel(
        ModelConfig(vocab_size=len(tok.vocab), embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,))
    )
    ref = build_reference(melodies[1:], training_tokens=[("a", tok.encode(FIX))])
    tokens = tok.encode(FIX[:4])[:-1]
    row = melody_metrics(FIX[:4], tokens=tokens, token_start=1, model=model, reference=ref)
    assert row["memorized"] == 4 and row["memorized_piece"] == "a"
    assert row["self_perplexity"] > 1.0
    bach = reference_metrics(melodies[1:], ref, tokenizer=tok, model=model)
    assert bach["memorized"] == 1 and bach["validity"] == 1.0  # shares one note with piece "a"


def test_mean_row():
    rows = [
        {"a": 1, "b": True, "c": None, "d": "x"},
        {"a": 2, "b": False, "c": None, "d": "x"},
        {"a": 3, "b": True, "c": None, "d": "y"},
    ]
    assert mean_row(rows) == {"a": 2.0, "b": pytest.approx(2 / 3), "c": None, "d": "x"}


def test_bach_reference_on_the_real_corpus():
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select

    melodies = select(load_corpus(), SelectionConfig()).melodies[:40]
    bach = reference_metrics(melodies, build_reference(melodies))
    assert bach["bar_validity"] > 0.95
    assert bach["scale_consistency"] > 0.95
    assert 0.5 < bach["distinct_2"] < 0.9
    assert bach["loops"] < 0.1
    assert 1.0 < bach["mean_interval"] < 3.0


def test_kl_is_none_without_notes():
    ref = build_reference([Melody("a", "soprano", tuple(FIX))])
    rests = melody_metrics([rest(4.0, 1)], reference=ref)
    assert rests["kl_pc"] is None and rests["kl_transitions"] is None
    one = melody_metrics([n(60, 4.0, 1)], reference=ref)
    assert one["kl_pc"] is not None and one["kl_transitions"] is None


def test_self_perplexities_in_one_batch_equal_one_at_a_time():
    """Padding after a shorter sequence never changes its figure; starts are per sequence."""
    from bachlstm.analysis.metrics import PERPLEXITY_ROWS, self_perplexities
    from bachlstm.model.lstm import LSTMModel, ModelConfig

    torch.manual_seed(3)
    model = LSTMModel(ModelConfig(vocab_size=20, embedding_dim=6, lstm_sizes=(8, 5), dropouts=(0.0, 0.0)))
    seqs = [[2, 5, 6, 7, 3], [2, 9], [2], [2, 4, 4, 4, 4, 4, 4, 8, 11, 3], [2, 7, 7]] * 4  # 20 > 16 rows
    starts = [1, 1, 1, 3, 5] * 4
    batched = self_perplexities(model, seqs, starts)
    one = [self_perplexity(model, s, start=k) for s, k in zip(seqs, starts)]
    assert len(seqs) > PERPLEXITY_ROWS
    assert (
        [math.isnan(x) for x in batched]
        == [math.isnan(x) for x in one]
        == [False, False, True, False, True] * 4
    )
    assert [x for x in batched if not math.isnan(x)] == pytest.approx(
        [x for x in one if not math.isnan(x)], rel=1e-5
    )
