"""Music export/import: MIDI and MusicXML round trips, SVG, audio, piano roll, and every bad upload."""

import io
import zipfile

import numpy as np
import pretty_midi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bachlstm.events import Event
from bachlstm.music import (
    MusicInputError,
    infer_pickup,
    make_event,
    piano_roll,
    read_primer,
    sniff_format,
    stamp_bars,
    to_audio,
    to_midi,
    to_musicxml,
    to_score,
    to_svg,
    zip_melodies,
)


def n(name: str, octave: int, ql: float) -> Event:
    from music21 import pitch

    return make_event("note", ql, name, octave, pitch.Pitch(f"{name}{octave}").midi)


def r(ql: float) -> Event:
    return make_event("rest", ql)


# Eight events, 8 quarters: two full 4/4 bars; the half note on beat 4 of bar 1 crosses the bar line.
MELODY = [
    n("G", 4, 1.0),
    n("A", 4, 0.5),
    n("B", 4, 0.5),
    n("C", 5, 1.0),
    n("D", 5, 2.0),
    r(1.0),
    n("F#", 4, 1.0),
    n("G", 4, 1.0),
]
TEMPO = 60  # one quarter = one second, so MIDI times equal quarter offsets


def test_make_event_spells_durations():
    assert (n("C", 4, 1.5).duration_type, n("C", 4, 1.5).dots) == ("quarter", 1)
    assert make_event("rest", 1.25).duration_type == "complex"
    assert n("B-", 3, 4.0).midi == 58


def test_stamp_bars_and_infer_pickup():
    stamped = stamp_bars([r(1.0), n("C", 4, 4.0), n("D", 4, 3.0)], pickup=1.0)
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
    events = stamp_bars(
        [n("D", 4, 1.0), n("G", 4, 4.0), n("B", 4, 2.0), n("D", 5, 1.0), n("G", 4, 4.0)], pickup=1.0
    )
    score = to_score(events)  # pickup inferred from the bar numbers, key estimated (G major)
    measures = score.parts[0].getElementsByClass("Measure")
    assert [m.number for m in measures] == [0, 1, 2, 3]
    assert measures[0].paddingLeft == 3.0
    assert score.parts[0].recurse().getElementsByClass("KeySignature")[0].sharps == 1


def test_svg_is_non_empty():
    pages = to_svg(MELODY)
    assert len(pages) == 1
    assert pages[0].lstrip().startswith(("<svg", "<?xml")) and "</svg>" in pages[0] and len(pages[0]) > 5000
    long = MELODY * 30
    assert len(to_svg(long, all_pages=True)) >= len(to_svg(long)) >= 1


def test_audio_is_finite_and_silence_is_none():
    audio = to_audio(MELODY, sample_rate=8000, tempo_bpm=TEMPO)
    assert audio.dtype == np.float32 and np.isfinite(audio).all()
    assert abs(float(np.abs(audio).max()) - 0.8) < 1e-5
    assert len(audio) >= 8 * 8000
    assert to_audio([], sample_rate=8000) is None
    assert to_audio([r(4.0)], sample_rate=8000) is None
    assert to_audio([n("C", 4, 0.0)], sample_rate=8000) is None


def test_piano_roll_exact():
    frame = piano_roll(MELODY[:6], label="x")
    assert frame.columns.tolist() == ["index", "start", "end", "midi", "pitch", "duration", "label"]
    assert frame["start"].tolist() == [0.0, 1.0, 1.5, 2.0, 3.0]
    assert frame["end"].tolist() == [1.0, 1.5, 2.0, 3.0, 5.0]
    assert frame["pitch"].tolist() == ["G4", "A4", "B4", "C5", "D5"]
    assert frame["index"].tolist() == [0, 1, 2, 3, 4]
    assert piano_roll([r(1.0)]).empty


def test_zip_has_midi_and_musicxml_per_melody():
    data = zip_melodies([("top-p (p=0.9) #1", MELODY), ("top-p (p=0.9) #1", MELODY[:3])], key_sharps=0)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == [
        "top-p_p_0.9_1.mid",
        "top-p_p_0.9_1.musicxml",
        "top-p_p_0.9_1_2.mid",
        "top-p_p_0.9_1_2.musicxml",
    ]


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
    events = read_primer(data, f"melody.{fmt}")
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
    assert key(read_primer(to_musicxml(MELODY), "misnamed.mid")) == key(MELODY)


def test_read_primer_takes_the_top_line_of_a_chorale():
    from music21 import corpus
    from music21.musicxml import m21ToXml

    score = corpus.parse("bach/bwv66.6")
    events = read_primer(m21ToXml.GeneralObjectExporter(score).parse(), "bwv66.6.musicxml")
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
    # E5 held over the moving bass; at beat 3 only D4 sounds, so D4 is the top line until the G5 chord top.
    assert key(read_primer(data, "x.musicxml")) == [(76, 2.0), (62, 1.0), (79, 1.0)]


EMPTY_MUSICXML = to_musicxml([r(4.0)])


@pytest.mark.parametrize(
    "data,filename,message",
    [
        (b"", "a.mid", "empty"),
        (b"x" * 101, "a.mid", "too large"),
        (b"hello, I am a text file", "a.mid", "not a MIDI or MusicXML"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "picture.musicxml", "not a MIDI or MusicXML"),
        (b"MThd\x00\x00\x00\x06garbage", "a.mid", "corrupt"),
        (b"PK\x03\x04" + b"\x00" * 60, "a.mxl", "corrupt"),
        (b"<score-partwise><part-list", "a.musicxml", "corrupt"),
        (EMPTY_MUSICXML, "rests.musicxml", "no notes"),
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
    events = read_primer(to_midi(melody), "p.mid")
    assert key(events) == [(m, ql) for m, ql in notes]
    assert all(sum(e.quarter_length for e in events if e.measure == m) <= 4 for m in range(1, 20))


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


def test_svg_from_another_thread_after_the_main_one():
    import threading

    to_svg(MELODY)  # the main thread's toolkit first, as in a running app
    result = {}

    def render():
        try:
            result["svg"] = to_svg(MELODY)[0]
        except Exception as exc:  # reported below
            result["error"] = exc

    for _ in range(2):
        worker = threading.Thread(target=render)
        worker.start()
        worker.join()
        assert "error" not in result and "</svg>" in result["svg"]


def test_read_primer_ignores_a_midi_drum_track():
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody, drums = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    for i in range(8):
        melody.notes.append(pretty_midi.Note(90, 60 + i, i * 0.5, i * 0.5 + 0.5))
        drums.notes.append(pretty_midi.Note(90, 80, i * 0.25, i * 0.25 + 0.1))  # higher than the melody
    pm.instruments += [melody, drums]
    buf = io.BytesIO()
    pm.write(buf)
    events = read_primer(buf.getvalue(), "drums.mid")
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
