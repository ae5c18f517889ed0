"""Tune similarity: beat skeleton, Smith-Waterman, the batched matrix, and the split it makes leak-free."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.corpus.selection import find_voice, select, tune_groups
from bachlstm.corpus.tunes import (
    SIMILAR_TUNE,
    alignment_score,
    beat_skeleton,
    similar_pairs,
    similarity,
    similarity_matrix,
    skeleton_intervals,
)
from bachlstm.music.events import Event
from bachlstm.training.dataset import split_by_tune
from bachlstm.training.presets import get_preset
from tests.builders import n


def test_beat_skeleton_takes_the_pitch_sounding_on_each_beat():
    events = (
        n(67, 1.0, beat=4.0),  # pickup on beat 4: sounds on the grid at 3 quarters into the bar
        n(72, 0.5),  # beat 1
        n(71, 0.5),  # passing eighth off the beat: not in the skeleton
        n(69, 2.0),  # beats 2 and 3
        Event("rest", 1.0),  # beat 4: skipped
        n(67, 1.0),
    )
    assert beat_skeleton(events) == (67, 72, 69, 69, 67)
    assert skeleton_intervals(events) == (5, -3, 0, -2)
    # a pickup off the beat: its first grid beat is the next note
    assert beat_skeleton((n(60, 0.5, beat=4.5), n(62))) == (62,)
    assert beat_skeleton(()) == () and skeleton_intervals((n(60),)) == ()


def test_alignment_score_and_similarity_exact():
    assert alignment_score([1, 2, 3], [1, 2, 3]) == 3
    assert alignment_score([1, 2, 3], [9, 1, 2, 3, 9]) == 3  # local: flanks cost nothing
    assert alignment_score([1, 2, 9, 3], [1, 2, 3]) == 2  # 1 2 [gap] 3 = 3 - 1, same as 1 2
    assert alignment_score([1, 2, 3, 4, 5], [1, 2, 7, 4, 5]) == 3  # 4 matches - 1 mismatch
    assert alignment_score([], [1]) == 0 and alignment_score([1], [2]) == 0
    a = list(range(10))
    assert similarity(a, [99, *a, 99]) == 1.0  # contained: a section of a longer piece
    assert similarity(a[:7], a) == 0.0  # shorter than MIN_BEATS: no verdict
    assert similarity(a, [0, 1, 2, 3, 4, 50, 6, 7, 8, 9]) == 0.8


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=0, max_size=20), min_size=1, max_size=6))
def test_batched_matrix_equals_the_plain_dynamic_programme(seqs):
    sim = similarity_matrix(seqs, min_beats=1)
    for i, j in itertools.product(range(len(seqs)), repeat=2):
        assert sim[i, j] == similarity(seqs[i], seqs[j], min_beats=1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(55, 80), min_size=9, max_size=30), st.integers(-7, 7))
def test_similarity_is_transposition_invariant(midis, shift):
    a = tuple(n(m, beat=1.0 + k % 4) for k, m in enumerate(midis))
    b = tuple(n(m + shift, beat=1.0 + k % 4) for k, m in enumerate(midis))
    assert skeleton_intervals(a) == skeleton_intervals(b)
    assert similarity(skeleton_intervals(a), skeleton_intervals(b)) == 1.0


def test_similar_pairs_sorted_and_thresholded():
    tune = [2, -1, -1, 2, 0, -2, 1, 1, -3, 2]
    other = [5, 5, -7, 3, -1, 4, -4, 4, 6, -5]
    pairs = similar_pairs({"b": tune, "a": [7, *tune], "c": other})
    assert pairs == [("a", "b", 1.0)]


def _soprano_intervals(corpus):
    out = {}
    for p in corpus:
        part = find_voice(p, "soprano") or find_voice(p, "first")
        if part is not None:
            out[p.id] = skeleton_intervals(part.events)
    return out


def test_known_leaks_are_grouped_and_unrelated_tunes_score_low(real):
    tunes = tune_groups(real)
    for a, b in [("bwv149.7", "bwv174.5"), ("bwv328", "bwv120.6"), ("bwv185.6", "bwv177.5")]:
        assert tunes[a] == tunes[b], (a, b)
    assert tunes["bwv149.7"] == tunes["bwv245.40"]  # "Herzlich lieb" with a third text
    # the threshold's measurement (see SIMILAR_TUNE): pairs the opening key and titles keep apart
    old = tune_groups(real, threshold=2.0)  # > 1: similarity joins nothing
    iv = _soprano_intervals(real)
    ids = sorted(iv)
    sim = similarity_matrix([iv[i] for i in ids])
    apart = [sim[i, j] for i, j in itertools.combinations(range(len(ids)), 2) if old[ids[i]] != old[ids[j]]]
    assert np.percentile(apart, 99) < 0.27 and np.percentile(apart, 99.9) < 0.37
    below = max(s for s in apart if s < SIMILAR_TUNE)
    above = sorted(s for s in apart if s >= SIMILAR_TUNE)
    print(f"highest below {below:.3f}; at or above: {np.round(above, 3).tolist()}")
    assert 0.48 < below < SIMILAR_TUNE < min(above) < 0.54


@pytest.mark.parametrize("preset", ["workshop", "bach", "chorale"])
def test_no_tune_crosses_splits_under_the_similarity_rule(real, preset):
    p = get_preset(preset)
    melodies = select(real, p.selection).melodies
    split = split_by_tune(melodies, p.data.split_fractions, p.data.split_seed)
    where = {m.piece_id: name for name, ms in split.items() for m in ms}
    iv = {m.piece_id: skeleton_intervals(m.events) for m in melodies}
    for a, b, score in similar_pairs(iv):
        assert where[a] == where[b], (a, b, score)
    assert {len(v) for v in split.values()} <= set(range(29, 300))


def test_tune_group_table_lists_shared_tunes(real):
    from bachlstm.corpus.stats import tune_group_table

    melodies = select(real).melodies
    table = tune_group_table(melodies)
    assert list(table.columns) == ["tune", "melodies", "pieces", "titles", "closest"]
    herzlich = table[table["pieces"].str.contains("bwv149.7")].iloc[0]
    assert "bwv174.5" in herzlich["pieces"] and "Herzlich lieb" in herzlich["titles"]
    assert (table["melodies"] >= 2).all() and table["melodies"].is_monotonic_decreasing
    assert len(tune_group_table(melodies, shared_only=False)) == len({m.tune for m in melodies})


def test_shipped_pairs_cache_is_current(real):
    """selection.tune_groups reads the shipped pairs: they must be those the rule gives today."""
    import json

    from bachlstm.corpus.tunes import PAIRS_CACHE, _pairs_key, cached_similar_pairs

    iv = _soprano_intervals(real)
    data = json.loads(PAIRS_CACHE.read_text())
    assert data["key"] == _pairs_key(iv, SIMILAR_TUNE, 8), "run tunes.write_pairs_cache on the new corpus"
    computed = similar_pairs(iv)
    assert [(a, b) for a, b, _ in cached_similar_pairs(iv)] == [(a, b) for a, b, _ in computed]
    assert [round(v, 6) for *_, v in computed] == [v for *_, v in cached_similar_pairs(iv)]
