"""app_pages/forms.py: the Training form's defaults, parsing (FormError naming the field) and run names."""

from __future__ import annotations

import pytest

from app_pages import forms
from app_pages.i18n import using
from bachlstm.training.presets import get_preset


def test_number_lists_parse_or_name_the_field():
    assert forms.parse_number_list(" 6, 12;6 ", int, "sizes") == (6, 12, 6)
    assert forms.parse_number_list("0.2,0.3", float, "dropouts") == (0.2, 0.3)
    with pytest.raises(forms.FormError, match="sizes must be a comma-separated list of numbers, got 'six'"):
        forms.parse_number_list("six", int, "sizes")
    with pytest.raises(forms.FormError, match="at least one number"):
        forms.parse_number_list(" , ", int, "sizes")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("0,2, 0,3, 0,3", ["0,2", "0,3", "0,3"]),
        ("0,2; 0,3;0,3", ["0,2", "0,3", "0,3"]),
        ("0,2 0,3  0,3", ["0,2", "0,3", "0,3"]),
        ("0.2, 0.3,0.3", ["0.2", "0.3", "0.3"]),  # English decimals on a German page
        (",0,5,", ["0,5"]),
    ],
    ids=["comma-space", "semicolon", "spaces", "points", "stray-commas"],
)
def test_a_comma_between_digits_is_a_decimal_comma_in_german(text, parts):
    assert forms.split_numbers(text, comma_decimals=True) == parts


def test_german_pages_read_and_show_decimal_commas():
    with using("de"):
        assert forms.parse_number_list("0,2, 0,3, 0,3", float, "dropouts") == (0.2, 0.3, 0.3)
        assert forms.parse_number_list("0,2; 0,3", float, "dropouts") == (0.2, 0.3)
        assert forms.parse_number_list("6,12,6", int, "sizes") == (6, 12, 6)  # whole numbers: commas split
        values = forms.form_defaults(get_preset("workshop"))
        assert values["dropouts"] == "0,2; 0,3; 0,3" and values["lstm_sizes"] == "6, 12, 6"
        assert values["lr"] == "0,01"  # typed text: a number field wrote 0.01000 on German pages too
        assert forms.training_overrides(values)["dropouts"] == (0.2, 0.3, 0.3)
        assert forms.training_overrides({**values, "lr": "0,003"})["lr"] == 0.003
        assert forms.parse_sweep_values("lr", "0,01; 0,003") == [0.01, 0.003]
        assert forms.parse_sweep_values("dropouts", "0,2 0,3; 0,1, 0,1") == [(0.2, 0.3), (0.1, 0.1)]
        with pytest.raises(forms.FormError) as bad:
            forms.training_preset("workshop", {**values, "dropouts": "0,2,0,3"})  # where does 0,2 end?
        assert forms.problems_text(bad.value) == (
            "**Dropout pro LSTM-Schicht** muss eine Liste von Zahlen sein (z. B. 6, 12, 6 oder 0,2; 0,3), "
            "nicht '0,2,0,3'."
        )
    with using("en"):  # English pages: a comma always separates
        assert forms.parse_number_list("0,2", float, "dropouts") == (0.0, 2.0)


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
        "- **Seed** must be a whole number from 0 to 4,294,967,295, got -1",
    ]
    for code_name in ("batch_size", "embedding_dim", "lstm_sizes", "seq_len"):
        assert code_name not in text
    with using("de"):  # every problem has a code, so the German page words each
        assert forms.problems_text(caught.value).splitlines()[1:] == [
            "- **Epochen** muss eine ganze Zahl von 1 bis 10.000 sein, nicht 0",
            "- **Batchgröße** muss eine ganze Zahl von 1 bis 65.536 sein, nicht 0",
            "- **Embedding-Dimension** muss eine ganze Zahl von 1 bis 4.096 sein, nicht 100000",
            "- **Größen der LSTM-Schichten** muss eine Liste von Zahlen sein (z. B. 6, 12, 6 oder 0,2; 0,3), "
            "nicht '6, x'",
            "- **Seed** muss eine ganze Zahl von 0 bis 4.294.967.295 sein, nicht -1",
        ]


def test_a_budget_refusal_names_the_forms_setting_in_both_languages():
    from bachlstm.settings.limits import MEMORY, RUN_TIME, BudgetError

    memory = BudgetError("English", MEMORY, need_mb=3000.4, limit_mb=2048.0, field="batch_size", best=1234)
    hours = BudgetError("English", RUN_TIME, run_s=7322.0, limit_s=3600.0, field=None, best=None)
    assert forms.problems_text(memory) == (
        "This run needs about 3,000 MB of memory, more than this server's limit of 2,048 MB. Lower "
        "**Batch size** to at most 1,234 (or raise the limit on a machine that has more to spare)."
    )
    with using("de"):
        assert forms.problems_text(memory) == (
            "Dieser Lauf braucht etwa 3.000 MB Speicher, mehr als die Grenze dieses Servers von 2.048 MB. "
            "Senke **Batchgröße** auf höchstens 1.234 (oder hebe die Grenze auf einem Rechner an, der mehr "
            "übrig hat)."
        )
        assert forms.problems_text(hours) == (
            "Dieser Lauf würde etwa 2 h 02 min dauern, länger als die Grenze dieses Servers von 1 h 00 min. "
            "Keine einzelne Einstellung bringt ihn unter die Grenze: Wähle ein kleineres Modell."
        )


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


def test_swept_values_are_shown_in_the_readers_format_and_named_as_before():
    with using("de"):
        assert [forms.sweep_value_text(v) for v in (0.001, 16, (0.2, 0.3), (6, 12))] == [
            "0,001", "16", "0,2x0,3", "6x12"
        ]  # fmt: skip
        assert forms.sweep_label(0.001) == "0.001"  # run names stay as they were
    with using("en"):
        assert forms.sweep_value_text((0.2, 0.3)) == "0.2x0.3"
