"""A student's display name (the one rule for it) and the run names made from it.

Students give a name, no password (a classroom): the name is who they are on the server, so it must
be short, readable and safe in an address (`?student=NAME`). Problems are `StudentNameError` with a
code and values, which the page words in the student's language.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 30  # long enough for "Anna-Lena Müller-Lüdenscheidt", short enough for a table column
PUNCTUATION = " -_.'"  # besides letters and digits (any alphabet): spaces, hyphens, apostrophes, dots
RUN_STEM_LENGTH = 20  # of a run name's 48 characters: the student's part; the preset and number follow

# Problem codes.
EMPTY, TOO_LONG, BAD_CHARACTERS = "empty", "too_long", "bad_characters"

# German letters spelled in ASCII as Germans do (ä -> ae), the rest by dropping their accents (é -> e).
_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


class StudentNameError(ValueError):
    """A display name that cannot be used: `code` (EMPTY, TOO_LONG, BAD_CHARACTERS) and `values`."""

    def __init__(self, code: str, **values) -> None:
        self.code, self.values = code, values
        super().__init__(f"student name {code}: {values}")


def validate_student_name(name: str) -> str:
    """The name as kept (outer spaces dropped, inner runs made one); StudentNameError if unusable."""
    name = " ".join(str(name or "").split())
    name = unicodedata.normalize("NFC", name)
    if not any(c.isalnum() for c in name):
        raise StudentNameError(EMPTY)
    if len(name) > MAX_LENGTH:
        raise StudentNameError(TOO_LONG, max=MAX_LENGTH, length=len(name))
    bad = sorted({c for c in name if not (c.isalnum() or c in PUNCTUATION)})
    if bad:
        raise StudentNameError(BAD_CHARACTERS, chars="".join(bad))
    return name


def run_stem(student: str) -> str:
    """The student's part of their run names: ASCII letters, digits and '-' ('Jürgen O.' -> 'juergen-o')."""
    spelled = unicodedata.normalize("NFKD", student.translate(_SPELLED))
    ascii_only = spelled.encode("ascii", "ignore").decode().lower()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:RUN_STEM_LENGTH].strip("-")
    return stem or "student"  # a name in another alphabet: the records keep who owns the run


def default_run_name(student: str, preset: str) -> str:
    """The first run name offered to a student: 'anna-workshop-1' (the records move it on when taken)."""
    return f"{run_stem(student)}-{preset}-1"


def next_run_name(name: str, taken=()) -> str:
    """The next run name: 'my-run-1' -> 'my-run-2' (or 'x' -> 'x-2'), skipping names in `taken`."""
    m = re.match(r"^(.*?)-?(\d+)$", name)
    base, n = (m.group(1), int(m.group(2)) + 1) if m and m.group(1) else (name, 2)
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
