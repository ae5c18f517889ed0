"""Duration facts in one place: written duration types, dots, quarter lengths and their stable strings."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from bachlstm.music.events import Event

# Quarter lengths of the undotted duration types music21 can write without tuplets, longest first.
BASE_QL = {
    "breve": 8.0,
    "whole": 4.0,
    "half": 2.0,
    "quarter": 1.0,
    "eighth": 0.5,
    "16th": 0.25,
    "32nd": 0.125,
    "64th": 0.0625,
}
DURATION_TYPES = tuple(BASE_QL)  # music21's names of those types
MAX_DOTS = 3


def duration_ql(duration_type: str, dots: int) -> float:
    """Quarter length of a duration type with dots (a dotted quarter is 1.5)."""
    return BASE_QL[duration_type] * (2.0 - 0.5**dots)


def duration_type_of(quarter_length: float) -> tuple[str, int]:
    """(duration type, dots) spelling a quarter length; triplets get their base type; else ("complex", 0)."""
    for dots in range(MAX_DOTS + 1):
        for name in BASE_QL:
            if duration_ql(name, dots) == quarter_length:
                return name, dots
    for name, base in BASE_QL.items():  # a triplet value is 2/3 of its written type
        if math.isclose(quarter_length * 1.5, base, rel_tol=1e-9):
            return name, 0
    return "complex", 0


def representable_duration(event: Event) -> bool:
    """True if the event's duration type and dots spell its quarter length exactly (no tuplet, no grace)."""
    return (
        event.duration_type in BASE_QL
        and 0 <= event.dots <= MAX_DOTS
        and duration_ql(event.duration_type, event.dots) == event.quarter_length
    )


@functools.lru_cache(maxsize=4096)  # a corpus has a few dozen distinct values; encoding calls this per event
def format_ql(quarter_length: float) -> str:
    """Stable string of a quarter length: "1", "1.5", "0.25"; non-binary values as a fraction ("1/3")."""
    frac = Fraction(quarter_length).limit_denominator(960)
    if frac.denominator & (frac.denominator - 1) == 0:  # a power of two: an exact short decimal
        return f"{float(frac):g}"
    return f"{frac.numerator}/{frac.denominator}"


def parse_ql(text: str) -> float:
    """Inverse of format_ql."""
    return float(Fraction(text))


def duration_parts(quarter_length: float) -> list[tuple[str, int, float]]:
    """(type, dots, quarter_length) pieces that spell a quarter length without tuplets (one when possible).

    music21 splits a value no single type spells (1.25 = quarter + sixteenth) into tied components.
    """
    # Imported here for start-up cost only: music21 takes about a second to import.
    from music21 import duration

    d = duration.Duration(quarter_length)
    if d.type in DURATION_TYPES:
        return [(d.type, d.dots, float(quarter_length))]
    return [(c.type, c.dots, float(c.quarterLength)) for c in d.components]
