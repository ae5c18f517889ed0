"""Pitch facts: names and spelling, MIDI numbers, keys, transposition spelling and voice ranges."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from music21 import pitch as m21pitch

from bachlstm.analysis import metrics
from bachlstm.corpus import stats
from bachlstm.music.events import Event, Melody
from bachlstm.music.pitches import (
    DEFAULT_RANGE,
    PITCH_CLASS_NAMES,
    VOICE_RANGES,
    fifths_of,
    key_for_tonic,
    key_name,
    midi_name,
    midi_of,
    name_of_fifths,
    pitch_class_name,
    spelled_key_sharps,
    transpose,
    transpose_interval,
    voice_range,
    voice_ranges,
)
from tests.builders import mel, note, pitches

# ---------------------------------------------------------------- names


def test_key_and_midi_names():
    assert key_name(-1, "major") == "F major"
    assert key_name(2, "minor") == "B minor"
    assert key_name(-3, "minor") == "C minor"
    assert key_name(0, "major") == "C major"
    with pytest.raises(ValueError, match="key_sharps"):
        key_name(8, "major")
    assert midi_name(60) == "C4" and midi_name(70) == "B-4" and midi_name(43) == "G2"


def test_display_names_are_music21s_spelling_of_a_midi_number():
    assert PITCH_CLASS_NAMES == ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
    for midi in range(12, 128):  # music21 writes no octave below 0
        assert midi_name(midi) == m21pitch.Pitch(midi).nameWithOctave, midi
        name, octave = re.fullmatch(r"([A-G][#-]*)(\d+)", midi_name(midi)).groups()
        assert midi_of(name, int(octave)) == midi


def test_one_table_everywhere():
    assert stats.pitch_class_histogram([]).name.tolist() == list(PITCH_CLASS_NAMES)
    assert [name for name, _ in metrics.scales()][:12] == [
        "C major", "D- major", "D major", "E- major", "E major", "F major",
        "G- major", "G major", "A- major", "A major", "B- major", "B major",
    ]  # fmt: skip
    assert [name for name, _ in metrics.scales()][12:] == [
        "C minor", "C# minor", "D minor", "E- minor", "E minor", "F minor",
        "F# minor", "G minor", "G# minor", "A minor", "B- minor", "B minor",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "key_sharps,names",
    [
        (0, "C C# D E- E F F# G G# A B- B"),
        (-3, "C D- D E- E F G- G A- A B- B"),
        (4, "B# C# D D# E E# F# G G# A A# B"),  # B#: the leading tone of C-sharp minor
        (7, "B# C# C## D# E E# F# F## G# G## A# B"),
    ],
    ids=["C", "E-flat", "E", "C-sharp"],
)
def test_pitch_class_names_follow_the_key(key_sharps, names):
    assert [pitch_class_name(pc, key_sharps) for pc in range(12)] == names.split()


@pytest.mark.parametrize("key_sharps", range(-7, 8))
def test_a_keys_spelling_is_the_c_major_spelling_moved_by_fifths(key_sharps):
    for pc in range(12):
        moved = name_of_fifths(fifths_of(pitch_class_name(pc)) + key_sharps)
        assert pitch_class_name((pc + 7 * key_sharps) % 12, key_sharps) == moved


def test_key_aware_midi_names_keep_the_letters_octave():
    assert midi_name(60, 7) == "B#3" and midi_name(71, -7) == "C-5" and midi_name(68, -3) == "A-4"
    assert midi_of("B#", 3) == 60 and midi_of("C-", 5) == 71


def test_line_of_fifths_round_trip():
    for fifths in range(-15, 20):
        assert fifths_of(name_of_fifths(fifths)) == fifths
    assert fifths_of("F#") == 6 and fifths_of("B-") == -2 and name_of_fifths(-8) == "F-"


def test_key_for_tonic_prefers_fewer_accidentals():
    assert key_for_tonic(8, "major") == -4 and key_for_tonic(8, "minor") == 5  # A- major, G# minor
    assert key_for_tonic(6, "major") == -6 and key_for_tonic(3, "minor") == -6  # the tie: flats
    assert key_for_tonic(0, "minor") == -3 and key_for_tonic(7, "major") == 1
    with pytest.raises(ValueError, match="mode"):
        key_for_tonic(0, "dorian")


@pytest.mark.parametrize(
    "names,expected",
    [
        (["C", "D", "E"], 0),
        (["F#", "G", "A"], 1),
        (["B-", "E-", "A-", "D-"], -4),
        (["C#", "G#", "D#"], 4),
        ([], 0),
    ],
    ids=["C", "G", "A-flat", "E", "none"],
)
def test_spelled_key_sharps(names, expected):
    assert spelled_key_sharps([note(n, 4) for n in names]) == expected


# ---------------------------------------------------------------- transposition


def test_transpose_spells_for_the_new_key():
    g_major = mel("p", pitches=(("G", 4), ("F#", 4), ("B", 4)), key_sharps=1)
    up2 = transpose(g_major, 2)
    assert pitches(up2) == [("A", 4, 69), ("G#", 4, 68), ("C#", 5, 73)] and up2.key_sharps == 3
    up1 = transpose(g_major, 1)  # A-flat major (4 flats) rather than G-sharp major (8 sharps)
    assert pitches(up1) == [("A-", 4, 68), ("G", 4, 67), ("C", 5, 72)] and up1.key_sharps == -4
    down1 = transpose(g_major, -1)  # F-sharp (6 sharps) vs G-flat (6 flats): fewer accidentals wins
    assert pitches(down1) == [("G-", 4, 66), ("F", 4, 65), ("B-", 4, 70)] and down1.key_sharps == -6
    assert up2.meta["transposed"] == 2 and transpose(up2, -2).meta["transposed"] == 0
    assert transpose(g_major, 0) is g_major


def test_transpose_interval_choice():
    assert transpose_interval(0, 1) == -5  # C -> D-flat
    assert transpose_interval(0, -1) == 5  # C -> B
    assert transpose_interval(-3, 2) == 2  # E-flat -> F
    # a tritone: both keys have 6 accidentals, so the melody decides (F# -> C, not B#; B- -> E, not F-)
    assert transpose_interval(0, 6, ["F#"]) == -6 and transpose_interval(0, 6, ["B-"]) == 6


def test_transpose_respects_the_voice_range_and_keeps_rests():
    line = Melody("p", "soprano", (note("C", 4), Event("rest", 1.0), note("A", 5)), key_sharps=0)
    assert transpose(line, 1) is None and transpose(line, -1) is None  # already at C4 .. A5
    narrow = Melody("p", "soprano", (note("E", 4), Event("rest", 1.0), note("E", 5)), key_sharps=0)
    up = transpose(narrow, 4)
    assert up.events[1] == Event("rest", 1.0)
    assert pitches(up) == [("G#", 4, 68), ("G#", 5, 80)]
    assert transpose(narrow, 4, ranges={"soprano": (60, 79)}) is None


def test_voice_ranges():
    assert voice_range("Soprano 1") == VOICE_RANGES["soprano"]
    assert voice_range("bass") == (36, 64)
    assert voice_range("Violin 1") == DEFAULT_RANGE == (36, 81)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "C",
            "C#",
            "D-",
            "D",
            "E-",
            "E",
            "E#",
            "F",
            "F#",
            "G-",
            "G",
            "G#",
            "A-",
            "A",
            "A#",
            "B-",
            "B",
            "C-",
            "B#",
            "F##",
            "B--",
        ]
    ),  # fmt: skip
    st.integers(-7, 7),
    st.integers(-11, 11),
)
def test_transposed_spelling_matches_midi(pitch, key_sharps, shift):
    m = Melody("p", "x", (note(pitch, 4),), key_sharps=key_sharps)
    t = transpose(m, shift, ranges={"x": (0, 127)})
    (name, octave, midi), = pitches(t)  # fmt: skip
    assert midi == midi_of(pitch, 4) + shift and midi_of(name, octave) == midi
    assert name.count("#") <= 2 and name.count("-") <= 2
    assert abs(t.key_sharps) <= 7 + abs(key_sharps)


def test_voice_range_table_matches_the_corpus():
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select

    measured = voice_ranges(select(load_corpus(), SelectionConfig(voice="all")).melodies)
    # The table is the corpus' extremes, except one A3 (MIDI 57) in the soprano of bwv254.
    assert measured == {**VOICE_RANGES, "soprano": (57, 81)}
