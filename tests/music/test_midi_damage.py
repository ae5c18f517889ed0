"""Damaged MIDI files, made from generated melodies byte by byte: the reader never invents a note and
always says when it lost one (or refuses the file in words).

The damage kinds are the ones students' files show: a file cut short anywhere, a track whose first
message lost its status byte (with or without running status after it), and wrong counts (the header's
number of tracks, a track chunk's length).
"""

from __future__ import annotations

import struct
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.music.midi import MidiReadError, read_midi

Q = 96  # ticks per quarter in these files

# A melody: (rest before it in sixteenths, length in sixteenths, MIDI pitch) per note
NOTES = st.lists(
    st.tuples(st.integers(0, 4), st.integers(1, 8), st.integers(40, 90)), min_size=1, max_size=12
)


def _varint(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


def _track(notes, *, running: bool, channel: int, program: bool) -> tuple[bytes, int]:
    """A track chunk's body and the offset of its first channel message's status byte.

    Releases are note-ons with velocity 0 where `running`, so one status byte serves the whole track;
    otherwise every message carries its own status (note-offs 0x80)."""
    body = bytearray(b"\x00\xff\x03\x05Melod")  # a track name first, as most writers do
    first = None
    if program:
        first = len(body) + 1
        body += bytes([0x00, 0xC0 | channel, 0x34])
    status = None
    for rest, length, pitch in notes:
        for delta, kind, velocity in ((rest * Q // 4, 0x90, 80), (length * Q // 4, 0x80, 0)):
            byte = (0x90 if running else kind) | channel
            body += _varint(delta)
            if first is None:
                first = len(body)
            if byte != status or not running:
                body.append(byte)
            body += bytes([pitch, velocity])
            status = byte
    body += b"\x00\xff\x2f\x00"
    return bytes(body), first


def _file(tracks: list[bytes], fmt: int = 1) -> tuple[bytes, list[int]]:
    """The file's bytes and where each track chunk's body starts."""
    out = bytearray(b"MThd" + struct.pack(">IhhH", 6, fmt, len(tracks), Q))
    starts = []
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body))
        starts.append(len(out))
        out += body
    return bytes(out), starts


def _onsets(notes) -> list[tuple[float, int]]:
    t, out = 0, []
    for rest, length, pitch in notes:
        t += rest
        out.append((t / 4, pitch))
        t += length
    return out


@st.composite
def damaged(draw):
    """(original (onset, pitch) of every note, damaged bytes, kind of damage)."""
    melody, second = draw(NOTES), draw(st.one_of(st.none(), NOTES))
    running, program = draw(st.booleans()), draw(st.booleans())
    tracks = [_track(melody, running=running, channel=0, program=program)]
    if second is not None:
        tracks.append(_track(second, running=running, channel=1, program=False))
    data, starts = _file([body for body, _ in tracks])
    original = _onsets(melody) + (_onsets(second) if second is not None else [])
    kind = draw(st.sampled_from(["cut", "no status", "track count", "chunk length"]))
    if kind == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "no status":
        k = draw(st.integers(0, len(tracks) - 1))
        at = starts[k] + tracks[k][1]
        data = data[:at] + data[at + 1 :]
        size = struct.unpack(">I", data[starts[k] - 4 : starts[k]])[0] - 1
        data = data[: starts[k] - 4] + struct.pack(">I", size) + data[starts[k] :]
    elif kind == "track count":
        said = draw(st.integers(0, 4).filter(lambda n: n != len(tracks)))
        data = data[:10] + struct.pack(">H", said) + data[12:]
    else:
        k = draw(st.integers(0, len(tracks) - 1))
        size = len(tracks[k][0]) + draw(st.integers(-40, 40).filter(lambda d: d != 0))
        data = data[: starts[k] - 4] + struct.pack(">I", max(size, 0)) + data[starts[k] :]
    return original, data, kind


@settings(max_examples=300, deadline=None)
@given(damaged())
def test_damaged_files_never_gain_notes_and_always_say_what_they_lost(case):
    original, data, kind = case
    try:
        reading = read_midi(data)
    except MidiReadError as exc:  # refused: said in words, no note shown
        assert exc.notice.text and "\\x" not in str(exc), kind
        return
    read = [(round(n.start, 6), n.pitch) for n in reading.notes]
    invented = Counter(read) - Counter((round(t, 6), p) for t, p in original)
    assert not invented, (kind, invented)  # every note read was in the file, at its time and pitch
    if len(read) < len(original):
        assert reading.warnings, (kind, len(read), len(original))  # a loss is always said


@settings(max_examples=100, deadline=None)
@given(NOTES, st.booleans(), st.booleans())
def test_a_track_without_its_first_status_byte_reads_every_note(notes, running, program):
    body, first = _track(notes, running=running, channel=0, program=program)
    body = body[:first] + body[first + 1 :]
    data, _ = _file([body])
    reading = read_midi(data)
    if program:  # the program change lost its status: its data byte is skipped, the notes all read
        assert [w.code for w in reading.warnings] == ["bytes_skipped"]
    else:  # the first strike is read as the note-on it was, and said
        assert [w.code for w in reading.warnings] == ["status_assumed"]
    assert [(round(n.start, 6), n.pitch) for n in reading.notes] == sorted(
        _onsets(notes), key=lambda x: (x[0], -x[1])
    )
