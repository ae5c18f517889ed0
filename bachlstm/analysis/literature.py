"""Published pitch-prediction figures for Bach chorale melodies, with the conditions they were measured
under, to set beside `pitch_bits_given_duration` (torch-free: the Home page lists them).

Read from Pearce (2005), The construction and evaluation of statistical models of melodic structure in
music perception and composition, PhD thesis, City University London (Tables 9.1 and 9.8), which also
restates Conklin & Witten (1995), Multiple viewpoint systems for music prediction, Journal of New Music
Research 24(1). Every figure is -log2 p(pitch | the note's duration, the melody so far), averaged over
notes: the rhythm is known, the pitch predicted.
"""

from __future__ import annotations

from dataclasses import dataclass

PEARCE = "185 chorales (BWV 253-438), 10-fold cross-validation, pitch given the note's duration"
CONKLIN_WITTEN = "a 5-chorale test set, pitch given the note's duration"


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure: who, which model, bits per note (pitch given duration), the conditions, and
    the table of the source it is read from ("9.1"; "" for none: pages word "Table" in their language)."""

    source: str
    model: str
    bits: float
    conditions: str
    table: str = ""


PUBLISHED = (
    PublishedFigure("Conklin & Witten 1995", "pitch viewpoint alone", 2.05, CONKLIN_WITTEN),
    PublishedFigure("Conklin & Witten 1995", "best multiple-viewpoint system", 1.87, CONKLIN_WITTEN),
    PublishedFigure("Pearce 2005", "a Conklin & Witten-style system", 2.676, PEARCE, "9.1"),
    PublishedFigure("Pearce 2005", "pitch alone", 2.337, PEARCE, "9.1"),
    PublishedFigure("Pearce 2005", "multiple viewpoints", 1.953, PEARCE, "9.8"),
    PublishedFigure("Pearce 2005", "best multiple viewpoints", 1.911, PEARCE, "9.8"),
)
BEST_PUBLISHED_CV = 1.911  # Pearce's best, on the larger cross-validated set: the figure to beat
