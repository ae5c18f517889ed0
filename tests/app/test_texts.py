"""app_pages/texts.py: values written out for a reader, explanations and the Home page's model table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app_pages import texts
from bachlstm.model.checkpoints import CheckpointInfo as Info
from bachlstm.music.events import Melody
from tests.builders import step_progress


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (-1, "?"), (float("nan"), "?"), (0, "0 s"), (42.4, "42 s"), (185, "3 min 05 s"),
     (3720, "1 h 02 min")],
    ids=["none", "negative", "nan", "zero", "seconds", "minutes", "hours"],
)  # fmt: skip
def test_format_seconds(seconds, text):
    assert texts.format_seconds(seconds) == text


def test_progress_text():
    assert texts.progress_text(None) == (0.0, "preparing the data ...")
    fraction, text = texts.progress_text(step_progress(25, 1.0, total=100, eta=125, tps=1234.5))
    assert fraction == 0.25
    assert text == "epoch 1 · step 25/100 · ETA 2 min 05 s · 1,234 tokens/s"


def test_exclusion_summary_explains_every_reason():
    summary = pd.DataFrame({"reason": ["selected", "too short", "odd"], "count": [5, 2, 1]})
    out = texts.exclusion_summary(summary)
    assert out.explanation.tolist()[0] == "kept"
    assert out.explanation.tolist()[1].startswith("fewer notes and rests")
    assert out.explanation.tolist()[2] == ""


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [(None, "{:.2f}", "–"), (float("nan"), "{:.2f}", "–"), (True, "{}", "yes"), (0.5, "{:.0%}", "50%")],
    ids=["none", "nan", "bool", "percent"],
)
def test_format_metric(value, fmt, text):
    assert texts.format_metric(value, fmt) == text


def test_a_metrics_percentage_on_a_german_page_has_the_space_before_its_sign():
    from app_pages import i18n

    with i18n.using("de"):
        assert (texts.format_metric(0.5, "{:.0%}"), texts.format_metric(0.125, "{:.1%}")) == (
            "50\u00a0%",
            "12,5\u00a0%",
        )


def test_checkpoint_table_gives_each_run_its_state():
    table = texts.checkpoint_table(
        [Info("bach", Path("b"), True, "bach", "event",
              {"test_perplexity": 7.5, "test_top1": 0.45, "test_pitch_bits_per_note": 2.1}, n_params=1000),
         Info("half", Path("h"), False, status="interrupted", epoch=5, epochs=45),
         Info("bad", Path("x"), False, error="corrupt", status="broken")]
    )  # fmt: skip
    assert table.to_dict("records")[0] == {
        "name": "bach", "kind": "shipped", "preset": "bach", "tokenizer": "event", "parameters": 1000,
        "test perplexity": 7.5, "test top-1": 0.45, "bits per event": None, "pitch bits per note": 2.1,
        "pitch bits given duration": None, "pitch top-1": None, "status": "complete",
    }  # fmt: skip
    assert table.status.tolist() == ["complete", "interrupted at epoch 5 of 45", "broken: corrupt"]
    assert table.kind.tolist()[1] == "user run"


def test_literature_table_puts_measured_models_under_the_published_figures():
    table = texts.literature_table(
        [Info("chorale", Path("c"), True, "chorale", "event", {"test_pitch_bits_given_duration": 1.9}),
         Info("old", Path("o"), True, "bach", "event", {"test_pitch_bits_per_note": 2.1})]
    )  # fmt: skip
    assert table["pitch bits given duration"].tolist() == [2.05, 1.87, 2.676, 2.337, 1.953, 1.911, 1.9]
    assert table.model.tolist()[-1] == "chorale"  # "old" never measured it: not listed
    assert table.source.tolist()[-1] == "bachlstm" and "tune-disjoint" in table.conditions.tolist()[-1]


def test_melody_label():
    melody = Melody("bwv1.6", "soprano", (), meta={"title": "Wie schön"})
    assert texts.melody_label(melody) == "bwv1.6 soprano: Wie schön"
    assert texts.melody_label(Melody("bwv2", "alto", ())) == "bwv2 alto"


def test_the_inside_pages_words_follow_the_language():
    from app_pages.i18n import using
    from app_pages.messages import token_type_words

    with using("de"):
        assert (texts.signed(0.534), texts.signed(-0.2), texts.signed(0.0)) == ("+0,53", "-0,20", "+0,00")
        assert [token_type_words(t) for t in ("bos", "pitch", "bar", "made_up")] == [
            "Anfang (BOS)",
            "Tonhöhe",
            "Taktstrich",
            "made_up",
        ]
        assert texts.signal_words("forget_gate") == "Vergessens-Gate f"
    with using("en"):
        assert (texts.signed(1234.5, 1), token_type_words("tie")) == ("+1,234.5", "tie")
        assert texts.signal_words("cell") == "cell state c"


def test_the_inside_pages_tables_speak_words():
    from app_pages.i18n import using
    from app_pages.inside_views import neighbours_table, notes_table

    notes = pd.DataFrame(
        {"index": [0, 4], "name": ["Pause", "H4"], "measure": [1, 2], "beat": [1.0, 2.5],
         "duration": [1.0, 0.5], "bits": [0.123, 7.456]}
    )  # fmt: skip
    near = pd.DataFrame({"token": [" ", "o4"], "type": ["separator", "octave"], "similarity": [0.914, -0.5]})
    with using("de"):
        table = notes_table(notes)
        assert list(table.columns) == [
            "Note Nr.", "Note", "Takt", "Zählzeit", "Dauer (Viertel)", "Überraschung (Bits)"
        ]  # fmt: skip
        assert table["Note Nr."].tolist() == [1, 5] and table["Überraschung (Bits)"].tolist() == [0.12, 7.46]
        assert neighbours_table(near).to_dict("list") == {
            "Token": ["(Trenner)", "o4"],
            "Art": ["Trenner", "Oktave"],
            "Ähnlichkeit": [0.91, -0.5],
        }
