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
