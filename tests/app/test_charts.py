"""app_pages/charts.py: the frames the charts draw, a melody's pictures, every chart valid Vega-Lite."""

from __future__ import annotations

import jsonschema
import pandas as pd
import pytest
from altair.vegalite.v6.schema.core import load_schema

from app_pages import charts
from app_pages.i18n import using
from bachlstm.analysis.style import Interval, SharedRun, StyleReport, StyleRow
from bachlstm.music.events import Event
from bachlstm.music.render import size_of
from bachlstm.training.loop import Progress
from tests.builders import n, step_progress

VEGA_LITE = load_schema()


def test_progress_frame_thins_steps_but_keeps_the_newest_and_all_epochs():
    records = [step_progress(i, 10.0 - i / 100) for i in range(1, 1001)]
    records.append(Progress("epoch", 1, 1000, 1000, train_loss=2.0, val_loss=2.5, val_top1=0.4, val_top5=0.8))
    frame = charts.progress_frame(records, run="r", max_points=100)
    train = frame[frame.metric == "train loss"]
    assert len(train) == 101 and train.step.iloc[-1] == 1000  # every 10th step + the newest
    val = frame[frame.metric == "val loss"]
    assert val.value.tolist() == [2.5] and set(frame.run) == {"r"}
    assert set(frame[frame.panel == "accuracy"].metric) == {"val top-1", "val top-5"}


def test_history_frame_skips_missing_values():
    frame = charts.history_frame(
        {"a": [{"epoch": 1, "train_loss": 3.0, "val_loss": None, "val_top1": 0.1}], "b": []}
    )
    assert frame.values.tolist() == [["a", 1, "train loss", 3.0], ["a", 1, "val top-1", 0.1]]


def test_limits_label():
    assert charts.limits_label(None, float("nan")) == "all lengths"
    assert charts.limits_label(30, 65) == "30..65 events"
    assert charts.limits_label(30.0, None) == "30..∞ events"
    assert charts.limits_label(None, 65) == "0..65 events"


def _notes(*midis):
    return [n(m) for m in midis]


def test_rolls_of_one_result_share_their_axes():
    rolls = [
        charts.melody_view(_notes(62, 64))["roll"],
        charts.melody_view(_notes(60, 64, 64, 60, 62))["roll"],
    ]
    x, y = charts.roll_domains([*rolls, charts.melody_view([])["roll"]])
    assert (x, y) == ([0.0, 5.0], [59, 65])  # five quarter notes; a semitone of room below and above
    specs = [charts.piano_roll_chart(r, x_domain=x, y_domain=y) for r in rolls]
    assert {str(s["encoding"]["x"]["scale"]) for s in specs} == {str({"domain": [0.0, 5.0], "nice": False})}
    assert all(s["encoding"]["y"]["scale"] == {"domain": [59, 65]} for s in specs)
    assert charts.roll_domains([]) == (None, None)


def test_next_token_chart_is_one_chart_per_method_as_wide_as_its_column():
    frame = pd.DataFrame(
        {"method": ["greedy", "greedy", "top-k", "top-k"], "token": ["C4", "D4"] * 2, "rank": [0, 1] * 2,
         "before": [0.6, 0.4] * 2, "after": [1.0, 0.0, 0.6, 0.4], "kept": [True, False, True, True]}
    )  # fmt: skip
    specs = charts.next_token_chart(frame)
    assert [s["title"] for s in specs] == ["greedy", "top-k"]
    assert all(s["width"] == "container" for s in specs)
    assert specs[1]["transform"] == [{"filter": {"field": "method", "equal": "top-k"}}]
    for lang, words in (("de", ("ja", "nein")), ("en", ("yes", "no"))):  # kept or cut, in words
        with using(lang):
            legend = charts.next_token_chart(frame)[0]["layer"][0]["encoding"]["color"]["legend"]
        assert legend["labelExpr"] == f'datum.value ? "{words[0]}" : "{words[1]}"'


def test_the_primer_is_grey_in_the_score():
    from bachlstm.music.render import MARKED_COLOUR

    svg = charts.melody_view(_notes(60, 62, 64, 60), n_primer=2)["svg"][0]
    assert svg.count(f'class="note" color="{MARKED_COLOUR}"') == 2
    assert MARKED_COLOUR not in charts.melody_view(_notes(60, 62, 64, 60))["svg"][0]


def test_melody_view_marks_the_primer_and_draws_sheet_music():
    view = charts.melody_view(_notes(60, 62, 64, 60), n_primer=2)
    assert view["roll"]["part"].to_pylist() == ["primer", "primer", "generated", "generated"]
    assert view["roll"].schema == charts.ROLL_SCHEMA
    assert size_of(view) == len(view["svg"][0]) + view["roll"].nbytes  # what the render cache counts
    assert len(view["svg"]) == 1 and view["svg"][0].startswith("<svg")
    silent = charts.melody_view([Event("rest", 4.0, measure=1)])
    assert len(silent["roll"]) == 0 and len(silent["svg"]) == 1  # a bar of rest is still engraved
    assert charts.melody_view([])["svg"] == []


def valid_vega_lite(spec: dict, data) -> None:
    """Raise unless the plain spec with its data (a DataFrame or an Arrow table) is valid Vega-Lite."""
    rows = data.to_pylist() if hasattr(data, "to_pylist") else data.to_dict("records")
    jsonschema.validate({**spec, "data": {"values": rows}}, VEGA_LITE)


def test_every_chart_builds_valid_vega_lite():
    records = [step_progress(1, 3.0), Progress("epoch", 1, 1, 1, 2.9, 3.1, 0.2, 0.5)]
    frame = charts.progress_frame(records, "r")
    roll = charts.melody_view(_notes(60, 62))["roll"]
    bach = StyleRow(
        "Bach (validation)", 3, {"ends on tonic": Interval(0.9, 0.8, 1.0)}, SharedRun(9, "a", 0, 0)
    )
    greedy = StyleRow(
        "greedy",
        1,
        {"ends on tonic": Interval(0.0, 0.0, 0.0), "copied": Interval(float("nan"), 0, 0)},
        SharedRun(0, None, 0, 0),
    )
    style = StyleReport([bach, greedy], (0.01, 0.2), 9, 32)
    tokens = pd.DataFrame({"method": ["greedy", "greedy"], "token": ["a", "b"], "rank": [1, 2],
                           "before": [0.6, 0.4], "after": [1.0, 0.0], "kept": [True, False]})  # fmt: skip
    sweep = pd.DataFrame({"run": ["s-0.01", "s-0.003"], "value": [0.01, 0.003], "label": ["0.01", "0.003"],
                          "best_val_loss": [2.1, 2.3], "bits_per_note": [5.1, None]})  # fmt: skip
    built = [
        charts.history_chart(charts.history_frame({"a": [{"epoch": 1, "val_loss": 2.0}]})),
        charts.length_chart(
            pd.DataFrame({"piece_id": ["x"], "voice": ["soprano"], "n_events": [40]}), 30, None
        ),
        charts.sweep_chart(sweep, "Learning rate", numeric=True, log=True),
        charts.sweep_chart(sweep.drop(columns="bits_per_note"), "sizes", numeric=False),
    ]
    for chart in built:
        spec = chart.to_dict()  # raises on an invalid specification
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    # the charts of the hot paths (every Generate, every second of a run) are plain dicts
    plain = [
        *charts.training_charts(frame),
        (roll, charts.piano_roll_chart(roll)),
        *((tokens, spec) for spec in charts.next_token_chart(tokens)),
        (charts.style_frame(style), charts.style_chart(charts.style_frame(style))),
    ]
    for data, spec in plain:
        valid_vega_lite(spec, data)
    loss, acc = charts.training_charts(frame)
    assert set(loss[0].metric) == {"train loss", "train loss (epoch)", "val loss"}
    assert set(acc[0].metric) == {"val top-1", "val top-5"}
    spec = charts.piano_roll_chart(roll)
    assert spec["encoding"]["color"]["scale"]["domain"] == ["primer", "generated"]
    with pytest.raises(jsonschema.ValidationError):
        valid_vega_lite({**spec, "mark": "no-such-mark"}, roll)  # the check can fail


def test_a_chart_without_points_is_not_drawn_as_an_empty_frame():
    """Before the first epoch the validation-accuracy panel has no point: no spec, the page says why."""
    records = [step_progress(1, 3.0), step_progress(2, 2.9)]
    loss, acc = charts.training_charts(charts.progress_frame(records, "r"))
    assert loss[1] is not None and len(loss[0]) == 2
    assert acc[1] is None and acc[0].empty


def test_figures_that_are_zero_everywhere_are_said_not_charted():
    """The new-user trial: "copied (0)" drew an empty panel (an axis of 0.000000) when nothing was copied."""
    zero, some = Interval(0.0, 0.0, 0.0), Interval(0.0, 0.0, 0.25)
    rows = [
        StyleRow("Bach (validation)", 3, {"copied": zero, "remote keys": some}, SharedRun(9, "a", 0, 0)),
        StyleRow("greedy", 1, {"copied": zero, "remote keys": zero}, SharedRun(0, None, 0, 0)),
    ]
    frame = charts.style_frame(StyleReport(rows, (0.01, 0.2), 9, 32))
    assert charts.zero_figures(frame) == ["copied"]  # remote keys has an interval above 0: drawn


def test_style_chart_puts_bach_first_in_its_own_colour_with_interval_lines():
    bach = StyleRow("Bach (validation)", 3, {"copied": Interval(0.0, 0.0, 0.0)}, SharedRun(9, "a", 0, 0))
    nan = Interval(float("nan"), 0.0, 0.0)
    rows = [
        StyleRow(label, 1, {"ends on tonic": iv, "copied": nan}, SharedRun(0, None, 0, 0))
        for label, iv in [("greedy", Interval(0.5, 0.4, 0.6)), ("top-k (k=8)", Interval(0.25, 0.125, 0.375))]
    ]
    frame = charts.style_frame(StyleReport([bach, *rows], (0.01, 0.2), 9, 32))
    assert frame.values.tolist() == [
        ["Bach (validation)", "copied (0)", 0.0, 0.0, 0.0],
        ["greedy", "ends on tonic (Bach-like)", 0.5, 0.4, 0.6],
        ["top-k (k=8)", "ends on tonic (Bach-like)", 0.25, 0.125, 0.375],
    ]  # a NaN figure (not measured) is left out
    spec = charts.style_chart(frame)
    bars, whiskers = spec["spec"]["layer"]
    scale = bars["encoding"]["color"]["scale"]
    assert scale == {
        "domain": ["Bach (validation)", "greedy", "top-k (k=8)"],
        "range": ["#2c2c2c", "#e1a33b", "#5aa469"],
    }
    assert bars["encoding"]["x"]["sort"] == scale["domain"] and spec["facet"]["field"] == "figure"
    assert [t["field"] for t in bars["encoding"]["tooltip"]] == ["method", "figure", "value", "low", "high"]
    assert (whiskers["encoding"]["y"]["field"], whiskers["encoding"]["y2"]["field"]) == ("low", "high")


def test_a_students_melodies_are_dots_on_the_pooled_bars():
    rows = [
        StyleRow(label, 64, {"ends on tonic": iv}, SharedRun(0, None, 0, 0))
        for label, iv in [("greedy", Interval(0.0, 0.0, 0.0)), ("top-p (p=0.9)", Interval(0.9, 0.8, 0.95))]
    ]
    frame = charts.style_frame(StyleReport(rows, (0.01, 0.2), 9, 32))
    own = {"top-p (p=0.9)": {"ends on tonic": 1.0, "inner rests": 2.0}}  # inner rests: not charted here
    both = charts.with_own_points(frame, own)
    assert both.kind.tolist() == ["pooled", "pooled", charts.OWN]
    assert both.iloc[-1][["method", "figure", "value"]].tolist() == [
        "top-p (p=0.9)", "ends on tonic (Bach-like)", 1.0
    ]  # fmt: skip
    bars, whiskers, dots = charts.style_chart(both)["spec"]["layer"]
    assert bars["transform"] == whiskers["transform"] == [{"filter": {"field": "kind", "equal": "pooled"}}]
    assert dots["transform"] == [{"filter": {"field": "kind", "equal": charts.OWN}}]
    assert dots["mark"]["type"] == "point" and dots["encoding"]["x"] == bars["encoding"]["x"]
    assert len(charts.style_chart(frame)["spec"]["layer"]) == 2  # without a melody of one's own: bars only


def test_ambitus_chart_spells_pitches_one_way():
    table = pd.DataFrame({"voice": ["soprano", "soprano"], "lowest": [63.0, 61.0], "highest": [70.0, 70.0]})
    spec = charts.ambitus_chart(table).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [(r["range"], r["from"], r["to"]) for r in rows] == [
        ("all melodies", "C♯4", "B♭4"),
        ("median melody", "D4", "B♭4"),
    ]
    expr = spec["encoding"]["x"]["axis"]["labelExpr"]
    assert expr.startswith("['C','C♯','D','E♭','E','F','F♯','G','G♯','A','B♭','B'][datum.value % 12]")
    with using("de"):  # German names: B is B-flat, H is B natural
        spec = charts.ambitus_chart(table).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [(r["voice"], r["range"], r["from"], r["to"]) for r in rows] == [
        ("Sopran", "alle Melodien", "Cis4", "B4"),
        ("Sopran", "mittlere Melodie (Median)", "D4", "B4"),
    ]
    expr = spec["encoding"]["x"]["axis"]["labelExpr"]
    assert expr.startswith("['C','Cis','D','Es','E','F','Fis','G','Gis','A','B','H'][datum.value % 12]")


def test_sweep_chart_adds_bits_per_note_only_where_runs_report_them():
    table = pd.DataFrame(
        {"run": ["a", "b"], "value": [3, 8], "label": ["3", "8"], "best_val_loss": [2.0, 1.9]}
    )
    single = charts.sweep_chart(table, "Embedding dimension", numeric=True).to_dict()
    assert single["encoding"]["y"]["field"] == "best_val_loss" and "hconcat" not in single
    both = charts.sweep_chart(table.assign(bits_per_note=[5.2, 4.9]), "Embedding", numeric=True).to_dict()
    assert [p["encoding"]["y"]["field"] for p in both["hconcat"]] == ["best_val_loss", "bits_per_note"]


def test_inside_charts_build_valid_vega_lite_on_one_time_axis():
    import numpy as np

    from app_pages import inside_charts
    from bachlstm.analysis.embeddings import embedding_view
    from bachlstm.reports.inspection import inspect_melody
    from tests.builders import EVENTS, Ckpt, inspection_model

    model, tok = inspection_model("event", embedding_dim=3)
    ins = inspect_melody(Ckpt(model, tok), EVENTS)
    steps, bars, notes = ins.timeline.steps, ins.timeline.bar_lines, ins.timeline.notes
    values = ins.activations.layers[0].signal("cell")
    frame = inside_charts.heatmap_frame(steps, values, [0, 3])
    assert len(frame) == 2 * len(steps) and frame.unit.tolist()[:2] == [0, 3]
    view = embedding_view(model, tok)
    built = [
        inside_charts.surprise_roll(ins.surprise.notes, bars, 9.0),
        inside_charts.plain_roll(notes, bars, 9.0),
        inside_charts.unit_heatmap(frame, "cell state c", (None, None), bars, 9.0),
        inside_charts.unit_trace(steps, values[:, 0], "unit 0", bars, 9.0),
        inside_charts.embedding_scatter(view.frame, "x", "z", "pitch_class", "pitch class"),
        inside_charts.embedding_legend(view.frame, "pitch_class"),
    ]
    for chart in built:
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        # every time-based chart spans the melody exactly: 0 to its end (9 quarters)
        layers = spec.get("layer", [])
        if layers and layers[0]["encoding"]["x"]["field"] == "start":
            assert layers[0]["encoding"]["x"]["scale"]["domain"] == [0, 9.0]
    assert np.isfinite(frame.value).all()
    # the legend fits a phone's column: a grid of at most LEGEND_WIDTH pixels, every pitch class in it
    legend = inside_charts.embedding_legend(view.frame, "pitch_class").to_dict()
    assert legend["width"] <= inside_charts.LEGEND_WIDTH
    names = {row["colour"] for row in legend["datasets"][legend["data"]["name"]]}
    assert names == set(view.frame.pitch_class.astype("string").fillna(inside_charts.NO_VALUE))


@pytest.mark.parametrize("n", [1, 10, 17, 20, 21, 40, 64])
def test_embedding_colours_never_repeat_within_a_legend(n):
    from app_pages.inside_charts import NO_VALUE, _coloured, distinct_colours

    assert len(set(distinct_colours(n))) == n
    frame = pd.DataFrame({"kind": [f"v{i}" for i in range(n)] + [None]})
    data, scale = _coloured(frame, "kind")
    assert scale.domain[-1] == NO_VALUE and len(set(scale.range)) == len(scale.domain) == n + 1


def test_embedding_numbers_colour_in_numeric_order_and_the_readers_notation():
    from app_pages.i18n import using
    from app_pages.inside_charts import _coloured

    frame = pd.DataFrame({"duration": [4.0, 0.25, None, 1.5, 0.25]})
    with using("de"):
        data, scale = _coloured(frame, "duration")
        assert data.colour.tolist() == ["4", "0,25", "keine", "1,5", "0,25"]
        assert scale.domain == ["0,25", "1,5", "4", "keine"]  # 0,25 before 1,5 before 4; none last
    with using("en"):
        assert _coloured(frame, "duration")[1].domain == ["0.25", "1.5", "4", "none"]


def test_every_chart_gets_the_readers_number_format_and_room_for_long_labels():
    from app_pages.charts import localized

    spec = {"mark": "bar", "config": {"legend": {"labelLimit": 100}}}
    with using("de"):
        shown = localized(spec)
        chart = localized(charts.bar_chart(pd.DataFrame({"x": ["a"], "n": [1000]}), "x", "n"))
    assert shown["config"]["locale"]["number"]["decimal"] == ","
    assert shown["config"]["locale"]["number"]["thousands"] == "."
    assert shown["config"]["legend"] == {"labelLimit": 100, "titleLimit": 320}  # the chart's own wins
    assert "locale" not in spec.get("config", {})  # the cached spec is not changed
    config = chart.to_dict()["config"]  # validates against the Vega-Lite schema
    assert config["locale"]["number"]["decimal"] == "," and config["axis"]["titleLimit"] == 0
    with using("en"):
        assert localized(spec)["config"]["locale"]["number"]["decimal"] == "."


def test_long_titles_become_lines_and_long_legend_labels_two_lines_for_narrow_columns():
    from app_pages.charts import LEGEND_LINES, PADDING, localized, wrapped

    assert wrapped("Tonart (B-Vorzeichen oben, Kreuze unten)") == [
        "Tonart (B-Vorzeichen",
        "oben, Kreuze unten)",
    ]
    assert wrapped("Fenster (Schrittweite 1)") == ["Fenster", "(Schrittweite 1)"]  # even, not "1)" alone
    assert wrapped("Stücke") == "Stücke"
    spec = {
        "mark": "bar",
        "encoding": {
            "x": {"field": "n", "type": "quantitative", "title": "die N häufigsten Token-Arten"},
            "color": {"field": "c", "type": "nominal"},
            "fill": {"value": "red"},  # a fixed colour has no legend to give labels
        },
    }
    with using("de"):
        shown = localized(spec)
        chart = localized(
            charts.ambitus_chart(pd.DataFrame({"voice": ["soprano"], "lowest": [60], "highest": [72]}))
        )
    assert shown["encoding"]["x"]["title"] == ["die N häufigsten", "Token-Arten"]
    assert shown["encoding"]["color"]["legend"] == {"labelExpr": LEGEND_LINES}
    assert shown["encoding"]["fill"] == {"value": "red"}
    assert shown["padding"] == PADDING
    assert spec["encoding"]["x"]["title"] == "die N häufigsten Token-Arten"  # the cached spec is not changed
    drawn = chart.to_dict()  # validates against the Vega-Lite schema
    assert drawn["encoding"]["color"]["legend"]["labelExpr"] == LEGEND_LINES and drawn["padding"] == PADDING
