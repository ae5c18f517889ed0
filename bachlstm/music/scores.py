"""Music out: events -> music21 score (4/4, measures, key) -> MusicXML; MIDI (midi.py); piano roll.

Reading an uploaded file back into events is `bachlstm.generation.primer`.

music21, verovio, pretty_midi and pandas are imported inside the functions, for start-up cost only:
`import bachlstm.music.scores` stays cheap (music21 alone takes about a second).
"""

from __future__ import annotations

import io
import logging
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import replace

from bachlstm.music.durations import duration_parts
from bachlstm.music.events import Event
from bachlstm.music.midi import ORGAN_PROGRAM, write_midi
from bachlstm.music.pitches import estimate_key_sharps, midi_name

log = logging.getLogger(__name__)

BAR_QUARTERS = 4.0  # 4/4 throughout: the corpus selection keeps 4/4 pieces only
DEFAULT_TEMPO = 80  # quarter notes per minute; a calm chorale tempo
PART_NAME = "Melody"  # the one part's name in a download: notation programs list parts by name


# ----------------------------------------------------------------------------------------------------
# What a download is called


TITLE = "{model}: {method}, primer {primer}"  # a generated melody's title (a page words it: TITLE_WORDS)


def download_title(
    model: str, method: str, primer: str, *, template: str = TITLE, no_primer: str = "none"
) -> str:
    """The title a generated melody's download carries: "bach: top-k, primer bwv66.6 soprano". A page
    passes the `template`, the method and `no_primer` in its reader's language."""
    return template.format(model=model, method=method, primer=primer or no_primer)


def download_composer(model: str) -> str:
    """The composer field of a generated melody: the tool and the model that wrote it."""
    return f"bachlstm, model {model}"


def download_stem(model: str, method: str, primer: str, seed: int) -> str:
    """A file name (no extension) that says model, method, primer and seed, safe on every system:
    "bach-top-k-bwv66.6_soprano-seed0"."""
    return "-".join(_safe_name(x) for x in (model, method, primer or "none", f"seed{seed}"))


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


def make_event(kind: str, ql: float, pitch: str | None = None, octave: int | None = None, midi=None) -> Event:
    """An Event with duration type and dots spelled from `ql` ("complex" when it needs a tie)."""
    parts = duration_parts(ql)
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


def to_score(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
    title: str | None = None,
    composer: str | None = None,
):
    """A music21 Score: one part in 4/4 with measures, a key signature (estimated when None) and a tempo.

    Events are laid end to end (zero-length events are skipped); notes crossing a bar line are split and
    tied. `pickup` (quarters, None = `infer_pickup`) makes the first measure an anacrusis: measure 0,
    written `implicit="yes"` so notation programs leave it unnumbered. The part is named `PART_NAME` and
    played by a church organ (General MIDI `ORGAN_PROGRAM`, the pages' sound); title and composer are
    filled ("bachlstm" when no composer is given).
    """
    from music21 import clef, instrument, key, metadata, meter, stream, tempo

    events = [e for e in events if e.quarter_length > 0]
    if key_sharps is None:
        key_sharps = estimate_key_sharps(events)
    if pickup is None:
        pickup = infer_pickup(events)
    part = stream.Part()
    part.partName = PART_NAME
    organ = instrument.Organ()
    organ.partName, organ.midiProgram = PART_NAME, ORGAN_PROGRAM
    part.insert(0, organ)
    number = 0 if pickup > 0 else 1
    room = pickup if pickup > 0 else BAR_QUARTERS
    measure = stream.Measure(number=number)
    if pickup > 0:
        measure.paddingLeft = BAR_QUARTERS - pickup
        measure.showNumber = stream.enums.ShowNumber.NEVER  # implicit="yes": the pickup is not bar 1
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
    score.insert(0, metadata.Metadata(title=title or "", composer=composer or "bachlstm"))
    part.makeBeams(inPlace=True)
    return score


def to_midi(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
    title: str | None = None,
) -> bytes:
    """Standard MIDI file bytes that keep the written meter (`bachlstm.music.midi.write_midi`).

    Same arguments and defaults as `to_score`: the key is estimated when None, the pickup inferred from
    the events' measure numbers when None. A pickup is written as a short first bar, so bar lines in a
    DAW or notation program fall where the MusicXML has them. The melody track is named `PART_NAME` and
    plays the church organ.
    """
    events = [e for e in events if e.quarter_length > 0]
    return write_midi(
        events,
        pickup=infer_pickup(events) if pickup is None else pickup,
        key_sharps=estimate_key_sharps(events) if key_sharps is None else key_sharps,
        tempo_bpm=tempo_bpm,
        title=title or "",
        bar_quarters=BAR_QUARTERS,
        part_name=PART_NAME,
    )


def to_musicxml(events: Sequence[Event], **kwargs) -> bytes:
    """MusicXML bytes (via music21's GeneralObjectExporter)."""
    from music21.musicxml import m21ToXml

    return m21ToXml.GeneralObjectExporter(to_score(events, **kwargs)).parse()


def piano_roll(events: Sequence[Event]) -> dict[str, list]:
    """The notes (no rests) as columns: index (in `events`), start, end (quarters from the first event),
    midi, pitch ("C#4"), duration. Plain lists: a table for a chart is one call away, without pandas'
    cost on the Sampling page's hot path (about 1 ms a melody)."""
    roll: dict[str, list] = {"index": [], "start": [], "end": [], "midi": [], "pitch": [], "duration": []}
    t = 0.0
    for i, e in enumerate(events):
        if not e.is_rest and e.quarter_length > 0:
            for column, value in zip(roll.values(), (i, t, t + e.quarter_length, int(e.midi))):
                column.append(value)
            roll["pitch"].append(f"{e.pitch}{e.octave}" if e.pitch else midi_name(e.midi))
            roll["duration"].append(float(e.quarter_length))
        t += e.quarter_length
    return roll


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "melody"


def zip_melodies(
    items: Sequence[tuple[str, Sequence[Event]]],
    *,
    key_signatures: Sequence[int | None] | None = None,
    titles: Sequence[str] | None = None,
    **kwargs,
) -> bytes:
    """A zip with NAME.mid and NAME.musicxml for each (name, events), names made file-safe and unique.
    key_signatures: one per item (sharps > 0, flats < 0; None = estimated), else `key_sharps` (or None)
    for all; titles: one per item (else `title` for all); the other keyword arguments go to `to_midi`
    and `to_musicxml` for every item (`composer` to the MusicXML only). Raises ValueError when the
    signatures and items differ in number."""
    every = kwargs.pop("key_sharps", None)
    signatures = list(key_signatures) if key_signatures is not None else [every] * len(items)
    if len(signatures) != len(items):
        raise ValueError(f"{len(signatures)} key signatures for {len(items)} melodies")
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, ((name, events), sharps) in enumerate(zip(items, signatures)):
            if titles is not None:
                kwargs["title"] = titles[k]
            base = _safe_name(name)
            stem, n = base, 2
            while stem in used:
                stem, n = f"{base}_{n}", n + 1
            used.add(stem)
            midi_kwargs = {k: v for k, v in kwargs.items() if k != "composer"}  # MIDI has no composer field
            zf.writestr(f"{stem}.mid", to_midi(events, key_sharps=sharps, **midi_kwargs))
            zf.writestr(f"{stem}.musicxml", to_musicxml(events, key_sharps=sharps, **kwargs))
    return buf.getvalue()
