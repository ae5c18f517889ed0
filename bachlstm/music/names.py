"""Note and key names in the reader's convention: German (B = B-flat, H = B, Es-Dur, fis-Moll, Cis5) or
English with real accidentals (B♭, F♯ minor, C♯5).

The one place a page turns the project's music21-style spelling ("B-4", "F#", "E- major", a MIDI number,
a pitch class or a `tonality.Key`) into the name a reader expects. `LANGUAGES` lists the conventions;
`ascii=True` gives a name fit for a file name (English "Bb" / "F#", German names are plain letters).
"""

from __future__ import annotations

import re

from bachlstm.music.durations import duration_type_of, format_ql
from bachlstm.music.pitches import MODES, PITCH_NAME_PATTERN, alteration, key_for_tonic, key_name, midi_name
from bachlstm.music.pitches import pitch_class_name as spelled_class

LANGUAGES = ("en", "de")
_NOTE = re.compile(rf"^({PITCH_NAME_PATTERN})(-?\d+)?$")
_KEY = re.compile(rf"^({PITCH_NAME_PATTERN}) (major|minor)$")
# German flats: "es" after a consonant, "s" after a vowel (Es, As); B-flat is plain B, B-double-flat "Heses".
_GERMAN_SPECIAL = {"B": "H", "B-": "B", "B--": "Heses", "E-": "Es", "E--": "Eses", "A-": "As", "A--": "Asas"}
_GERMAN_MODES = {"major": "Dur", "minor": "Moll"}
_SIGNS = {"en": ("♯", "♭"), "ascii": ("#", "b")}
# Written duration types (durations.BASE_QL) as words; German note values are feminine (die Achtel[note]).
_DURATION_WORDS = {
    "en": {"breve": "breve", "whole": "whole", "half": "half", "quarter": "quarter", "eighth": "eighth",
           "16th": "16th", "32nd": "32nd", "64th": "64th"},
    "de": {"breve": "Brevis", "whole": "Ganze", "half": "Halbe", "quarter": "Viertel", "eighth": "Achtel",
           "16th": "Sechzehntel", "32nd": "Zweiunddreißigstel", "64th": "Vierundsechzigstel"},
}  # fmt: skip
_DOTS = {
    "en": ("", "dotted ", "double-dotted ", "triple-dotted "),
    "de": ("", "punktierte ", "doppelt punktierte ", "dreifach punktierte "),
}


def _check(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")


def pitch_name(pitch: str | int, lang: str, *, key_sharps: int = 0, ascii: bool = False) -> str:
    """A note or pitch class named for `lang`: "B3" -> "B3" / "H3", "F#" -> "F♯" / "Fis".

    `pitch` is a music21-style name with or without octave ("C#5", "E-", "F##4") or a MIDI number (int),
    which is spelled for `key_sharps` first (`pitches.midi_name`). The octave stays scientific (C4 is
    middle C) in both languages. English accidentals are ♯ and ♭ (doubled for double sharps and
    flats), "#" and "b" when `ascii`. Raises ValueError for a name that is not a pitch.
    """
    _check(lang)
    if isinstance(pitch, int):
        pitch = midi_name(pitch, key_sharps)
    match = _NOTE.match(pitch)
    if match is None:
        raise ValueError(f"not a pitch name: {pitch!r}")
    name, octave = match.group(1), match.group(2) or ""
    if lang == "de":
        return _german(name) + octave
    sharp, flat = _SIGNS["ascii" if ascii else "en"]
    shift = alteration(name)
    return name[0] + (sharp * shift if shift > 0 else flat * -shift) + octave


def _german(name: str) -> str:
    if name in _GERMAN_SPECIAL:
        return _GERMAN_SPECIAL[name]
    letter = "H" if name[0] == "B" else name[0]
    shift = alteration(name)
    return letter + ("is" * shift if shift > 0 else "es" * -shift)


def pitch_class_label(pitch_class: int, lang: str, *, key_sharps: int = 0, ascii: bool = False) -> str:
    """A pitch class (0 = C .. 11 = B) named for `lang`, spelled as the key with `key_sharps` spells it
    (`pitches.pitch_class_name`): 10 -> "B♭" / "B", 11 -> "B" / "H"."""
    return pitch_name(spelled_class(pitch_class % 12, key_sharps), lang, ascii=ascii)


def key_label(key, lang: str, *, ascii: bool = False) -> str:
    """A key named for `lang`: "E- major" -> "E♭ major" / "Es-Dur", "F# minor" -> "F♯ minor" / "fis-Moll".

    `key` is a music21-style name ("B- minor"), a (key_sharps, mode) pair as pieces store it, or anything
    with `tonic` and `mode` (a `tonality.Key`, spelled by `pitches.key_for_tonic`). German minor keys
    are written in small letters (b-Moll, h-Moll), as German books do.
    """
    _check(lang)
    if hasattr(key, "tonic") and hasattr(key, "mode"):
        key = key_name(key_for_tonic(key.tonic, key.mode), key.mode)
    elif isinstance(key, tuple):
        key = key_name(*key)
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None or match.group(2) not in MODES:
        raise ValueError(f"not a key: {key!r}")
    tonic, mode = match.group(1), match.group(2)
    if lang == "de":
        name = _german(tonic)
        return f"{name if mode == 'major' else name.lower()}-{_GERMAN_MODES[mode]}"
    return f"{pitch_name(tonic, lang, ascii=ascii)} {mode}"


def duration_name(quarter_length: float, lang: str) -> str:
    """A note value in words for `lang`: 1.5 -> "dotted quarter" / "punktierte Viertel", 0.125 -> "32nd" /
    "Zweiunddreißigstel"; a triplet value by its written type, any other as quarters ("5/3", "1,25")."""
    _check(lang)
    duration_type, dots = duration_type_of(quarter_length)
    if duration_type not in _DURATION_WORDS[lang]:
        text = format_ql(quarter_length)
        return text.replace(".", ",") if lang == "de" else text
    return _DOTS[lang][dots] + _DURATION_WORDS[lang][duration_type]
