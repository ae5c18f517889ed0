"""Standard MIDI files in and out, with mido: notes paired as players sound them, RMID unwrapped, SMPTE
time converted, damaged files read with a warning that names what was lost; melodies written with their
pickup bar, key signature, tempo and track name.

Reading returns notes in quarters (not yet a melody: `bachlstm.melody_line` picks the top line and fits
it to the model's grid). Writing takes spelled events and writes one track.
"""

from __future__ import annotations

import io
import struct
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import mido
from mido.messages.specs import SPEC_BY_STATUS
from mido.midifiles.meta import build_meta_message

from bachlstm.music.events import Event

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10 counted from 1): no melody there
DEFAULT_TEMPO_US = 500_000  # MIDI's default tempo, 120 quarters per minute (SMF 1.0 spec)
TICKS_PER_QUARTER = 480  # what we write: divisible by 3 and by 32
KEY_NAMES = {  # mido's key_signature names -> sharps (> 0) or flats (< 0)
    **{name: sharps for sharps, name in enumerate(("C", "G", "D", "A", "E", "B", "F#", "C#"))},
    **{name: -flats for flats, name in enumerate(("C", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb"))},
    **{name: sharps for sharps, name in enumerate(("Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"))},
    **{name: -flats for flats, name in enumerate(("Am", "Dm", "Gm", "Cm", "Fm", "Bbm", "Ebm", "Abm"))},
}
_SHARPS_TO_KEY = {(v, k.endswith("m")): k for k, v in KEY_NAMES.items()}


class MidiReadError(ValueError):
    """Bytes that cannot be read as a MIDI file; the message says why in plain words."""


@dataclass(frozen=True)
class MidiNote:
    """One sounding note: onset and release in quarters from the file's start, MIDI pitch, channel."""

    start: float
    end: float
    pitch: int
    channel: int = 0


@dataclass(frozen=True)
class MidiReading:
    """What a MIDI file says about its melody, in quarters.

    `notes` are sorted by onset (highest first at equal onsets), drums excluded. `bar_quarters` is the
    length of a full bar of the file's meter, `downbeat` the time of one bar line (bar lines fall at
    downbeat + k * bar_quarters): a file that opens with a short bar (a pickup written as a time-signature
    change) has its downbeat at the end of that bar. `warnings` name what a damaged file lost.
    """

    notes: tuple[MidiNote, ...]
    bar_quarters: float = 4.0
    downbeat: float = 0.0
    meter: str = "4/4"
    key_sharps: int | None = None
    tempo_bpm: float = 120.0
    zero_length: int = 0  # notes released at the tick they were struck (ghost notes), dropped
    drum_notes: int = 0
    warnings: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------------
# Bytes -> tracks


def unwrap_riff(data: bytes) -> bytes:
    """The standard MIDI file inside a RIFF "RMID" container; other bytes are returned unchanged.

    RMID (Microsoft's RIFF MIDI) stores the file in a chunk named "data". Raises MidiReadError when a
    RIFF MIDI file has no such chunk.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"RMID":
        return data
    pos = 12
    while pos + 8 <= len(data):
        name, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if name == b"data":
            return data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)  # RIFF chunks are padded to even sizes
    raise MidiReadError("it is a RIFF MIDI (RMID) file, but the MIDI data inside it is missing")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """A MIDI variable-length number at `pos`: (value, next position). Raises IndexError at the end."""
    value = 0
    for _ in range(4):
        byte = buf[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    return value, pos


class _Orphan(Exception):
    """Data bytes with no status byte before them (running status with nothing to run on)."""


def _decode(buf: bytes, pos: int) -> tuple[list, int, str | None]:
    """Messages of a track's bytes from `pos`: (messages, ticks read, None or "orphan@POS" / "cut").

    Stops at the first byte that cannot be read: data with no running status to use (orphan), or the
    end of the bytes in the middle of an event (cut). Sysex is skipped (no melody in it).
    """
    out, status, pending, ticks = [], None, 0, 0
    while pos < len(buf):
        start = pos
        try:
            delta, pos = _varint(buf, pos)
            byte = buf[pos]
            if byte < 0x80 and status is None:
                return out, ticks, f"orphan@{start}"
            if byte >= 0x80:
                pos += 1
                if byte < 0xF0:
                    status = byte  # meta and sysex events do not set running status
            else:
                byte = status
            ticks += delta
            if byte == 0xFF:
                kind = buf[pos]
                size, pos = _varint(buf, pos + 1)
                if pos + size > len(buf):
                    raise IndexError
                out.append(build_meta_message(kind, list(buf[pos : pos + size]), delta + pending))
                pos, pending = pos + size, 0
            elif byte in (0xF0, 0xF7):
                size, pos = _varint(buf, pos)
                pos, pending = pos + size, pending + delta
                if pos > len(buf):
                    raise IndexError
            else:
                n = SPEC_BY_STATUS[byte]["length"] - 1
                data = list(buf[pos : pos + n])
                if len(data) < n:
                    raise IndexError
                pos += n
                out.append(
                    mido.Message.from_bytes([byte, *[min(d, 127) for d in data]], time=delta + pending)
                )
                pending = 0
        except IndexError:
            out.append(mido.MetaMessage("end_of_track", time=pending + (delta if pos > start else 0)))
            return out, ticks, "cut"
    return out, ticks, None


def _read_track_lenient(buf: bytes, number: int, division: int) -> tuple[mido.MidiTrack, list[str]]:
    """Messages of one damaged track, skipping what cannot be read instead of failing.

    Orphan data bytes are skipped: the reader resumes at the nearest following position from which the
    rest of the track reads cleanly. A track cut short ends at its last whole message. Each loss is a
    warning in words (never the raw bytes).
    """
    track, warnings, pos, tick = mido.MidiTrack(), [], 0, 0

    def where() -> str:
        return f"about {tick / division:.1f} quarters in" if division > 0 else f"at tick {tick}"

    while True:
        messages, ticks, problem = _decode(buf, pos)
        track.extend(messages)
        tick += ticks
        if problem is None:
            return track, warnings
        if problem == "cut":
            warnings.append(
                f"track {number} ends in the middle of an event (the file was cut short): "
                f"what came after {where()} is lost"
            )
            return track, warnings
        bad = int(problem.split("@")[1])
        resume = next(
            (j for j in range(bad + 1, min(len(buf), bad + 16)) if _decode(buf, j)[2] is None),
            None,
        )
        if resume is None:
            warnings.append(f"track {number} could not be read {where()}: its notes from there on are lost")
            return track, warnings
        warnings.append(
            f"track {number}: {resume - bad} byte(s) with no MIDI status were skipped {where()} "
            "(a note or its release may be lost there)"
        )
        pos = resume


def _read_lenient(data: bytes) -> tuple[int, list[mido.MidiTrack], list[str]]:
    """(division, tracks, warnings) of a damaged file: chunks walked by hand, tracks read leniently."""
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidiReadError("it starts like a MIDI file but its header is incomplete")
    header_size = struct.unpack(">I", data[4:8])[0]
    fmt, n_tracks, division = struct.unpack(">hhh", data[8:14])
    if header_size < 6 or fmt not in (0, 1, 2):
        raise MidiReadError("it starts like a MIDI file, but its header is invalid (a corrupt file)")
    pos, tracks, warnings = 8 + header_size, [], []
    while pos + 8 <= len(data) and len(tracks) < max(n_tracks, 1):
        name, size = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        pos += 8 + size
        if name != b"MTrk":
            continue
        if len(body) < size:
            warnings.append(f"the file was cut short: track {len(tracks) + 1} is missing its last bytes")
        track, lost = _read_track_lenient(body, len(tracks) + 1, division)
        tracks.append(track)
        warnings.extend(w for w in lost if "cut short" not in w or len(body) == size)
    if not tracks:
        raise MidiReadError("it starts like a MIDI file, but holds no track (a corrupt or truncated file)")
    if len(tracks) < n_tracks:
        warnings.append(
            f"the file was cut short: {n_tracks - len(tracks)} of its {n_tracks} tracks are missing"
        )
    return division, tracks, warnings


def _tracks(data: bytes) -> tuple[int, list[mido.MidiTrack], list[str]]:
    """(division, tracks, warnings): mido reads a sound file; a damaged one is read leniently."""
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
        return mf.ticks_per_beat, list(mf.tracks), []
    except (OSError, EOFError, ValueError, KeyError, IndexError, struct.error):
        return _read_lenient(data)


# ----------------------------------------------------------------------------------------------------
# Tracks -> notes in quarters


def _pair_notes(
    tracks: Sequence[mido.MidiTrack], quarter: float
) -> tuple[list[tuple[float, float, int, int]], int, int, int]:
    """(start tick, end tick, pitch, channel) of every note, drums, zero-length and never-released counts.

    Note-ons and note-offs (or note-ons with velocity 0) are matched first in, first out per channel and
    pitch: the first release ends the earliest sounding strike, which is how a synthesizer that re-strikes
    a held key sounds it. So "on, on, off, off" is two notes, and "on(next) before off(previous)" at the
    same tick keeps both repeated notes. A note never released ends with its track, or lasts one quarter
    (`quarter` ticks) when the track ends at its strike (a file cut short).
    """
    notes, drums, zero, open_at_end = [], 0, 0, 0
    for track in tracks:
        sounding: dict[tuple[int, int], deque[int]] = defaultdict(deque)
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            if msg.channel == DRUM_CHANNEL:
                drums += msg.type == "note_on" and msg.velocity > 0
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[key].append(tick)
            elif sounding[key]:
                start = sounding[key].popleft()
                if tick > start:
                    notes.append((start, tick, msg.note, msg.channel))
                else:
                    zero += 1
        for (channel, pitch), starts in sounding.items():
            for start in starts:
                open_at_end += 1
                notes.append((start, tick if tick > start else start + quarter, pitch, channel))
    return notes, drums, zero, open_at_end


def _meta(tracks: Sequence[mido.MidiTrack], kind: str) -> list[tuple[int, mido.MetaMessage]]:
    """(absolute tick, message) of every meta message of one type, over all tracks, in time order."""
    found = []
    for track in tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == kind:
                found.append((tick, msg))
    return sorted(found, key=lambda x: x[0])


def _bars(tracks, to_quarters) -> tuple[float, float, str]:
    """(bar_quarters, downbeat, meter) from the time signatures: a short opening bar is a pickup."""
    signatures = _meta(tracks, "time_signature")
    if not signatures:
        return 4.0, 0.0, "4/4"
    tick0, first = signatures[0]
    first_bar = first.numerator * 4 / first.denominator
    later = [(t, m) for t, m in signatures if t > tick0]
    if later:
        tick1, second = later[0]
        bar = second.numerator * 4 / second.denominator
        start1 = to_quarters(tick1) - to_quarters(tick0)
        if abs(start1 - first_bar) < 1e-6 and first_bar < bar:  # one short bar, then the real meter
            return bar, to_quarters(tick1), f"{second.numerator}/{second.denominator}"
    return first_bar, to_quarters(tick0), f"{first.numerator}/{first.denominator}"


def read_midi(data: bytes) -> MidiReading:
    """Notes, meter, key, tempo and warnings of a standard MIDI file (or RMID), times in quarters.

    Ticks become quarters through the file's division; an SMPTE-timed file (negative division: frames
    per second and ticks per frame) is converted through seconds at its first tempo (120 per minute when
    it has none). Raises MidiReadError for bytes that are not MIDI. Never shows raw bytes.
    """
    data = unwrap_riff(data)
    if data[:4] != b"MThd":
        raise MidiReadError("it is not a standard MIDI file (no 'MThd' header)")
    division, tracks, warnings = _tracks(data)
    tempos = _meta(tracks, "set_tempo")
    tempo_us = tempos[0][1].tempo if tempos else DEFAULT_TEMPO_US
    if division > 0:
        per_quarter = float(division)
    elif division < 0:  # SMPTE: high byte is -frames per second, low byte ticks per frame
        fps = -(division >> 8)
        fps = 29.97 if fps == 29 else fps
        per_quarter = fps * (division & 0xFF) * tempo_us / 1e6
    else:
        raise MidiReadError("its header says a quarter note lasts 0 ticks, so no note can be placed")

    def to_quarters(tick: int) -> float:
        return tick / per_quarter

    raw, drums, zero, unreleased = _pair_notes(tracks, per_quarter)
    if unreleased:
        warnings.append(
            f"{unreleased} note(s) were never released; they end with their track (or last one quarter)"
        )
    notes = sorted(
        (MidiNote(to_quarters(a), to_quarters(b), p, c) for a, b, p, c in raw),
        key=lambda n: (n.start, -n.pitch),
    )
    bar, downbeat, meter = _bars(tracks, to_quarters)
    keys = _meta(tracks, "key_signature")
    return MidiReading(
        notes=tuple(notes),
        bar_quarters=bar,
        downbeat=downbeat,
        meter=meter,
        key_sharps=KEY_NAMES.get(keys[0][1].key) if keys else None,
        tempo_bpm=round(60e6 / tempo_us, 3),
        zero_length=zero,
        drum_notes=drums,
        warnings=tuple(warnings),
    )


# ----------------------------------------------------------------------------------------------------
# Events -> MIDI bytes


_TYPOGRAPHY = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def midi_text(text: str) -> str:
    """`text` as a MIDI meta text can hold it: Latin-1 (what mido and most programs read), typographic
    quotes and dashes made plain, anything else beyond Latin-1 replaced by "?"."""
    return text.translate(_TYPOGRAPHY).encode("latin-1", errors="replace").decode("latin-1")


def pickup_signature(pickup: float) -> tuple[int, int]:
    """(numerator, denominator) of a bar `pickup` quarters long: 1 -> 1/4, 1.5 -> 3/8, 0.25 -> 1/16.

    Raises ValueError for a length no time signature can spell (not a multiple of a 1/64 note).
    """
    frac = Fraction(pickup).limit_denominator(64) / 4  # in whole notes
    if frac <= 0 or abs(float(frac) * 4 - pickup) > 1e-6:
        raise ValueError(f"a pickup of {pickup} quarters cannot be written as a time signature")
    denominator = max(4, frac.denominator)
    return int(frac * denominator), denominator


def sounding_notes(events: Sequence[Event]) -> list[tuple[float, float, int]]:
    """(start, end, MIDI pitch) in quarters of each sounding note: events laid end to end, a tie chain
    merged into one note, rests and zero-length events skipped. A tie into another pitch or a rest ends
    the held note there; a tie that never stops sounds to the end."""
    notes: list[tuple[float, float, int]] = []
    t, held = 0.0, None  # held: (start, midi) of a note whose tie goes on
    for e in events:
        start, end = t, t + e.quarter_length
        t = end
        joins = held is not None and not e.is_rest and held[1] == e.midi and e.tie in ("stop", "continue")
        if held is not None and not joins:
            notes.append((held[0], start, held[1]))
            held = None
        if e.is_rest or e.quarter_length <= 0:
            continue
        if joins:
            start, held = held[0], None
        if e.tie in ("start", "continue"):
            held = (start, e.midi)
        else:
            notes.append((start, end, e.midi))
    if held is not None:
        notes.append((held[0], t, held[1]))
    return notes


def _conductor_track(title: str, tempo_bpm: float, key: str, pickup: float, bar_quarters: float):
    """Track 0: name, tempo, key signature and meter (a short first bar for a pickup, then the full bar)."""
    meta = [
        mido.MetaMessage("track_name", name=title, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0),
        mido.MetaMessage("key_signature", key=key, time=0),
    ]
    full = {"numerator": int(bar_quarters), "denominator": 4}
    if 0 < pickup < bar_quarters:
        num, den = pickup_signature(pickup)
        meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
        meta.append(mido.MetaMessage("time_signature", **full, time=round(pickup * TICKS_PER_QUARTER)))
    else:
        meta.append(mido.MetaMessage("time_signature", **full, time=0))
    return mido.MidiTrack([*meta, mido.MetaMessage("end_of_track", time=0)])


def _melody_track(title: str, notes: Sequence[tuple[float, float, int]]):
    """Track 1: the notes on channel 1 (piano); at a shared tick releases come before strikes."""
    timed = sorted(
        (round(t * TICKS_PER_QUARTER), order, kind, pitch)
        for start, end, pitch in notes
        for t, order, kind in ((start, 1, "note_on"), (end, 0, "note_off"))
    )
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=title, time=0)])
    track.append(mido.Message("program_change", program=0, channel=0, time=0))
    last = 0
    for tick, _, kind, pitch in timed:
        velocity = 80 if kind == "note_on" else 0
        track.append(mido.Message(kind, note=pitch, velocity=velocity, time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_midi(
    events: Sequence[Event],
    *,
    pickup: float = 0.0,
    key_sharps: int = 0,
    mode: str = "major",
    tempo_bpm: float = 80.0,
    title: str = "",
    bar_quarters: float = 4.0,
) -> bytes:
    """A type-1 standard MIDI file of one melody that keeps its written meter.

    A pickup (anacrusis) of `pickup` quarters is written as a short first bar: a time signature of that
    length at tick 0 (`pickup_signature`) and the full 4/4 from the first downbeat, so every notation
    program and DAW puts the bar lines where the score has them and playback starts with the first note.
    Tied events sound as one note (`sounding_notes`). Key signature, tempo and the track name (`title`,
    made Latin-1 by `midi_text`) are written too. Ticks: 480 per quarter.
    """
    title = midi_text(title or "melody")
    key = _SHARPS_TO_KEY.get((max(-7, min(7, int(key_sharps))), mode == "minor"), "C")
    tracks = [
        _conductor_track(title, tempo_bpm, key, pickup, bar_quarters),
        _melody_track(title, sounding_notes(events)),
    ]
    out = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER, tracks=tracks).save(file=out)
    return out.getvalue()
