"""Dataset: config validation, split by tune, windows, datasets (transposition: music/test_pitches.py)."""

import dataclasses
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.tokens.tokenizers import BOS, EOS, PAD, UNK, build_tokenizer
from bachlstm.training.dataset import (
    DataConfig,
    DataConfigError,
    build_datasets,
    make_windows,
    sequence_tensors,
    split_by_tune,
    tune_groups,
    tune_weights,
    window_starts,
    window_weights,
)
from tests.builders import mel

# ---------------------------------------------------------------- config


def test_config_defaults_and_normalisation():
    c = DataConfig()
    assert (c.seq_len, c.stride, c.augment_semitones, c.split_fractions, c.split_seed) == (
        128, 64, (), (0.8, 0.1, 0.1), 0)  # fmt: skip
    assert DataConfig(augment_semitones=2).augment_semitones == (-2, -1, 1, 2)
    assert DataConfig(augment_semitones=[3, 0, -1, 3]).augment_semitones == (-1, 3)
    c = DataConfig(seq_len=8, stride=4, augment_semitones=(1,), split_fractions=[0.5, 0.25, 0.25])
    assert DataConfig.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seq_len": 0}, "seq_len must be a whole number of at least 1, got 0"),
        ({"seq_len": 2.5}, "seq_len must be a whole number of at least 1, got 2.5"),
        ({"stride": 0}, "stride must be a whole number from 1 to seq_len"),
        ({"seq_len": 8, "stride": 9}, "stride must be a whole number from 1 to seq_len \\(8\\)"),
        ({"augment_semitones": (12,)}, "-11..11, got 12"),
        ({"augment_semitones": 13}, "0..11, got 13"),
        ({"augment_semitones": "up"}, "got 'u'"),
        ({"split_fractions": (0.5, 0.5)}, "needs 3 values"),
        ({"split_fractions": (0.5, 0.3, 0.3)}, "must sum to 1"),
        ({"split_fractions": (0.0, 0.5, 0.5)}, "training share must be > 0"),
        ({"split_fractions": (1.2, -0.1, -0.1)}, "numbers in \\[0, 1\\]"),
        ({"split_seed": -1}, "split_seed must be a whole number of at least 0"),
        ({"tune_weight": 1.5}, "tune_weight must be from 0 to 1, got 1.5"),
        ({"tune_weight": True}, "tune_weight must be from 0 to 1, got True"),
    ],
    ids=[
        "seq0",
        "seqfloat",
        "stride0",
        "stride>seq",
        "shift",
        "shiftN",
        "shiftstr",
        "frac2",
        "fracsum",
        "train0",
        "fracrange",
        "seed",
        "tuneweight",
        "tuneweightbool",
    ],  # fmt: skip
)
def test_config_errors_name_the_bad_value(kwargs, message):
    with pytest.raises(DataConfigError, match=message):
        DataConfig(**kwargs)


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(DataConfigError, match="unknown DataConfig field"):
        DataConfig.from_dict({"seq_len": 4, "batch": 3})


# ---------------------------------------------------------------- split

# Tunes: A (3 pieces), B (2), C..H (1 each); piece p9 has two voices.
SPLIT_MELODIES = [
    mel("p0", "A"), mel("p1", "A"), mel("p2", "A"), mel("p3", "B"), mel("p4", "B"),
    mel("p5", "C"), mel("p6", "D"), mel("p7", "E"), mel("p8", "F"), mel("p9", "G"),
    mel("p9", "", voice="alto"), mel("p10", "H"),
]  # fmt: skip


def test_tune_groups_join_tunes_and_voices_of_a_piece():
    groups = [[(m.piece_id, m.voice) for m in g] for g in tune_groups(SPLIT_MELODIES)]
    assert groups[0] == [("p0", "soprano"), ("p1", "soprano"), ("p2", "soprano")]
    assert [("p9", "alto"), ("p9", "soprano")] in groups
    assert len(groups) == 8


def test_split_keeps_tunes_together_and_is_deterministic():
    split = split_by_tune(SPLIT_MELODIES, (0.6, 0.2, 0.2), seed=3)
    assert sum(len(v) for v in split.values()) == len(SPLIT_MELODIES)
    seen = {}
    for name, mels in split.items():
        for m in mels:
            assert seen.setdefault(m.tune or m.piece_id, name) == name
            assert seen.setdefault(m.piece_id, name) == name
    assert all(split[name] for name in ("train", "val", "test"))
    shuffled = SPLIT_MELODIES[:]
    random.Random(0).shuffle(shuffled)
    assert split_by_tune(shuffled, (0.6, 0.2, 0.2), seed=3) == split
    others = {tuple(m.piece_id for m in split_by_tune(SPLIT_MELODIES, (0.6, 0.2, 0.2), s)["test"])
              for s in range(10)}  # fmt: skip
    assert len(others) > 1  # the seed matters


def test_split_fills_val_and_test_to_their_share():
    mels = [mel(f"p{i:02d}", f"t{i}") for i in range(20)]
    split = split_by_tune(mels, (0.8, 0.1, 0.1), seed=0)
    assert [len(split[n]) for n in ("train", "val", "test")] == [16, 2, 2]
    assert [len(v) for v in split_by_tune(mels, (1.0, 0.0, 0.0), 0).values()] == [20, 0, 0]


def test_split_with_too_few_tunes_is_a_clear_error():
    with pytest.raises(DataConfigError, match="too few") as caught:
        split_by_tune([mel("p0", "A"), mel("p1", "B")], (0.8, 0.1, 0.1), 0)
    assert (caught.value.kind, caught.value.code, caught.value.values) == (
        "data",
        "too_few_groups",
        {"groups": 2},
    )


# ---------------------------------------------------------------- windows


def test_windows_exact_with_overlap_and_padding():
    x, y = make_windows([[2, 5, 6, 7, 8, 4, 3], [2, 9, 3], [2]], seq_len=3, stride=2, pad_id=0)
    assert x.tolist() == [[2, 5, 6], [6, 7, 8], [8, 4, 3], [2, 9, 3]]
    assert y.tolist() == [[5, 6, 7], [7, 8, 4], [4, 3, 0], [9, 3, 0]]
    # a window that reaches the end stops the sequence: no extra, all-padding window
    assert make_windows([[2, 5, 6, 7, 8, 3]], seq_len=3, stride=2)[0].tolist() == [[2, 5, 6], [6, 7, 8]]
    assert x.dtype == y.dtype == torch.long


def test_windows_empty_input():
    x, y = make_windows([[2]], seq_len=4, stride=4)
    assert x.shape == y.shape == (0, 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(2, 40), min_size=1, max_size=4), st.integers(1, 12), st.data())
def test_every_target_position_is_covered(lengths, seq_len, data):
    stride = data.draw(st.integers(1, seq_len))
    seqs = [list(range(100 * k + 10, 100 * k + 10 + n)) for k, n in enumerate(lengths)]
    x, y = make_windows(seqs, seq_len, stride, PAD)
    targets = set(y[y != PAD].tolist())
    assert targets == {t for s in seqs for t in s[1:]}
    # wherever the target is real, the input is the token right before it
    real = y != PAD
    assert ((y - x)[real] == 1).all()


def test_padding_is_ignored_by_the_loss():
    x, y = make_windows([[2, 5, 6, 3], [2, 7, 3]], seq_len=4, stride=4, pad_id=PAD)
    logits = torch.randn(*y.shape, 10, generator=torch.Generator().manual_seed(0))
    loss = torch.nn.CrossEntropyLoss(ignore_index=PAD)(logits.reshape(-1, 10), y.reshape(-1))
    real = y != PAD
    manual = torch.nn.functional.cross_entropy(logits[real], y[real])
    assert int(real.sum()) == 5 and torch.isclose(loss, manual)


# ---------------------------------------------------------------- datasets


def test_build_datasets_augments_train_only():
    mels = [mel(f"p{i:02d}", f"t{i}", pitches=(("G", 4), ("A", 4), ("B", 4), ("C", 5))) for i in range(10)]
    config = DataConfig(seq_len=4, stride=2, augment_semitones=(-2, 2), split_fractions=(0.6, 0.2, 0.2))
    tok = build_tokenizer("event", mels, transpositions=config.augment_semitones, bar_tokens=False)
    ds = build_datasets(mels, tok, config)
    assert {k: (v["melodies"], v["sequences"]) for k, v in ds.stats.items()} == {
        "train": (6, 18), "val": (2, 2), "test": (2, 2)}  # fmt: skip
    # Each sequence: BOS + 4 notes + EOS = 6 tokens, 5 targets -> windows at 0 and 2 (padded).
    assert ds.train.inputs.shape == (36, 4)
    # Val and test are whole melodies, one row each: every target scored once with its whole piece.
    assert ds.val.inputs.shape == ds.test.targets.shape == (2, 5)
    notes = [tok.token_id(t) for t in ("G4_1", "A4_1", "B4_1", "C5_1")]
    assert ds.test.targets[1].tolist() == [*notes, EOS] and ds.test.inputs[1].tolist() == [BOS, *notes]
    assert set(ds.split["train"]).isdisjoint(ds.split["test"])
    assert sorted(ds.split["train"] + ds.split["val"] + ds.split["test"]) == [m.piece_id for m in mels]
    assert ds.stats["train"]["unknown_tokens"] == 0
    assert [m.piece_id for m in ds.melodies["val"]] == ds.split["val"]


def test_augmentation_can_stay_in_bachs_keys():
    # G major (1 sharp): +2 -> A major (3 sharps), +4 -> B major (5), -2 -> F major (1 flat), -4 -> E-flat (3)
    mels = [mel(f"p{i:02d}", f"t{i}") for i in range(10)]
    config = DataConfig(
        augment_semitones=(-4, -2, 2, 4), max_key_accidentals=3, split_fractions=(0.6, 0.2, 0.2)
    )
    tok = build_tokenizer("event", mels, transpositions=config.augment_semitones, bar_tokens=False)
    ds = build_datasets(mels, tok, config)
    train = ds.stats["train"]
    assert (train["sequences"], train["transpositions_out_of_range"]) == (6 * 4, 6)  # B major left out
    assert DataConfig(augment_semitones=(-4, -2, 2, 4)).max_key_accidentals is None  # all by default
    with pytest.raises(DataConfigError, match="max_key_accidentals"):
        DataConfig(max_key_accidentals=8)


def test_tune_weights_count_a_tune_once_however_often_it_was_harmonised():
    train = [mel("a", "t1"), mel("b", "t1"), mel("c", "t2"), mel("d", "t1"), mel("e", "t3")]
    transposed = dataclasses.replace(train[0], key_sharps=3)  # a transposition keeps piece and voice
    assert tune_weights([*train, transposed], train, 1.0) == [1 / 3, 1 / 3, 1, 1 / 3, 1, 1 / 3]
    assert tune_weights(train[:3], train, 0.5) == pytest.approx([3**-0.5, 3**-0.5, 1])
    assert tune_weights(train, train, 0.0) == [1.0] * 5


def test_window_weights_follow_make_windows_and_average_one_per_token():
    seqs = [[1, 2, 3], [1, 2, 3, 4, 5]]  # one window of 2 targets; two windows of 2 targets each
    assert [window_starts(len(s), 2, 2) for s in seqs] == [[0], [0, 2]]
    assert len(make_windows(seqs, 2, 2)[0]) == 3
    # weights 1 and 0.5 per sequence: (2*1 + 2*0.5 + 2*0.5) / 6 tokens = 2/3, scaled by 3/2
    assert window_weights(seqs, [1.0, 0.5], 2, 2).tolist() == [1.5, 0.75, 0.75]
    assert window_starts(1, 4, 2) == []  # a lone token gives no window, as in make_windows


def test_build_datasets_weights_training_windows_by_tune_only_when_asked():
    mels = [mel(f"p{i:02d}", "t0" if i < 3 else f"t{i}") for i in range(10)]  # one tune harmonised 3 times
    tok = build_tokenizer("event", mels, bar_tokens=False)
    config = DataConfig(seq_len=8, stride=8, split_fractions=(0.6, 0.2, 0.2), tune_weight=1.0)
    ds = build_datasets(mels, tok, config)
    assert ds.split["train"] == ["p00", "p01", "p02", "p05", "p08", "p09"]
    # one window per melody (4 targets each): 1/3 for each of t0's three, 1 for the others; mean 1
    assert ds.train.weights.tolist() == pytest.approx([0.5, 0.5, 0.5, 1.5, 1.5, 1.5])
    assert ds.val.weights is None and ds.test.weights is None
    assert build_datasets(mels, tok, dataclasses.replace(config, tune_weight=0.0)).train.weights is None


def test_build_datasets_counts_unknown_tokens():
    mels = [mel(f"p{i}", f"t{i}") for i in range(5)]
    tok = build_tokenizer("event", mels[:1], bar_tokens=False)
    odd = mel("p9", "t9", pitches=(("C", 6),))
    ds = build_datasets([*mels, odd], tok, DataConfig(split_fractions=(1.0, 0.0, 0.0)))
    assert ds.stats["train"]["unknown_tokens"] == 1
    assert int((ds.train.inputs == UNK).sum()) == 1


# ---------------------------------------------------------------- real corpus


@pytest.fixture(scope="module")
def corpus():
    from bachlstm.corpus.cache import load_corpus

    return load_corpus()


def test_real_split_has_no_tune_in_two_splits(corpus):
    from bachlstm.corpus.selection import SelectionConfig, select

    melodies = select(corpus, SelectionConfig()).melodies
    split = split_by_tune(melodies, (0.8, 0.1, 0.1), seed=0)
    tunes = {name: {m.tune for m in mels} for name, mels in split.items()}
    assert tunes["train"].isdisjoint(tunes["val"]) and tunes["train"].isdisjoint(tunes["test"])
    assert tunes["val"].isdisjoint(tunes["test"])
    assert [len(split[n]) for n in ("train", "val", "test")] == [287, 36, 36]
    assert split_by_tune(list(reversed(melodies)), (0.8, 0.1, 0.1), seed=0) == split


def test_real_datasets_with_augmentation(corpus):
    from bachlstm.corpus.selection import SelectionConfig, select

    melodies = select(corpus, SelectionConfig()).melodies
    config = DataConfig(augment_semitones=5)
    tok = build_tokenizer("event", melodies, transpositions=config.augment_semitones)
    ds = build_datasets(melodies, tok, config)
    assert all(s["unknown_tokens"] == 0 for s in ds.stats.values())
    assert ds.stats["train"]["sequences"] == 287 + 287 * 10 - ds.stats["train"]["transpositions_out_of_range"]
    assert ds.stats["val"]["sequences"] == 36 and ds.train.inputs.shape[1] == 128


def test_sequence_tensors_pad_each_melody_to_the_longest():
    inputs, targets = sequence_tensors([[1, 5, 6, 2], [1, 7, 2], [1]], pad_id=PAD)
    assert inputs.tolist() == [[1, 5, 6], [1, 7, PAD], [PAD, PAD, PAD]]  # one token: no target, all PAD
    assert targets.tolist() == [[5, 6, 2], [7, 2, PAD], [PAD, PAD, PAD]]
    empty_inputs, _ = sequence_tensors([], pad_id=PAD)
    assert empty_inputs.shape == (0, 1)


def test_make_windows_rejects_a_stride_that_would_skip_targets():
    from bachlstm.training.dataset import DataConfigError, make_windows

    with pytest.raises(DataConfigError, match="stride"):
        make_windows([[2, 5, 6, 3]], seq_len=1, stride=2)
