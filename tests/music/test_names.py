"""Note and key names in the reader's convention (music/names.py), on fixed cases and on the whole corpus."""

import re

import pytest

from bachlstm.music.names import LANGUAGES, duration_name, key_label, pitch_class_label, pitch_name
from bachlstm.music.pitches import midi_of
from bachlstm.music.tonality import Key

# The 30 keys of the key signatures -7..7, as a German and an English music teacher write them.
KEYS = {
    (-7, "major"): ("Ces-Dur", "C♭ major"), (-7, "minor"): ("as-Moll", "A♭ minor"),
    (-6, "major"): ("Ges-Dur", "G♭ major"), (-6, "minor"): ("es-Moll", "E♭ minor"),
    (-5, "major"): ("Des-Dur", "D♭ major"), (-5, "minor"): ("b-Moll", "B♭ minor"),
    (-4, "major"): ("As-Dur", "A♭ major"), (-4, "minor"): ("f-Moll", "F minor"),
    (-3, "major"): ("Es-Dur", "E♭ major"), (-3, "minor"): ("c-Moll", "C minor"),
    (-2, "major"): ("B-Dur", "B♭ major"), (-2, "minor"): ("g-Moll", "G minor"),
    (-1, "major"): ("F-Dur", "F major"), (-1, "minor"): ("d-Moll", "D minor"),
    (0, "major"): ("C-Dur", "C major"), (0, "minor"): ("a-Moll", "A minor"),
    (1, "major"): ("G-Dur", "G major"), (1, "minor"): ("e-Moll", "E minor"),
    (2, "major"): ("D-Dur", "D major"), (2, "minor"): ("h-Moll", "B minor"),
    (3, "major"): ("A-Dur", "A major"), (3, "minor"): ("fis-Moll", "F♯ minor"),
    (4, "major"): ("E-Dur", "E major"), (4, "minor"): ("cis-Moll", "C♯ minor"),
    (5, "major"): ("H-Dur", "B major"), (5, "minor"): ("gis-Moll", "G♯ minor"),
    (6, "major"): ("Fis-Dur", "F♯ major"), (6, "minor"): ("dis-Moll", "D♯ minor"),
    (7, "major"): ("Cis-Dur", "C♯ major"), (7, "minor"): ("ais-Moll", "A♯ minor"),
}  # fmt: skip


@pytest.mark.parametrize("key", list(KEYS), ids=lambda k: f"{k[0]}{k[1][:3]}")
def test_every_key_signature_in_both_languages(key):
    de, en = KEYS[key]
    assert key_label(key, "de") == de and key_label(key, "en") == en


@pytest.mark.parametrize(
    ("pitch", "de", "en", "en_ascii"),
    [
        ("B-4", "B4", "B♭4", "Bb4"),
        ("B3", "H3", "B3", "B3"),
        ("C#5", "Cis5", "C♯5", "C#5"),
        ("E-", "Es", "E♭", "Eb"),
        ("A-2", "As2", "A♭2", "Ab2"),
        ("F##4", "Fisis4", "F♯♯4", "F##4"),
        ("B--", "Heses", "B♭♭", "Bbb"),
        ("B#3", "His3", "B♯3", "B#3"),
        ("C-5", "Ces5", "C♭5", "Cb5"),
        ("E#", "Eis", "E♯", "E#"),
        ("D-", "Des", "D♭", "Db"),
        ("G", "G", "G", "G"),
    ],
    ids=lambda v: v,
)
def test_pitch_names(pitch, de, en, en_ascii):
    assert pitch_name(pitch, "de") == de
    assert pitch_name(pitch, "en") == en
    assert pitch_name(pitch, "en", ascii=True) == en_ascii


def test_midi_numbers_pitch_classes_and_keys_as_objects():
    assert pitch_name(70, "de") == "B4" and pitch_name(70, "en") == "B♭4"
    assert pitch_name(70, "de", key_sharps=4) == "Ais4"  # spelled for E major first
    assert [pitch_class_label(pc, "de") for pc in (10, 11, 3, 6)] == ["B", "H", "Es", "Fis"]
    assert pitch_class_label(8, "en", key_sharps=-3) == "A♭"
    assert key_label(Key(3, "major"), "de") == "Es-Dur"  # a tonality.Key, spelled by key_for_tonic
    assert key_label(Key(6, "minor"), "en") == "F♯ minor"
    assert key_label("E- major", "en", ascii=True) == "Eb major"


@pytest.mark.parametrize("bad", ["H4", "B-x", "", "Es", "C4.5", "c#4"])
def test_a_name_that_is_not_a_pitch_is_refused(bad):
    with pytest.raises(ValueError, match="not a pitch"):
        pitch_name(bad, "de")


def test_bad_keys_and_languages_are_refused():
    for bad in ("E- dorian", "H major", ("x", "major"), 3):
        with pytest.raises((ValueError, TypeError)):
            key_label(bad, "en")
    with pytest.raises(ValueError, match="lang"):
        pitch_name("C4", "fr")


# An independent reading of the names back into MIDI numbers: German and English alike.
_GERMAN = re.compile(r"^(Heses|Eses|Asas|Es|As|[A-H])((?:is)*|(?:es)*)(-?\d+)$")
_GERMAN_BASE = {"Heses": ("B", -2), "Eses": ("E", -2), "Asas": ("A", -2), "Es": ("E", -1), "As": ("A", -1),
                "B": ("B", -1), "H": ("B", 0)}  # fmt: skip


def _read_german(name: str) -> int:
    head, suffix, octave = _GERMAN.match(name).groups()
    letter, shift = _GERMAN_BASE.get(head, (head, 0))
    shift += suffix.count("is") - suffix.count("es")
    return midi_of(letter, int(octave)) + shift


def _read_english(name: str) -> int:
    letter, signs, octave = re.match(r"^([A-G])([♯♭]*)(-?\d+)$", name).groups()
    return midi_of(letter, int(octave)) + signs.count("♯") - signs.count("♭")


def test_every_pitch_and_key_of_the_corpus():
    from bachlstm.corpus.cache import load_corpus

    corpus = load_corpus()
    notes = {(e.pitch, e.octave, e.midi) for p in corpus.pieces for part in p.parts for e in part.events
             if not e.is_rest}  # fmt: skip
    assert len(notes) > 80  # the corpus spells 22 pitch names over 5 octaves
    for pitch, octave, midi in notes:
        de, en = pitch_name(f"{pitch}{octave}", "de"), pitch_name(f"{pitch}{octave}", "en")
        assert _read_german(de) == midi and _read_english(en) == midi, (pitch, octave)
        assert "-" not in de + en and "#" not in en
    keys = {(p.key_sharps, p.mode) for p in corpus.pieces}
    assert len(keys) >= 16
    for key in keys:
        assert (key_label(key, "de"), key_label(key, "en")) == KEYS[key]
    assert set(LANGUAGES) == {"de", "en"}


@pytest.mark.parametrize(
    ("ql", "de", "en"),
    [
        (0.125, "Zweiunddreißigstel", "32nd"),
        (0.25, "Sechzehntel", "16th"),
        (0.5, "Achtel", "eighth"),
        (0.75, "punktierte Achtel", "dotted eighth"),
        (1.0, "Viertel", "quarter"),
        (1.75, "doppelt punktierte Viertel", "double-dotted quarter"),
        (2.0, "Halbe", "half"),
        (3.0, "punktierte Halbe", "dotted half"),
        (4.0, "Ganze", "whole"),
        (1 / 3, "Achtel", "eighth"),  # a triplet eighth by its written type
        (1.25, "1,25", "1.25"),  # no single written value: quarters
    ],
    ids=str,
)
def test_duration_names(ql, de, en):
    assert (duration_name(ql, "de"), duration_name(ql, "en")) == (de, en)
