"""bachlstm.ui_helpers: the dashboard's plain logic (forms, progress, warnings, tables, charts)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from bachlstm import ui_helpers as ui
from bachlstm.events import Event, Melody
from bachlstm.presets import get_preset
from bachlstm.training import Progress


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (-1, "?"), (float("nan"), "?"), (0, "0 s"), (42.4, "42 s"), (185, "3 min 05 s"),
     (3720, "1 h 02 min")],
    ids=["none", "negative", "nan", "zero", "seconds", "minutes", "hours"],
)  # fmt: skip
def test_format_seconds(seconds, text):
    assert ui.format_seconds(seconds) == text


def test_number_lists_parse_or_name_the_field():
    assert ui.parse_number_list(" 6, 12;6 ", int, "sizes") == (6, 12, 6)
    assert ui.parse_number_list("0.2,0.3", float, "dropouts") == (0.2, 0.3)
    with pytest.raises(ui.FormError, match="sizes: 'six' is not a comma-separated list"):
        ui.parse_number_list("six", int, "sizes")
    with pytest.raises(ui.FormError, match="at least one number"):
        ui.parse_number_list(" , ", int, "sizes")


def test_form_defaults_round_trip_to_the_same_preset():
    preset = get_preset("workshop")
    values = ui.form_defaults(preset)
    assert values["lstm_sizes"] == "6, 12, 6" and values["dropouts"] == "0.2, 0.3, 0.3"
    assert values["max_melodies"] == 0 and values["max_steps"] == 0  # None shown as 0
    assert get_preset("workshop", **ui.training_overrides(values)) == preset


def test_training_overrides_convert_each_kind():
    got = ui.training_overrides({"epochs": 2.0, "lr": "0.01", "lstm_sizes": "32,32", "max_steps": 0})
    assert got == {"epochs": 2, "lr": 0.01, "lstm_sizes": (32, 32), "max_steps": None}


def _step(step, loss, epoch=1, total=10, eta=None, tps=0.0):
    return Progress("step", epoch, step, total, train_loss=loss, eta_s=eta, tokens_per_s=tps)


def test_progress_frame_thins_steps_but_keeps_the_newest_and_all_epochs():
    records = [_step(i, 10.0 - i / 100) for i in range(1, 1001)]
    records.append(Progress("epoch", 1, 1000, 1000, train_loss=2.0, val_loss=2.5, val_top1=0.4, val_top5=0.8))
    frame = ui.progress_frame(records, run="r", max_points=100)
    train = frame[frame.metric == "train loss"]
    assert len(train) == 101 and train.step.iloc[-1] == 1000  # every 10th step + the newest
    val = frame[frame.metric == "val loss"]
    assert val.value.tolist() == [2.5] and set(frame.run) == {"r"}
    assert set(frame[frame.panel == "accuracy"].metric) == {"val top-1", "val top-5"}


def test_progress_text():
    assert ui.progress_text(None) == (0.0, "preparing the data ...")
    fraction, text = ui.progress_text(_step(25, 1.0, total=100, eta=125, tps=1234.5))
    assert fraction == 0.25
    assert text == "epoch 1 · step 25/100 · ETA 2 min 05 s · 1,234 tokens/s"


def test_history_frame_skips_missing_values():
    frame = ui.history_frame(
        {"a": [{"epoch": 1, "train_loss": 3.0, "val_loss": None, "val_top1": 0.1}], "b": []}
    )
    assert frame.values.tolist() == [["a", 1, "train loss", 3.0], ["a", 1, "val top-1", 0.1]]


def test_limits_label():
    assert ui.limits_label(None, float("nan")) == "all lengths"
    assert ui.limits_label(30, 65) == "30..65 events"
    assert ui.limits_label(30.0, None) == "30..∞ events"
    assert ui.limits_label(None, 65) == "0..65 events"


def test_exclusion_summary_explains_every_reason():
    summary = pd.DataFrame({"reason": ["selected", "too short", "odd"], "count": [5, 2, 1]})
    out = ui.exclusion_summary(summary)
    assert out.explanation.tolist()[0] == "kept"
    assert out.explanation.tolist()[1].startswith("fewer notes and rests")
    assert out.explanation.tolist()[2] == ""


KNOBS = {"k": 5, "k_t": 0.8, "p": 0.95, "p_t": 1.2, "t": 1.5}


def test_sampling_configs_give_greedy_only_the_penalties():
    extras = {"min_p": 0.05, "typical_p": 1.0, "repetition_penalty": 1.2, "no_repeat_ngram": 4}
    greedy, top_k, top_p, temp = ui.sampling_configs(KNOBS, extras)
    assert (greedy.method, greedy.min_p, greedy.repetition_penalty, greedy.no_repeat_ngram) == (
        "greedy",
        0,
        1.2,
        4,
    )
    assert (top_k.k, top_k.temperature, top_k.min_p) == (5, 0.8, 0.05)
    assert (top_p.p, top_p.temperature) == (0.95, 1.2)
    assert (temp.method, temp.temperature, temp.no_repeat_ngram) == ("temperature", 1.5, 4)


def test_bad_sampling_knob_is_a_value_error():
    with pytest.raises(ValueError, match="temperature"):
        ui.sampling_configs({**KNOBS, "t": 0.0})


def test_memorization_threshold_and_warnings():
    assert ui.memorization_threshold(None) == 16
    assert ui.memorization_threshold({"memorized": 6.75}) == 16
    assert ui.memorization_threshold({"memorized": 20.0}) == 40
    row = {
        "notes": 10,
        "loops": True,
        "loop_period": 2.0,
        "memorized": 40,
        "memorized_piece": "bwv1.6:soprano",
    }
    warnings = ui.generation_warnings("greedy", row, threshold=16)
    assert warnings[0] == "greedy: ends in a loop (the same 2-note phrase 3 or more times in a row)."
    one = ui.generation_warnings("greedy", {"notes": 9, "loops": True, "loop_period": 1}, 16)
    assert one == [
        "greedy: ends in a loop (the same note 6 or more times in a row)."
    ]  # was "1-note phrase 3"
    assert "copies 40 consecutive tokens of the training piece bwv1.6:soprano" in warnings[1]
    assert ui.generation_warnings("top-p", {"notes": 3, "loops": False, "memorized": 15}, 16) == []
    assert "no notes at all" in ui.generation_warnings("x", {"notes": 0}, 16)[0]


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [(None, "{:.2f}", "–"), (float("nan"), "{:.2f}", "–"), (True, "{}", "yes"), (0.5, "{:.0%}", "50%")],
    ids=["none", "nan", "bool", "percent"],
)
def test_format_metric(value, fmt, text):
    assert ui.format_metric(value, fmt) == text


@dataclass
class Info:
    name: str
    shipped: bool
    preset: str | None = None
    tokenizer: str | None = None
    n_params: int | None = None
    metrics: dict | None = None
    error: str | None = None
    path: Path = Path("x")


def test_checkpoint_table_marks_broken_files():
    table = ui.checkpoint_table(
        [Info("bach", True, "bach", "event", 1000, {"test_perplexity": 7.5, "test_top1": 0.45}),
         Info("bad", False, error="corrupt")]
    )  # fmt: skip
    assert table.to_dict("records")[0] == {
        "name": "bach", "kind": "shipped", "preset": "bach", "tokenizer": "event", "parameters": 1000,
        "test perplexity": 7.5, "test top-1": 0.45, "status": "ok",
    }  # fmt: skip
    assert table.status.tolist() == ["ok", "broken"] and table.kind.tolist()[1] == "user run"


def test_melody_label_and_zip():
    melody = Melody("bwv1.6", "soprano", (), meta={"title": "Wie schön"})
    assert ui.melody_label(melody) == "bwv1.6 soprano: Wie schön"
    assert ui.melody_label(Melody("bwv2", "alto", ())) == "bwv2 alto"
    with zipfile.ZipFile(io.BytesIO(ui.zip_files({"a.mid": b"1", "b.musicxml": b"22"}))) as zf:
        assert {i.filename: i.file_size for i in zf.infolist()} == {"a.mid": 1, "b.musicxml": 2}


def _notes(*midis):
    names = {60: ("C", 4), 62: ("D", 4), 64: ("E", 4)}
    return [Event("note", 1.0, pitch=names[m][0], octave=names[m][1], midi=m, measure=1) for m in midis]


def test_melody_view_marks_the_primer_and_draws_sheet_music():
    view = ui.melody_view(_notes(60, 62, 64, 60), n_primer=2)
    assert view["roll"].part.tolist() == ["primer", "primer", "generated", "generated"]
    assert len(view["svg"]) == 1 and view["svg"][0].startswith("<svg") and view["audio"] is not None
    silent = ui.melody_view([Event("rest", 4.0, measure=1)])
    assert silent["audio"] is None and silent["roll"].empty


def test_every_chart_builds_valid_vega_lite():
    frame = ui.progress_frame([_step(1, 3.0), Progress("epoch", 1, 1, 1, 2.9, 3.1, 0.2, 0.5)], "r")
    roll = ui.melody_view(_notes(60, 62))["roll"]
    table = pd.DataFrame([{"method": "greedy", "pitch_range": 2.0, "kl_pc": None},
                          {"method": "Bach (held-out)", "pitch_range": 9.0, "kl_pc": 0.1}])  # fmt: skip
    tokens = pd.DataFrame({"method": ["greedy", "greedy"], "token": ["a", "b"], "rank": [1, 2],
                           "before": [0.6, 0.4], "after": [1.0, 0.0], "kept": [True, False]})  # fmt: skip
    charts = [
        *ui.training_charts(frame),
        ui.history_chart(ui.history_frame({"a": [{"epoch": 1, "val_loss": 2.0}]})),
        ui.length_chart(pd.DataFrame({"piece_id": ["x"], "voice": ["soprano"], "n_events": [40]}), 30, None),
        ui.piano_roll_chart(roll),
        ui.comparison_chart(table),
        ui.next_token_chart(tokens),
    ]
    for chart in charts:
        spec = chart.to_dict()  # raises on an invalid specification
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_next_run_name():
    assert ui.next_run_name("my-run-1", set()) == "my-run-2"
    assert ui.next_run_name("my-run-1", {"my-run-2", "my-run-3"}) == "my-run-4"
    assert ui.next_run_name("tiny", set()) == "tiny-2"
    assert ui.next_run_name("run9", set()) == "run-10"
    assert ui.next_run_name("42", set()) == "42-2"
