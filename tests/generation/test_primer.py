"""Primer upload: MIDI/MusicXML bytes read back into one-voice events, and every bad upload refused."""

import io
import zipfile

import pretty_midi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bachlstm.generation.primer import MusicInputError, read_primer, sniff_format
from bachlstm.music.scores import infer_pickup, make_event, to_midi, to_musicxml
from tests.builders import TWO_BARS, rest

MELODY = TWO_BARS  # two full 4/4 bars (tests/builders.py)


def key(events):
    """(midi or None, quarter length) per event, tied notes merged into one."""
    out, tied = [], False
    for e in events:
        item = (None if e.is_rest else e.midi, e.quarter_length)
        if tied and out and out[-1][0] == item[0]:
            out[-1] = (item[0], out[-1][1] + item[1])
        else:
            out.append(item)
        tied = e.tie in ("start", "continue")
    return out


@pytest.mark.parametrize("fmt", ["musicxml", "midi"])
def test_read_primer_round_trip(fmt):
    data = to_musicxml(MELODY) if fmt == "musicxml" else to_midi(MELODY)
    events = read_primer(data, f"melody.{fmt}").events
    assert key(events) == key(MELODY)
    # The half note D5 on beat 4 is split at the bar line and tied, as in the corpus.
    assert [(e.midi, e.quarter_length, e.tie, e.measure) for e in events[4:6]] == [
        (74, 1.0, "start", 1),
        (74, 1.0, "stop", 2),
    ]
    assert [e.measure for e in events] == [1, 1, 1, 1, 1, 2, 2, 2, 2]


def test_read_primer_sniffs_content_not_the_name():
    assert sniff_format(to_midi(MELODY)) == "midi"
    assert sniff_format(to_musicxml(MELODY)) == "musicxml"
    assert key(read_primer(to_musicxml(MELODY), "misnamed.mid").events) == key(MELODY)


def test_read_primer_takes_the_top_line_of_a_chorale():
    from music21 import corpus
    from music21.musicxml import m21ToXml

    score = corpus.parse("bach/bwv66.6")
    events = read_primer(m21ToXml.GeneralObjectExporter(score).parse(), "bwv66.6.musicxml").events
    soprano = [
        (None if x.isRest else x.pitch.midi, float(x.quarterLength))
        for x in score.parts[0].stripTies().flatten().notesAndRests
    ]
    assert key(events) == soprano
    assert infer_pickup(events) == 1.0  # the chorale starts with a one-beat anacrusis


def test_read_primer_top_line_of_chords_and_overlaps():
    from music21 import chord, note, stream

    low, high = stream.Part(), stream.Part()
    high.append(
        [
            note.Note("E5", quarterLength=2.0),
            note.Rest(quarterLength=1.0),
            chord.Chord(["C5", "G5"], quarterLength=1.0),
        ]
    )
    low.append(
        [
            note.Note("C4", quarterLength=1.0),
            note.Note("D4", quarterLength=2.0),
            note.Note("E4", quarterLength=1.0),
        ]
    )
    from music21.musicxml import m21ToXml

    data = m21ToXml.GeneralObjectExporter(stream.Score([high, low])).parse()
    # Two unnamed parts: the melody is the higher one, its rest stays a rest (the bass does not fill it),
    # and of its chord the top note is kept, which is said
    primer = read_primer(data, "x.musicxml")
    assert key(primer.events) == [(76, 2.0), (None, 1.0), (79, 1.0)]
    assert [(w.code, dict(w.values)) for w in primer.warnings] == [
        ("line_highest", {"line": "line 1", "instrument": "no instrument named", "low": 72, "high": 79,
                          "lines": 2}),
        ("chords", {"count": 1}),
    ]  # fmt: skip


EMPTY_MUSICXML = to_musicxml([rest(4.0)])


@pytest.mark.parametrize(
    "data,filename,message",
    [
        (b"", "a.mid", "empty"),
        (b"x" * 101, "a.mid", "too large"),
        (b"hello, I am a text file", "a.mid", "not a MIDI or MusicXML"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "picture.musicxml", "not a MIDI or MusicXML"),
        (b"MThd\x00\x00\x00\x06garbage", "a.mid", "header is invalid"),
        (b"PK\x03\x04" + b"\x00" * 60, "a.mxl", "could not be read as MXL"),
        (b"<score-partwise><part-list", "a.musicxml", "could not be read as MusicXML"),
        (EMPTY_MUSICXML, "rests.musicxml", "holds only rests"),
    ],
    ids=["empty", "too-large", "text", "png", "corrupt-midi", "corrupt-mxl", "corrupt-xml", "no-notes"],
)
def test_every_bad_upload_gives_its_error(data, filename, message):
    with pytest.raises(MusicInputError, match=message) as exc:
        read_primer(data, filename, max_bytes=100 if message == "too large" else 2_000_000)
    assert isinstance(exc.value, ValueError)
    assert filename in str(exc.value)


def test_too_long_primer():
    with pytest.raises(MusicInputError, match="too long"):
        read_primer(to_midi(MELODY * 3), "long.mid", max_events=10)


NOTE_QLS = st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(55, 84), NOTE_QLS), min_size=1, max_size=12))
def test_midi_primer_round_trip_property(notes):
    # The spelling "C4" is deliberately wrong: export trusts the MIDI number.
    melody = [make_event("note", ql, "C", 4, m) for m, ql in notes]
    events = read_primer(to_midi(melody), "p.mid").events
    assert key(events) == [(m, ql) for m, ql in notes]
    assert all(sum(e.quarter_length for e in events if e.measure == m) <= 4 for m in range(1, 20))


def test_read_primer_ignores_a_midi_drum_track():
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody, drums = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    for i in range(8):
        melody.notes.append(pretty_midi.Note(90, 60 + i, i * 0.5, i * 0.5 + 0.5))
        drums.notes.append(pretty_midi.Note(90, 80, i * 0.25, i * 0.25 + 0.1))  # higher than the melody
    pm.instruments += [melody, drums]
    buf = io.BytesIO()
    pm.write(buf)
    events = read_primer(buf.getvalue(), "drums.mid").events
    assert key(events) == [(60 + i, 1.0) for i in range(8)]


def test_long_or_bloated_uploads_are_refused_before_parsing():
    import time

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(0)
    inst.notes += [pretty_midi.Note(90, 60 + i % 12, i * 0.25, i * 0.25 + 0.25) for i in range(5000)]
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    start = time.perf_counter()
    with pytest.raises(MusicInputError, match="too long"):
        read_primer(buf.getvalue(), "long.mid")
    assert time.perf_counter() - start < 5  # music21 would need ~10 s for 5,000 notes
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("score.musicxml", b"<score-partwise>" + b" " * 3_000_000)
    with pytest.raises(MusicInputError, match="once unpacked"):
        read_primer(bomb.getvalue(), "bomb.mxl", max_bytes=100_000)


def test_default_upload_limit_refuses_a_huge_midi_before_parsing():
    # music21's MIDI reader spent over 10 minutes on a 1.2 MB file: the default limit must stop it first
    big = b"MThd" + b"\0" * 600_000
    with pytest.raises(MusicInputError, match="too large"):
        read_primer(big, "big.mid")


def test_read_primer_says_when_a_midi_holds_only_drums():
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(0, is_drum=True)
    for i in range(8):
        drums.notes.append(pretty_midi.Note(90, 38, i * 0.5, i * 0.5 + 0.1))
    pm.instruments.append(drums)
    buf = io.BytesIO()
    pm.write(buf)
    with pytest.raises(MusicInputError, match="only drum"):
        read_primer(buf.getvalue(), "drums.mid")
