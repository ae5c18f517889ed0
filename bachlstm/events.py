"""The note/rest event: the one musical record every other module (tokens, metrics, export) shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
