"""Primers: an uploaded MIDI/MusicXML file read into one-voice events, a corpus melody's opening, and
either one fitted (transposed) into a model's vocabulary and encoded as the tokens generation starts from.

music21 and pretty_midi are imported inside the reading functions, for start-up cost only: importing
music21 takes about a second, and most users of this module never read an upload.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from bachlstm.music.durations import duration_parts
from bachlstm.music.events import Event, Melody
from bachlstm.music.midi import MidiReadError, read_midi
from bachlstm.music.pitches import spelled_key_sharps, spelled_pitch, transpose
from bachlstm.music.scores import BAR_QUARTERS, estimate_key_sharps, stamp_bars
from bachlstm.music.skyline import LineNote, fit_to_grid, primer_segments, top_line
from bachlstm.tokens.grammar import grammar_of
from bachlstm.tokens.tokenizers import BOS, EOS, UNK, EventTokenizer

log = logging.getLogger(__name__)

# An upload larger than this is not a monophonic primer: the largest chorale in music21 is 226 KB as
# MusicXML, while music21's MIDI reader took over 10 minutes on a 1.2 MB MIDI (measured; 480 KB: 1.3 s).
MAX_PRIMER_BYTES = 512_000
MAX_PRIMER_EVENTS = 512  # longer than any chorale melody we train on (max 622 is an outlier)
GRID = 0.25  # primer onsets/durations are snapped to sixteenth notes, the finest value in the chorales


class MusicInputError(ValueError):
    """An uploaded primer cannot be used; the message says why (not music, corrupt, empty, too long...)."""


class PrimerError(ValueError):
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
            f"{filename}: could not read it as {fmt.upper()} (corrupt file?): {exc}"
        ) from exc
    finally:
        os.unlink(path)


def _merged_ties(score) -> list[tuple[float, float, int, str, int]]:
    """(onset, end, midi, name, octave) of every note (a chord's top note), tie chains merged.

    Done here rather than with music21's stripTies, which leaves a start tie unmerged when a
    continue tie follows it in the same measure (music21 10.5).
    """
    from music21 import chord

    out: list[list] = []
    for part in score.parts if hasattr(score, "parts") and len(score.parts) else [score]:
        open_ties: dict[int, int] = {}  # midi -> index in out of a note whose tie goes on
        elements = sorted(part.flatten().notes, key=lambda el: float(el.offset))
        for el in elements:
            ql = float(el.quarterLength)
            if ql <= 0:  # grace notes
                continue
            if isinstance(el, chord.Chord):
                pitched = [n for n in el.notes if hasattr(n, "pitch")]
                if not pitched:
                    continue
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
    return [tuple(x) for x in out]


def _no_melody_reason(score) -> str:
    """Why a parsed file gave no melody, in words a student can act on."""
    from music21 import note, percussion

    if any(isinstance(el, note.Unpitched | percussion.PercussionChord) for el in score.recurse().notes):
        return "it holds only drum (unpitched percussion) notes: there is no melody to continue"
    return "the file contains no notes (an empty track, or a damaged or truncated file)"


def _bar_origin(score) -> float:
    """Time (quarters) of the first full bar's downbeat: the pickup's length from the first measure's left
    padding, 0 if the score opens with a full bar."""
    try:
        first = score.parts[0].getElementsByClass("Measure")[0]
        pad = float(first.paddingLeft or 0.0)
    except (IndexError, AttributeError):
        return 0.0
    return BAR_QUARTERS - pad if 0 < pad < BAR_QUARTERS else 0.0


def _meter_of(score) -> str:
    """The first time signature of a music21 score ("3/4"), "4/4" when it has none."""
    found = next(iter(score.recurse().getElementsByClass("TimeSignature")), None)
    return found.ratioString if found is not None else "4/4"


@dataclass(frozen=True)
class PrimerFile:
    """An uploaded file read as a primer: one-voice events (bars stamped, the pickup as measure 0), the
    pickup in quarters, and warnings in plain words (damaged bytes, dropped ghost notes, another meter)."""

    events: list[Event]
    pickup: float = 0.0
    warnings: tuple[str, ...] = ()


def _midi_line(data: bytes, filename: str, max_events: int) -> tuple[list[LineNote], float, str, list[str]]:
    """(notes, bar origin, meter, warnings) of MIDI bytes, by `bachlstm.music.midi.read_midi` (mido)."""
    try:
        reading = read_midi(data)
    except MidiReadError as exc:
        raise MusicInputError(f"{filename}: could not read it as MIDI: {exc}") from exc
    if len(reading.notes) > 8 * max_events:  # the same bound as for MusicXML (8 voices)
        raise MusicInputError(
            f"{filename}: the piece is too long ({len(reading.notes):,} notes in all; a primer may have "
            f"{max_events} notes and rests); use the opening of the piece only"
        )
    if not reading.notes:
        reason = (
            "it holds only drum (unpitched percussion) notes: there is no melody to continue"
            if reading.drum_notes
            else "the file contains no notes (an empty track, or a damaged or truncated file)"
        )
        raise MusicInputError(f"{filename}: {reason}")
    warnings = list(reading.warnings)
    if reading.zero_length:
        warnings.append(
            f"{reading.zero_length} note(s) of zero length (released as soon as struck) were left out"
        )
    sharps = reading.key_sharps
    if sharps is None:  # no key signature in the file: spell by the key music21 hears in the notes
        plain = [Event("note", n.end - n.start, pitch="C", octave=4, midi=n.pitch) for n in reading.notes]
        sharps = estimate_key_sharps(plain)
    notes = [LineNote(n.start, n.end, n.pitch, *spelled_pitch(n.pitch, sharps)) for n in reading.notes]
    return notes, reading.downbeat, reading.meter, warnings


def _score_line(data: bytes, fmt: str, filename: str, max_events: int) -> tuple[list[LineNote], float, str]:
    """(notes with their spelling, bar origin, meter) of MusicXML/MXL bytes, by music21."""
    rough = _rough_note_count(data, fmt)  # music21 needs ~2 ms per note: refuse a long piece first
    if rough > 8 * max_events:
        raise MusicInputError(
            f"{filename}: the piece is too long ({rough:,} notes in all; a primer may have {max_events} "
            "notes and rests); use the opening of the piece only"
        )
    score = _parse(data, fmt, filename)
    notes = [LineNote(*raw) for raw in _merged_ties(score)]
    if not notes:
        raise MusicInputError(f"{filename}: {_no_melody_reason(score)}")
    return notes, _bar_origin(score), _meter_of(score)


def _check_container(data: bytes, fmt: str | None, filename: str, max_bytes: int) -> None:
    """Refuse, before any parsing, what is empty, too large, not music, or a zip bomb."""
    if not data:
        raise MusicInputError(f"{filename}: the file is empty")
    if len(data) > max_bytes:
        raise MusicInputError(f"{filename}: the file is too large ({len(data):,} bytes, limit {max_bytes:,})")
    if fmt is None:
        raise MusicInputError(f"{filename}: not a MIDI or MusicXML file (the content is not music)")
    if fmt == "mxl":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                unpacked = sum(info.file_size for info in zf.infolist())
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise MusicInputError(f"{filename}: could not read it as MXL (corrupt file?): {exc}") from exc
        if unpacked > 20 * max_bytes:  # a zip bomb, or an orchestral score
            raise MusicInputError(
                f"{filename}: the file is too large once unpacked "
                f"({unpacked:,} bytes, limit {20 * max_bytes:,})"
            )


def read_primer(
    data: bytes,
    filename: str = "upload",
    *,
    max_bytes: int = MAX_PRIMER_BYTES,
    max_events: int = MAX_PRIMER_EVENTS,
) -> PrimerFile:
    """One-voice primer from MIDI (mido) or MusicXML (music21) bytes: top line, sixteenth grid, bars.

    MIDI notes are paired first in, first out per channel and pitch (re-struck notes kept), RMID is
    unwrapped, SMPTE time converted, ghost notes dropped and counted; a damaged file is read as far as it
    goes, with a warning naming what was lost. The top line is fitted to the grid keeping the notes that
    sound on it (`bachlstm.music.skyline`). Leading silence becomes a pickup: the first note keeps its beat.
    Raises MusicInputError for: an empty file, a file over `max_bytes`, content that is neither MIDI
    nor MusicXML (whatever the file name says), an unreadable file, one without notes, and one whose
    melody has more than `max_events` notes and rests.
    """
    fmt = sniff_format(data) if data else None
    _check_container(data, fmt, filename, max_bytes)
    if fmt == "midi":
        notes, origin, meter, warnings = _midi_line(data, filename, max_events)
    else:
        notes, origin, meter = _score_line(data, fmt, filename, max_events)
        warnings = []
    if meter != "4/4":
        warnings.append(f"the file is in {meter}; the model writes 4/4, so bar lines are counted in 4/4")
    line = fit_to_grid(top_line(notes), GRID)
    segments, pickup = primer_segments(line[: max_events + 1], origin, BAR_QUARTERS)
    events = _split_at_bars(segments, pickup)
    if len(events) > max_events or len(line) > max_events:
        raise MusicInputError(
            f"{filename}: the melody is too long (more than {max_events} notes and rests); "
            "use the opening of the piece only"
        )
    log.info("primer %s: %s, %d events, pickup %.2f", filename, fmt, len(events), pickup)
    return PrimerFile(stamp_bars(events, pickup=pickup, start=0.0), pickup, tuple(warnings))


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
    for k, e in enumerate(events):
        if UNK in tokenizer.encode([e], bos_eos=False):
            raise PrimerError(
                f"primer event {k + 1} ({_describe(e)}) is not in this model's vocabulary; "
                "try another primer or a model trained with transposition"
            )
    bar = tokenizer.index.get(EventTokenizer.BAR) if tokenizer.options.get("bar_tokens") else None
    if bar is not None and ids and ids[-1] == bar:
        ids = ids[:-1]
    ids = [BOS] + [i for i in ids if i != EOS]
    if constrained:
        bad = grammar_of(tokenizer).first_violation(ids)
        if bad is not None:
            raise PrimerError(
                f"the primer breaks the token grammar at token {bad} ({tokenizer.vocab[ids[bad]]!r}); "
                "is it in 4/4 with complete bars?"
            )
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
    bad = unknown(events)
    raise PrimerError(
        f"the primer does not fit this model's vocabulary in any transposition up to {max_shift} "
        f"semitones (first unknown event: {_describe(bad)})"
    )


def _describe(e: Event) -> str:
    return (
        f"rest of {e.quarter_length:g} quarters"
        if e.is_rest
        else f"{e.pitch}{e.octave}, {e.quarter_length:g} quarters"
    )
