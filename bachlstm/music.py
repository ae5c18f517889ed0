"""Music out and in: events -> music21 score (4/4, measures, key) -> MIDI, MusicXML, SVG, audio, piano roll;
uploaded MIDI/MusicXML bytes -> one-voice primer events.

music21, verovio and pretty_midi are imported inside the functions so `import bachlstm.music` stays cheap.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bachlstm.events import DURATION_TYPES, Event

log = logging.getLogger(__name__)

BAR_QUARTERS = 4.0  # 4/4 throughout: the corpus selection keeps 4/4 pieces only
DEFAULT_TEMPO = 80  # quarter notes per minute; a calm chorale tempo
# An upload larger than this is not a monophonic primer: the largest chorale in music21 is 226 KB as
# MusicXML, while music21's MIDI reader took over 10 minutes on a 1.2 MB MIDI (measured; 480 KB: 1.3 s).
MAX_PRIMER_BYTES = 512_000
MAX_PRIMER_EVENTS = 512  # longer than any chorale melody we train on (max 622 is an outlier)
GRID = 0.25  # primer onsets/durations are snapped to sixteenth notes, the finest value in the chorales


class MusicInputError(ValueError):
    """An uploaded primer cannot be used; the message says why (not music, corrupt, empty, too long...)."""


# ----------------------------------------------------------------------------------------------------
# Bars


def infer_pickup(events: Sequence[Event]) -> float:
    """Pickup length in quarters: the leading events with measure 0, when later ones have measure >= 1.

    0.0 when no event has a measure number >= 1 (generated events carry no bar information) or when
    the leading measure-0 events fill a whole bar or more.
    """
    if not any(e.measure >= 1 for e in events):
        return 0.0
    total = 0.0
    for e in events:
        if e.measure != 0:
            break
        total += e.quarter_length
    return total if 0 < total < BAR_QUARTERS else 0.0


def stamp_bars(events: Sequence[Event], pickup: float = 0.0, start: float = 0.0) -> list[Event]:
    """Set `measure` and `beat` from the running offset in 4/4 (first event at `start` quarters).

    With a pickup of length `pickup`, offsets below it are measure 0 (beat counted from the bar's start);
    later events are measure 1, 2, ... Beats are 1-based quarters, as in music21.
    """
    out = []
    offset = start
    for e in events:
        if offset < pickup - 1e-9:
            measure, beat = 0, 1.0 + (BAR_QUARTERS - pickup) + offset
        else:
            rel = offset - pickup
            measure = 1 + int(math.floor(rel / BAR_QUARTERS + 1e-9))
            beat = 1.0 + rel - (measure - 1) * BAR_QUARTERS
        out.append(replace(e, measure=measure, beat=round(beat, 6)))
        offset += e.quarter_length
    return out


def _duration_parts(ql: float) -> list[tuple[str, int, float]]:
    """(type, dots, quarter_length) pieces that spell `ql` without tuplets (one piece when possible)."""
    from music21 import duration

    d = duration.Duration(ql)
    if d.type in DURATION_TYPES:
        return [(d.type, d.dots, float(ql))]
    return [(c.type, c.dots, float(c.quarterLength)) for c in d.components]


def make_event(kind: str, ql: float, pitch: str | None = None, octave: int | None = None, midi=None) -> Event:
    """An Event with duration type and dots spelled from `ql` ("complex" when it needs a tie)."""
    parts = _duration_parts(ql)
    dtype, dots = (parts[0][0], parts[0][1]) if len(parts) == 1 else ("complex", 0)
    return Event(kind, float(ql), dtype, dots, pitch, octave, midi)


# ----------------------------------------------------------------------------------------------------
# Events -> music21


def _m21_note(e: Event, ql: float, tie: str | None):
    from music21 import note
    from music21 import tie as m21tie

    if e.is_rest:
        n = note.Rest(quarterLength=ql)
    else:
        n = note.Note(f"{e.pitch}{e.octave}", quarterLength=ql)
        if n.pitch.midi != e.midi:  # trust midi over a spelling we cannot read
            n = note.Note(e.midi, quarterLength=ql)
        if tie:
            n.tie = m21tie.Tie(tie)
    return n


def estimate_key_sharps(events: Sequence[Event]) -> int:
    """Key signature (sharps > 0, flats < 0) by music21's Krumhansl-Schmuckler key analysis; 0 if no note."""
    from music21 import note, stream

    if not any(not e.is_rest for e in events):
        return 0
    s = stream.Stream()
    for e in events:
        if not e.is_rest and e.quarter_length > 0:
            s.append(note.Note(e.midi, quarterLength=e.quarter_length))
    try:
        return int(s.analyze("key").sharps)
    except Exception:  # analysis can fail on degenerate input; a plain C signature is a safe fallback
        return 0


def to_score(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
    title: str | None = None,
):
    """A music21 Score: one part in 4/4 with measures, a key signature (estimated when None) and a tempo.

    Events are laid end to end (zero-length events are skipped); notes crossing a bar line are split and
    tied. `pickup` (quarters, None = `infer_pickup`) makes the first measure an anacrusis.
    """
    from music21 import clef, key, metadata, meter, stream, tempo

    events = [e for e in events if e.quarter_length > 0]
    if key_sharps is None:
        key_sharps = estimate_key_sharps(events)
    if pickup is None:
        pickup = infer_pickup(events)
    part = stream.Part()
    number = 0 if pickup > 0 else 1
    room = pickup if pickup > 0 else BAR_QUARTERS
    measure = stream.Measure(number=number)
    if pickup > 0:
        measure.paddingLeft = BAR_QUARTERS - pickup
    measure.append(clef.TrebleClef())
    measure.append(key.KeySignature(int(key_sharps)))
    measure.append(meter.TimeSignature("4/4"))
    measure.append(tempo.MetronomeMark(number=tempo_bpm))
    measures = [measure]
    for e in events:
        left = e.quarter_length
        first = True
        # A tie from the event itself (a corpus/decoded tie) joins a split at the bar line.
        tied_in = not e.is_rest and e.tie in ("stop", "continue")
        tied_out = not e.is_rest and e.tie in ("start", "continue")
        while left > 1e-9:
            if room <= 1e-9:
                number += 1
                measure = stream.Measure(number=number)
                measures.append(measure)
                room = BAR_QUARTERS
            ql = min(left, room)
            left -= ql
            room -= ql
            has_in = not e.is_rest and (not first or tied_in)
            has_out = not e.is_rest and (left > 1e-9 or tied_out)
            tie = {(True, True): "continue", (False, True): "start", (True, False): "stop"}.get(
                (has_in, has_out)
            )
            measure.append(_m21_note(e, ql, tie))
            first = False
    for m in measures:
        part.append(m)
    score = stream.Score([part])
    score.insert(0, metadata.Metadata(title=title or ""))
    part.makeBeams(inPlace=True)
    return score


def to_midi(events: Sequence[Event], **kwargs) -> bytes:
    """Standard MIDI file bytes (via music21's streamToMidiFile)."""
    from music21 import midi

    return midi.translate.streamToMidiFile(to_score(events, **kwargs)).writestr()


def to_musicxml(events: Sequence[Event], **kwargs) -> bytes:
    """MusicXML bytes (via music21's GeneralObjectExporter)."""
    from music21.musicxml import m21ToXml

    return m21ToXml.GeneralObjectExporter(to_score(events, **kwargs)).parse()


def to_svg(
    events: Sequence[Event],
    *,
    all_pages: bool = False,
    page_width: int = 2100,
    scale: int = 40,
    **kwargs,
) -> list[str]:
    """Sheet music as SVG strings from verovio: the first page, or every page with `all_pages`.

    Safe to call from any thread.
    """
    from importlib.resources import files

    import verovio

    xml = to_musicxml(events, **kwargs).decode("utf-8")
    # verovio loads its fonts per thread: a toolkit made in a second thread (Streamlit runs each rerun
    # in one) finds no fonts unless the resource path is given explicitly (verovio 6.4.1).
    tk = verovio.toolkit(False)
    tk.setResourcePath(str(files("verovio") / "data"))
    tk.setOptions(
        {
            "pageWidth": page_width,
            "scale": scale,
            "adjustPageHeight": True,
            "header": "none",
            "footer": "none",
            "breaks": "auto",
        }
    )
    if not tk.loadData(xml):
        raise RuntimeError("verovio could not read the MusicXML it was given")
    n = tk.getPageCount() if all_pages else 1
    return [tk.renderToSVG(i) for i in range(1, n + 1)]


def _organ(phase: np.ndarray) -> np.ndarray:
    """A soft organ-like tone (a few harmonics), kinder to the ear than a bare sine."""
    return (np.sin(phase) + 0.35 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)) / 1.5


def to_audio(events: Sequence[Event], *, sample_rate: int = 22050, tempo_bpm: float = DEFAULT_TEMPO):
    """Mono float32 audio in [-1, 1] (pretty_midi's synthesize), or None when there is no note to hear.

    Never NaN and never all zeros: players such as st.audio normalise by the maximum, so silence is None.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    inst = pretty_midi.Instrument(program=19)  # church organ, for a MIDI player that honours it
    seconds_per_quarter = 60.0 / tempo_bpm
    t = 0.0
    for e in events:
        dur = e.quarter_length * seconds_per_quarter
        if not e.is_rest and dur > 0:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(e.midi), start=t, end=t + dur))
        t += dur
    if not inst.notes:
        return None
    pm.instruments.append(inst)
    audio = np.nan_to_num(pm.synthesize(fs=sample_rate, wave=_organ)).astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak == 0.0:
        return None
    return audio * (0.8 / peak)


def midi_to_name(midi: int) -> str:
    """Scientific pitch name with sharps, e.g. 61 -> "C#4"."""
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"


def piano_roll(events: Sequence[Event], label: str | None = None):
    """DataFrame of the notes (no rests): index, start, end (quarters), midi, pitch, duration[, label]."""
    import pandas as pd

    rows = []
    t = 0.0
    for i, e in enumerate(events):
        if not e.is_rest and e.quarter_length > 0:
            name = f"{e.pitch}{e.octave}" if e.pitch else midi_to_name(e.midi)
            rows.append((i, t, t + e.quarter_length, int(e.midi), name, e.quarter_length))
        t += e.quarter_length
    frame = pd.DataFrame(rows, columns=["index", "start", "end", "midi", "pitch", "duration"])
    frame = frame.astype({"index": "int64", "start": "float64", "end": "float64", "midi": "int64"})
    if label is not None:
        frame["label"] = label
    return frame


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "melody"


def zip_melodies(items: Sequence[tuple[str, Sequence[Event]]], **kwargs) -> bytes:
    """A zip with NAME.mid and NAME.musicxml for each (name, events), names made file-safe and unique."""
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, events in items:
            base = _safe_name(name)
            stem, n = base, 2
            while stem in used:
                stem, n = f"{base}_{n}", n + 1
            used.add(stem)
            zf.writestr(f"{stem}.mid", to_midi(events, **kwargs))
            zf.writestr(f"{stem}.musicxml", to_musicxml(events, **kwargs))
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------------
# Uploaded primer -> events


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
    """Notes in the file, counted cheaply (note-ons in MIDI, <note> elements in MusicXML); 0 if unsure."""
    if fmt == "midi":
        import pretty_midi

        try:
            pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
        except Exception:  # corrupt: music21 will say so with its own message
            return 0
        return sum(len(inst.notes) for inst in pm.instruments)
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


def _top_line(score) -> list[tuple[float, float, int, str | None, int | None]]:
    """Skyline: (onset, end, midi, spelled name, octave) of the highest note sounding at each moment.

    A lower voice moving under a held top note is ignored; when the top note ends while a lower one is
    still sounding, the lower one becomes the top line for the rest of its duration.
    """
    notes = []
    for raw in _merged_ties(score):
        onset = round(raw[0] / GRID) * GRID
        end = max(onset + GRID, round(raw[1] / GRID) * GRID)
        notes.append((onset, end, *raw[2:]))
    notes.sort(key=lambda x: (x[0], -x[2]))
    times = sorted({t for x in notes for t in x[:2]})
    line: list[list] = []  # [onset, end, midi, name, octave, note index]
    active: list[int] = []
    nxt = 0
    for t0, t1 in zip(times, times[1:]):
        while nxt < len(notes) and notes[nxt][0] <= t0:
            active.append(nxt)
            nxt += 1
        active = [i for i in active if notes[i][1] > t0]
        if not active:
            continue
        top = max(active, key=lambda i: (notes[i][2], -notes[i][0]))
        if line and line[-1][5] == top and line[-1][1] == t0:
            line[-1][1] = t1
        else:
            line.append([t0, t1, *notes[top][2:], top])
    return [tuple(x[:5]) for x in line]


def _pickup_of(score) -> float:
    """Anacrusis length (quarters) from the first measure's left padding, 0 if none."""
    try:
        first = score.parts[0].getElementsByClass("Measure")[0]
        pad = float(first.paddingLeft or 0.0)
    except (IndexError, AttributeError):
        return 0.0
    return BAR_QUARTERS - pad if 0 < pad < BAR_QUARTERS else 0.0


def read_primer(
    data: bytes,
    filename: str = "upload",
    *,
    max_bytes: int = MAX_PRIMER_BYTES,
    max_events: int = MAX_PRIMER_EVENTS,
) -> list[Event]:
    """One-voice primer events (top line, sixteenth grid, bars stamped) from MIDI or MusicXML bytes.

    Raises MusicInputError for: an empty file, a file over `max_bytes`, content that is neither MIDI
    nor MusicXML (whatever the file name says), a corrupt file, one without notes, and one whose melody
    has more than `max_events` notes and rests.
    """
    if not data:
        raise MusicInputError(f"{filename}: the file is empty")
    if len(data) > max_bytes:
        raise MusicInputError(f"{filename}: the file is too large ({len(data):,} bytes, limit {max_bytes:,})")
    fmt = sniff_format(data)
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
    # music21 needs ~2 ms per note: refuse a long piece before parsing it (the limit allows 8 voices).
    rough = _rough_note_count(data, fmt)
    if rough > 8 * max_events:
        raise MusicInputError(
            f"{filename}: the piece is too long ({rough:,} notes in all; a primer may have {max_events} "
            "notes and rests); use the opening of the piece only"
        )
    score = _parse(data, fmt, filename)
    line = _top_line(score)
    if not line:
        raise MusicInputError(f"{filename}: {_no_melody_reason(score)}")
    pickup = _pickup_of(score) if fmt != "midi" else 0.0
    # Leading silence is dropped (a primer starts with its first note) but bar positions keep counting
    # from the score's start, so notes are split and tied at the real bar lines.
    segments: list[tuple[float, float, tuple | None]] = []
    t = line[0][0]
    for onset, end, *pitch in line:
        if onset > t + 1e-9:
            segments.append((t, onset, None))
        segments.append((onset, end, tuple(pitch)))
        t = end
        if len(segments) > max_events:
            break
    events = _split_at_bars(segments, pickup)
    if len(events) > max_events:
        raise MusicInputError(
            f"{filename}: the melody is too long (more than {max_events} notes and rests); "
            "use the opening of the piece only"
        )
    log.info("primer %s: %s, %d events, pickup %.2f", filename, fmt, len(events), pickup)
    return stamp_bars(events, pickup=pickup, start=line[0][0])


def _split_at_bars(segments: list[tuple[float, float, tuple | None]], pickup: float) -> list[Event]:
    """Events for (start, end, (midi, name, octave) or None for a rest), split and tied at bar lines
    (at pickup + 4k) and where a duration needs two written values."""
    events: list[Event] = []
    for a, b, pitch in segments:
        cuts = [a]
        k = math.floor((a - pickup) / BAR_QUARTERS) + 1
        while (line_at := pickup + k * BAR_QUARTERS) < b - 1e-9:
            if line_at > a + 1e-9:
                cuts.append(line_at)
            k += 1
        cuts.append(b)
        parts = [p for x, y in zip(cuts, cuts[1:]) for p in _duration_parts(y - x)]
        for i, (dtype, dots, ql) in enumerate(parts):
            if pitch is None:
                events.append(Event("rest", ql, dtype, dots))
                continue
            tie = None
            if len(parts) > 1:
                tie = "start" if i == 0 else "stop" if i == len(parts) - 1 else "continue"
            midi, name, octave = pitch
            events.append(Event("note", ql, dtype, dots, name, octave, midi, tie))
    return events
