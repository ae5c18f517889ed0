"""Music export: MIDI and MusicXML round trips, SVG, audio, piano roll, bars."""

import io
import zipfile

import pretty_midi
import pytest

from bachlstm.music.events import Event
from bachlstm.music.scores import (
    infer_pickup,
    make_event,
    piano_roll,
    stamp_bars,
    to_midi,
    to_musicxml,
    to_score,
    zip_melodies,
)
from tests.builders import TWO_BARS, note, rest

MELODY = TWO_BARS  # two full 4/4 bars (tests/builders.py)
TEMPO = 60  # one quarter = one second, so MIDI times equal quarter offsets


def test_make_event_spells_durations():
    assert (note("C", 4, 1.5).duration_type, note("C", 4, 1.5).dots) == ("quarter", 1)
    assert make_event("rest", 1.25).duration_type == "complex"
    assert note("B-", 3, 4.0).midi == 58


def test_stamp_bars_and_infer_pickup():
    stamped = stamp_bars([rest(1.0), note("C", 4, 4.0), note("D", 4, 3.0)], pickup=1.0)
    assert [(e.measure, e.beat) for e in stamped] == [(0, 4.0), (1, 1.0), (2, 1.0)]
    assert infer_pickup(stamped) == 1.0
    assert infer_pickup(MELODY) == 0.0  # no bar numbers
    plain = stamp_bars(MELODY)
    assert [(e.measure, e.beat) for e in plain][:5] == [(1, 1.0), (1, 2.0), (1, 2.5), (1, 3.0), (1, 4.0)]
    assert plain[5].measure == 2 and plain[5].beat == 2.0


def test_midi_round_trip_through_pretty_midi():
    pm = pretty_midi.PrettyMIDI(io.BytesIO(to_midi(MELODY, tempo_bpm=TEMPO)))
    notes = [(nt.pitch, round(nt.start, 3), round(nt.end, 3)) for inst in pm.instruments for nt in inst.notes]
    expected, t = [], 0.0
    for e in MELODY:
        if not e.is_rest:
            expected.append((e.midi, t, t + e.quarter_length))
        t += e.quarter_length
    assert notes == expected  # the tie across the bar line comes back as one note


def test_musicxml_back_through_music21():
    from music21 import converter

    s = converter.parseData(to_musicxml(MELODY, key_sharps=1).decode())
    part = s.parts[0]
    measures = part.getElementsByClass("Measure")
    assert len(measures) == 2
    assert part.recurse().getElementsByClass("TimeSignature")[0].ratioString == "4/4"
    assert part.recurse().getElementsByClass("KeySignature")[0].sharps == 1
    got = [
        ("rest" if x.isRest else x.nameWithOctave, float(x.quarterLength))
        for x in part.stripTies().flatten().notesAndRests
    ]
    assert got == [("rest" if e.is_rest else f"{e.pitch}{e.octave}", e.quarter_length) for e in MELODY]


def test_score_with_pickup_and_estimated_key():
    line = [note("D", 4, 1.0), note("G", 4, 4.0), note("B", 4, 2.0), note("D", 5, 1.0), note("G", 4, 4.0)]
    events = stamp_bars(line, pickup=1.0)
    score = to_score(events)  # pickup inferred from the bar numbers, key estimated (G major)
    measures = score.parts[0].getElementsByClass("Measure")
    assert [m.number for m in measures] == [0, 1, 2, 3]
    assert measures[0].paddingLeft == 3.0
    assert score.parts[0].recurse().getElementsByClass("KeySignature")[0].sharps == 1


def test_piano_roll_exact():
    roll = piano_roll(MELODY[:6])
    assert list(roll) == ["index", "start", "end", "midi", "pitch", "duration"]
    assert roll["start"] == [0.0, 1.0, 1.5, 2.0, 3.0]
    assert roll["end"] == [1.0, 1.5, 2.0, 3.0, 5.0]
    assert roll["pitch"] == ["G4", "A4", "B4", "C5", "D5"]
    assert roll["index"] == [0, 1, 2, 3, 4]
    assert all(column == [] for column in piano_roll([rest(1.0)]).values())


def test_zip_has_midi_and_musicxml_per_melody():
    data = zip_melodies([("top-p (p=0.9) #1", MELODY), ("top-p (p=0.9) #1", MELODY[:3])], key_sharps=0)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == [
        "top-p_p_0.9_1.mid",
        "top-p_p_0.9_1.musicxml",
        "top-p_p_0.9_1_2.mid",
        "top-p_p_0.9_1_2.musicxml",
    ]


def test_tied_events_sound_as_one_note():
    tied = [
        Event("note", 2.0, "half", 0, "G", 4, 67, "start", 1),
        Event("note", 1.0, "quarter", 0, "G", 4, 67, "continue", 1),
        Event("note", 1.0, "quarter", 0, "G", 4, 67, "stop", 1),
        Event("note", 1.0, "quarter", 0, "G", 4, 67, None, 2),
    ]
    pm = pretty_midi.PrettyMIDI(io.BytesIO(to_midi(tied, tempo_bpm=TEMPO)))
    notes = [(nt.pitch, round(nt.start, 3), round(nt.end, 3)) for inst in pm.instruments for nt in inst.notes]
    assert notes == [(67, 0.0, 4.0), (67, 4.0, 5.0)]


def test_zip_takes_one_key_signature_per_melody():
    data = zip_melodies([("a", MELODY), ("b", MELODY)], key_signatures=[1, -2])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for stem, want in (("a", 1), ("b", -2)):
            midi = pretty_midi.PrettyMIDI(io.BytesIO(zf.read(f"{stem}.mid")))
            number = midi.key_signature_changes[0].key_number  # 0-11 major, 12-23 minor (pretty_midi)
            assert pretty_midi.key_number_to_mode_accidentals(number)[1] == want, stem
            xml = zf.read(f"{stem}.musicxml").decode()
            assert f"<fifths>{want}</fifths>" in xml, stem
    with pytest.raises(ValueError, match="2 key signatures for 1 melodies"):
        zip_melodies([("a", MELODY)], key_signatures=[0, 1])
