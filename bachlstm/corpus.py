"""The Bach corpus: music21 scores extracted into Piece/Part/Event records, cached in a versioned file."""

from __future__ import annotations

import base64
import binascii
import gzip
import importlib.metadata
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bachlstm.durations import DURATION_TYPES
from bachlstm.events import Event

log = logging.getLogger(__name__)

# Bump whenever extraction changes what lands in the cache: an older file is then "stale" and rebuilt.
EXTRACTOR_VERSION = 1
CACHE_FORMAT = "bachlstm-corpus/2"  # the file layout; EXTRACTOR_VERSION is its content
DEFAULT_CACHE_PATH = Path(__file__).parent / "data" / "bach_corpus.json.gz"

Progress = Callable[[int, int, str], None]

# The .rntxt files in music21's Bach folder are Roman-numeral analyses, not scores.
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
_SATB = ("Soprano", "Alto", "Tenor", "Bass")
_BWV_RE = re.compile(r"^bwv(?P<num>\d+)(?P<rest>.*)$", re.IGNORECASE)


class CorpusCacheError(ValueError):
    """Our cache file cannot be used (missing, corrupt or made by another extractor/music21 version)."""


class Part:
    """One part (voice or instrument line) of a piece: its events, time signatures and data-quality flags.

    Behaves like the frozen dataclass `Part(name, time_signatures, events, flags)` of the architecture,
    but a part read from the cache decodes its events only when `events` is first read: building all
    ~100k Event objects up front would cost more than the whole rest of `load_corpus()`.
    """

    __slots__ = ("name", "time_signatures", "flags", "n_events", "_events", "_source")

    def __init__(
        self,
        name: str,
        time_signatures: tuple[str, ...] = (),
        events: Sequence[Event] = (),
        flags: tuple[str, ...] = (),
        *,
        _source: tuple[_Columns, int, int] | None = None,
    ) -> None:
        self.name = name
        self.time_signatures = tuple(time_signatures)
        self.flags = tuple(flags)
        self._source = _source
        if _source is None:
            self._events: tuple[Event, ...] | None = tuple(events)
            self.n_events = len(self._events)
        else:
            self._events = None
            self.n_events = _source[2] - _source[1]

    @property
    def events(self) -> tuple[Event, ...]:
        """The ordered notes and rests (decoded from the cache on first access)."""
        if self._events is None:
            columns, start, stop = self._source
            self._events = columns.decode(start, stop)
        return self._events

    @property
    def n_notes(self) -> int:
        """Number of note events (rests not counted)."""
        return sum(1 for e in self.events if e.kind == "note")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Part):
            return NotImplemented
        return (self.name, self.time_signatures, self.flags, self.events) == (
            other.name,
            other.time_signatures,
            other.flags,
            other.events,
        )

    def __hash__(self) -> int:
        # equal parts have equal headers; hashing must not force decoding every event
        return hash((self.name, self.time_signatures, self.flags, self.n_events))

    def __repr__(self) -> str:
        return (
            f"Part(name={self.name!r}, time_signatures={self.time_signatures!r}, "
            f"n_events={self.n_events}, flags={self.flags!r})"
        )


@dataclass(frozen=True)
class Piece:
    """One score file of the corpus with its metadata and parts.

    `id` is the file name without extension ("bwv1.6"); the three Humdrum duplicates of MusicXML files
    get "-krn" appended. `path` is relative to music21's corpus folder. `key_sharps` is the key
    signature of the first part (flats < 0); `mode` is whichever of the two keys sharing that signature
    (major or its relative minor) music21's Krumhansl-Schmuckler profile prefers; `key_estimate` is
    music21's unconstrained estimate ("A major"). `time_signatures` lists every signature found in the
    measures of any part, in order of appearance. `pickup_quarters` is 0 without an anacrusis.
    """

    id: str
    path: str
    title: str
    key_sharps: int
    mode: str
    key_estimate: str
    time_signatures: tuple[str, ...]
    parts: tuple[Part, ...]
    n_measures: int
    pickup_quarters: float
    length_quarters: float
    flags: tuple[str, ...] = ()

    @property
    def part_names(self) -> tuple[str, ...]:
        """The part names in score order."""
        return tuple(p.name for p in self.parts)

    @property
    def n_parts(self) -> int:
        """Number of parts."""
        return len(self.parts)

    @property
    def bwv(self) -> str:
        """The BWV catalogue number part of the id ("1.6" for "bwv1.6")."""
        m = _BWV_RE.match(self.id)
        return m.group("num") + m.group("rest") if m else self.id


@dataclass(frozen=True)
class Corpus:
    """All extracted pieces plus how they were made (for staleness checks and reports)."""

    pieces: tuple[Piece, ...]
    n_score_files: int
    music21_version: str
    extractor_version: int
    failed: tuple[str, ...] = field(default=())  # score files music21 could not parse (never silent)

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self):
        return iter(self.pieces)

    def get(self, piece_id: str) -> Piece:
        """The piece with this id; KeyError naming the id when absent."""
        for piece in self.pieces:
            if piece.id == piece_id:
                return piece
        raise KeyError(f"no piece {piece_id!r} in the corpus")


# --------------------------------------------------------------------------------------------------
# Extraction from music21


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
    m = _BWV_RE.match(piece_id)
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


# --------------------------------------------------------------------------------------------------
# The cache file: columnar JSON, gzip-compressed. Events of all parts are concatenated into one column
# per field; repeated strings and floats go through small lookup tables, and each column is a numpy int
# array stored as base64 (parsing ~1M JSON integers alone took 60 ms). That keeps the file small and
# lets `load_corpus` skip building Event objects until a part's events are asked for.

_EVENT_COLUMNS = ("pitch", "octave", "midi", "ql", "dtype", "dots", "tie", "measure", "beat")


class _Columns:
    """The shared event columns of a loaded cache; decodes a slice into Event objects on demand."""

    __slots__ = ("cols", "tables")

    def __init__(self, cols: dict[str, np.ndarray], tables: dict[str, list]) -> None:
        self.cols = cols
        self.tables = tables

    def decode(self, start: int, stop: int) -> tuple[Event, ...]:
        c, t = self.cols, self.tables
        pitches, qls, dtypes, ties, beats = t["pitch"], t["ql"], t["dtype"], t["tie"], t["beat"]
        out = []
        for pi, octave, midi, q, dt, dots, tie, measure, beat in zip(
            *(c[name][start:stop].tolist() for name in _EVENT_COLUMNS)
        ):
            note = pi >= 0
            out.append(
                Event(
                    kind="note" if note else "rest",
                    quarter_length=qls[q],
                    duration_type=dtypes[dt],
                    dots=dots,
                    pitch=pitches[pi] if note else None,
                    octave=octave if note else None,
                    midi=midi if note else None,
                    tie=ties[tie],
                    measure=measure,
                    beat=beats[beat],
                )
            )
        return tuple(out)


def _table_index(table: list, index: dict, value) -> int:
    if value not in index:
        index[value] = len(table)
        table.append(value)
    return index[value]


def _pack(values: list[int]) -> dict:
    """An int column as base64 of the smallest fitting little-endian numpy dtype (fast to load)."""
    lo, hi = (min(values), max(values)) if values else (0, 0)
    dtype = next(d for d in ("<i1", "<i2", "<i4") if np.iinfo(d).min <= lo and hi <= np.iinfo(d).max)
    return {
        "dtype": dtype,
        "data": base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode("ascii"),
    }


def _unpack(d: dict) -> np.ndarray:
    if d["dtype"] not in ("<i1", "<i2", "<i4"):
        raise CorpusCacheError(f"unexpected column dtype {d['dtype']!r}")
    return np.frombuffer(base64.b64decode(d["data"], validate=True), dtype=d["dtype"])


def corpus_to_dict(corpus: Corpus) -> dict:
    """The JSON-safe columnar form written to the cache file."""
    tables: dict[str, list] = {"pitch": [], "ql": [], "dtype": [], "tie": [None], "beat": []}
    indexes: dict[str, dict] = {name: {} for name in tables}
    indexes["tie"][None] = 0
    cols: dict[str, list] = {name: [] for name in _EVENT_COLUMNS}
    pieces = []
    for piece in corpus.pieces:
        parts = []
        for part in piece.parts:
            for e in part.events:
                note = e.kind == "note"
                cols["pitch"].append(_table_index(tables["pitch"], indexes["pitch"], e.pitch) if note else -1)
                cols["octave"].append(e.octave if note else 0)
                cols["midi"].append(e.midi if note else 0)
                cols["ql"].append(_table_index(tables["ql"], indexes["ql"], float(e.quarter_length)))
                cols["dtype"].append(_table_index(tables["dtype"], indexes["dtype"], e.duration_type))
                cols["dots"].append(e.dots)
                cols["tie"].append(_table_index(tables["tie"], indexes["tie"], e.tie))
                cols["measure"].append(e.measure)
                cols["beat"].append(_table_index(tables["beat"], indexes["beat"], float(e.beat)))
            parts.append(
                {
                    "name": part.name,
                    "time_signatures": list(part.time_signatures),
                    "flags": list(part.flags),
                    "n": len(part.events),
                }
            )
        pieces.append(
            {
                "id": piece.id,
                "path": piece.path,
                "title": piece.title,
                "key_sharps": piece.key_sharps,
                "mode": piece.mode,
                "key_estimate": piece.key_estimate,
                "time_signatures": list(piece.time_signatures),
                "n_measures": piece.n_measures,
                "pickup_quarters": piece.pickup_quarters,
                "length_quarters": piece.length_quarters,
                "flags": list(piece.flags),
                "parts": parts,
            }
        )
    return {
        "format": CACHE_FORMAT,
        "n_events": len(cols["pitch"]),
        "extractor_version": corpus.extractor_version,
        "music21_version": corpus.music21_version,
        "n_score_files": corpus.n_score_files,
        "failed": list(corpus.failed),
        "tables": tables,
        "events": {name: _pack(values) for name, values in cols.items()},
        "pieces": pieces,
    }


def corpus_from_dict(d: dict) -> Corpus:
    """Inverse of corpus_to_dict; raises CorpusCacheError when the data is inconsistent."""
    try:
        if d.get("format") != CACHE_FORMAT:
            raise CorpusCacheError(f"not a bachlstm corpus cache (format {d.get('format')!r})")
        tables = d["tables"]
        cols = {name: _unpack(d["events"][name]) for name in _EVENT_COLUMNS}
        n = int(d["n_events"])
        if any(len(cols[name]) != n for name in _EVENT_COLUMNS):
            raise CorpusCacheError(f"event columns do not all hold the {n} events the header announces")
        for name in ("pitch", "ql", "dtype", "tie", "beat"):
            lowest = -1 if name == "pitch" else 0  # -1 marks a rest
            if n and (int(cols[name].max()) >= len(tables[name]) or int(cols[name].min()) < lowest):
                raise CorpusCacheError(f"event column {name!r} points outside its table")
        shared = _Columns(cols, tables)
        pieces = []
        start = 0
        for p in d["pieces"]:
            parts = []
            for q in p["parts"]:
                stop = start + int(q["n"])
                parts.append(
                    Part(
                        q["name"],
                        tuple(q["time_signatures"]),
                        flags=tuple(q["flags"]),
                        _source=(shared, start, stop),
                    )
                )
                start = stop
            pieces.append(
                Piece(
                    id=p["id"],
                    path=p["path"],
                    title=p["title"],
                    key_sharps=int(p["key_sharps"]),
                    mode=p["mode"],
                    key_estimate=p["key_estimate"],
                    time_signatures=tuple(p["time_signatures"]),
                    parts=tuple(parts),
                    n_measures=int(p["n_measures"]),
                    pickup_quarters=float(p["pickup_quarters"]),
                    length_quarters=float(p["length_quarters"]),
                    flags=tuple(p["flags"]),
                )
            )
        if start != n:
            raise CorpusCacheError(f"parts claim {start} events but the columns hold {n}")
        return Corpus(
            pieces=tuple(pieces),
            n_score_files=int(d["n_score_files"]),
            music21_version=str(d["music21_version"]),
            extractor_version=int(d["extractor_version"]),
            failed=tuple(d.get("failed", ())),
        )
    except CorpusCacheError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise CorpusCacheError(f"malformed corpus cache: {exc!r}") from exc


def save_corpus(corpus: Corpus, path: str | os.PathLike = DEFAULT_CACHE_PATH) -> Path:
    """Write the cache file atomically (temp file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(corpus_to_dict(corpus), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz,
        ):
            gz.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the shipped file must be readable by all
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def installed_music21_version() -> str:
    """music21's version from the package metadata (importing music21 itself takes ~0.3 s)."""
    try:
        return importlib.metadata.version("music21")
    except importlib.metadata.PackageNotFoundError:
        import music21

        return music21.__version__


def read_cache(path: str | os.PathLike = DEFAULT_CACHE_PATH) -> Corpus:
    """Read a cache file as is; CorpusCacheError when it is missing, corrupt or from another version."""
    path = Path(path)
    if not path.is_file():
        raise CorpusCacheError(f"corpus cache {path} does not exist")
    try:
        with gzip.open(path, "rb") as f:
            d = json.loads(f.read())
    except (OSError, EOFError, ValueError) as exc:  # gzip CRC/truncation errors and bad JSON
        raise CorpusCacheError(f"corpus cache {path} is corrupt: {exc}") from exc
    if not isinstance(d, dict):
        raise CorpusCacheError(f"corpus cache {path} is corrupt: top level is not an object")
    version = installed_music21_version()
    if d.get("extractor_version") != EXTRACTOR_VERSION or d.get("music21_version") != version:
        raise CorpusCacheError(
            f"corpus cache {path} is stale: extractor {d.get('extractor_version')!r} / music21 "
            f"{d.get('music21_version')!r}, expected {EXTRACTOR_VERSION} / {version}"
        )
    return corpus_from_dict(d)


def load_corpus(
    path: str | os.PathLike | None = None, *, rebuild: bool = False, progress: Progress | None = None
) -> Corpus:
    """Our cached corpus (~0.1 s); rebuilt from music21 with a warning when missing, stale or corrupt."""
    path = Path(path) if path is not None else DEFAULT_CACHE_PATH
    if not rebuild:
        try:
            t0 = time.perf_counter()
            corpus = read_cache(path)
            log.info("loaded %d pieces from %s in %.3f s", len(corpus), path, time.perf_counter() - t0)
            return corpus
        except CorpusCacheError as exc:
            log.warning("%s; rebuilding it from music21 (about a minute)", exc)
    corpus = build_corpus(progress=progress)
    try:
        save_corpus(corpus, path)
    except OSError as exc:  # e.g. a read-only install: the corpus is still correct, just not cached
        log.warning("could not write the corpus cache %s: %s", path, exc)
    return corpus
