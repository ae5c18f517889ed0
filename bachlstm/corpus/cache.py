"""The Bach corpus cache: our versioned file of the extracted pieces, and `load_corpus`, which reads it
(about 0.1 s) or rebuilds it from music21 (`bachlstm.corpus.extraction`) when it is missing or stale."""

from __future__ import annotations

import base64
import binascii
import gzip
import importlib.metadata
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bachlstm.corpus.extraction import EXTRACTOR_VERSION, Progress, build_corpus
from bachlstm.music.events import Corpus, Event, Part, Piece
from bachlstm.settings.problems import CodedError

log = logging.getLogger(__name__)

CACHE_FORMAT = "bachlstm-corpus/2"  # the file layout; extraction.EXTRACTOR_VERSION is its content
DEFAULT_CACHE_PATH = Path(__file__).parent / "data" / "bach_corpus.json.gz"


# CorpusCacheError codes (a page words them).
DAMAGED, MISSING, STALE = "damaged", "missing", "stale"


class CorpusCacheError(CodedError):
    """Our cache file cannot be used (missing, corrupt or made by another extractor/music21 version)."""

    kind = "corpus_cache"
    DEFAULT = DAMAGED


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
    # Long but flat: one block per column of the file format, kept together so the format reads in one place.
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
    # Long but flat: the mirror of corpus_to_dict, column by column, every read checked in one try block.
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
        raise CorpusCacheError(f"corpus cache {path} does not exist", MISSING)
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
            f"{d.get('music21_version')!r}, expected {EXTRACTOR_VERSION} / {version}",
            STALE,
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
