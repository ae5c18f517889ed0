"""The library's problems (codes with values) and other codes (voices, modes) in the reader's language.

A page shows a library problem with `describe(exc)` (any error: RecordsError, StudentNameError,
SettingsError, ...) or `problem_sentence(problem)` (one setting's "must be ..." part). A new problem code in
the library gets its sentence here, marked with `N_` so it reaches the catalog; a code without one falls back
to the library's English text (and tests/test_i18n.py's German page check finds it).
"""

from __future__ import annotations

from collections.abc import Mapping

from app_pages.i18n import N_, number, translator
from bachlstm.classroom import records, students
from bachlstm.settings import problems

_ = translator(__name__)

# (kind of problem, code) -> sentence with the code's values as {placeholders}.
SENTENCES: Mapping[tuple[str, str], str] = {
    ("setting", problems.WHOLE_NUMBER): N_("must be a whole number from {lo} to {hi}, got {got}"),
    ("setting", problems.WHOLE_NUMBER + "_from"): N_("must be a whole number of at least {lo}, got {got}"),
    ("records", records.LOCKED): N_(
        "The class's records ({path}) are busy: another program holds them. Try again in a minute."
    ),
    ("records", records.DAMAGED): N_(
        "The class's records ({path}) are damaged, so names and owners cannot be saved now. The teacher "
        "page can set the file aside (it is kept) and start a fresh one."
    ),
    ("records", records.NEWER_SCHEMA): N_(
        "The class's records ({path}) were written by a newer bachlstm: update this server."
    ),
    ("records", records.UNAVAILABLE): N_("The class's records ({path}) cannot be opened: {reason}"),
    ("student", students.EMPTY): N_("Please type your name: at least one letter or digit."),
    ("student", students.TOO_LONG): N_("A name can have at most {max} characters; this one has {length}."),
    ("student", students.BAD_CHARACTERS): N_(
        "A name can have letters, digits, spaces, hyphens, apostrophes and dots, but not {chars}"
    ),
}


# The library's other codes a page shows: the selection's voices (selection.VOICES), the modes.
VOICE_WORDS = {
    "first": N_("first part"),
    "soprano": N_("soprano"),
    "alto": N_("alto"),
    "tenor": N_("tenor"),
    "bass": N_("bass"),
    "all": N_("all parts"),
}
MODE_WORDS = {"major": N_("major"), "minor": N_("minor")}


def voice_words(voice: str) -> str:
    """A voice ('soprano', 'first', 'all', or a part's own name) in the page's language."""
    return _(VOICE_WORDS[voice]) if voice in VOICE_WORDS else voice


def mode_words(mode: str) -> str:
    """'major' / 'minor' in the page's language (Dur / Moll)."""
    return _(MODE_WORDS[mode]) if mode in MODE_WORDS else mode


def shown(value: object) -> str:
    """A problem's value as a reader sees it: whole numbers grouped in the page's language, text as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, float):
        return (
            f"{value:g}"
            if abs(value) < 1e-3 or abs(value) >= 1e6
            else number(value, 3).rstrip("0").rstrip(".,")
        )
    return str(value)


def sentence(kind: str, code: str, values: Mapping[str, object], english: str | None = None) -> str:
    """The sentence for (kind, code) with its values filled in; `english` (or the code) where none exists."""
    template = SENTENCES.get((kind, code))
    if template is None:
        return english if english is not None else f"{kind} {code}: {dict(values)}"
    return _(template).format(**{k: shown(v) for k, v in values.items()})


def problem_sentence(problem: problems.Problem) -> str:
    """One bad setting's "must be ..." part in the page's language (the label goes before it)."""
    values = dict(problem.values)
    code = problem.code
    if code == problems.WHOLE_NUMBER and values.get("hi") is None:
        code = problems.WHOLE_NUMBER + "_from"
    if "got" in values:
        values["got"] = repr(values["got"])  # the value as the student typed it, in any language
    return sentence("setting", code, values, english=problem.text)


def describe(exc: BaseException) -> str:
    """Any error the library raises, as one sentence (or lines) in the page's language."""
    if isinstance(exc, records.RecordsError):
        return sentence("records", exc.code, {"reason": "", **exc.values}, english=str(exc))
    if isinstance(exc, students.StudentNameError):
        values = dict(exc.values)
        if "chars" in values:
            values["chars"] = " ".join(values["chars"])  # each refused character apart: "! ?"
        return sentence("student", exc.code, values, english=str(exc))
    found = problems.problems_of(exc)
    if found:
        return "; ".join(f"{p.field} {problem_sentence(p)}" for p in found)
    return str(exc)
