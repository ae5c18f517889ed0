"""app_pages/forms.py: the Training form's defaults, parsing (FormError naming the field) and run names."""

from __future__ import annotations

import pytest

from app_pages import forms
from bachlstm.presets import get_preset


def test_number_lists_parse_or_name_the_field():
    assert forms.parse_number_list(" 6, 12;6 ", int, "sizes") == (6, 12, 6)
    assert forms.parse_number_list("0.2,0.3", float, "dropouts") == (0.2, 0.3)
    with pytest.raises(forms.FormError, match="sizes: 'six' is not a comma-separated list"):
        forms.parse_number_list("six", int, "sizes")
    with pytest.raises(forms.FormError, match="at least one number"):
        forms.parse_number_list(" , ", int, "sizes")


def test_form_defaults_round_trip_to_the_same_preset():
    preset = get_preset("workshop")
    values = forms.form_defaults(preset)
    assert values["lstm_sizes"] == "6, 12, 6" and values["dropouts"] == "0.2, 0.3, 0.3"
    assert values["max_melodies"] == 0 and values["max_steps"] == 0  # None shown as 0
    assert get_preset("workshop", **forms.training_overrides(values)) == preset


def test_training_overrides_convert_each_kind():
    got = forms.training_overrides({"epochs": 2.0, "lr": "0.01", "lstm_sizes": "32,32", "max_steps": 0})
    assert got == {"epochs": 2, "lr": 0.01, "lstm_sizes": (32, 32), "max_steps": None}


def test_next_run_name():
    assert forms.next_run_name("my-run-1", set()) == "my-run-2"
    assert forms.next_run_name("my-run-1", {"my-run-2", "my-run-3"}) == "my-run-4"
    assert forms.next_run_name("tiny", set()) == "tiny-2"
    assert forms.next_run_name("run9", set()) == "run-10"
    assert forms.next_run_name("42", set()) == "42-2"


@pytest.mark.parametrize(
    "field, text, expected",
    [
        ("embedding_dim", "3, 8; 16", [3, 8, 16]),
        ("lr", "0.01, 0.003", [0.01, 0.003]),
        ("lstm_sizes", "6, 12, 6; 32, 32", [(6, 12, 6), (32, 32)]),
        ("dropouts", "0.2;0.5", [(0.2,), (0.5,)]),
        ("hidden_linear", "0, 512", [0, 512]),
    ],
    ids=["ints", "floats", "int-lists", "float-lists", "zero-means-none"],
)
def test_sweep_values_parse_per_kind(field, text, expected):
    assert forms.parse_sweep_values(field, text) == expected


@pytest.mark.parametrize(
    "field, text, message",
    [
        ("embedding_dim", "8", "give 2 to 5 values"),
        ("embedding_dim", "1, 2, 3, 4, 5, 6", "give 2 to 5 values"),
        ("embedding_dim", "8, 8", "each value once"),
        ("embedding_dim", "8, 2.5", "'2.5' is not a whole number"),
        ("lstm_sizes", "6, x; 32", "not a comma-separated list"),
        ("colour", "1, 2", "not a field"),
    ],
    ids=["one", "six", "repeated", "fraction", "bad-list", "unknown-field"],
)
def test_bad_sweeps_name_the_problem(field, text, message):
    with pytest.raises(forms.FormError, match=message):
        forms.parse_sweep_values(field, text)


def test_sweep_runs_vary_one_field_of_the_form():
    values = forms.form_defaults(get_preset("workshop"))
    runs = forms.sweep_runs(values, "lstm_sizes", [(6, 12, 6), (32,)], "sweep-lstm_sizes")
    assert [name for name, _ in runs] == ["sweep-lstm_sizes-6x12x6", "sweep-lstm_sizes-32"]
    base = forms.training_overrides(values)
    for (_, overrides), sizes in zip(runs, [(6, 12, 6), (32,)]):
        assert overrides == {**base, "lstm_sizes": sizes}
    runs = forms.sweep_runs(values, "hidden_linear", [0, 64], "s")
    assert [o["hidden_linear"] for _, o in runs] == [None, 64]  # 0 means none, as in the form
    assert forms.sweep_label(0.001) == "0.001" and forms.sweep_label((0.2, 0.3)) == "0.2x0.3"
