"""MIDI downloads keep the written meter: every note sits at the same bar and beat as in the MusicXML."""

from __future__ import annotations

import math

import pytest
from music21 import converter

from bachlstm.cli import main
from bachlstm.corpus.cache import load_corpus
from bachlstm.corpus.selection import select
from bachlstm.generation.generator import DEFAULT_MIN_LENGTH, generate
from bachlstm.generation.primer import primer_from_melody
from bachlstm.generation.sampling import default_configs
from bachlstm.model.checkpoints import load_checkpoint
from bachlstm.music.midi import read_midi
from bachlstm.music.scores import infer_pickup, to_midi, to_musicxml
from bachlstm.training.splits import split_melodies


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


# ----------------------------------------------------------------------------------------------------
# Generated melodies: a chorale's opening (most have a pickup) continued by the shipped models


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", ["bach", "workshop"])
def test_generated_melodies_keep_their_bar_lines_in_midi(name):
    ck = load_checkpoint(name)
    heldout = split_melodies(ck.meta)["test"]
    chorales = [m for m in heldout if infer_pickup(m.events) > 0][:2] + [
        m for m in heldout if infer_pickup(m.events) == 0
    ][:1]
    assert len(chorales) == 3  # two openings with a pickup, one without
    for melody in chorales:
        primer = primer_from_melody(melody, bars=2)
        gens = generate(ck, default_configs(), primer=primer, length=64, min_length=DEFAULT_MIN_LENGTH)
        for g in gens:
            assert g.notes > 0, (melody.piece_id, g.label)
            assert infer_pickup(g.full_events) == infer_pickup(primer)
            check(g.full_events, f"{name} {melody.piece_id} {g.label}")


@pytest.mark.slow
def test_the_cli_writes_midi_with_the_bar_lines_of_its_musicxml(tmp_path, capsys):
    """The issue's command: a chorale opening with a pickup continued greedily, written both ways."""
    midi, xml = tmp_path / "x.mid", tmp_path / "x.musicxml"
    args = ["generate", "--checkpoint", "bach", "--method", "greedy", "--length", "16", "--seed", "1",
            "--primer", "bwv66.6", "--out", str(midi), "--musicxml", str(xml)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    positions = midi_positions(midi.read_bytes())
    assert positions == musicxml_positions(xml.read_bytes())
    assert positions[0][1] == 0  # bwv66.6 opens with a pickup: its first note is in bar 0, not bar 1
