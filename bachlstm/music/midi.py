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
from bachlstm.music.notices import Notice, NoticeError

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10 counted from 1): no melody there
DEFAULT_TEMPO_US = 500_000  # MIDI's default tempo, 120 quarters per minute (SMF 1.0 spec)
TICKS_PER_QUARTER = 480  # what we write: divisible by 3 and by 32
ORGAN_PROGRAM = 19  # General MIDI church organ (0-based): the sound the pages play and the downloads name
KEY_NAMES = {  # mido's key_signature names -> sharps (> 0) or flats (< 0)
    **{name: sharps for sharps, name in enumerate(("C", "G", "D", "A", "E", "B", "F#", "C#"))},
    **{name: -flats for flats, name in enumerate(("C", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb"))},
    **{name: sharps for sharps, name in enumerate(("Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"))},
    **{name: -flats for flats, name in enumerate(("Am", "Dm", "Gm", "Cm", "Fm", "Bbm", "Ebm", "Abm"))},
}
_SHARPS_TO_KEY = {(v, k.endswith("m")): k for k, v in KEY_NAMES.items()}


class MidiReadError(NoticeError):
    """Bytes that cannot be read as a MIDI file; `notice` says why (a code of `notices.TEXTS`)."""


@dataclass(frozen=True)
class MidiNote:
    """One sounding note: onset and release in quarters from the file's start, MIDI pitch, channel, and
    the track (0-based chunk number) it was struck in."""

    start: float
    end: float
    pitch: int
    channel: int = 0
    track: int = 0


@dataclass(frozen=True)
class MidiReading:
    """What a MIDI file says about its melody, in quarters.

    `notes` are sorted by onset (highest first at equal onsets), drums excluded. `bar_quarters` is the
    length of a full bar of the file's meter, `downbeat` the time of one bar line (bar lines fall at
    downbeat + k * bar_quarters): a file that opens with a short bar (a pickup written as a time-signature
    change) has its downbeat at the end of that bar. `meters` are every meter the file uses after such a
    pickup bar, `keys` every (time in quarters, sharps) key signature in time order. `track_names` and
    `programs` ((track, channel) -> General MIDI program) describe the lines a melody can come from.
    `warnings` say what a damaged or unusual file lost or how it was read.
    """

    notes: tuple[MidiNote, ...]
    bar_quarters: float = 4.0
    downbeat: float = 0.0
    meter: str = "4/4"
    key_sharps: int | None = None
    tempo_bpm: float = 120.0
    zero_length: int = 0  # notes released at the tick they were struck (ghost notes), dropped
    drum_notes: int = 0
    warnings: tuple[Notice, ...] = ()
    meters: tuple[str, ...] = ("4/4",)
    keys: tuple[tuple[float, int], ...] = ()
    track_names: tuple[str, ...] = ()
    programs: tuple[tuple[tuple[int, int], int], ...] = ()

    def sharps_at(self, time: float) -> int | None:
        """The key signature (sharps > 0, flats < 0) in force at `time` quarters; None without any."""
        sharps = None
        for at, k in self.keys:
            if at > time + 1e-9:
                break
            sharps = k
        return sharps if sharps is not None or not self.keys else self.keys[0][1]


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
    raise MidiReadError("rmid_without_data")


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


def _decode(buf: bytes, pos: int, status: int | None = None) -> tuple[list, int, str | None]:
    """Messages of a track's bytes from `pos`: (messages, ticks read, None or "orphan@POS" / "cut").

    `status` is the running status to start with (None at a track's start). Stops at the first byte that
    cannot be read: data with no running status to use (orphan), or the end of the bytes in the middle
    of an event (cut). Sysex is skipped (no melody in it).
    """
    out, pending, ticks = [], 0, 0
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
                if kind == 0x2F:  # end of track: what follows in the chunk is not this track's
                    return out, ticks, None
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


def _released_next(messages: Sequence, channel: int, pitch: int) -> bool:
    """Whether the next message on `pitch` and `channel` in `messages` (after a strike) releases it,
    rather than striking it again."""
    for m in messages:
        if m.type in ("note_off", "note_on") and m.channel == channel and m.note == pitch:
            return m.type == "note_off" or m.velocity == 0
    return False


def _imbalance(messages: Sequence) -> tuple[int, int]:
    """(strays, notes) of a reading: strays are releases of keys not sounding and strikes never
    released, which a misaligned reading of damaged bytes makes; notes are the strikes released."""
    sounding: dict[tuple[int, int], int] = defaultdict(int)
    stray = paired = 0
    for m in messages:
        if m.type not in ("note_on", "note_off"):
            continue
        key = (m.channel, m.note)
        if m.type == "note_on" and m.velocity > 0:
            sounding[key] += 1
        elif sounding[key]:
            sounding[key] -= 1
            paired += 1
        else:
            stray += 1
    return stray + sum(sounding.values()), paired


def _resync(buf: bytes, bad: int, first_event: bool) -> tuple[int, list, int, int] | None:
    """How to go on after orphan data bytes at `bad`: (skipped bytes, messages, ticks, status assumed or
    -1) of the likeliest reading, or None when nothing after them reads cleanly.

    Candidates: resuming at each of the next 15 bytes whose reading is whole, and, for a track's first
    event, reading it as a note-on (a writer that drops the status byte running status would repeat
    later almost always drops a note-on's) on each channel the track's status bytes name. The reading
    with the fewest strays (`_imbalance`) wins, then the one with most notes, then the earliest resume;
    a guessed note-on only where its note is released before it is struck again.
    """
    candidates = []
    for j in range(bad + 1, min(len(buf), bad + 16)):
        messages, ticks, problem = _decode(buf, j)
        if problem is None:
            stray, notes = _imbalance(messages)
            candidates.append(((stray, -notes, j - bad), (j - bad, messages, ticks, -1)))
    if first_event:
        channels = [b & 0x0F for b in buf[bad:] if 0x80 <= b < 0xF0]
        for channel in dict.fromkeys(channels or [0]):
            messages, ticks, problem = _decode(buf, bad, status=0x90 | channel)
            first = messages[0] if messages else None
            if (
                problem is None
                and first is not None
                and first.type == "note_on"
                and first.velocity > 0
                and _released_next(messages[1:], channel, first.note)
            ):
                stray, notes = _imbalance(messages)
                candidates.append(((stray, -notes, 0), (0, messages, ticks, first.note)))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _read_track_lenient(
    buf: bytes, number: int, division: int, cut: bool = False
) -> tuple[mido.MidiTrack, list[Notice]]:
    """Messages of one damaged track, skipping what cannot be read instead of failing.

    Data bytes with no status byte before them are skipped, or, for a track's first event, read as the
    note-on they almost always are, whichever reading of the rest is likeliest (`_resync`). A track cut
    short ends at its last whole message, also when the cut (`cut`: its chunk is shorter than its header
    says, or it has no end-of-track) fell between two messages. Each loss or guess is a notice (never the
    raw bytes).
    """
    track, warnings = mido.MidiTrack(), []
    messages, ticks, problem = _decode(buf, 0)
    track.extend(messages)

    def at() -> float:
        return round(ticks / division, 1) if division > 0 else 0.0

    if problem is not None and problem != "cut":
        found = _resync(buf, int(problem.split("@")[1]), first_event=not any(not m.is_meta for m in track))
        if found is None:
            warnings.append(Notice.of("track_unreadable", track=number, at=at()))
            return track, warnings
        skipped, more, more_ticks, assumed = found
        if assumed >= 0:
            warnings.append(Notice.of("status_assumed", track=number, note=assumed))
        else:
            warnings.append(Notice.of("bytes_skipped", track=number, count=skipped, at=at()))
        track.extend(more)
        ticks += more_ticks
        problem = None
    if problem == "cut" or cut or not (track and track[-1].type == "end_of_track"):
        warnings.append(Notice.of("cut_short", track=number, at=at()))
    return track, warnings


def _is_chunk(data: bytes, pos: int) -> bool:
    """Whether a chunk starts at `pos`: a track ("MTrk"), or four letters or digits and a size that fits
    the file (another kind of chunk, which readers skip)."""
    name = data[pos : pos + 4]
    if name == b"MTrk":
        return True
    if len(name) < 4 or pos + 8 > len(data) or not name.isalnum():
        return False
    return pos + 8 + struct.unpack(">I", data[pos + 4 : pos + 8])[0] <= len(data)


def _chunks(data: bytes, start: int) -> list[tuple[bytes, bytes, int, bool]]:
    """(name, body, declared size, size wrong) of each chunk after the header; a body cut short is
    shorter. A track chunk whose declared size ends neither at another chunk nor at the file's end (or
    its zero padding) is measured to the next "MTrk" instead, or to the file's end, and marked wrong."""
    pos, out = start, []
    while pos + 8 <= len(data):
        name, size = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        end, wrong = pos + 8 + size, False
        if name == b"MTrk" and data[end:].strip(b"\0") and not _is_chunk(data, end):
            found = data.find(b"MTrk", pos + 8)
            end, wrong = (found if found != -1 else len(data)), True
        out.append((name, data[pos + 8 : end], size, wrong))
        pos = end
    return out


def _header(data: bytes) -> tuple[int, int, int, int]:
    """(header size, format, track count, division) of a file's header chunk; MidiReadError if unusable."""
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidiReadError("header_incomplete")
    header_size = struct.unpack(">I", data[4:8])[0]
    fmt, n_tracks, division = struct.unpack(">hhh", data[8:14])
    if header_size < 6 or fmt not in (0, 1, 2):
        raise MidiReadError("header_invalid")
    return header_size, fmt, n_tracks, division


def _read_lenient(data: bytes) -> tuple[int, list[mido.MidiTrack], list[Notice]]:
    """(division, tracks, warnings) of a damaged file: every track chunk walked by hand, read leniently."""
    header_size, _, n_tracks, division = _header(data)
    tracks, warnings, cut = [], [], False
    for name, body, size, wrong in _chunks(data, 8 + header_size):
        if name != b"MTrk":
            continue
        if wrong:
            warnings.append(Notice.of("chunk_length", track=len(tracks) + 1, said=size, found=len(body)))
        short = len(body) < size and not wrong
        track, lost = _read_track_lenient(body, len(tracks) + 1, division, short)
        tracks.append(track)
        warnings.extend(lost)
        cut = cut or short
    if not tracks:
        raise MidiReadError("no_track")
    if len(tracks) < n_tracks and cut:
        warnings.append(Notice.of("tracks_missing", missing=n_tracks - len(tracks), total=n_tracks))
    elif len(tracks) != n_tracks:
        warnings.append(Notice.of("track_count", said=n_tracks, found=len(tracks)))
    return division, tracks, warnings


def _tracks(data: bytes) -> tuple[int, int, list[mido.MidiTrack], list[Notice]]:
    """(format, division, tracks, warnings): mido reads a sound file whose header counts its track chunks
    right; any other is read leniently (every track chunk there is, what is damaged skipped and said)."""
    header_size, fmt, n_tracks, _ = _header(data)
    chunks = _chunks(data, 8 + header_size)
    if sum(c[0] == b"MTrk" for c in chunks) == n_tracks and not any(c[3] for c in chunks):
        try:
            mf = mido.MidiFile(file=io.BytesIO(data))
            return fmt, mf.ticks_per_beat, list(mf.tracks), []
        except (OSError, EOFError, ValueError, KeyError, IndexError, struct.error):
            pass
    return (fmt, *_read_lenient(data))


def _in_sequence(tracks: Sequence[mido.MidiTrack]) -> list[mido.MidiTrack]:
    """A format-2 file's patterns as one track, each starting where the one before ends."""
    merged, carry = mido.MidiTrack(), 0
    for track in tracks:
        for msg in track:
            if msg.type == "end_of_track":
                carry += msg.time
                continue
            merged.append(msg.copy(time=msg.time + carry))
            carry = 0
    merged.append(mido.MetaMessage("end_of_track", time=carry))
    return [merged]


# ----------------------------------------------------------------------------------------------------
# Tracks -> notes in quarters


@dataclass
class _Pairing:
    """The notes of a file's tracks as (start tick, end tick, pitch, channel, track), and what was odd."""

    notes: list[tuple[int, int, int, int, int]]
    drums: int = 0
    zero: int = 0
    unreleased: int = 0
    other_channel: int = 0


def _pair_notes(tracks: Sequence[mido.MidiTrack], quarter: float) -> _Pairing:
    """Every note of `tracks`, strikes paired with their releases as a synthesizer sounds them.

    Note-ons and note-offs (or note-ons with velocity 0) are matched first in, first out per channel and
    pitch: the first release ends the earliest sounding strike, which is how a synthesizer that re-strikes
    a held key sounds it. So "on, on, off, off" is two notes, and "on(next) before off(previous)" at the
    same tick keeps both repeated notes. A release on a channel where its pitch does not sound ends the
    earliest strike of that pitch on another channel of the track (counted). A note never released ends
    with its track, or lasts one quarter (`quarter` ticks) when the track ends at its strike (a file cut
    short).
    """
    out = _Pairing([])
    for number, track in enumerate(tracks):
        sounding: dict[tuple[int, int], deque[int]] = defaultdict(deque)
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            if msg.channel == DRUM_CHANNEL:
                out.drums += msg.type == "note_on" and msg.velocity > 0
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[key].append(tick)
                continue
            if not sounding[key]:
                others = [k for k, s in sounding.items() if k[1] == msg.note and s]
                if not others:
                    continue
                key = min(others, key=lambda k: sounding[k][0])
                out.other_channel += 1
            start = sounding[key].popleft()
            if tick > start:
                out.notes.append((start, tick, msg.note, key[0], number))
            else:
                out.zero += 1
        for (channel, pitch), starts in sounding.items():
            for start in starts:
                out.unreleased += 1
                out.notes.append((start, tick if tick > start else start + quarter, pitch, channel, number))
    return out


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


def _bars(tracks, to_quarters) -> tuple[float, float, str, tuple[str, ...]]:
    """(bar_quarters, downbeat, meter, every meter) from the time signatures: a short opening bar
    followed by a longer one is a pickup, not a meter."""
    signatures = _meta(tracks, "time_signature")
    if not signatures:
        return 4.0, 0.0, "4/4", ("4/4",)
    tick0, first = signatures[0]
    first_bar = first.numerator * 4 / first.denominator
    rest = signatures
    bar, downbeat, meter = first_bar, to_quarters(tick0), f"{first.numerator}/{first.denominator}"
    later = [(t, m) for t, m in signatures if t > tick0]
    if later:
        tick1, second = later[0]
        second_bar = second.numerator * 4 / second.denominator
        start1 = to_quarters(tick1) - to_quarters(tick0)
        if abs(start1 - first_bar) < 1e-6 and first_bar < second_bar:  # one short bar, then the real meter
            bar, downbeat, meter = second_bar, to_quarters(tick1), f"{second.numerator}/{second.denominator}"
            rest = later
    meters = tuple(dict.fromkeys(f"{m.numerator}/{m.denominator}" for _, m in rest))
    return bar, downbeat, meter, meters


def _programs(tracks: Sequence[mido.MidiTrack]) -> dict[tuple[int, int], int]:
    """(track, channel) -> the first General MIDI program set there."""
    found: dict[tuple[int, int], int] = {}
    for number, track in enumerate(tracks):
        for msg in track:
            if msg.type == "program_change":
                found.setdefault((number, msg.channel), msg.program)
    return found


def _track_names(tracks: Sequence[mido.MidiTrack]) -> tuple[str, ...]:
    """Each track's name (its first track_name or instrument_name meta), "" where it has none."""
    names = []
    for track in tracks:
        named = (m for m in track if m.type in ("track_name", "instrument_name") and m.name.strip())
        names.append(next((m.name.strip() for m in named), ""))
    return tuple(names)


def read_midi(data: bytes) -> MidiReading:
    """Notes, meter, keys, tempo, the tracks' names and instruments, and notices of a standard MIDI file
    (or RMID), times in quarters.

    Ticks become quarters through the file's division; an SMPTE-timed file (negative division: frames
    per second and ticks per frame) is converted through seconds at its first tempo (120 per minute when
    it has none). A format-2 file's patterns are read one after another (said). Raises MidiReadError for
    bytes that are not MIDI. Never shows raw bytes.
    """
    data = unwrap_riff(data)
    if data[:4] != b"MThd":
        raise MidiReadError("not_midi")
    fmt, division, tracks, warnings = _tracks(data)
    if fmt == 2 and len(tracks) > 1:
        warnings.append(Notice.of("patterns", count=len(tracks)))
        tracks = _in_sequence(tracks)
    tempos = _meta(tracks, "set_tempo")
    tempo_us = tempos[0][1].tempo if tempos else DEFAULT_TEMPO_US
    if division > 0:
        per_quarter = float(division)
    elif division < 0:  # SMPTE: high byte is -frames per second, low byte ticks per frame
        fps = -(division >> 8)
        fps = 29.97 if fps == 29 else fps
        per_quarter = fps * (division & 0xFF) * tempo_us / 1e6
    else:
        raise MidiReadError("zero_division")

    def to_quarters(tick: int) -> float:
        return tick / per_quarter

    paired = _pair_notes(tracks, per_quarter)
    if paired.other_channel:
        warnings.append(Notice.of("release_other_channel", count=paired.other_channel))
    if paired.unreleased:
        warnings.append(Notice.of("unreleased", count=paired.unreleased))
    notes = sorted(
        (MidiNote(to_quarters(a), to_quarters(b), p, c, t) for a, b, p, c, t in paired.notes),
        key=lambda n: (n.start, -n.pitch),
    )
    bar, downbeat, meter, meters = _bars(tracks, to_quarters)
    keys = [(to_quarters(t), KEY_NAMES.get(m.key)) for t, m in _meta(tracks, "key_signature")]
    keys = tuple((t, k) for t, k in keys if k is not None)
    return MidiReading(
        notes=tuple(notes),
        bar_quarters=bar,
        downbeat=downbeat,
        meter=meter,
        key_sharps=keys[0][1] if keys else None,
        tempo_bpm=round(60e6 / tempo_us, 3),
        zero_length=paired.zero,
        drum_notes=paired.drums,
        warnings=tuple(warnings),
        meters=meters,
        keys=keys,
        track_names=_track_names(tracks),
        programs=tuple(sorted(_programs(tracks).items())),
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


def _melody_track(title: str, notes: Sequence[tuple[float, float, int]], program: int = ORGAN_PROGRAM):
    """Track 1: the notes on channel 1 with `program` (the church organ the pages play); at a shared tick
    releases come before strikes."""
    timed = sorted(
        (round(t * TICKS_PER_QUARTER), order, kind, pitch)
        for start, end, pitch in notes
        for t, order, kind in ((start, 1, "note_on"), (end, 0, "note_off"))
    )
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=title, time=0)])
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
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
    part_name: str = "",
) -> bytes:
    """A type-1 standard MIDI file of one melody that keeps its written meter.

    A pickup (anacrusis) of `pickup` quarters is written as a short first bar: a time signature of that
    length at tick 0 (`pickup_signature`) and the full 4/4 from the first downbeat, so every notation
    program and DAW puts the bar lines where the score has them and playback starts with the first note.
    Tied events sound as one note (`sounding_notes`). Key signature, tempo and the track name (`title`,
    made Latin-1 by `midi_text`) are written too, and the melody track's name (`part_name`, else the
    title) with the church organ's program (`ORGAN_PROGRAM`), the sound the pages play. Ticks: 480 per
    quarter.
    """
    title = midi_text(title or "melody")
    part_name = midi_text(part_name or title)
    key = _SHARPS_TO_KEY.get((max(-7, min(7, int(key_sharps))), mode == "minor"), "C")
    tracks = [
        _conductor_track(title, tempo_bpm, key, pickup, bar_quarters),
        _melody_track(part_name, sounding_notes(events)),
    ]
    out = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER, tracks=tracks).save(file=out)
    return out.getvalue()
