"""Top line and grid fitting: the note on the beat wins over a faster neighbour; re-strikes stay notes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bachlstm.music.skyline import LineNote, fit_to_grid, primer_segments, snap, top_line


def ln(start, end, midi):
    return LineNote(float(start), float(end), midi)


def triples(notes):
    return [(n.start, n.end, n.midi) for n in notes]


def test_run_of_32nds_keeps_the_notes_on_the_sixteenth_grid():
    # C D E F G A B C as 32nds (0.125 quarters each), then a quarter D
    run = [ln(i * 0.125, (i + 1) * 0.125, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    line = fit_to_grid(top_line([*run, ln(1.0, 2.0, 74)]), 0.25)
    # on-beat C, then the notes that sound at 0.25, 0.5, 0.75 (E, G, B): never an off-grid neighbour
    assert triples(line) == [
        (0.0, 0.25, 60),
        (0.25, 0.5, 64),
        (0.5, 0.75, 67),
        (0.75, 1.0, 71),
        (1.0, 2.0, 74),
    ]


def test_triplets_land_on_the_nearest_sixteenths_and_keep_every_note():
    third = 1 / 3
    notes = [ln(0, third, 60), ln(third, 2 * third, 62), ln(2 * third, 1, 64), ln(1, 2, 65)]
    assert triples(fit_to_grid(top_line(notes), 0.25)) == [
        (0.0, 0.25, 60), (0.25, 0.75, 62), (0.75, 1.0, 64), (1.0, 2.0, 65),
    ]  # fmt: skip


def test_block_chords_give_their_top_note_and_a_held_top_note_hides_the_lower_voice():
    notes = [ln(0, 2, 60), ln(0, 2, 64), ln(0, 2, 67), ln(1, 2, 62), ln(2, 3, 65)]
    assert triples(top_line(notes)) == [(0.0, 2.0, 67), (2.0, 3.0, 65)]


def test_lower_voice_takes_over_when_the_top_note_ends():
    assert triples(top_line([ln(0, 1, 72), ln(0, 3, 60)])) == [(0.0, 1.0, 72), (1.0, 3.0, 60)]


def test_restrike_of_a_sounding_note_is_a_new_note():
    # the same pitch struck at 0 and again at 1 while the first still sounds (on, on, off, off)
    assert triples(top_line([ln(0, 2, 67), ln(1, 3, 67)])) == [(0.0, 1.0, 67), (1.0, 3.0, 67)]


def test_slightly_early_or_late_human_timing_snaps_to_the_beat():
    notes = [ln(0.02, 0.97, 60), ln(0.98, 2.03, 62), ln(2.01, 3.0, 64)]
    assert triples(fit_to_grid(top_line(notes), 0.25)) == [(0.0, 1.0, 60), (1.0, 2.0, 62), (2.0, 3.0, 64)]


def test_primer_segments_turn_leading_silence_into_a_pickup():
    line = [ln(3, 4, 67), ln(4, 5, 72), ln(6, 7, 74)]
    segments, pickup = primer_segments(line, bar_origin=0.0)
    assert pickup == 1.0
    assert [(a, b, n.midi if n else None) for a, b, n in segments] == [
        (0.0, 1.0, 67), (1.0, 2.0, 72), (2.0, 3.0, None), (3.0, 4.0, 74),
    ]  # fmt: skip
    assert primer_segments(line, bar_origin=3.0)[1] == 0.0  # the first note on a bar line: no pickup
    assert primer_segments([], 0.0) == ([], 0.0)


def test_snap_rounds_halves_up_and_grid_must_be_positive():
    assert (snap(0.125, 0.25), snap(0.375, 0.25), snap(0.12, 0.25)) == (0.25, 0.5, 0.0)
    with pytest.raises(ValueError, match="grid"):
        fit_to_grid([], 0)


@given(
    st.lists(st.tuples(st.integers(0, 64), st.integers(1, 16), st.integers(40, 90)), min_size=1, max_size=30)
)
def test_fitted_line_is_monophonic_on_the_grid_and_keeps_on_grid_onsets(raw):
    notes = [ln(s / 8, (s + d) / 8, p) for s, d, p in raw]  # 32nd-note positions
    line = fit_to_grid(top_line(notes), 0.25)
    for a, b in zip(line, line[1:]):
        assert a.end <= b.start + 1e-9
    for n in line:
        assert n.start % 0.25 == 0 and n.end % 0.25 == 0 and n.end > n.start
    # a note of the top line that starts exactly on a grid point is never displaced
    for n in top_line(notes):
        if n.start % 0.25 == 0:
            assert any(m.start == n.start and m.midi == n.midi for m in line)
