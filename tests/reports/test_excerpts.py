"""The listening test's excerpts: the same bars, never a training melody, pools made once and kept,
comparable range, equally long audio."""

import io

import pytest
import soundfile

from bachlstm.reports.excerpts import (
    SAME_RANGE,
    Excerpt,
    bach_excerpts,
    excerpt_audio,
    excerpt_seconds,
    model_pool,
    opening_bars,
    pair,
    pool_path,
)
from bachlstm.training.splits import melody_key, split_melodies
from tests.builders import n, rest

PICKUP_TUNE = (
    n(67, 1.0, 0),  # the pickup: left out
    n(72, 2.0, 1), n(71, 2.0, 1),
    n(69, 4.0, 2),
    n(67, 1.0, 3), rest(3.0, 3),
)  # fmt: skip


def test_the_opening_is_whole_bars_after_the_pickup():
    assert opening_bars(PICKUP_TUNE, 2) == PICKUP_TUNE[1:4]
    assert opening_bars(PICKUP_TUNE, 3) == PICKUP_TUNE[1:]
    assert opening_bars(PICKUP_TUNE, 4) is None  # three whole bars only
    assert opening_bars((rest(4.0, 1), rest(4.0, 2)), 2) is None  # no note to hear


def test_the_mean_pitch_weighs_by_duration():
    assert Excerpt("x", PICKUP_TUNE[1:4]).mean_pitch == (72 * 2 + 71 * 2 + 69 * 4) / 8
    assert Excerpt("x", (rest(4.0, 1),)).mean_pitch == 0.0


def test_a_round_pairs_a_comparable_range_and_is_the_same_wherever_drawn():
    low = Excerpt("gen/0", (n(60, 4.0, 1),))
    bach = [Excerpt(f"b{m}", (n(m, 4.0, 1),)) for m in (58, 62, 66, 70, 74)]
    drawn = {pair([low], bach, f"round-{i}") for i in range(40)}
    assert {p.bach.id for p in drawn} == {"b58", "b62"}  # within SAME_RANGE of 60 only
    assert SAME_RANGE == 3.0 and {p.bach_first for p in drawn} == {True, False}
    assert pair([low], bach, "round-7") == pair([low], bach, "round-7")
    far = Excerpt("gen/1", (n(90, 4.0, 1),))
    assert pair([far], bach, "k").bach.id == "b74"  # none within range: the nearest
    with pytest.raises(ValueError, match="needs a model excerpt and a Bach excerpt"):
        pair([], bach, "k")


@pytest.fixture(scope="module")
def workshop():
    from bachlstm.model.checkpoints import load_checkpoint

    return load_checkpoint("workshop")


def test_bach_excerpts_are_held_out_openings_never_training_melodies(workshop):
    excerpts = bach_excerpts(workshop.meta, 2)
    parts = split_melodies(workshop.meta)
    held_out = {melody_key(m): m for m in [*parts["val"], *parts["test"]]}
    assert excerpts and {x.id for x in excerpts} <= set(held_out)
    assert not {x.id for x in excerpts} & {melody_key(m) for m in parts["train"]}
    first = excerpts[0]
    assert first.events == opening_bars(held_out[first.id].events, 2)
    assert all(sum(e.quarter_length for e in x.events) == 8.0 for x in excerpts)


def test_a_models_pool_is_made_once_and_kept_on_disk(workshop, tmp_path, monkeypatch):
    pool = model_pool(workshop, "top-p", 2, tmp_path)
    path = pool_path(workshop, "top-p", 2, tmp_path)
    assert path.exists() and path.parent == tmp_path and "top-p-2bars" in path.name
    assert 10 <= len(pool) <= 24 and len({x.events for x in pool}) == len(pool)  # distinct excerpts
    assert all(sum(e.quarter_length for e in x.events) == 8.0 for x in pool)
    monkeypatch.setattr("bachlstm.reports.excerpts.generate", lambda *a, **k: pytest.fail("made again"))
    assert model_pool(workshop, "top-p", 2, tmp_path) == pool  # read back, not generated again
    with pytest.raises(ValueError, match="method must be one of"):
        model_pool(workshop, "beam", 2, tmp_path)


def test_every_excerpt_plays_equally_long_and_its_audio_is_kept(tmp_path):
    ends_on_a_rest = Excerpt("a", PICKUP_TUNE[1:])
    ends_on_a_note = Excerpt("b", (n(60, 4.0, 1), n(62, 4.0, 2), n(64, 4.0, 3)))
    lengths = []
    for excerpt in (ends_on_a_rest, ends_on_a_note):
        data = excerpt_audio(excerpt, 3, tmp_path)
        info = soundfile.info(io.BytesIO(data))
        lengths.append(info.frames / info.samplerate)
        assert excerpt_audio(excerpt, 3, tmp_path) == data  # kept: the same bytes
    assert lengths == [pytest.approx(excerpt_seconds(3), abs=1e-3)] * 2
    assert len(list((tmp_path / "audio").glob("*.ogg"))) == 2
