"""Pitch facts in one place: spelled names, MIDI numbers, key signatures and names, transposition.

Spelling convention (music21's, used by every Event, token and table): "#" is a sharp, "-" a flat
("B-4" is the B-flat above middle C), and C4 is MIDI 60. A pitch known only as a number (a MIDI
note, a pitch class) is spelled for a key signature by `pitch_class_name`; without a key that is
music21's own spelling of a MIDI number, C C# D E- E F F# G G# A B- B (`PITCH_CLASS_NAMES`), the
names the dashboard shows. Keys are named by their signature (`key_name`), a tonic without one by
the signature with fewer sharps or flats (`key_for_tonic`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

import numpy as np

from bachlstm.music.events import Event, Melody

LETTER_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
PITCH_NAME_PATTERN = r"[A-G](?:#{1,3}|-{1,3})?"  # a spelled name without octave, up to triple accidentals
FIFTHS_LETTERS = "FCGDAEB"  # the line of fifths: F = -1, C = 0, G = 1, ... B = 5; a sharp adds 7
MODES = ("major", "minor")

# MIDI ranges (lowest, highest) a transposed voice must stay within. Measured: the extremes of each
# voice over the 4/4 pieces of the music21 Bach corpus (see tests/music/test_pitches.py), so an original
# melody is always inside and a transposition may go no further than Bach ever wrote for that voice.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "soprano": (60, 81),  # C4 .. A5 (one A3 in bwv254 excepted; an original is never rejected)
    "alto": (53, 74),  # F3 .. D5
    "tenor": (48, 69),  # C3 .. A4
    "bass": (36, 64),  # C2 .. E4
}
# A voice we cannot name (e.g. the first part of an instrumental movement) gets the union.
DEFAULT_RANGE = (min(lo for lo, _ in VOICE_RANGES.values()), max(hi for _, hi in VOICE_RANGES.values()))


# ---------------------------------------------------------------- names and numbers


def alteration(pitch: str) -> int:
    """Semitones a spelled name's accidentals add: "C#" 1, "B--" -2, "E" 0."""
    return pitch.count("#") - pitch.count("-")


def midi_of(pitch: str, octave: int) -> int:
    """MIDI number of a spelled pitch name ("C#", "B-") in a scientific octave (C4 = 60)."""
    return 12 * (octave + 1) + LETTER_SEMITONES[pitch[0]] + alteration(pitch)


def fifths_of(pitch: str) -> int:
    """Position of a spelled name on the line of fifths: C 0, G 1, F -1, F# 6, B- -2."""
    return FIFTHS_LETTERS.index(pitch[0]) - 1 + 7 * alteration(pitch)


def name_of_fifths(fifths: int) -> str:
    """The spelled name at a line-of-fifths position (inverse of `fifths_of`): 6 -> "F#", -2 -> "B-"."""
    acc = (fifths + 1) // 7
    return FIFTHS_LETTERS[(fifths + 1) % 7] + ("#" * acc if acc > 0 else "-" * -acc)


def pitch_class_name(pitch_class: int, key_sharps: int = 0) -> str:
    """The name of a pitch class (0 = C .. 11 = B) as a key with `key_sharps` spells it.

    The twelve line-of-fifths positions k-3 .. k+8 around a key with k sharps hold each pitch class
    once: the key's seven notes, two more flats and three more sharps (the raised notes a chorale
    uses, such as the leading tone of the relative minor). k = 0 gives C C# D E- E F F# G G# A B- B,
    music21's spelling of a bare MIDI number; k = -3 (E-flat major) gives A- and D-, k = 4 gives D#.
    """
    position = (7 * pitch_class) % 12  # the position in 0..11; move it into the key's window
    low = key_sharps - 3
    position += 12 * -((position - low) // 12)
    return name_of_fifths(position)


PITCH_CLASS_NAMES = tuple(pitch_class_name(pc) for pc in range(12))


def spelled_pitch(midi: int, key_sharps: int = 0) -> tuple[str, int]:
    """(name, scientific octave) of a MIDI number spelled by `pitch_class_name`: (70, 0) -> ("B-", 4).

    The octave is the letter's: B#3 and C-5 keep theirs, so midi_of(*spelled_pitch(m, k)) == m.
    """
    name = pitch_class_name(midi % 12, key_sharps)
    return name, (midi - midi_of(name, 0)) // 12


def midi_name(midi: int, key_sharps: int = 0) -> str:
    """A MIDI number as a name with octave, spelled by `pitch_class_name` (60 -> "C4", 70 -> "B-4")."""
    name, octave = spelled_pitch(midi, key_sharps)
    return f"{name}{octave}"


# ---------------------------------------------------------------- keys


def key_name(key_sharps: int, mode: str) -> str:
    """The key a signature names in a mode: (-1, "major") -> "F major", (2, "minor") -> "B minor"."""
    if not -7 <= key_sharps <= 7:
        raise ValueError(f"key_sharps must be in -7..7, got {key_sharps}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    tonic = key_sharps if mode == "major" else key_sharps + 3  # a minor tonic is 3 fifths up
    return f"{name_of_fifths(tonic)} {mode}"


def key_for_tonic(pitch_class: int, mode: str) -> int:
    """The key signature (-6..6) of a major or minor key on a pitch class, spelled with fewer accidentals.

    Of the two signatures 12 fifths apart the one with fewer sharps/flats wins (A-flat major, not
    G-sharp major; G-sharp minor, not A-flat minor); the tie at six goes to the flat side
    (G-flat major, E-flat minor), as `transpose_interval` does.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    sharps = (7 * pitch_class - (0 if mode == "major" else 3)) % 12
    return min((sharps, sharps - 12), key=lambda k: (abs(k), k))


# music21's default key profiles (Aarden-Essen, what `stream.analyze("key")` uses), for C major / C minor.
KEY_PROFILES = {
    "major": (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
              8.15494, 0.232998, 4.95122),
    "minor": (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
              1.93186, 7.37619, 1.75623),
}  # fmt: skip
# The 24 rotated profiles (major tonics C..B, then minor), centred and of unit length once: Pearson's r
# with a histogram is then one matrix product (24 np.corrcoef calls took 0.9 ms a melody).
_PROFILE_KEYS = [(tonic, mode) for mode in KEY_PROFILES for tonic in range(12)]
_UNIT_PROFILES = np.array([np.roll(KEY_PROFILES[mode], tonic) for tonic, mode in _PROFILE_KEYS])
_UNIT_PROFILES -= _UNIT_PROFILES.mean(axis=1, keepdims=True)
_UNIT_PROFILES /= np.linalg.norm(_UNIT_PROFILES, axis=1, keepdims=True)


def estimate_key_sharps(events: Sequence[Event]) -> int:
    """Key signature (sharps > 0, flats < 0) of the sounding pitches: music21's key analysis, without it.

    Krumhansl-Schmuckler: the duration-weighted pitch-class histogram is correlated (Pearson) with
    each of the 24 rotated Aarden-Essen profiles; the best key's signature by `key_for_tonic` (which
    differs from music21 only for C-sharp/D-flat and F-sharp/G-flat major, where it takes fewer
    accidentals). 0 when there is no note or every pitch class weighs the same.
    """
    weights = np.zeros(12)
    for e in events:
        if not e.is_rest and e.quarter_length > 0:
            weights[e.midi % 12] += e.quarter_length
    if np.ptp(weights) == 0:
        return 0
    centred = weights - weights.mean()
    correlations = _UNIT_PROFILES @ (centred / np.linalg.norm(centred))  # Pearson r with each key
    best, sharps = -2.0, 0
    for (tonic, mode), r in zip(_PROFILE_KEYS, correlations.tolist()):
        if r > best + 1e-12:  # an exact tie keeps the earlier key
            best, sharps = r, key_for_tonic(tonic, mode)
    return sharps


def spelled_key_sharps(events: Sequence[Event]) -> int:
    """The key signature (-7..7) that leaves the fewest of the notes' spelled names off its scale.

    Read from the spelling, not from sounding pitch (an analysis may call D-flat major C-sharp), so a
    transposition re-spells the melody consistently. Ties go to fewer sharps/flats; 0 if no note.
    """
    positions = [fifths_of(e.pitch) for e in events if not e.is_rest and e.pitch]
    if not positions:
        return 0
    # A key with k sharps holds the line-of-fifths positions k-1 .. k+5.
    return min(range(-7, 8), key=lambda k: (sum(not k - 1 <= x <= k + 5 for x in positions), abs(k)))


# ---------------------------------------------------------------- transposition


def _respell(fifths: int) -> int:
    # 12 fifths = 7 octaves: the same pitch class; avoids triple sharps/flats in remote keys.
    while fifths > 19:  # beyond B## (19)
        fifths -= 12
    while fifths < -15:  # beyond F-- (-15)
        fifths += 12
    return fifths


def voice_range(voice: str, ranges: dict[str, tuple[int, int]] | None = None) -> tuple[int, int]:
    """(lowest, highest) MIDI of a voice name ("Soprano", "bass", ...); DEFAULT_RANGE if unknown."""
    table = VOICE_RANGES if ranges is None else ranges
    key = voice.lower()
    if key in table:
        return table[key]
    for name, rng in table.items():
        if key.startswith(name):
            return rng
    return DEFAULT_RANGE


def voice_ranges(melodies: Iterable[Melody]) -> dict[str, tuple[int, int]]:
    """(lowest, highest) MIDI per voice name over `melodies`; voices without notes are left out."""
    out: dict[str, tuple[int, int]] = {}
    for m in melodies:
        notes = [e.midi for e in m.events if not e.is_rest]
        if notes:
            lo, hi = out.get(m.voice, (min(notes), max(notes)))
            out[m.voice] = (min(lo, *notes), max(hi, *notes))
    return out


def transpose_interval(key_sharps: int, semitones: int, pitches: Sequence[str] = ()) -> int:
    """The spelled interval, in fifths, for a shift of `semitones` from a key with `key_sharps`.

    Moving k fifths moves 7k semitones (mod 12), so k = 7 * semitones (mod 12); of the two
    candidates the one giving the key signature with fewer sharps/flats wins (C + 1 -> D-flat major,
    not C-sharp), ties (a tritone) going to fewer accidentals on `pitches`, then to the flat side.
    """
    base = (7 * semitones) % 12
    candidates = [base - 12, base] if base else [0]

    def cost(k: int) -> tuple[int, int]:
        accidentals = sum(abs((_respell(fifths_of(p) + k) + 1) // 7) for p in pitches)
        return abs(key_sharps + k), accidentals

    return min(candidates, key=cost)


def transpose(
    melody: Melody, semitones: int, ranges: dict[str, tuple[int, int]] | None = None
) -> Melody | None:
    """The melody moved by `semitones`, spelled for the new key; None if a note leaves the voice's range.

    Spelling is pure interval arithmetic on the line of fifths (see `transpose_interval`), so a
    melody in G major moved up 2 lands in A major with the same letters-per-degree as the original.
    The range is `voice_range(melody.voice, ranges)` (default: VOICE_RANGES, measured on the corpus).
    """
    if semitones == 0:
        return melody
    lo, hi = voice_range(melody.voice, ranges)
    notes = [e for e in melody.events if not e.is_rest]
    if any(not lo <= e.midi + semitones <= hi for e in notes):
        return None
    k = transpose_interval(melody.key_sharps, semitones, [e.pitch for e in notes])
    events = [_transpose_event(e, semitones, k) for e in melody.events]
    meta = {**melody.meta, "transposed": melody.meta.get("transposed", 0) + semitones}
    return dataclasses.replace(melody, events=tuple(events), key_sharps=melody.key_sharps + k, meta=meta)


@functools.lru_cache(maxsize=4096)
def _moved_name(pitch: str, fifths: int) -> tuple[str, int]:
    """(new name, its MIDI number in octave 0) of a pitch name moved by `fifths`."""
    name = name_of_fifths(_respell(fifths_of(pitch) + fifths))
    return name, midi_of(name, 0)


def _transpose_event(e: Event, semitones: int, fifths: int) -> Event:
    if e.is_rest:
        return e
    pitch, base = _moved_name(e.pitch, fifths)
    midi = e.midi + semitones
    # Built directly, not with dataclasses.replace: this runs for every event of every augmented copy.
    return Event(e.kind, e.quarter_length, e.duration_type, e.dots, pitch, (midi - base) // 12, midi,
                 e.tie, e.measure, e.beat)  # fmt: skip
