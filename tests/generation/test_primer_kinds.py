"""Uploaded primers of every kind that used to go wrong, read note for note (fixtures built here as bytes)."""

from __future__ import annotations

import io
import struct
import zipfile

import mido
import pytest

from bachlstm.generation.primer import MusicInputError, read_primer
from bachlstm.music.notices import Notice

Q = 480
REPEATS = [72, 72, 72, 72, 74, 74, 76]  # C5 C5 C5 C5 | D5 D5 E5 (half)
LENGTHS = [1, 1, 1, 1, 1, 1, 2]
EXPECTED = [
    ("C", 5, 1.0),
    ("C", 5, 1.0),
    ("C", 5, 1.0),
    ("C", 5, 1.0),
    ("D", 5, 1.0),
    ("D", 5, 1.0),
    ("E", 5, 2.0),
]


def midi_file(events, *, meta=(), tpq=Q) -> bytes:
    """A type-1 file: meta track, then one track of (delta ticks, kind, pitch, velocity)."""
    head = mido.MidiTrack([*meta, mido.MetaMessage("end_of_track", time=0)])
    track = mido.MidiTrack(mido.Message(k, note=p, velocity=v, time=d) for d, k, p, v in events)
    track.append(mido.MetaMessage("end_of_track", time=0))
    out = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=tpq, tracks=[head, track]).save(file=out)
    return out.getvalue()


def off_then_on(pitches, lengths):
    """The usual order: the previous note's release, then the next strike, at the same tick."""
    out, gap = [], 0
    for p, n in zip(pitches, lengths):
        out += [(gap, "note_on", p, 80), (n * Q, "note_off", p, 0)]
    return out


def on_then_off(pitches, lengths):
    """How several notation programs write it: the next strike before the previous release."""
    out = [(0, "note_on", pitches[0], 80)]
    for i in range(1, len(pitches)):
        out += [(lengths[i - 1] * Q, "note_on", pitches[i], 80), (0, "note_off", pitches[i - 1], 0)]
    return [*out, (lengths[-1] * Q, "note_off", pitches[-1], 0)]


def velocity_zero(pitches, lengths):
    """Releases written as note-ons with velocity 0 (running status friendly), before the next strike."""
    return [m for p, n in zip(pitches, lengths) for m in ((0, "note_on", p, 80), (n * Q, "note_on", p, 0))]


def rmid(data: bytes) -> bytes:
    chunk = b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk


def notes(primer):
    return [(e.pitch, e.octave, e.quarter_length) for e in primer.events if e.kind == "note"]


@pytest.mark.parametrize("writer", [off_then_on, on_then_off, velocity_zero], ids=lambda f: f.__name__)
@pytest.mark.parametrize("wrap", [False, True], ids=["smf", "rmid"])
def test_repeated_notes_in_every_order_a_file_can_write_them(writer, wrap):
    data = midi_file(writer(REPEATS, LENGTHS))
    primer = read_primer(rmid(data) if wrap else data, "repeats.mid")
    assert notes(primer) == EXPECTED
    assert [e.kind for e in primer.events] == ["note"] * 7 and primer.warnings == ()


def test_restruck_note_while_it_still_sounds_stays_two_notes():
    data = midi_file(
        [(0, "note_on", 67, 80), (Q, "note_on", 67, 80), (Q, "note_off", 67, 0), (Q, "note_off", 67, 0)]
    )
    assert notes(read_primer(data, "restrike.mid")) == [("G", 4, 1.0), ("G", 4, 2.0)]


PICKUP_TUNE = [(67, 1), (72, 1), (72, 1), (74, 1), (76, 1), (74, 2), (72, 2)]  # G4 | C5 C5 D5 E5 | D5 C5


def _positions(primer):
    return [(e.pitch, e.octave, e.measure, e.beat) for e in primer.events if e.kind == "note"][:3]


@pytest.mark.parametrize("how", ["leading-silence", "short-first-bar"])
def test_pickup_keeps_its_beat(how):
    pitches, lengths = zip(*PICKUP_TUNE)
    events = off_then_on(pitches, lengths)
    meta = [mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)]
    if how == "leading-silence":
        events[0] = (3 * Q, *events[0][1:])
    else:
        meta = [mido.MetaMessage("time_signature", numerator=1, denominator=4, time=0),
                mido.MetaMessage("time_signature", numerator=4, denominator=4, time=Q)]  # fmt: skip
    primer = read_primer(midi_file(events, meta=meta), "pickup.mid")
    assert primer.pickup == 1.0
    assert _positions(primer) == [("G", 4, 0, 4.0), ("C", 5, 1, 1.0), ("C", 5, 1, 2.0)]


def test_run_of_32nd_notes_keeps_the_notes_on_the_beat():
    run = [60, 62, 64, 65, 67, 69, 71, 72]  # C D E F G A B C as 32nds, then a quarter D5
    events = [m for p in run for m in ((0, "note_on", p, 80), (Q // 8, "note_off", p, 0))]
    events += [(0, "note_on", 74, 80), (Q, "note_off", 74, 0)]
    primer = read_primer(midi_file(events), "fast.mid")
    assert notes(primer) == [
        ("C", 4, 0.25), ("E", 4, 0.25), ("G", 4, 0.25), ("B", 4, 0.25), ("D", 5, 1.0),
    ]  # fmt: skip
    assert primer.warnings == (Notice.of("grid_dropped", count=4),)  # the four 32nds between sixteenths


def test_triplets_moved_to_the_sixteenth_grid_are_said():
    third = Q // 3  # an eighth-note triplet C D E, then a half F
    events = [m for p in (60, 62, 64) for m in ((0, "note_on", p, 80), (third, "note_off", p, 0))]
    events += [(0, "note_on", 65, 80), (3 * Q, "note_off", 65, 0)]
    primer = read_primer(midi_file(events), "triplets.mid")
    assert notes(primer) == [("C", 4, 0.25), ("D", 4, 0.5), ("E", 4, 0.25), ("F", 4, 3.0)]
    assert primer.warnings == (Notice.of("grid_moved", count=2),)  # D at 1/3 -> 1/4, E at 2/3 -> 3/4


def test_smpte_timed_file_is_read_at_its_tempo():
    meta = [mido.MetaMessage("set_tempo", tempo=500_000, time=0)]  # 120 per minute: a quarter is 0.5 s
    data = midi_file(off_then_on([60, 62, 64], [1, 1, 2]), meta=meta, tpq=Q)
    # 30 frames per second x 16 ticks per frame = 480 ticks a second: one of our quarters is 2 quarters
    data = data[:12] + bytes([256 - 30, 16]) + data[14:]
    primer = read_primer(data, "smpte.mid")
    assert notes(primer) == [("C", 4, 2.0), ("D", 4, 2.0), ("E", 4, 4.0)] and primer.warnings == ()


def test_file_cut_short_is_read_with_a_warning_naming_the_loss():
    data = midi_file(off_then_on([60, 62, 64, 65], [1, 1, 1, 1]))
    primer = read_primer(data[:-9], "cut.mid")  # the last note's release and the track's end are gone
    assert [n[0] for n in notes(primer)] == ["C", "D", "E", "F"]
    assert [w.code for w in primer.warnings] == ["cut_short", "unreleased"]


def test_track_starting_with_running_status_loses_one_note_and_says_so():
    body = bytes([0x00, 0x40, 0x50])  # a note-on's data bytes with no status byte: E4, lost
    body += bytes([0x00, 0x90, 0x3C, 0x50, 0x83, 0x60, 0x3C, 0x00])  # C4, released by running status
    body += bytes([0x00, 0x3E, 0x50, 0x83, 0x60, 0x3E, 0x00, 0x00, 0xFF, 0x2F, 0x00])  # D4
    data = b"MThd" + struct.pack(">IhhH", 6, 0, 1, Q) + b"MTrk" + struct.pack(">I", len(body)) + body
    primer = read_primer(data, "status.mid")
    assert notes(primer) == [("C", 4, 1.0), ("D", 4, 1.0)]
    assert primer.warnings == (Notice.of("bytes_skipped", track=1, count=3, at=0.0),)


def test_ghost_notes_are_dropped_and_counted():
    events = [(0, "note_on", 61, 80), (0, "note_off", 61, 0), *off_then_on([60, 62], [1, 1])]
    primer = read_primer(midi_file(events), "ghost.mid")
    assert notes(primer) == [("C", 4, 1.0), ("D", 4, 1.0)]
    assert primer.warnings == (Notice.of("zero_length", count=1),)
    assert primer.warnings[0].text == "1 note of zero length (released as soon as struck) was left out"


def test_damaged_header_is_refused_in_words_without_raw_bytes():
    with pytest.raises(MusicInputError) as err:
        read_primer(b"MThd\x00\x00\x00\x06\x00\x07\x00\x01\x01\xe0MTrk", "bad.mid")
    assert err.value.notice.code == "header_invalid" and "b'" not in str(err.value)


def test_riff_that_is_not_midi_is_not_music():
    wav = b"RIFF" + struct.pack("<I", 4) + b"WAVE"
    with pytest.raises(MusicInputError, match="not a MIDI or MusicXML"):
        read_primer(wav, "sound.mid")


def test_meter_other_than_four_four_is_said():
    meta = [mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0)]
    primer = read_primer(midi_file(off_then_on([60, 62, 64], [1, 1, 1]), meta=meta), "waltz.mid")
    assert primer.warnings == (Notice.of("meter", meters="3/4"),)


# ----------------------------------------------------------------------------------------------------
# The kinds a player or notation program reads otherwise (issue 23)


def tracks_file(*tracks, fmt=1, said=None, tpq=Q) -> bytes:
    """A file of the given mido tracks; `said` patches the header's track count."""
    out = io.BytesIO()
    mido.MidiFile(type=fmt, ticks_per_beat=tpq, tracks=[mido.MidiTrack(t) for t in tracks]).save(file=out)
    data = out.getvalue()
    return data if said is None else data[:10] + struct.pack(">H", said) + data[12:]


def melody_track(pitches, lengths=None, *, name=None, channel=0, program=None, meta=()):
    """Messages of one track: its name and program, meta messages at (tick, message), the notes."""
    lengths = lengths or [1] * len(pitches)
    timed = [(t, 0, m) for t, m in meta]
    tick = 0
    for p, n in zip(pitches, lengths):
        timed += [(tick, 2, mido.Message("note_on", note=p, velocity=80, channel=channel))]
        tick += n * Q
        timed += [(tick, 1, mido.Message("note_off", note=p, velocity=0, channel=channel))]
    head = [mido.MetaMessage("track_name", name=name)] if name else []
    if program is not None:
        head.append(mido.Message("program_change", program=program, channel=channel))
    out, last = head, 0
    for t, _, m in sorted(timed, key=lambda x: (x[0], x[1])):
        out.append(m.copy(time=t - last))
        last = t
    return [*out, mido.MetaMessage("end_of_track", time=0)]


TUNE = [67, 69, 71, 72, 74, 72, 71, 69]  # G4 A4 B4 C5 | D5 C5 B4 A4, quarters
TUNE_NOTES = [("G", 4, 1.0), ("A", 4, 1.0), ("B", 4, 1.0), ("C", 5, 1.0),
              ("D", 5, 1.0), ("C", 5, 1.0), ("B", 4, 1.0), ("A", 4, 1.0)]  # fmt: skip


def codes(primer):
    return [(w.code, dict(w.values)) for w in primer.warnings]


def test_format_two_patterns_are_read_one_after_another_and_said():
    data = tracks_file(melody_track(TUNE[:4], name="Pattern 1"), melody_track(TUNE[4:]), fmt=2)
    primer = read_primer(data, "patterns.mid")
    assert notes(primer) == TUNE_NOTES and primer.pickup == 0.0
    assert codes(primer) == [("patterns", {"count": 2})]


def test_track_whose_first_event_has_no_status_byte_reads_every_note_on_the_beat():
    body = b""
    for i, p in enumerate(TUNE):  # note-on status written once (running status), note-offs explicit
        body += bytes([0x00, p, 0x50]) if i == 0 else bytes([0x00, 0x90, p, 0x50])
        body += bytes([0x83, 0x60, 0x80, p, 0x40])
    body += bytes([0x00, 0xFF, 0x2F, 0x00])
    data = b"MThd" + struct.pack(">IhhH", 6, 0, 1, Q) + b"MTrk" + struct.pack(">I", len(body)) + body
    primer = read_primer(data, "status.mid")
    assert notes(primer) == TUNE_NOTES and primer.pickup == 0.0
    assert [e.beat for e in primer.events] == [1.0, 2.0, 3.0, 4.0] * 2
    assert codes(primer) == [("status_assumed", {"track": 1, "note": 67})]
    assert primer.warnings[0].text.endswith("it was read as the strike of G4, which the track releases later")


def test_releases_on_another_channel_end_their_notes_and_are_said():
    track = melody_track(TUNE)
    for i, m in enumerate(track):  # every release sent on channel 2 (a common sequencer slip)
        if m.type == "note_off":
            track[i] = m.copy(channel=1)
    primer = read_primer(tracks_file([mido.MetaMessage("end_of_track")], track), "channels.mid")
    assert notes(primer) == TUNE_NOTES
    assert codes(primer) == [("release_other_channel", {"count": 8})]


@pytest.mark.parametrize("said", [1, 3], ids=["fewer", "more"])
def test_header_track_count_that_does_not_match_the_chunks_reads_every_chunk(said):
    data = tracks_file([mido.MetaMessage("end_of_track")], melody_track(TUNE), said=said)
    primer = read_primer(data, "count.mid")
    assert notes(primer) == TUNE_NOTES
    assert codes(primer) == [("track_count", {"said": said, "found": 2})]


def test_key_changes_in_the_melody_track_spell_each_note_in_the_key_in_force():
    # C#4/Db4 (MIDI 61) in A major (3 sharps), then after a change to A-flat major (4 flats) at bar 2
    meta = [
        (0, mido.MetaMessage("key_signature", key="A")),
        (4 * Q, mido.MetaMessage("key_signature", key="Ab")),
    ]
    data = tracks_file(melody_track([61, 64, 61, 64, 61, 63, 61, 63], meta=meta))
    spelled = [(p, o) for p, o, _ in notes(read_primer(data, "keys.mid"))]
    assert spelled == [("C#", 4), ("E", 4)] * 2 + [("D-", 4), ("E-", 4)] * 2


def test_a_meter_change_in_the_melody_track_is_said():
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (4 * Q, mido.MetaMessage("time_signature", numerator=3, denominator=4))]  # fmt: skip
    primer = read_primer(tracks_file(melody_track(TUNE, meta=meta)), "meters.mid")
    assert notes(primer) == TUNE_NOTES
    assert codes(primer) == [("meter", {"meters": "3/4"})]


ACCOMPANIMENT = [79, 79, 81, 81, 83, 83, 84, 84]  # a quiet part above the tune


@pytest.mark.parametrize(
    "names,tune_first,line,expected",
    [
        (("Melody", "Strings"), True, None, ("line_named", "Melody", 1)),
        (("Sopran", "Pad"), False, None, ("line_named", "Sopran", 2)),
        (("", ""), True, None, ("line_highest", "line 2", 2)),
        (("", ""), True, 1, ("line_chosen", "line 1", 1)),
        (("Oboe", "Strings"), True, "oboe", ("line_chosen", "Oboe", 1)),
    ],
    ids=["named-melody", "named-sopran-second", "highest", "by-number", "by-name"],
)
def test_the_melody_line_is_the_named_one_else_the_highest_and_is_said(names, tune_first, line, expected):
    tune, above = melody_track(TUNE, name=names[0]), melody_track(ACCOMPANIMENT, name=names[1])
    primer = read_primer(tracks_file(*((tune, above) if tune_first else (above, tune))), "two.mid", line=line)
    code, title, number = expected
    assert primer.line == number and primer.warnings[0].code == code
    assert primer.warnings[0].value("line") == title and primer.warnings[0].value("lines") == 2
    tune_line = 1 if tune_first else 2
    assert notes(primer) == (
        TUNE_NOTES
        if number == tune_line
        else [
            ("G", 5, 1.0),
            ("G", 5, 1.0),
            ("A", 5, 1.0),
            ("A", 5, 1.0),
            ("B", 5, 1.0),
            ("B", 5, 1.0),
            ("C", 6, 1.0),
            ("C", 6, 1.0),
        ]
    )
    ranges = {tune_line: (67, 74), 3 - tune_line: (79, 84)}
    assert [(x.number, x.low, x.high, x.notes) for x in primer.lines] == [
        (1, *ranges[1], 8),
        (2, *ranges[2], 8),
    ]


def test_the_named_melody_line_is_read_with_its_instrument():
    data = tracks_file(
        melody_track(TUNE, name="Melody", program=68), melody_track(ACCOMPANIMENT, name="Strings")
    )
    primer = read_primer(data, "two.mid")
    assert notes(primer) == TUNE_NOTES
    assert primer.lines[0].label == "1: Melody (Oboe, G4 to D5, 8 notes)"
    assert primer.warnings[0].text == (
        "the melody was taken from Melody (Oboe, G4 to D5): its name says it is the tune. The file has 2 "
        "lines; choose another if this is not the melody"
    )


def test_a_line_the_file_does_not_have_is_refused_naming_the_lines():
    data = tracks_file(melody_track(TUNE, name="Melody"), melody_track(ACCOMPANIMENT, name="Strings"))
    with pytest.raises(MusicInputError) as err:
        read_primer(data, "two.mid", line="3")
    assert err.value.notice.code == "line_unknown" and "2: Strings" in str(err.value)


def musicxml(notes_xml: str, *, part_name="Flute", extra_parts="") -> bytes:
    """A one-bar-per-measure-list MusicXML score: `notes_xml` is the first part's measures."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="4.0"><part-list><score-part id="P1"><part-name>{part_name}</part-name></score-part>
{'<score-part id="P2"><part-name>Bass</part-name></score-part>' if extra_parts else ""}</part-list>
<part id="P1">{notes_xml}</part>{extra_parts}</score-partwise>""".encode()


ATTRS = (
    "<attributes><divisions>2</divisions><key><fifths>0</fifths></key>"
    "<time><beats>4</beats><beat-type>4</beat-type></time></attributes>"
)


def xml_note(step, octave, duration=2, extra=""):
    pitch = f"<pitch><step>{step}</step><octave>{octave}</octave></pitch>"
    return f"<note>{extra}{pitch}<duration>{duration}</duration><type>quarter</type></note>"


def bar(number, body, attrs=""):
    return f'<measure number="{number}">{attrs}{body}</measure>'


def test_cue_and_grace_notes_are_silent():
    cues = "".join(xml_note(s, 5, extra="<cue/>") for s in "EFGA")
    grace = "<note><grace/><pitch><step>F</step><octave>5</octave></pitch><type>eighth</type></note>"
    tune = "".join(xml_note(s, o) for s, o in (("G", 4), ("A", 4), ("B", 4), ("C", 5)))
    tune2 = grace + "".join(xml_note(s, o) for s, o in (("D", 5), ("C", 5), ("B", 4), ("A", 4)))
    primer = read_primer(musicxml(bar(1, cues, ATTRS) + bar(2, tune) + bar(3, tune2)), "cues.musicxml")
    assert notes(primer) == TUNE_NOTES and primer.pickup == 0.0
    assert codes(primer) == [("cue_notes", {"count": 4}), ("grace_notes", {"count": 1})]


def mxl(files: dict[str, bytes], container: list[str] | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        if container is not None:
            roots = "".join(f'<rootfile full-path="{p}"/>' for p in container)
            zf.writestr("META-INF/container.xml", f"<container><rootfiles>{roots}</rootfiles></container>")
        for path, data in files.items():
            zf.writestr(path, data)
    return out.getvalue()


def test_mxl_reads_the_score_its_container_names_first():
    bass = musicxml(bar(1, "".join(xml_note("C", 3) for _ in range(4)), ATTRS), part_name="Bass")
    tune = "".join(xml_note(s, o) for s, o in (("G", 4), ("A", 4), ("B", 4), ("C", 5)))
    tune2 = "".join(xml_note(s, o) for s, o in (("D", 5), ("C", 5), ("B", 4), ("A", 4)))
    score = musicxml(bar(1, tune, ATTRS) + bar(2, tune2), part_name="Soprano")
    files = {"parts/Bass.musicxml": bass, "score.musicxml": score}
    primer = read_primer(mxl(files, ["score.musicxml", "parts/Bass.musicxml"]), "both.mxl")
    assert notes(primer) == TUNE_NOTES
    assert codes(primer) == [("mxl_rootfile", {"count": 2, "path": "score.musicxml"})]
    only = read_primer(mxl({"score.musicxml": score}, ["score.musicxml"]), "one.mxl")
    assert notes(only) == TUNE_NOTES and only.warnings == ()


def test_a_score_of_rests_only_is_called_that():
    rests = bar(1, "<note><rest/><duration>8</duration><type>whole</type></note>", ATTRS)
    with pytest.raises(MusicInputError) as err:
        read_primer(musicxml(rests), "rests.musicxml")
    assert err.value.notice.code == "all_rests"
    assert (
        str(err.value)
        == "rests.musicxml: the score holds only rests: there is no melody to continue; try a file with notes"
    )


def test_chords_reduced_to_their_top_line_are_said():
    chord = xml_note("C", 5) + xml_note("E", 4, extra="<chord/>").replace("<note><chord/>", "<note><chord/>")
    body = chord + "".join(xml_note(s, o) for s, o in (("D", 5), ("E", 5), ("F", 5)))
    primer = read_primer(musicxml(bar(1, body, ATTRS)), "chords.musicxml")
    assert notes(primer) == [("C", 5, 1.0), ("D", 5, 1.0), ("E", 5, 1.0), ("F", 5, 1.0)]
    assert codes(primer) == [("chords", {"count": 1})]


# ----------------------------------------------------------------------------------------------------
# The held-out chorale primers: melodies with notes in their opening


def test_held_out_primers_are_sung_voices_or_instruments_playing_the_tune_with_notes_in_their_opening():
    from bachlstm.generation.primer import primer_choices
    from bachlstm.music.events import Corpus, Melody, Part, Piece
    from bachlstm.music.scores import stamp_bars
    from tests.builders import note, rest

    tune = stamp_bars([note(p, 5) for p in "CDEFGFED"] + [note("C", 5, 4.0)])
    other = stamp_bars([note(p, 4) for p in "EGCEGCEG"] + [note("E", 4, 4.0)])
    silent = stamp_bars([rest(4.0), rest(4.0), note("C", 5, 4.0)])
    parts = {"Soprano": tune, "Horn 1": tune, "Trumpet 1": silent, "Violin 1": other, "Alto": other}
    piece = Piece(
        id="bwv1", path="", title="T", key_sharps=0, mode="major", key_estimate="C major",
        time_signatures=("4/4",), parts=tuple(Part(n, ("4/4",), ev) for n, ev in parts.items()),
        n_measures=3, pickup_quarters=0.0, length_quarters=12.0,
    )  # fmt: skip
    corpus = Corpus(pieces=(piece,), n_score_files=1, music21_version="", extractor_version=0)
    melodies = [Melody("bwv1", voice, tuple(ev)) for voice, ev in parts.items()]
    offered, left = primer_choices(melodies, corpus, bars=2)
    assert [(c.melody.voice, c.why) for c in offered] == [
        ("Soprano", "voice"),
        ("Horn 1", "tune"),
        ("Alto", "voice"),
    ]
    assert [(c.melody.voice, c.why) for c in left] == [("Trumpet 1", "silent"), ("Violin 1", "not_tune")]


@pytest.mark.slow
def test_the_shipped_workshop_model_offers_no_silent_trumpet_and_says_which_horns_play_the_tune():
    from app_pages.texts import left_out_primers_text, primer_choice_label
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.generation.primer import primer_choices
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.training.splits import split_melodies

    held_out = split_melodies(load_checkpoint("workshop").meta)["test"]
    offered, left = primer_choices(held_out, load_corpus())
    assert [(c.melody.piece_id, c.melody.voice, c.why) for c in left] == [("bwv149.7", "Trumpet 1", "silent")]
    horns = [primer_choice_label(c) for c in offered if c.why == "tune"]
    assert len(horns) == 3 and all(", plays the tune" in h and "Horn 1" in h for h in horns)
    assert len(offered) == 29 and {c.why for c in offered} == {"voice", "tune"}
    assert (
        left_out_primers_text(left)
        == "Not offered as primers: rests in their opening bars: bwv149.7 Trumpet 1."
    )


def test_the_score_command_takes_the_track_asked_for_and_lists_the_others(tmp_path, capsys):
    from bachlstm.cli import main

    path = tmp_path / "two.mid"
    path.write_bytes(
        tracks_file(melody_track(TUNE, name="Melody"), melody_track(ACCOMPANIMENT, name="Strings"))
    )
    main(["score", str(path), "--part", "strings", "--json"])
    said = capsys.readouterr().err.splitlines()
    assert said == [
        "two.mid: the melody was taken from Strings (no instrument named, G5 to C6), as chosen",
        "two.mid: lines (choose with --track N or NAME): 1: Melody (no instrument named, G4 to D5, 8 notes); "
        "2: Strings (no instrument named, G5 to C6, 8 notes)",
    ]


def test_mxl_container_namespaced_or_with_dot_slash_or_missing_still_finds_the_score():
    bass = musicxml(bar(1, "".join(xml_note("C", 3) for _ in range(4)), ATTRS), part_name="Bass")
    tune = "".join(xml_note(s, o) for s, o in (("G", 4), ("A", 4), ("B", 4), ("C", 5)))
    tune2 = "".join(xml_note(s, o) for s, o in (("D", 5), ("C", 5), ("B", 4), ("A", 4)))
    score = musicxml(bar(1, tune, ATTRS) + bar(2, tune2), part_name="Soprano")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="./score.musicxml"/></rootfiles></container>',
        )
        zf.writestr("parts/Bass.musicxml", bass)
        zf.writestr("score.musicxml", score)
    assert notes(read_primer(out.getvalue(), "ns.mxl")) == TUNE_NOTES
    alone = read_primer(mxl({"score.musicxml": score, "z/Bass.musicxml": bass}, None), "no-container.mxl")
    assert notes(alone) == TUNE_NOTES  # without a container: the zip's first MusicXML file


def test_a_general_midi_program_name_does_not_make_a_line_the_melody():
    # "Voice Oohs" (program 53) is a pad, not a voice part: with no track named, the highest line is taken
    data = tracks_file(melody_track(TUNE), melody_track(ACCOMPANIMENT, program=53))
    primer = read_primer(data, "pad.mid")
    assert (
        primer.warnings[0].code == "line_highest" and primer.warnings[0].value("instrument") == "Voice Oohs"
    )


@pytest.mark.slow
def test_the_command_line_refuses_a_chorale_primer_whose_opening_is_silent(capsys):
    from bachlstm.cli import main
    from tests.builders import CHECKPOINTS

    if not (CHECKPOINTS / "workshop.safetensors").exists():
        pytest.skip("workshop.safetensors is not shipped")
    with pytest.raises(SystemExit) as done:  # workshop's melody of bwv149.7 is its first part, Trumpet 1
        main(["generate", "--checkpoint", "workshop", "--primer", "bwv149.7", "--length", "16"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "error: --primer bwv149.7: this model's melody of it is Trumpet 1, rests in its opening bars; try "
        "another chorale or a file\n"
    )
