"""The musical records every module shares: the note/rest Event, a voice's Melody, and the corpus's
Part, Piece and Corpus (extracted by `corpus.extraction`, cached and loaded by `corpus.cache`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

BWV_RE = re.compile(r"^bwv(?P<num>\d+)(?P<rest>.*)$", re.IGNORECASE)  # a piece id: bwv + catalogue number


@dataclass(frozen=True)
class Event:
    """One note or rest of a single voice, as read from the score.

    `pitch` is music21's spelled name without octave ("C", "F#", "B-"), `octave` the scientific octave
    (middle C = C4 = MIDI 60). Rests have pitch, octave and midi set to None. `quarter_length` is a
    float (tuplet values such as 1/3 are kept as floats and flagged by the corpus, not here).
    `tie` is music21's tie type ("start", "continue", "stop") or None. `measure` is the measure
    number (0 for a pickup bar) and `beat` music21's 1-based beat within it.
    """

    kind: str  # "note" | "rest"
    quarter_length: float
    duration_type: str = "quarter"  # a durations.DURATION_TYPES name, or "complex"/"zero" for odd values
    dots: int = 0
    pitch: str | None = None
    octave: int | None = None
    midi: int | None = None
    tie: str | None = None
    measure: int = 0
    beat: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("note", "rest"):
            raise ValueError(f"Event.kind must be 'note' or 'rest', got {self.kind!r}")
        if self.kind == "note" and (self.pitch is None or self.octave is None or self.midi is None):
            raise ValueError(f"a note needs pitch, octave and midi, got {self}")
        if self.quarter_length < 0:
            raise ValueError(f"Event.quarter_length must be >= 0, got {self.quarter_length}")

    @property
    def is_rest(self) -> bool:
        """True for a rest."""
        return self.kind == "rest"

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Event:
        """Inverse of to_dict."""
        return cls(**d)


@dataclass(frozen=True)
class Melody:
    """One voice of one piece as a list of events: the unit the tokenizers, dataset and metrics use.

    `tune` identifies the hymn tune (chorales sharing a melody share it) so splits can keep it together.
    """

    piece_id: str
    voice: str
    events: tuple[Event, ...]
    tune: str = ""
    key_sharps: int = 0  # key signature, sharps > 0, flats < 0
    mode: str = "major"
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __len__(self) -> int:
        return len(self.events)


# ---------------------------------------------------------------- the corpus


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
        _source: tuple[Any, int, int] | None = None,  # (the cache's event columns, start, stop)
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
        m = BWV_RE.match(self.id)
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
