"""MIDI in and out: every way files write repeated notes, RMID, SMPTE, damaged files, pickups written back."""

from __future__ import annotations

import io
import struct

import mido
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bachlstm.music.events import Event
from bachlstm.music.midi import MidiReadError, midi_text, pickup_signature, read_midi, unwrap_riff, write_midi
from bachlstm.music.notices import Notice

Q = 480  # ticks per quarter in the fixtures


def smf(*messages, tpq: int = Q, meta=(), division: int | None = None) -> bytes:
    """A type-1 file: a tempo/meta track and one track of (delta, type, note) messages."""
    head = mido.MidiTrack([*meta, mido.MetaMessage("end_of_track", time=0)])
    track = mido.MidiTrack()
    for delta, kind, note in messages:
        track.append(mido.Message(kind, note=note, velocity=0 if kind == "note_off" else 80, time=delta))
    track.append(mido.MetaMessage("end_of_track", time=0))
    out = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=tpq, tracks=[head, track]).save(file=out)
    data = out.getvalue()
    if division is not None:  # patch the header's division field (mido writes it unsigned)
        data = data[:12] + struct.pack(">h", division) + data[14:]
    return data


def notes_of(data: bytes) -> list[tuple[float, float, int]]:
    return [(n.start, n.end, n.pitch) for n in read_midi(data).notes]


def test_repeated_notes_with_next_on_before_previous_off():
    # C5 C5 C5 C5 | D5 D5 E5(half): each repeat's note-on precedes the previous note-off at the same tick
    msgs = [(0, "note_on", 72)]
    for pitch, prev in ((72, 72), (72, 72), (72, 72), (74, 72), (74, 74), (76, 74)):
        msgs += [(Q, "note_on", pitch), (0, "note_off", prev)]
    msgs.append((2 * Q, "note_off", 76))
    assert notes_of(smf(*msgs)) == [
        (0.0, 1.0, 72), (1.0, 2.0, 72), (2.0, 3.0, 72), (3.0, 4.0, 72),
        (4.0, 5.0, 74), (5.0, 6.0, 74), (6.0, 8.0, 76),
    ]  # fmt: skip


def test_restruck_while_sounding_is_two_notes():
    # on, on, off, off: the first release ends the first strike (first in, first out)
    data = smf((0, "note_on", 67), (Q, "note_on", 67), (Q, "note_off", 67), (Q, "note_off", 67))
    assert notes_of(data) == [(0.0, 2.0, 67), (1.0, 3.0, 67)]


def test_note_on_with_velocity_zero_releases_and_zero_length_notes_are_counted():
    head = [(0, "note_on", 60), (0, "note_off", 60), (0, "note_on", 62), (Q, "note_off", 62)]
    reading = read_midi(smf(*head))
    assert [(n.start, n.end, n.pitch) for n in reading.notes] == [(0.0, 1.0, 62)]
    assert reading.zero_length == 1 and reading.warnings == ()


def test_riff_wrapped_midi_reads_the_embedded_file():
    inner = smf(*[m for i in range(8) for m in ((0, "note_on", 60 + i), (Q, "note_off", 60 + i))])
    chunk = b"data" + struct.pack("<I", len(inner)) + inner + (b"\0" if len(inner) % 2 else b"")
    riff = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk
    assert unwrap_riff(riff) == inner
    assert [round(e - s, 6) for s, e, _ in notes_of(riff)] == [1.0] * 8


def test_riff_without_midi_data_is_refused_in_words():
    riff = b"RIFF" + struct.pack("<I", 12) + b"RMID" + b"LIST" + struct.pack("<I", 0)
    with pytest.raises(MidiReadError, match="MIDI data inside it is missing"):
        read_midi(riff)


def test_smpte_timed_file_is_converted_through_its_tempo():
    # 25 frames per second x 40 ticks per frame = 1000 ticks a second; tempo 60/min: a quarter is 1 s
    meta = [mido.MetaMessage("set_tempo", tempo=1_000_000, time=0)]
    smpte = struct.unpack(">h", bytes([256 - 25, 40]))[0]  # high byte -25 (frames/s), low byte 40
    data = smf((0, "note_on", 60), (1000, "note_off", 60), (0, "note_on", 64), (2000, "note_off", 64),
               meta=meta, division=smpte)  # fmt: skip
    reading = read_midi(data)
    assert notes_of(data) == [(0.0, 1.0, 60), (1.0, 3.0, 64)]
    assert reading.tempo_bpm == 60.0 and reading.warnings == ()


def test_file_cut_short_keeps_what_was_whole_and_says_what_was_lost():
    data = smf((0, "note_on", 60), (Q, "note_off", 60), (0, "note_on", 62), (Q, "note_off", 62))
    cut = data[:-6]  # the last note-off and the end-of-track are gone
    reading = read_midi(cut)
    assert [(n.start, n.pitch) for n in reading.notes] == [(0.0, 60), (1.0, 62)]
    assert reading.warnings == (Notice.of("cut_short", track=2, at=2.0), Notice.of("unreleased", count=1))


def test_running_status_without_a_status_byte_is_skipped_with_a_warning():
    track = bytes([0x00, 0x3C, 0x50])  # data bytes of a note-on, but no status byte before them
    track += bytes([0x00, 0x90, 0x3E, 0x50, 0x83, 0x60, 0x80, 0x3E, 0x00, 0x00, 0xFF, 0x2F, 0x00])
    data = b"MThd" + struct.pack(">IhhH", 6, 0, 1, Q) + b"MTrk" + struct.pack(">I", len(track)) + track
    reading = read_midi(data)
    assert [(n.start, n.end, n.pitch) for n in reading.notes] == [(0.0, 1.0, 62)]
    # C4 is never released, so its strike is not guessed: the two bytes are skipped, and said
    assert reading.warnings == (Notice.of("bytes_skipped", track=1, count=3, at=0.0),)
    assert "b'" not in reading.warnings[0].text and "\\x" not in reading.warnings[0].text


def test_not_midi_is_refused_without_raw_bytes():
    with pytest.raises(MidiReadError) as err:
        read_midi(b"RIFF\x10\x00\x00\x00WAVEfmt ")
    assert "b'" not in str(err.value) and "RIFF" not in str(err.value)


def test_drums_are_left_out_and_counted():
    track = mido.MidiTrack(
        [mido.Message("note_on", channel=9, note=36, velocity=90, time=0),
         mido.Message("note_off", channel=9, note=36, velocity=0, time=Q),
         mido.Message("note_on", channel=0, note=60, velocity=90, time=0),
         mido.Message("note_off", channel=0, note=60, velocity=0, time=Q)]
    )  # fmt: skip
    out = io.BytesIO()
    mido.MidiFile(type=0, ticks_per_beat=Q, tracks=[track]).save(file=out)
    reading = read_midi(out.getvalue())
    assert [(n.start, n.pitch) for n in reading.notes] == [(1.0, 60)] and reading.drum_notes == 1


@pytest.mark.parametrize(
    "pickup, signature", [(1.0, (1, 4)), (1.5, (3, 8)), (0.5, (1, 8)), (3.0, (3, 4)), (0.25, (1, 16))]
)
def test_pickup_signature(pickup, signature):
    assert pickup_signature(pickup) == signature


def _note(name, octave, midi, ql, tie=None):
    return Event("note", ql, "quarter" if ql == 1 else "half", 0, name, octave, midi, tie)


def test_written_pickup_is_a_short_first_bar_and_reads_back_at_its_beat():
    events = [_note("G", 4, 67, 1.0), _note("C", 5, 72, 1.0), _note("C", 5, 72, 2.0, "start"),
              _note("C", 5, 72, 1.0, "stop"), _note("D", 5, 74, 1.0)]  # fmt: skip
    data = write_midi(events, pickup=1.0, key_sharps=1, tempo_bpm=90, title="x")
    mf = mido.MidiFile(file=io.BytesIO(data))
    sigs = [(m.numerator, m.denominator) for m in mf.tracks[0] if m.type == "time_signature"]
    assert sigs == [(1, 4), (4, 4)]
    reading = read_midi(data)
    assert reading.downbeat == 1.0 and reading.bar_quarters == 4.0 and reading.key_sharps == 1
    assert reading.tempo_bpm == 90.0
    # the tied C5 sounds as one note of 3 quarters; bar lines at 1, 5: D5 is the downbeat of bar 2
    assert notes_of(data) == [(0.0, 1.0, 67), (1.0, 2.0, 72), (2.0, 5.0, 72), (5.0, 6.0, 74)]
    assert [m.name for m in mf.tracks[1] if m.type == "track_name"] == ["x"]


def test_no_pickup_writes_one_four_four():
    data = write_midi([_note("C", 5, 72, 1.0)], pickup=0.0)
    reading = read_midi(data)
    assert (reading.downbeat, reading.meter) == (0.0, "4/4")


@given(st.text(max_size=40))
def test_any_title_can_be_written_and_read_back(title):
    data = write_midi([_note("C", 5, 72, 1.0)], title=title)
    names = [m.name for m in mido.MidiFile(file=io.BytesIO(data)).tracks[1] if m.type == "track_name"]
    assert names == [midi_text(title or "melody")]
    assert midi_text("Jesu, meine Freude \u2019s \u2014 \u00e4") == "Jesu, meine Freude 's - \u00e4"
