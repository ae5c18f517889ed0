"""Extraction: music21's Bach score files read into Piece/Part/Event records (about 50 s for all).

music21 is imported inside the functions, for start-up cost only (about a second): loading the
cached corpus (`bachlstm.corpus.cache`) never needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from bachlstm.music.durations import DURATION_TYPES
from bachlstm.music.events import BWV_RE, Corpus, Event, Part, Piece

log = logging.getLogger(__name__)

# Bump whenever extraction changes what lands in the cache: an older file is then "stale" and rebuilt.
EXTRACTOR_VERSION = 1

Progress = Callable[[int, int, str], None]  # (done, total, message)

# The .rntxt files in music21's Bach folder are Roman-numeral analyses, not scores.
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
_SATB = ("Soprano", "Alto", "Tenor", "Bass")


def score_paths() -> list[Path]:
    """All Bach score files music21 ships (`corpus.getComposer('bach')` minus the .rntxt analyses)."""
    from music21 import corpus as m21corpus

    return sorted(
        (Path(p) for p in m21corpus.getComposer("bach") if Path(p).suffix.lower() in SCORE_SUFFIXES),
        key=lambda p: p.name,
    )


def _piece_ids(paths: Sequence[Path]) -> list[str]:
    """Unique ids from file names; a stem shared by several files keeps its name for the .mxl one."""
    stems = [p.stem for p in paths]
    ids = []
    for p in paths:
        duplicated = stems.count(p.stem) > 1
        ids.append(
            f"{p.stem}-{p.suffix.lstrip('.').lower()}" if duplicated and p.suffix != ".mxl" else p.stem
        )
    return ids


def _relative_path(path: Path) -> str:
    """The path relative to music21's corpus folder, so the cache is portable between installs."""
    from music21 import common

    root = Path(common.getCorpusFilePath())
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _titles() -> dict[str, str]:
    """Chorale titles by BWV number from music21's chorale lists (the files themselves carry none)."""
    from music21.corpus import chorales

    titles: dict[str, str] = {}
    try:
        for bwv, info in chorales.ChoraleList().byBWV.items():
            titles[str(bwv)] = info["title"]
        for bwv, info in chorales.ChoraleListRKBWV().byBWV.items():
            titles[str(bwv)] = info["title"]
    except Exception as exc:  # titles are a nicety; never fail the extraction over them
        log.warning("could not read music21's chorale title lists: %s", exc)
    return titles


def _title_for(score, piece_id: str, titles: dict[str, str]) -> str:
    """The score's own title, else the chorale-list title for its BWV number, else ''."""
    md = score.metadata
    if md is not None and md.title:
        return str(md.title)
    m = BWV_RE.match(piece_id)
    if not m:
        return ""
    bwv = m.group("num") + m.group("rest").split("-krn")[0]
    for candidate in (bwv, bwv.split("-")[0], m.group("num")):
        if candidate in titles:
            return titles[candidate]
    return ""


def _to_event(el, measure_number: int, beat: float, flags: set[str]) -> Event | None:
    """One music21 note/rest/chord as an Event (chords reduced to their top note, graces skipped)."""
    from music21 import chord

    d = el.duration
    if d.isGrace:
        flags.add("grace")
        return None
    if d.tuplets:
        flags.add("tuplet")
    dtype = d.type
    if dtype not in DURATION_TYPES:
        flags.add("odd_duration")
    tie = el.tie.type if el.tie is not None else None
    ql = float(el.quarterLength)
    common = dict(quarter_length=ql, duration_type=dtype, dots=int(d.dots), tie=tie, measure=measure_number)
    if el.isRest:
        return Event(kind="rest", beat=beat, **common)
    if isinstance(el, chord.Chord):
        if not el.pitches:
            return Event(kind="rest", beat=beat, **common)
        flags.add("chord")
        p = max(el.pitches, key=lambda q: q.ps)  # the top note is the melodic line
    else:
        p = el.pitch
    octave = p.octave if p.octave is not None else p.implicitOctave
    return Event(kind="note", pitch=p.name, octave=int(octave), midi=int(p.midi), beat=beat, **common)


def _extract_part(m21part, index: int) -> tuple[Part, dict]:
    """Events and facts of one part, read measure by measure so the real time signatures are seen."""
    # One pass over the measures that gathers events, meters and flags together; split, it would walk twice.
    from music21 import stream

    flags: set[str] = set()
    events: list[Event] = []
    signatures: list[str] = []
    measures = list(m21part.getElementsByClass(stream.Measure))
    ts = None
    pickup = 0.0
    for i, m in enumerate(measures):
        if m.timeSignature is not None:
            ts = m.timeSignature
            if ts.ratioString not in signatures:
                signatures.append(ts.ratioString)
        if ts is None:
            # a part without its own signature: music21's context (e.g. from another part) or 4/4
            ts = m.getContextByClass("TimeSignature")
            if ts is None:
                flags.add("no_time_signature")
                from music21 import meter

                ts = meter.TimeSignature("4/4")
        bar_ql = float(ts.barDuration.quarterLength)
        beat_ql = float(ts.beatDuration.quarterLength)
        content = float(m.duration.quarterLength)
        pad = float(m.paddingLeft or 0.0)
        if i == 0 and content < bar_ql:
            pickup = content
            pad = pad or bar_ql - content
        elif 0 < i < len(measures) - 1 and abs(content - bar_ql) > 1e-6:
            flags.add(
                "irregular_bar"
            )  # mostly a bar split at a repeat sign (3 + 1 beats); repeats stay unexpanded
        voices = list(m.voices)
        if len(voices) > 1:
            flags.add("voices")  # several lines in one staff: keep the first, say so
        source = voices[0] if voices else m
        for el in source.notesAndRests:
            beat = round(1.0 + (float(el.offset) + pad) / beat_ql, 6)
            ev = _to_event(el, int(m.number or 0), beat, flags)
            if ev is not None:
                events.append(ev)
    if not measures:
        flags.add("no_measures")
        for el in m21part.flatten().notesAndRests:
            ev = _to_event(el, 0, 1.0, flags)
            if ev is not None:
                events.append(ev)
    if not any(e.kind == "note" for e in events):
        flags.add("empty_part")
    name = m21part.partName or m21part.id
    if not isinstance(name, str) or not name:
        name = f"part {index + 1}"
    facts = {"n_measures": len(measures), "pickup": pickup}
    return Part(name, tuple(signatures), tuple(events), tuple(sorted(flags))), facts


def _key_facts(score, parts) -> tuple[int, str, str]:
    """(key signature sharps, mode constrained to that signature, music21's free key estimate)."""
    from music21 import key

    sharps = 0
    for p in score.parts:
        ks = p.recurse().getElementsByClass(key.KeySignature).first()
        if ks is not None:
            sharps = int(ks.sharps)
            break
    try:
        est = score.analyze("key")
    except Exception:  # an empty score has no key: say so instead of failing the whole build
        return sharps, "major", ""
    candidates = [est, *est.alternateInterpretations]
    matching = [k for k in candidates if k.sharps == sharps]
    mode = max(matching, key=lambda k: k.correlationCoefficient).mode if matching else est.mode
    return sharps, mode, f"{est.tonic.name} {est.mode}"


def extract_piece(
    path: Path,
    piece_id: str | None = None,
    titles: dict[str, str] | None = None,
    *,
    force_source: bool = False,
) -> Piece:
    """Parse one music21 score file and extract its Piece (metadata, parts, events, flags).

    `force_source` makes music21 parse the file itself instead of its pickle cache (for timing).
    """
    from music21 import converter

    path = Path(path)
    piece_id = piece_id or path.stem
    score = converter.parse(path, forceSource=force_source)
    parts = []
    part_facts = []
    for i, m21part in enumerate(score.parts):
        part, facts = _extract_part(m21part, i)
        parts.append(part)
        part_facts.append(facts)
    signatures: list[str] = []
    flags: set[str] = set()
    for part in parts:
        flags.update(part.flags)
        for ts in part.time_signatures:
            if ts not in signatures:
                signatures.append(ts)
    if not parts:
        flags.add("no_parts")
    if len(parts) == 4 and all(m21part.partName is None for m21part in score.parts):
        # The Humdrum files name their spines only "spine_6".."spine_0" (top staff first): a four-part
        # chorale without names is SATB in score order. Said in a flag because it is inferred.
        parts = [Part(n, p.time_signatures, p.events, p.flags) for n, p in zip(_SATB, parts)]
        flags.add("inferred_part_names")
    sharps, mode, estimate = _key_facts(score, parts)
    first = next((f for p, f in zip(parts, part_facts) if "empty_part" not in p.flags), None)
    return Piece(
        id=piece_id,
        path=_relative_path(path),
        title=_title_for(score, piece_id, titles if titles is not None else _titles()),
        key_sharps=sharps,
        mode=mode,
        key_estimate=estimate,
        time_signatures=tuple(signatures),
        parts=tuple(parts),
        n_measures=max((f["n_measures"] for f in part_facts), default=0),
        pickup_quarters=float(first["pickup"]) if first else 0.0,
        length_quarters=float(score.highestTime),
        flags=tuple(sorted(flags)),
    )


def build_corpus(
    paths: Iterable[Path] | None = None, progress: Progress | None = None, *, force_source: bool = False
) -> Corpus:
    """Extract the pieces from music21 score files (default: all Bach scores); ~50 s for all of them."""
    import music21

    paths = list(paths) if paths is not None else score_paths()
    ids = _piece_ids(paths)
    titles = _titles()
    pieces, failed = [], []
    for done, (path, piece_id) in enumerate(zip(paths, ids)):
        if progress is not None:
            progress(done, len(paths), Path(path).name)
        try:
            pieces.append(extract_piece(Path(path), piece_id, titles, force_source=force_source))
        except Exception as exc:  # one unreadable file must not sink the corpus; it is listed in `failed`
            log.warning("could not extract %s: %s", path, exc)
            failed.append(str(Path(path).name))
    if progress is not None:
        progress(len(paths), len(paths), "done")
    return Corpus(
        pieces=tuple(pieces),
        n_score_files=len(paths),
        music21_version=music21.__version__,
        extractor_version=EXTRACTOR_VERSION,
        failed=tuple(failed),
    )
