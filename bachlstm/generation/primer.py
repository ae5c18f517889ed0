"""Primers: an uploaded MIDI/MusicXML file read into one-voice events, a corpus melody's opening, and
either one fitted (transposed) into a model's vocabulary and encoded as the tokens generation starts from.

An upload is read as a player or notation program reads it: cue and grace notes are silent, a format-2
MIDI file's patterns follow one another, an .mxl is the score its container names first, the key in
force spells each note. Its tracks or parts are lines (`PrimerLine`); one is the melody: the one asked
for, else one named like a melody (soprano, voice, ...), else the highest, and the reading says which.

music21 and pretty_midi are imported inside the reading functions, for start-up cost only: importing
music21 takes about a second, and most users of this module never read an upload.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import statistics
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

from bachlstm.music.durations import duration_parts
from bachlstm.music.events import Event, Melody
from bachlstm.music.midi import MidiReadError, MidiReading, read_midi
from bachlstm.music.notices import Notice, NoticeError
from bachlstm.music.pitches import estimate_key_sharps, spelled_key_sharps, spelled_pitch, transpose
from bachlstm.music.scores import BAR_QUARTERS, stamp_bars
from bachlstm.music.skyline import EPS, LineNote, fit_to_grid, primer_segments, snap, top_line
from bachlstm.tokens.grammar import grammar_of
from bachlstm.tokens.tokenizers import BOS, EOS, UNK, EventTokenizer

log = logging.getLogger(__name__)

# An upload larger than this is not a monophonic primer: the largest chorale in music21 is 226 KB as
# MusicXML, while music21's MIDI reader took over 10 minutes on a 1.2 MB MIDI (measured; 480 KB: 1.3 s).
MAX_PRIMER_BYTES = 512_000
MAX_PRIMER_EVENTS = 512  # longer than any chorale melody we train on (max 622 is an outlier)
FORMAT_NAMES = {"midi": "MIDI", "mxl": "MXL", "musicxml": "MusicXML"}  # as the student knows them
GRID = 0.25  # primer onsets/durations are snapped to sixteenth notes, the finest value in the chorales
# A line named like this carries the tune (English, German, Italian, Latin, French names of voices).
MELODY_NAMES = re.compile(
    r"melod|sopran|discant|diskant|cantus|canto|voice|vocal|voix|voce|singstimme|gesang|lead|tune|chant",
    re.IGNORECASE,
)


class MusicInputError(NoticeError):
    """An uploaded primer cannot be used; `notice` says why (not music, damaged, empty, too long...)."""


class PrimerError(NoticeError):
    """A primer cannot be used with this tokenizer (unknown notes, or it breaks the token grammar)."""


# ----------------------------------------------------------------------------------------------------
# Reading an upload


def sniff_format(data: bytes) -> str | None:
    """ "midi", "mxl" (compressed MusicXML), "musicxml" or None, judged by the content, not the file name."""
    if data[:4] == b"MThd" or (data[:4] == b"RIFF" and data[8:12] == b"RMID"):
        return "midi"
    if data[:4] == b"PK\x03\x04":
        return "mxl"
    head = data[:65536]
    for enc in ("utf-8", "utf-16"):
        try:
            text = head.decode(enc, errors="ignore")
        except Exception:  # pragma: no cover - decode with errors="ignore" does not raise
            continue
        if "<score-partwise" in text or "<score-timewise" in text:
            return "musicxml"
    return None


def _rough_note_count(data: bytes, fmt: str) -> int:
    """<note> elements in MusicXML or MXL bytes, counted without parsing; 0 if unsure."""
    if fmt == "mxl":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                text = b"".join(
                    zf.read(n)[:20_000_000] for n in zf.namelist() if not n.startswith("META-INF")
                )
        except (zipfile.BadZipFile, OSError, RuntimeError):
            return 0
        return text.count(b"<note")
    return data.count(b"<note")


def mxl_score(data: bytes) -> tuple[bytes | None, str, int]:
    """(MusicXML bytes, path, score files in the zip) of the score an .mxl's `META-INF/container.xml` names
    first (a MusicXML rootfile, namespaced or not, "./" or not), as MusicXML readers take it; without a
    usable container, the zip's first MusicXML file; (None, "", 0) when it holds none."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        scores = [n for n in names if not n.startswith("META-INF") and n.endswith((".xml", ".musicxml"))]
        try:
            root = ElementTree.fromstring(zf.read("META-INF/container.xml"))
            named = [el.get("full-path", "") for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "rootfile"]
        except (KeyError, ElementTree.ParseError):
            named = []
        for path in [p.removeprefix("./") for p in named] + scores:
            if path in scores:
                return zf.read(path), path, len(scores)
    return None, "", 0


def silence_cues(data: bytes) -> tuple[bytes, int]:
    """(MusicXML bytes, count) with each `<cue/>` note (a silent reminder of another part) made a rest of
    its length, or left out inside a chord, as players read it; music21 10.5 would sound them."""
    if b"<cue" not in data:
        return data, 0
    root = ElementTree.fromstring(data)
    count = 0
    for parent in root.iter():
        for note in [n for n in parent if n.tag == "note" and n.find("cue") is not None]:
            count += 1
            if note.find("chord") is not None:
                parent.remove(note)
                continue
            for tag in ("cue", "pitch", "unpitched", "tie", "notations", "lyric", "accidental"):
                for found in note.findall(tag):
                    note.remove(found)
            note.insert(0, ElementTree.Element("rest"))
    return ElementTree.tostring(root, encoding="utf-8"), count


def _parse(data: bytes, fmt: str, filename: str):
    from music21 import converter

    suffix = {"midi": ".mid", "mxl": ".mxl", "musicxml": ".musicxml"}[fmt]
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # forceSource: never read or write music21's pickle cache for user uploads.
        return converter.parse(path, forceSource=True)
    except Exception as exc:
        raise MusicInputError(
            "unreadable", filename=filename, format=FORMAT_NAMES[fmt], detail=str(exc)[:200]
        ) from exc
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class PrimerLine:
    """One line a melody can come from: a MIDI track (one channel of it) or a MusicXML part."""

    number: int  # 1-based: what --track / --part and the Sampling page choose by
    name: str  # the track's or part's name; "" when the file gives none
    instrument: str  # "Oboe", "Church Organ"; "" when the file names none
    low: int  # MIDI numbers of its lowest and highest note
    high: int
    notes: int

    @property
    def title(self) -> str:
        """The name, or "track N" / "part N" style words when there is none."""
        return self.name or f"line {self.number}"

    @property
    def label(self) -> str:
        """English words for a choice list: "2: Soprano (Voice, C4 to G5, 36 notes)"."""
        from bachlstm.music.names import pitch_name

        what = self.instrument or "no instrument named"
        return (
            f"{self.number}: {self.title} ({what}, {pitch_name(self.low, 'en')} to "
            f"{pitch_name(self.high, 'en')}, {self.notes} notes)"
        )


@dataclass(frozen=True)
class _Line:
    """A line while reading: its description, its notes (spelled where the file spells them), and the
    words that name it in the file (a MIDI track's name, a part's name and instrument; not a General
    MIDI program's name, whose "Voice Oohs" is no melody)."""

    info: PrimerLine
    notes: tuple[LineNote, ...]
    words: str = ""


@dataclass(frozen=True)
class _Source:
    """What any file gives: its lines, bar origin, meters, and notices so far."""

    lines: tuple[_Line, ...]
    origin: float
    meters: tuple[str, ...]
    warnings: tuple[Notice, ...]


def _line(number: int, name: str, instrument: str, notes: Sequence[LineNote], words: str) -> _Line:
    pitches = [n.midi for n in notes]
    info = PrimerLine(number, name, instrument, min(pitches), max(pitches), len(notes))
    return _Line(info, tuple(notes), words)


def _merged_ties(part) -> tuple[list[LineNote], int, int]:
    """(notes, cue notes, grace notes) of one music21 part: a chord's top note, tie chains merged; cue
    notes (reminders of another part, not played) and grace notes left out and counted.

    Done here rather than with music21's stripTies, which leaves a start tie unmerged when a
    continue tie follows it in the same measure (music21 10.5).
    """
    from music21 import chord

    out: list[list] = []
    cues = graces = 0
    open_ties: dict[int, int] = {}  # midi -> index in out of a note whose tie goes on
    for el in sorted(part.flatten().notes, key=lambda el: float(el.offset)):
        ql = float(el.quarterLength)
        if el.duration.isGrace or ql <= 0:
            graces += 1
            continue
        if el.style.noteSize == "cue":
            cues += 1
            continue
        if isinstance(el, chord.Chord):
            pitched = [n for n in el.notes if hasattr(n, "pitch")]
            if not pitched:
                continue
            for lower in sorted(pitched, key=lambda n: n.pitch.midi)[:-1]:  # kept for the chord count
                out.append([float(el.offset), float(el.offset) + ql, int(lower.pitch.midi), None, None])
            top = max(pitched, key=lambda n: n.pitch.midi)
            p, tie = top.pitch, top.tie or el.tie
        elif hasattr(el, "pitch"):
            p, tie = el.pitch, el.tie
        else:  # unpitched percussion (a MIDI drum track) has no melody to offer
            continue
        onset, midi, kind = float(el.offset), int(p.midi), tie.type if tie is not None else None
        k = open_ties.pop(midi, None)
        if k is not None and kind in ("stop", "continue") and abs(out[k][1] - onset) < 1e-6:
            out[k][1] = onset + ql
        else:
            k = len(out)
            out.append([onset, onset + ql, midi, p.name, p.octave])
        if kind in ("start", "continue"):
            open_ties[midi] = k
    return [LineNote(*x) for x in out], cues, graces


def _no_melody(score) -> str:
    """The code of why a parsed file gave no melody."""
    from music21 import note, percussion

    if any(isinstance(el, note.Unpitched | percussion.PercussionChord) for el in score.recurse().notes):
        return "drums_only"
    if any(True for _ in score.recurse().getElementsByClass("Rest")):
        return "all_rests"
    return "no_notes"


def _bar_origin(part) -> float:
    """Time (quarters) of the first full bar's downbeat: the pickup's length from the first measure's left
    padding, 0 if the part opens with a full bar."""
    try:
        first = part.getElementsByClass("Measure")[0]
        pad = float(first.paddingLeft or 0.0)
    except (IndexError, AttributeError):
        return 0.0
    return BAR_QUARTERS - pad if 0 < pad < BAR_QUARTERS else 0.0


def _instrument_of(part) -> str:
    found = part.getInstrument(returnDefault=False)
    return (found.instrumentName or "").strip() if found is not None else ""


def _score_source(data: bytes, fmt: str, filename: str, max_events: int) -> _Source:
    """The parts of MusicXML/MXL bytes as lines (spelled as written), by music21."""
    rough = _rough_note_count(data, fmt)  # music21 needs ~2 ms per note: refuse a long piece first
    if rough > 8 * max_events:
        raise MusicInputError("too_long", filename=filename, notes=rough, limit=max_events)
    warnings: list[Notice] = []
    if fmt == "mxl":
        try:
            inner, path, count = mxl_score(data)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise MusicInputError("unreadable", filename=filename, format="MXL", detail=str(exc)) from exc
        if inner is not None:
            data, fmt = inner, "musicxml"
            if count > 1:
                warnings.append(Notice.of("mxl_rootfile", count=count, path=path))
    cues = 0
    if fmt == "musicxml":
        try:
            data, cues = silence_cues(data)
        except ElementTree.ParseError as exc:
            raise MusicInputError(
                "unreadable", filename=filename, format="MusicXML", detail=str(exc)
            ) from exc
    score = _parse(data, fmt, filename)
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    lines, graces = [], 0
    for number, part in enumerate(parts, 1):
        notes, c, g = _merged_ties(part)
        cues, graces = cues + c, graces + g
        if notes:
            name, instrument = (part.partName or "").strip(), _instrument_of(part)
            lines.append(_line(number, name, instrument, notes, f"{name} {instrument}"))
    if cues:
        warnings.append(Notice.of("cue_notes", count=cues))
    if graces:
        warnings.append(Notice.of("grace_notes", count=graces))
    if not lines:
        raise MusicInputError(_no_melody(score), filename=filename)
    signatures = score.recurse().getElementsByClass("TimeSignature")
    meters = tuple(dict.fromkeys(ts.ratioString for ts in signatures)) or ("4/4",)
    return _Source(tuple(lines), _bar_origin(parts[0]), meters, tuple(warnings))


def _program_name(program: int | None) -> str:
    import pretty_midi  # for start-up cost only

    return "" if program is None else pretty_midi.program_to_instrument_name(program)


def _spelled(reading: MidiReading, notes: Sequence) -> list[LineNote]:
    """MIDI notes spelled in the key signature in force at each (estimated from the notes without any)."""
    guess = None
    if not reading.keys:
        plain = [Event("note", n.end - n.start, pitch="C", octave=4, midi=n.pitch) for n in notes]
        guess = estimate_key_sharps(plain)
    out = []
    for n in notes:
        sharps = reading.sharps_at(n.start) if reading.keys else guess
        out.append(LineNote(n.start, n.end, n.pitch, *spelled_pitch(n.pitch, sharps)))
    return out


def _midi_source(data: bytes, filename: str, max_events: int) -> _Source:
    """The tracks of MIDI bytes (one line per track and channel), by `bachlstm.music.midi.read_midi`."""
    try:
        reading = read_midi(data)
    except MidiReadError as exc:
        raise MusicInputError(exc.notice.code, filename=filename, **dict(exc.notice.values)) from exc
    if len(reading.notes) > 8 * max_events:  # the same bound as for MusicXML (8 voices)
        raise MusicInputError("too_long", filename=filename, notes=len(reading.notes), limit=max_events)
    if not reading.notes:
        raise MusicInputError("drums_only" if reading.drum_notes else "no_notes", filename=filename)
    warnings = list(reading.warnings)
    if reading.zero_length:
        warnings.append(Notice.of("zero_length", count=reading.zero_length))
    if reading.drum_notes:
        warnings.append(Notice.of("drums_left_out", count=reading.drum_notes))
    keys = sorted({(n.track, n.channel) for n in reading.notes})
    programs = dict(reading.programs)
    lines = []
    for number, (track, channel) in enumerate(keys, 1):
        notes = [n for n in reading.notes if (n.track, n.channel) == (track, channel)]
        name = reading.track_names[track] if track < len(reading.track_names) else ""
        if sum(t == track for t, _ in keys) > 1:
            name = f"{name or f'track {track + 1}'}, channel {channel + 1}"
        instrument = _program_name(programs.get((track, channel)))
        lines.append(_line(number, name, instrument, _spelled(reading, notes), name))
    return _Source(tuple(lines), reading.downbeat, reading.meters, tuple(warnings))


def _chosen(lines: Sequence[_Line], asked: int | str | None, filename: str) -> tuple[_Line, Notice | None]:
    """The melody's line and the notice that says which it is (None for a file of one line).

    `asked`: a line number (1-based) or name (case ignored; a unique start of one is enough); None: the
    first line named like a melody (`MELODY_NAMES`), else the highest (highest median pitch).
    """
    if asked is not None and str(asked).strip():
        text = str(asked).strip()
        found = [x for x in lines if text.isdigit() and x.info.number == int(text)]
        found = found or [x for x in lines if x.info.name.lower() == text.lower()]
        found = found or [x for x in lines if x.info.name.lower().startswith(text.lower())]
        if len(found) != 1:
            known = "; ".join(x.info.label for x in lines)
            raise MusicInputError("line_unknown", filename=filename, asked=text, lines=known)
        return found[0], _line_notice("line_chosen", found[0], len(lines))
    if len(lines) == 1:
        return lines[0], None
    named = [x for x in lines if MELODY_NAMES.search(x.words)]
    if named:
        return named[0], _line_notice("line_named", named[0], len(lines))
    highest = max(lines, key=lambda x: (statistics.median(n.midi for n in x.notes), -x.info.number))
    return highest, _line_notice("line_highest", highest, len(lines))


def _line_notice(code: str, line: _Line, count: int) -> Notice:
    info = line.info
    return Notice.of(
        code, line=info.title, instrument=info.instrument or "no instrument named", low=info.low,
        high=info.high, lines=count,
    )  # fmt: skip


def _under_higher(notes: Sequence[LineNote]) -> int:
    """Notes that the top line leaves out: each struck while a higher note of the line sounds, or
    together with one (a sweep over the onsets)."""
    ordered = sorted(notes, key=lambda n: n.start)
    count, active, i = 0, [], 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].start <= ordered[i].start + EPS:
            j += 1
        active = [m for m in active if m.end > ordered[i].start + EPS] + ordered[i:j]
        top = max(m.midi for m in active)
        count += sum(n.midi < top for n in ordered[i:j])
        i = j
    return count


@dataclass(frozen=True)
class PrimerFile:
    """An uploaded file read as a primer: one-voice events (bars stamped, the pickup as measure 0), the
    pickup in quarters, notices (what was lost, mended or chosen), the file's lines and the one taken."""

    events: list[Event]
    pickup: float = 0.0
    warnings: tuple[Notice, ...] = ()
    lines: tuple[PrimerLine, ...] = ()
    line: int = 1  # the number of the line the melody was taken from


def _check_container(data: bytes, fmt: str | None, filename: str, max_bytes: int) -> None:
    """Refuse, before any parsing, what is empty, too large, not music, or a zip bomb."""
    if not data:
        raise MusicInputError("empty_file", filename=filename)
    if len(data) > max_bytes:
        raise MusicInputError("too_large", filename=filename, size=len(data), limit=max_bytes)
    if fmt is None:
        raise MusicInputError("not_music", filename=filename)
    if fmt == "mxl":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                unpacked = sum(info.file_size for info in zf.infolist())
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise MusicInputError("unreadable", filename=filename, format="MXL", detail=str(exc)) from exc
        if unpacked > 20 * max_bytes:  # a zip bomb, or an orchestral score
            raise MusicInputError(
                "too_large_unpacked", filename=filename, size=unpacked, limit=20 * max_bytes
            )


def read_primer(
    data: bytes,
    filename: str = "upload",
    *,
    line: int | str | None = None,
    max_bytes: int = MAX_PRIMER_BYTES,
    max_events: int = MAX_PRIMER_EVENTS,
) -> PrimerFile:
    """One-voice primer from MIDI (mido) or MusicXML (music21) bytes: one line, its top notes, sixteenth
    grid, bars.

    `line` picks the track or part (number from 1, or name); None takes one named like a melody, else the
    highest, and a notice says which (`PrimerFile.lines` lists them all). MIDI notes are paired first in,
    first out per channel and pitch (re-struck notes kept), RMID is unwrapped, SMPTE time converted,
    ghost notes dropped and counted; a damaged file is read as far as it goes, with a notice naming what
    was lost. The top line is fitted to the grid keeping the notes that sound on it
    (`bachlstm.music.skyline`); chords left under it are counted. Leading silence becomes a pickup: the
    first note keeps its beat. Raises MusicInputError for: an empty file, a file over `max_bytes`, content
    that is neither MIDI nor MusicXML (whatever the file name says), an unreadable file, one without
    notes, a line the file does not have, and a melody of more than `max_events` notes and rests.
    """
    fmt = sniff_format(data) if data else None
    _check_container(data, fmt, filename, max_bytes)
    if fmt == "midi":
        source = _midi_source(data, filename, max_events)
    else:
        source = _score_source(data, fmt, filename, max_events)
    chosen, which = _chosen(source.lines, line, filename)
    warnings = list(source.warnings) + ([which] if which else [])
    hidden = _under_higher(chosen.notes)
    if hidden:
        warnings.append(Notice.of("chords", count=hidden))
    others = [m for m in source.meters if m != "4/4"]
    if others:
        warnings.append(Notice.of("meter", meters=", ".join(others)))
    notes = [n if n.name is not None else LineNote(n.start, n.end, n.midi, *spelled_pitch(n.midi, 0))
             for n in chosen.notes]  # fmt: skip
    line = top_line(notes)
    fitted = fit_to_grid(line, GRID)
    off_grid = sum(abs(n.start - snap(n.start, GRID)) > EPS for n in line)
    if len(line) > len(fitted):
        warnings.append(Notice.of("grid_dropped", count=len(line) - len(fitted)))
    if off_grid > len(line) - len(fitted):
        warnings.append(Notice.of("grid_moved", count=off_grid - (len(line) - len(fitted))))
    segments, pickup = primer_segments(fitted[: max_events + 1], source.origin, BAR_QUARTERS)
    events = _split_at_bars(segments, pickup)
    if len(events) > max_events or len(fitted) > max_events:
        raise MusicInputError("too_long", filename=filename, notes=len(events), limit=max_events)
    log.info("primer %s: %s, %d events, pickup %.2f", filename, fmt, len(events), pickup)
    return PrimerFile(
        stamp_bars(events, pickup=pickup, start=0.0), pickup, tuple(warnings),
        tuple(x.info for x in source.lines), chosen.info.number,
    )  # fmt: skip


def _split_at_bars(segments: list[tuple[float, float, LineNote | None]], pickup: float) -> list[Event]:
    """Events for (start, end, note or None for a rest), split and tied at bar lines (at pickup + 4k)
    and where a duration needs two written values."""
    events: list[Event] = []
    for a, b, pitch in segments:
        cuts = [a]
        k = math.floor((a - pickup) / BAR_QUARTERS) + 1
        while (line_at := pickup + k * BAR_QUARTERS) < b - 1e-9:
            if line_at > a + 1e-9:
                cuts.append(line_at)
            k += 1
        cuts.append(b)
        parts = [p for x, y in zip(cuts, cuts[1:]) for p in duration_parts(y - x)]
        for i, (dtype, dots, ql) in enumerate(parts):
            if pitch is None:
                events.append(Event("rest", ql, dtype, dots))
                continue
            tie = None
            if len(parts) > 1:
                tie = "start" if i == 0 else "stop" if i == len(parts) - 1 else "continue"
            events.append(Event("note", ql, dtype, dots, pitch.name, pitch.octave, pitch.midi, tie))
    return events


# ----------------------------------------------------------------------------------------------------
# Fitting a primer to a model


def primer_from_melody(melody: Melody | Sequence[Event], bars: int = 2) -> list[Event]:
    """The opening of a melody: its pickup (measure 0) and first `bars` full bars."""
    events = melody.events if isinstance(melody, Melody) else melody
    return [e for e in events if e.measure <= bars]


@dataclass(frozen=True)
class PrimerChoice:
    """A held-out melody offered as a primer: why it is one ("voice": a sung part; "tune": an instrument
    that plays the soprano's tune) or why it is left out ("silent": no note in its opening; "not_tune":
    an instrument part that does not play the tune)."""

    melody: Melody
    why: str


def primer_choices(melodies: Sequence[Melody], corpus, bars: int = 2) -> tuple[list, list]:
    """(offered, left out) `PrimerChoice`s of held-out melodies as primers: a melody whose opening
    (`primer_from_melody`, `bars` bars) has a note and that is a sung voice, or an instrument part whose
    hymn tune (`corpus.selection.tune_key`) is the soprano's of its piece (a horn doubling the tune).
    `corpus` finds each piece's soprano. Order kept."""
    from bachlstm.corpus.selection import find_voice, tune_key, voice_role

    offered, left = [], []
    for m in melodies:
        if not any(not e.is_rest for e in primer_from_melody(m, bars)):
            left.append(PrimerChoice(m, "silent"))
        elif voice_role(m.voice) is not None:
            offered.append(PrimerChoice(m, "voice"))
        else:
            soprano = find_voice(corpus.get(m.piece_id), "soprano")
            plays = soprano is not None and tune_key(m.events) == tune_key(soprano.events)
            (offered if plays else left).append(PrimerChoice(m, "tune" if plays else "not_tune"))
    return offered, left


def encode_primer(
    tokenizer, primer: Sequence[Event] | Melody | None, *, constrained: bool = True
) -> list[int]:
    """BOS + the primer's tokens, without the EOS and the closing BAR the tokenizer adds to whole melodies.

    Raises PrimerError when an event is not in the vocabulary or (constrained) the tokens break the
    grammar, naming the first offending event or token.
    """
    if primer is None:
        return [BOS]
    events = list(primer.events if isinstance(primer, Melody) else primer)
    if not events:
        return [BOS]
    if len({e.measure for e in events}) == 1 and len(events) > 1 and events[0].measure == 0:
        events = stamp_bars(events)  # events without bar numbers: count bars from the start
    ids = tokenizer.encode(events, bos_eos=False)
    for e in events:
        if UNK in tokenizer.encode([e], bos_eos=False):
            raise _unknown(e, 0)
    bar = tokenizer.index.get(EventTokenizer.BAR) if tokenizer.options.get("bar_tokens") else None
    if bar is not None and ids and ids[-1] == bar:
        ids = ids[:-1]
    ids = [BOS] + [i for i in ids if i != EOS]
    if constrained:
        bad = grammar_of(tokenizer).first_violation(ids)
        if bad is not None:
            raise PrimerError("breaks_grammar", token=bad, text=tokenizer.vocab[ids[bad]])
    return ids


def fit_primer(tokenizer, primer: Sequence[Event] | Melody, max_shift: int = 6) -> tuple[list[Event], int]:
    """The primer transposed by the smallest shift (0, +-1, ... +-max_shift semitones) whose every event
    is in the tokenizer's vocabulary, and that shift; an uploaded melody in a far key still fits.

    Raises PrimerError when no shift works (e.g. a duration the model never saw), naming the event.
    """
    events = list(primer.events if isinstance(primer, Melody) else primer)

    def unknown(evs) -> Event | None:
        return next((e for e in evs if UNK in tokenizer.encode([e], bos_eos=False)), None)

    if unknown(events) is None:
        return events, 0
    melody = Melody("primer", "primer", tuple(events), key_sharps=spelled_key_sharps(events))
    for shift in sorted(range(-max_shift, max_shift + 1), key=lambda s: (abs(s), s)):
        moved = transpose(melody, shift, ranges={"primer": (0, 127)}) if shift else None
        if moved is not None and unknown(moved.events) is None:
            return list(moved.events), shift
    raise _unknown(unknown(events), max_shift)


@dataclass(frozen=True)
class UploadedPrimer:
    """An uploaded file as a model's primer: the events moved into its vocabulary, by `shift` semitones,
    the reading's notices (and the transposition's), the file's lines and the one taken."""

    events: list[Event]
    shift: int
    warnings: tuple[Notice, ...]
    lines: tuple[PrimerLine, ...]
    line: int


def upload_primer(data: bytes, filename: str, tokenizer, *, line: int | str | None = None) -> UploadedPrimer:
    """`read_primer` then `fit_primer`: what the command line and the Sampling page both do with a
    student's file, so they give the same notes and the same notices. Raises MusicInputError or
    PrimerError."""
    read = read_primer(data, filename, line=line)
    events, shift = fit_primer(tokenizer, read.events)
    moved = (Notice.of("transposed", shift=shift),) if shift else ()
    return UploadedPrimer(events, shift, read.warnings + moved, read.lines, read.line)


def _unknown(e: Event, max_shift: int) -> PrimerError:
    """The error for an event the model never learned (a note by its MIDI number, or a rest)."""
    if e.is_rest:
        return PrimerError("unknown_rest", quarters=f"{e.quarter_length:g}")
    if not max_shift:
        return PrimerError("unknown_note", note=e.midi, quarters=f"{e.quarter_length:g}")
    return PrimerError("unknown_notes", max_shift=max_shift, note=e.midi, quarters=f"{e.quarter_length:g}")
