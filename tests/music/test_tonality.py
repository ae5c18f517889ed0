"""Tonality and closure: exact values on tiny fixtures, and exact invariance under transposition."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.music.events import Event
from bachlstm.music.tonality import (
    Key,
    closes,
    closure,
    duration_class,
    duration_shares,
    estimate_key,
    inner_rests,
    interval_class,
    interval_class_shares,
    normalised_pcs,
    outside_key_share,
    pc_entropy_counted,
    sung_notes,
)
from tests.builders import n, rest

C_MAJOR_LINE = tuple(n(m) for m in (60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 64, 60))
A_MINOR_LINE = tuple(n(m) for m in (69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 71, 69))


def test_sung_notes_merge_ties_and_drop_rests():
    tied = (n(60, 1.0, tie="start"), n(60, 0.5, tie="continue"), n(60, 0.5, tie="stop"))
    events = (*tied, rest(), n(62), n(64, 1, tie="stop"))
    assert [(s.midi, s.quarter_length) for s in sung_notes(events)] == [(60, 2.0), (62, 1.0), (64, 1.0)]
    # a tie into another pitch is not a tie: two notes
    assert len(sung_notes((n(60, 1, tie="start"), n(62, 1, tie="stop")))) == 2
    assert sung_notes((rest(),)) == []


def test_key_estimate_and_key_facts():
    assert estimate_key(C_MAJOR_LINE) == Key(0, "major")
    assert estimate_key(A_MINOR_LINE) == Key(9, "minor")
    assert estimate_key((rest(),)) is None
    assert [Key(t, "major").sharps for t in (0, 7, 2, 5, 6, 1)] == [0, 1, 2, -1, -6, -5]
    assert Key(3, "major").name == "E- major" and Key(6, "minor").name == "F# minor"
    assert Key(9, "minor").sharps == 0 and Key(2, "minor").sharps == -1
    assert Key(2, "minor").shift == -5 and Key(7, "major").shift == 5 and Key(6, "major").shift == 6
    assert normalised_pcs(tuple(n(m + 2) for m in (60, 64, 67))) == [0, 4, 7]  # D major -> C major


def test_intervals_durations_rests_entropy_exact():
    assert [interval_class(s) for s in (0, -1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11, 12, 13)] == [
        "unison", "step", "step", "third", "third", "leap", "awkward", "leap", "leap", "leap",
        "awkward", "awkward", "leap", "awkward",
    ]  # fmt: skip
    shares = interval_class_shares((n(60), n(60), n(62), rest(), n(66), n(77)))
    assert shares == {"unison": 0.25, "step": 0.25, "third": 0.25, "leap": 0.0, "awkward": 0.25}
    assert interval_class_shares((n(60),)) == dict.fromkeys(shares, 0.0)
    assert [duration_class(q) for q in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 8)] == [
        "< 8th", "8th", "8th", "quarter", "dotted quarter", "half", "longer", "longer",
    ]  # fmt: skip
    assert duration_shares((n(60, 1, tie="start"), n(60, 1, tie="stop"), n(62, 0.5)))["half"] == 0.5
    assert inner_rests((rest(), n(60), rest(), rest(), n(62), rest())) == 2 and inner_rests((rest(),)) == 0
    assert pc_entropy_counted((n(60), n(72), n(62), n(64))) == 1.5
    assert pc_entropy_counted(()) == 0.0


def test_closure_and_outside_key():
    end = closure(C_MAJOR_LINE)
    assert (end.ends_on_tonic, end.tonic_by_step, end.final_quarters) == (True, False, 1.0)  # G-E-C: a leap
    by_step = closure((*C_MAJOR_LINE[:-1], n(62), n(60, 2.0, tie="start"), n(60, 2.0, tie="stop")))
    assert (by_step.ends_on_tonic, by_step.tonic_by_step, by_step.final_quarters) == (True, True, 4.0)
    assert not closure((*C_MAJOR_LINE, n(67))).ends_on_tonic
    assert closure(()).final_quarters == 0.0
    assert outside_key_share((*C_MAJOR_LINE, n(61), n(63)), Key(0, "major")) == pytest.approx(2 / 14)
    assert outside_key_share(A_MINOR_LINE) == 0.0  # G# and F are in A minor


melodies = st.lists(
    st.tuples(st.integers(48, 84), st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 1 / 3]), st.booleans()),
    min_size=0,
    max_size=40,
)


def _events(spec, shift=0):
    return tuple(Event("rest", q) if rest else n(m + shift, q) for m, q, rest in spec)


@settings(max_examples=150, deadline=None)
@given(melodies, st.integers(-11, 11))
def test_per_melody_figures_are_exactly_transposition_invariant(spec, shift):
    from bachlstm.analysis.style import melody_counts, melody_profile, note_steps

    a, b = _events(spec), _events(spec, shift)
    assert melody_profile(a) == melody_profile(b)
    assert normalised_pcs(a) == normalised_pcs(b)
    assert note_steps(a) == note_steps(b)
    ka, kb = estimate_key(a), estimate_key(b)
    assert ka is None or (kb.tonic - ka.tonic) % 12 == shift % 12 and ka.mode == kb.mode
    assert all((x == y).all() for x, y in zip(melody_counts([a]), melody_counts([b])))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(58, 66),
            st.sampled_from((0.5, 1.0, 2.0)),
            st.sampled_from((1.0, 2.0, 3.0, 4.0)),
            st.sampled_from((None, "start", "stop", "continue", "rest")),
        ),
        max_size=10,
    )
)
def test_closes_is_its_definition_whatever_it_checks_first(items):
    """The tonic of the estimated key reached by a step (`closure`), begun on a strong beat: the cheap
    checks `closes` makes before estimating the key never change its answer."""
    events = [
        rest(ql, beat=beat) if tie == "rest" else n(m, ql, beat=beat, tie=tie) for m, ql, beat, tie in items
    ]
    notes = [e for e in events if not e.is_rest]
    k = len(notes) - 1
    while k > 0 and notes[k].tie in ("stop", "continue") and notes[k - 1].midi == notes[k].midi:
        k -= 1
    assert closes(events) == bool(notes and closure(events).tonic_by_step and notes[k].beat in (1.0, 3.0))


def test_a_line_closes_on_the_tonic_begun_on_a_strong_beat():
    def line(last_beat, last=60, tie_from=None):
        # C major: C D E F | G F E D | C on `last_beat` (a tied C from `tie_from` when given)
        head = [Event("note", 1.0, pitch="C", octave=4, midi=m, measure=1 + k // 4, beat=1.0 + k % 4)
                for k, m in enumerate((60, 62, 64, 65, 67, 65, 64, 62))]  # fmt: skip
        if tie_from is None:
            return (*head, Event("note", 2.0, pitch="C", octave=4, midi=last, measure=3, beat=last_beat))
        return (
            *head,
            Event("note", 1.0, pitch="C", octave=4, midi=60, measure=3, beat=tie_from, tie="start"),
            Event("note", 1.0, pitch="C", octave=4, midi=60, measure=3, beat=tie_from + 1, tie="stop"),
        )

    assert closes(line(1.0)) and closes(line(3.0))
    assert not closes(line(2.0)) and not closes(line(4.0))  # the tonic on a weak beat
    assert not closes(line(1.0, last=67))  # on the dominant
    assert closes(line(0, tie_from=1.0))  # a tied tonic counts where its chain begins
    assert not closes(line(0, tie_from=2.0))
    assert not closes(()) and not closes((rest(),))
