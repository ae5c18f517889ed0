"""Uploaded primers of every kind that used to go wrong, read note for note (fixtures built here as bytes)."""

from __future__ import annotations

import io
import struct

import mido
import pytest

from bachlstm.generation.primer import MusicInputError, read_primer

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
    assert notes(read_primer(midi_file(events), "fast.mid")) == [
        ("C", 4, 0.25), ("E", 4, 0.25), ("G", 4, 0.25), ("B", 4, 0.25), ("D", 5, 1.0),
    ]  # fmt: skip


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
    assert any("cut short" in w for w in primer.warnings)


def test_track_starting_with_running_status_loses_one_note_and_says_so():
    body = bytes([0x00, 0x40, 0x50])  # a note-on's data bytes with no status byte: E4, lost
    body += bytes([0x00, 0x90, 0x3C, 0x50, 0x83, 0x60, 0x3C, 0x00])  # C4, released by running status
    body += bytes([0x00, 0x3E, 0x50, 0x83, 0x60, 0x3E, 0x00, 0x00, 0xFF, 0x2F, 0x00])  # D4
    data = b"MThd" + struct.pack(">IhhH", 6, 0, 1, Q) + b"MTrk" + struct.pack(">I", len(body)) + body
    primer = read_primer(data, "status.mid")
    assert notes(primer) == [("C", 4, 1.0), ("D", 4, 1.0)]
    assert len(primer.warnings) == 1 and "no MIDI status" in primer.warnings[0]


def test_ghost_notes_are_dropped_and_counted():
    events = [(0, "note_on", 61, 80), (0, "note_off", 61, 0), *off_then_on([60, 62], [1, 1])]
    primer = read_primer(midi_file(events), "ghost.mid")
    assert notes(primer) == [("C", 4, 1.0), ("D", 4, 1.0)]
    assert primer.warnings == ("1 note(s) of zero length (released as soon as struck) were left out",)


def test_damaged_header_is_refused_in_words_without_raw_bytes():
    with pytest.raises(MusicInputError) as err:
        read_primer(b"MThd\x00\x00\x00\x06\x00\x07\x00\x01\x01\xe0MTrk", "bad.mid")
    assert "b'" not in str(err.value) and "corrupt" in str(err.value)


def test_riff_that_is_not_midi_is_not_music():
    wav = b"RIFF" + struct.pack("<I", 4) + b"WAVE"
    with pytest.raises(MusicInputError, match="not a MIDI or MusicXML"):
        read_primer(wav, "sound.mid")


def test_meter_other_than_four_four_is_said():
    meta = [mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0)]
    primer = read_primer(midi_file(off_then_on([60, 62, 64], [1, 1, 1]), meta=meta), "waltz.mid")
    assert any("3/4" in w for w in primer.warnings)
