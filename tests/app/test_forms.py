"""app_pages/forms.py: the Training form's defaults, parsing (FormError naming the field) and run names."""

from __future__ import annotations

import pytest

from app_pages import forms
from bachlstm.training.presets import get_preset


def test_number_lists_parse_or_name_the_field():
    assert forms.parse_number_list(" 6, 12;6 ", int, "sizes") == (6, 12, 6)
    assert forms.parse_number_list("0.2,0.3", float, "dropouts") == (0.2, 0.3)
    with pytest.raises(forms.FormError, match="sizes must be a comma-separated list of numbers, got 'six'"):
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


def test_every_bad_field_is_named_by_its_label_at_once():
    """The new-user trial: code names ("batch_size") and only the first bad field. Now every field, the
    ones the form cannot read and the ones the library refuses, in the form's order, by their labels."""
    values = {**forms.form_defaults(get_preset("workshop")), "epochs": 0, "lstm_sizes": "6, x"}
    values.update(batch_size=0, seq_len=10**7, seed="-1", embedding_dim=10**5)
    with pytest.raises(forms.FormError) as caught:
        forms.training_preset("workshop", values)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["epochs", "batch_size", "embedding_dim", "lstm_sizes", "seed"]
    text = forms.problems_text(caught.value)
    assert text.splitlines() == [
        "5 settings need a change:",
        "- **Epochs** must be a whole number from 1 to 10,000, got 0",
        "- **Batch size** must be a whole number from 1 to 65,536, got 0",
        "- **Embedding dimension** must be a whole number from 1 to 4,096, got 100000",
        "- **LSTM layer sizes** must be a comma-separated list of numbers, got '6, x'",
        "- **Seed** must be a whole number from 0 to 4,294,967,295 (2**32 - 1), got -1",
    ]
    for code_name in ("batch_size", "embedding_dim", "lstm_sizes", "seq_len"):
        assert code_name not in text


def test_an_error_without_fields_keeps_its_sentence():
    assert forms.problems_text(ValueError("the queue is full")) == "the queue is full"
    one = forms.FormError([forms.Problem("min_length", "must be a whole number of at least 0, got -5")])
    assert forms.problems_text(one, {"min_length": "Minimum notes"}) == (
        "**Minimum notes** must be a whole number of at least 0, got -5."
    )


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
        ("lstm_sizes", "6, x; 32", "must be a comma-separated list"),
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
