"""Selection: config validation, presets, exclusions with reasons, and hymn-tune recognition."""

import collections

import pytest

from bachlstm.corpus.selection import (
    Exclusion,
    SelectionConfig,
    find_voice,
    select,
    tune_groups,
    tune_key,
    voice_role,
)
from bachlstm.music.events import Corpus, Part, Piece
from tests.builders import note, rest


def line(*pitches):
    """Quarter notes on successive beats: line("C4", "D4") ."""
    return tuple(note(p[:-1], int(p[-1]), beat=1.0 + i % 4) for i, p in enumerate(pitches))


def piece(pid, parts, ts=("4/4",), title=""):
    return Piece(pid, f"bach/{pid}.mxl", title, 0, "major", "C major", ts, tuple(parts), 4, 0.0, 16.0)


def part(name, events, flags=()):
    return Part(name, ("4/4",), events, flags)


# ---- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"voice": "descant"}, "voice"),
        ({"min_events": 10, "max_events": 5}, r"min_events \(10\) must not be larger"),
        ({"min_events": -1}, "min_events"),
        ({"max_events": 2.5}, "max_events"),
        ({"time_signatures": "4/4"}, "tuple"),
        ({"time_signatures": ("four",)}, "'four'"),
    ],
    ids=["voice", "min>max", "negative", "float", "string", "bad-ts"],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelectionConfig(**kwargs)


def test_presets_and_dict_round_trip():
    original = SelectionConfig.preset("original")
    assert (original.time_signatures, original.voice, original.min_events, original.max_events) == (
        ("4/4",),
        "first",
        30,
        65,
    )
    assert SelectionConfig.preset("default") == SelectionConfig()
    assert SelectionConfig.preset("all_voices").voice == "all"
    for name in ("default", "original", "all_voices"):
        cfg = SelectionConfig.preset(name)
        assert SelectionConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown selection preset 'nope'"):
        SelectionConfig.preset("nope")
    assert SelectionConfig(time_signatures=["3/4"]).time_signatures == ("3/4",)
    with pytest.raises(ValueError, match="'colour'"):
        SelectionConfig.from_dict({"voice": "alto", "colour": "red"})


def test_voice_role():
    assert voice_role("Soprano 1") == "soprano"
    assert voice_role("Alto\rViloin 2") == "alto"
    assert voice_role("Bass Continuo") == "bass"
    assert voice_role("Horn 2") is None
    assert voice_role("") is None


# ---- selection on a hand-made corpus --------------------------------------------------------------


@pytest.fixture
def tiny():
    satb = [part(v, line("C4", "D4", "E4")) for v in ("Soprano", "Alto", "Tenor", "Bass")]
    return Corpus(
        (
            piece("p1", [part("Horn", line("G4")), *satb]),
            piece("p2", satb, ts=("3/4",)),
            piece("p3", satb[:3]),  # no bass
            piece("p4", [part("Soprano", (rest(4.0),), ("empty_part",))]),
            piece("p5", [part("Soprano", line(*["C4"] * 6))]),
            piece("p5-krn", [part("Soprano", line(*["C4"] * 6))]),
            piece("p6", satb, ts=("4/4", "3/4")),
        ),
        7,
        "x",
        1,
    )


def test_select_default_on_tiny(tiny):
    s = select(tiny)
    assert [(m.piece_id, m.voice, len(m)) for m in s.melodies] == [("p1", "soprano", 3), ("p3", "soprano", 3),
                                                                   ("p5", "soprano", 6)]  # fmt: skip
    assert s.excluded == [
        Exclusion("p2", "soprano", "time signature", "3/4", (("found", ("3/4",)),)),
        Exclusion("p4", "soprano", "empty part", "Soprano", (("part", "Soprano"),)),
        Exclusion("p5-krn", "soprano", "duplicate file", "p5", (("piece", "p5"),)),
        Exclusion("p6", "soprano", "time signature", "3/4", (("found", ("3/4",)),)),
    ]
    report = s.report()
    assert list(report.columns) == ["piece_id", "voice", "reason", "detail", "values"] and len(report) == 4
    assert dict(zip(s.summary()["reason"], s.summary()["count"])) == {
        "selected": 3,
        "time signature": 2,
        "empty part": 1,
        "duplicate file": 1,
    }


def test_select_first_all_and_lengths(tiny):
    first = select(tiny, SelectionConfig(voice="first", min_events=2, max_events=5))
    assert [(m.piece_id, m.voice) for m in first.melodies] == [("p3", "soprano")]
    reasons = {(e.piece_id, e.reason, e.detail) for e in first.excluded}
    assert ("p1", "too short", "1 < 2 events") in reasons  # the horn, not the soprano, is the first part
    assert ("p5", "too long", "6 > 5 events") in reasons
    values = {(e.piece_id, e.reason): dict(e.values) for e in first.excluded}
    assert values["p1", "too short"] == {"n": 1, "limit": 2} and values["p5", "too long"] == {
        "n": 6,
        "limit": 5,
    }
    every = select(tiny, SelectionConfig(voice="all", time_signatures=()))
    got = collections.Counter(m.piece_id for m in every.melodies)
    assert got == {"p1": 4, "p2": 4, "p3": 3, "p5": 1, "p6": 4}
    names = ("Soprano", "Alto", "Tenor")
    assert Exclusion("p3", "bass", "no such voice", ", ".join(names), (("parts", names),)) in every.excluded
    # all voices of one piece share the piece's tune, so a split by tune keeps them together
    assert len({m.tune for m in every.melodies if m.piece_id == "p1"}) == 1


def test_first_voice_label_is_the_part(tiny):
    s = select(tiny, SelectionConfig(voice="first"))
    assert s.melodies[0].voice == "Horn" and s.melodies[0].meta["part_name"] == "Horn"


def test_find_voice(tiny):
    p1 = tiny.get("p1")
    assert find_voice(p1, "first").name == "Horn"
    assert find_voice(p1, "tenor").name == "Tenor"
    assert find_voice(tiny.get("p3"), "bass") is None


# ---- tune keys ------------------------------------------------------------------------------------


def test_tune_key_rule():
    base = line("G4", "G4", "E4", "F4", "G4", "F4", "E4", "D4")
    assert tune_key(base) == "+0-2+1+1-1-1"
    # transposed, with a minor-for-major inflection: same diatonic steps
    assert tune_key(line("A4", "A4", "F#4", "G#4", "A4", "G4", "F4", "E4")) == tune_key(base)
    # a passing eighth off the beat and a tied continuation are not new tune notes
    decorated = (
        note("G", 4, beat=1.0),
        note("G", 4, 0.5, beat=2.0),
        note("F", 4, 0.5, beat=2.5),  # passing note
        note("E", 4, beat=3.0),
        note("F", 4, beat=4.0, tie="start"),
        note("F", 4, beat=1.0, tie="stop"),
        rest(beat=2.0),
        note("G", 4, beat=3.0),
        note("F", 4, beat=4.0),
        note("E", 4, beat=1.0),
    )
    assert tune_key(decorated) == "+0-2+1+1-1-1"
    assert tune_key(base, n_intervals=2) == "+0-2"
    assert tune_key((rest(),)) == "empty"
    assert tune_key(line("C4")) == "0"
    # only syncopated notes: fall back to all onsets
    assert tune_key((note("C", 4, beat=1.5), note("E", 4, beat=2.5))) == "+2"


def test_tune_groups_merge_same_titles():
    corpus = Corpus(
        (
            piece("a", [part("Soprano", line("C4", "D4", "E4"))], title="Lobet Gott"),
            piece("b", [part("Soprano", line("C4", "E4", "G4"))], title="12. Lobet  Gott!"),
            piece("c", [part("Soprano", line("D4", "E4", "F4"))]),
            piece("d", [part("Soprano", (rest(),))]),
            piece("e", [part("Soprano", (rest(),))]),
        ),
        5,
        "x",
        1,
    )
    groups = tune_groups(corpus)
    assert groups == {"a": "+1+1", "b": "+1+1", "c": "+1+1", "d": "empty:d", "e": "empty:e"}


def test_real_known_duplicates_share_a_tune(real):
    tunes = tune_groups(real)
    for mxl in ("bwv277", "bwv281", "bwv366"):
        assert tunes[mxl] == tunes[mxl + "-krn"]
    # the Passion chorale under three texts, and the Christmas Oratorio's closing chorale on it
    passion = {
        tunes[i] for i in ("bwv244.15", "bwv244.62", "bwv270", "bwv271", "bwv272", "bwv153.5", "bwv248.64-6")
    }
    assert len(passion) == 1
    # the Innsbruck tune
    innsbruck = [p.id for p in real if p.title.startswith(("Nun ruhen alle", "O Welt, sieh"))]
    assert len(innsbruck) == 8 and len({tunes[i] for i in innsbruck}) == 1
    assert tunes["bwv270"] != tunes["bwv277"]


def test_real_opening_keys_shared(real):
    keys = collections.Counter(
        tune_key(find_voice(p, "soprano").events) for p in real if find_voice(p, "soprano")
    )
    assert len(keys) == 220
    assert sum(v > 1 for v in keys.values()) == 71  # opening melodies shared by more than one file
    groups = collections.Counter(tune_groups(real).values())
    # 201 groups (76 shared) by opening and title alone; melodic similarity joins 6 more pairs of groups
    assert (len(groups), sum(v > 1 for v in groups.values())) == (195, 79)


def test_real_presets(real):
    default = select(real)
    assert len(default.melodies) == 359
    assert dict(zip(default.summary()["reason"], default.summary()["count"])) == {
        "selected": 359,
        "time signature": 50,
        "duplicate file": 3,
        "no such voice": 1,
    }
    assert all(m.voice == "soprano" and len(m) > 0 for m in default.melodies)
    original = select(real, SelectionConfig.preset("original"))
    assert len(original.melodies) == 292  # 293 of REFERENCE minus the duplicate bwv281-krn
    assert all(30 <= len(m) <= 65 for m in original.melodies)
    assert len(select(real, SelectionConfig.preset("all_voices")).melodies) == 1436
