"""MIDI downloads keep the written meter: every note sits at the same bar and beat as in the MusicXML."""

from __future__ import annotations

import math

import pytest
from music21 import converter

from bachlstm.corpus import load_corpus
from bachlstm.midi import read_midi
from bachlstm.music import infer_pickup, to_midi, to_musicxml
from bachlstm.selection import select


def midi_positions(data: bytes) -> list[tuple[int, int, float]]:
    """(MIDI pitch, bar, beat) of every note as a DAW or notation program reads the file."""
    reading = read_midi(data)
    out = []
    for n in reading.notes:
        rel = n.start - reading.downbeat
        bar = math.floor(rel / reading.bar_quarters + 1e-9) + 1
        beat = rel - (bar - 1) * reading.bar_quarters + 1
        if bar == 0:  # the pickup bar: beats counted so that its last beat ends at the downbeat
            beat = reading.bar_quarters + rel + 1
        out.append((n.pitch, bar, round(beat, 4)))
    return out


def musicxml_positions(data: bytes) -> list[tuple[int, int, float]]:
    """(MIDI pitch, measure number, beat) of every sounding note (tie continuations left out), by music21."""
    score = converter.parse(data.decode("utf-8"), format="musicxml")
    out = []
    for n in score.parts[0].recurse().notes:
        if n.tie is not None and n.tie.type in ("stop", "continue"):
            continue
        out.append((n.pitch.midi, n.measureNumber, round(float(n.beat), 4)))
    return out


def check(events, title="x"):
    midi = midi_positions(to_midi(events, title=title))
    xml = musicxml_positions(to_musicxml(events, title=title))
    assert midi == xml, title


@pytest.mark.slow
def test_every_selected_chorale_keeps_its_bar_lines_in_midi():
    melodies = select(load_corpus()).melodies
    with_pickup = 0
    for melody in melodies:
        with_pickup += infer_pickup(melody.events) > 0
        check(list(melody.events), melody.piece_id)
    assert len(melodies) > 300 and with_pickup > 100  # most chorales open with a pickup
