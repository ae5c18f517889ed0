"""The dashboard's pictures: altair charts, the long frames they draw, and a melody's sheet music and roll.

Plain functions beside the pages (no streamlit here), so tests can build every chart without a server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from bachlstm.music import piano_roll, to_audio, to_svg
from bachlstm.pitches import PITCH_CLASS_NAMES, midi_name

# The figures of the Sampling page's comparison chart (style.COLUMNS names): what a good value is.
STYLE_CHART = {
    "pitch classes vs Bach": "low",
    "transitions vs Bach": "low",
    "remote keys": "Bach-like",
    "ends on tonic": "Bach-like",
    "outside key": "Bach-like",
    "awkward intervals": "Bach-like",
    "inner rests": "Bach-like",
    "copied": "0",
}


# --------------------------------------------------------------------------------------------------
# Training page


def progress_frame(records: Sequence, run: str = "", max_points: int = 400) -> pd.DataFrame:
    """Long DataFrame (run, step, epoch, metric, value, panel) of Progress records for the live chart.

    Step records give the running train loss (thinned to about `max_points` so a long run stays cheap
    to redraw every second); epoch records give validation loss and accuracies.
    """
    steps = [r for r in records if r.kind == "step" and r.train_loss is not None]
    every = max(1, math.ceil(len(steps) / max_points))
    rows = [(r.step, r.epoch, "train loss", r.train_loss, "loss") for r in steps[::every]]
    if steps and (len(steps) - 1) % every:
        r = steps[-1]  # always show the newest point
        rows.append((r.step, r.epoch, "train loss", r.train_loss, "loss"))
    for r in records:
        if r.kind != "epoch":
            continue
        rows.append((r.step, r.epoch, "train loss (epoch)", r.train_loss, "loss"))
        rows.append((r.step, r.epoch, "val loss", r.val_loss, "loss"))
        rows.append((r.step, r.epoch, "val top-1", r.val_top1, "accuracy"))
        rows.append((r.step, r.epoch, "val top-5", r.val_top5, "accuracy"))
    frame = pd.DataFrame(rows, columns=["step", "epoch", "metric", "value", "panel"]).dropna()
    frame.insert(0, "run", run)
    return frame


def training_charts(frame: pd.DataFrame) -> tuple:
    """(loss chart, validation-accuracy chart) against optimizer steps, for two columns side by side."""
    steps = alt.X("step:Q", title="optimizer step", axis=alt.Axis(format="d", tickMinStep=1))

    def panel(data: pd.DataFrame, title: str, y):
        return (
            alt.Chart(data, title=title, height=300)
            .mark_line(point=alt.OverlayMarkDef(size=20, filled=True))
            .encode(
                x=steps,
                y=y,
                color=alt.Color("metric:N", title=None, legend=alt.Legend(orient="bottom")),
                tooltip=["run:N", "metric:N", "epoch:Q", "step:Q", alt.Tooltip("value:Q", format=".4f")],
            )
        )

    loss = panel(
        frame[frame.panel == "loss"],
        "Loss",
        alt.Y("value:Q", title="cross-entropy", scale=alt.Scale(zero=False)),
    )
    acc = panel(
        frame[frame.panel == "accuracy"],
        "Validation accuracy",
        alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
    )
    return loss, acc


def history_frame(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """Long DataFrame (run, epoch, metric, value) of checkpoint histories (meta["history"]) by run name."""
    rows = []
    for run, history in histories.items():
        for rec in history or []:
            for key, metric in (
                ("train_loss", "train loss"),
                ("val_loss", "val loss"),
                ("val_top1", "val top-1"),
            ):
                value = rec.get(key)
                if value is not None and rec.get("epoch") is not None:
                    rows.append((run, int(rec["epoch"]), metric, float(value)))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "value"])


def history_chart(frame: pd.DataFrame):
    """Runs overlaid: one panel per metric, epochs on x, one colour per run (altair)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run", legend=alt.Legend(orient="top")),
            strokeDash=alt.StrokeDash("run:N", legend=None),
            tooltip=["run", "metric", "epoch", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=210, height=200)
        .facet(column=alt.Column("metric:N", title=None))
        .resolve_scale(y="independent")
    )


SWEEP_MEASURES = {
    "best_val_loss": "best validation loss (per token)",
    "bits_per_note": "bits per note (test)",
}


def sweep_chart(table: pd.DataFrame, field_label: str, numeric: bool, log: bool = False):
    """Best validation loss (and bits per note where the run's evaluation gave them) against the swept
    value; columns value, label, run and the SWEEP_MEASURES. One point per finished run, joined by a
    line when the values are numbers (on a log axis for learning rates)."""
    if numeric:
        scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
        x = alt.X("value:Q", title=field_label, scale=scale)
    else:
        x = alt.X("label:N", title=field_label, sort=list(table["label"]))
    measures = [m for m in SWEEP_MEASURES if m in table and table[m].notna().any()]
    panels = [
        alt.Chart(table.dropna(subset=[m]), height=240, width=320)
        .mark_line(point=alt.OverlayMarkDef(size=80, filled=True))
        .encode(
            x=x,
            y=alt.Y(f"{m}:Q", title=SWEEP_MEASURES[m], scale=alt.Scale(zero=False)),
            tooltip=["run", "label", alt.Tooltip(f"{m}:Q", format=".4f")],
        )
        for m in measures
    ]
    return alt.hconcat(*panels) if len(panels) > 1 else panels[0]


# --------------------------------------------------------------------------------------------------
# Corpus page


def time_signature_chart(counts: pd.DataFrame, chosen: Sequence[str]):
    """Pieces per time-signature combination; combinations inside the chosen set highlighted."""
    frame = counts.copy()
    frame["selected"] = [
        all(ts in chosen for ts in label.split(" + ")) if chosen else True for label in frame.time_signatures
    ]
    return (
        alt.Chart(frame, title="Time signatures (every measure of every part)", height=alt.Step(22))
        .mark_bar()
        .encode(
            x=alt.X("n_pieces:Q", title="pieces"),
            y=alt.Y("time_signatures:N", sort="-x", title=None),
            color=alt.Color(
                "selected:N", scale=alt.Scale(domain=[True, False], range=["#4a6fa5", "#c8c8c8"])
            ),
            tooltip=["time_signatures", "n_pieces", "n_four_parts"],
        )
    )


def length_chart(lengths: pd.DataFrame, min_events: int | None, max_events: int | None):
    """Histogram of melody lengths (notes + rests) per voice, the chosen cut-offs drawn as red rules."""
    hist = (
        alt.Chart(lengths, title="Melody lengths, with your cut-offs", height=240)
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X("n_events:Q", bin=alt.Bin(step=5), title="notes + rests"),
            y=alt.Y("count():Q", title="melodies", stack=None),
            color=alt.Color("voice:N"),
        )
    )
    cuts = pd.DataFrame(
        [(v, label) for v, label in ((min_events, "min"), (max_events, "max")) if v],
        columns=["n_events", "cut"],
    )
    rules = (
        alt.Chart(cuts)
        .mark_rule(color="#c0392b", strokeWidth=2, strokeDash=[6, 3])
        .encode(x="n_events:Q", tooltip=["cut:N", "n_events:Q"])
    )
    return hist + rules


def key_chart(keys: pd.DataFrame):
    """Pieces per key, ordered around the circle of fifths, coloured by mode."""
    order = keys.sort_values(["key_sharps", "mode"]).key.tolist()
    return (
        alt.Chart(keys, title="Keys and modes", height=240)
        .mark_bar()
        .encode(
            x=alt.X("key:N", sort=order, title="key (flats on the left, sharps on the right)"),
            y=alt.Y("n_pieces:Q", title="pieces"),
            color=alt.Color(
                "mode:N", scale=alt.Scale(domain=["major", "minor"], range=["#e1a33b", "#4a6fa5"])
            ),
            tooltip=["key", "mode", "n_pieces"],
        )
    )


def ambitus_chart(table: pd.DataFrame):
    """Range per voice: the full range over all melodies (light) and the median melody's range (dark)."""
    rows = []
    for voice, g in table.dropna(subset=["lowest"]).groupby("voice", sort=True):
        rows.append((voice, "all melodies", g.lowest.min(), g.highest.max()))
        rows.append((voice, "median melody", g.lowest.median(), g.highest.median()))
    frame = pd.DataFrame(rows, columns=["voice", "range", "low", "high"])
    frame["from"] = [midi_name(int(round(v))) for v in frame.low]
    frame["to"] = [midi_name(int(round(v))) for v in frame.high]
    names = ",".join(f"'{name}'" for name in PITCH_CLASS_NAMES)  # the tooltips' spelling, on the axis too
    axis = alt.Axis(labelExpr=f"[{names}][datum.value % 12] + (floor(datum.value / 12) - 1)")
    return (
        alt.Chart(frame, title="Ambitus per voice", height=max(120, 36 * frame.voice.nunique()))
        .mark_bar(height=14)
        .encode(
            y=alt.Y("voice:N", title=None),
            x=alt.X("low:Q", title="pitch", scale=alt.Scale(zero=False), axis=axis),
            x2="high:Q",
            color=alt.Color(
                "range:N", scale=alt.Scale(range=["#c6d4ea", "#4a6fa5"]), legend=alt.Legend(orient="bottom")
            ),
            tooltip=["voice", "range", "from", "to"],
        )
    )


def bar_chart(frame: pd.DataFrame, x: str, y: str, title: str, sort=None, x_title: str | None = None):
    """A plain bar chart (pitch classes, durations) with tooltips."""
    return (
        alt.Chart(frame, title=title, height=220)
        .mark_bar(color="#4a6fa5")
        .encode(
            x=alt.X(f"{x}:N", sort=sort, title=x_title or x),
            y=alt.Y(f"{y}:Q", title=y),
            tooltip=list(frame.columns),
        )
    )


def zipf_chart(freq: pd.DataFrame):
    """Token frequency by rank on log-log axes (a straight line = Zipf's law)."""
    return (
        alt.Chart(freq, title="Token frequency by rank (log-log)", height=240)
        .mark_line(point=True)
        .encode(
            x=alt.X("rank:Q", scale=alt.Scale(type="log"), title="rank"),
            y=alt.Y("count:Q", scale=alt.Scale(type="log"), title="count"),
            color=alt.Color("type:N", title="token type"),
            detail=alt.Detail("tokenizer:N") if "tokenizer" in freq else alt.Undefined,
            tooltip=["rank", "token", "type", "count", alt.Tooltip("share:Q", format=".2%")],
        )
    )


def coverage_chart(coverage: pd.DataFrame):
    """Share of all tokens covered by the N most frequent token types, one line per tokenizer."""
    return (
        alt.Chart(coverage, title="Vocabulary coverage", height=240)
        .mark_line(point=True)
        .encode(
            x=alt.X("top_n:Q", scale=alt.Scale(type="log"), title="most frequent N token types"),
            y=alt.Y("coverage:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="tokens"),
            color=alt.Color("tokenizer:N"),
            tooltip=["tokenizer", "vocab_size", "top_n", alt.Tooltip("coverage:Q", format=".1%")],
        )
    )


def limits_label(lo, hi) -> str:
    """'all lengths', '30..65 events', '30..∞ events' for a (min, max) pair where None/NaN means no limit."""
    lo = None if lo is None or pd.isna(lo) else int(lo)
    hi = None if hi is None or pd.isna(hi) else int(hi)
    if lo is None and hi is None:
        return "all lengths"
    return f"{lo or 0}..{'∞' if hi is None else hi} events"


def windows_chart(windows: pd.DataFrame):
    """Training windows (stride 1) against sequence length, with and without the length limits."""
    frame = windows.copy()
    frame["melodies"] = [limits_label(lo, hi) for lo, hi in zip(frame.min_events, frame.max_events)]
    return (
        alt.Chart(frame, title="Training windows vs sequence length", height=240)
        .mark_line(point=True)
        .encode(
            x=alt.X("seq_len:Q", title="sequence length (tokens)"),
            y=alt.Y("n_windows:Q", title="windows (stride 1)"),
            color=alt.Color("melodies:N", title=None),
            tooltip=[
                "seq_len",
                "melodies",
                "n_melodies",
                "n_windows",
                alt.Tooltip("padding_share:Q", format=".0%"),
            ],
        )
    )


# --------------------------------------------------------------------------------------------------
# Sampling page


def melody_view(events: Sequence, n_primer: int = 0, title: str = "", page_width: int = 1000) -> dict:
    """What a column shows: sheet music (SVG pages, narrow), audio (None for silence), piano-roll frame."""
    roll = piano_roll(events)
    roll["part"] = ["primer" if i < n_primer else "generated" for i in roll["index"]]
    return {
        "svg": to_svg(events, title=title, page_width=page_width, all_pages=True) if events else None,
        "audio": to_audio(events) if events else None,
        "roll": roll,
    }


def piano_roll_chart(roll: pd.DataFrame, title: str = ""):
    """Notes as horizontal bars: time (quarters) on x, pitch on y; the primer greyed."""
    return (
        alt.Chart(roll, title=title, height=160)
        .mark_bar(cornerRadius=2)
        .encode(
            x=alt.X("start:Q", title="quarters"),
            x2="end:Q",
            y=alt.Y("midi:Q", title="MIDI pitch", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=["primer", "generated"], range=["#b0b0b0", "#4a6fa5"]),
                legend=None,
            ),
            tooltip=["pitch", "start", "duration", "part"],
        )
    )


def style_chart(style):
    """One small bar chart per figure of a style.StyleReport, Bach validation first in its own colour,
    with the 95% interval as a line where there is one."""
    rows = [
        (row.label, f"{name} ({good})", iv.value, iv.low, iv.high)
        for row in style.rows
        for name, good in STYLE_CHART.items()
        if name in row.figures and not math.isnan(row.figures[name].value)
        for iv in [row.figures[name]]
    ]
    frame = pd.DataFrame(rows, columns=["method", "figure", "value", "low", "high"])
    methods = list(dict.fromkeys(frame.method))
    palette = ["#4a6fa5", "#e1a33b", "#5aa469", "#c0392b", "#8e6bb3", "#7f8c8d"]
    colours = [
        ("#2c2c2c" if m.startswith("Bach") else palette[i % len(palette)]) for i, m in enumerate(methods)
    ]
    x = alt.X("method:N", sort=methods, title=None, axis=alt.Axis(labels=False, ticks=False))
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("value:Q", title=None),
            color=alt.Color("method:N", sort=methods, scale=alt.Scale(domain=methods, range=colours)),
            tooltip=[
                "method",
                "figure",
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("low:Q", format=".3f"),
                alt.Tooltip("high:Q", format=".3f"),
            ],  # fmt: skip
        )
    )
    whiskers = alt.Chart().mark_rule(color="black").encode(x=x, y="low:Q", y2="high:Q")
    return (
        alt.layer(bars, whiskers, data=frame)
        .properties(width=130, height=130)
        .facet(facet=alt.Facet("figure:N", title=None), columns=4)
        .resolve_scale(y="independent")
    )


def next_token_chart(frame: pd.DataFrame):
    """Per method: the model's probabilities (wide bars; red = cut) and what it samples from (narrow bars)."""
    order = frame.drop_duplicates("token").sort_values("rank").token.tolist()
    tooltip = ["token", alt.Tooltip("before:Q", format=".3f"), alt.Tooltip("after:Q", format=".3f"), "kept"]
    base = alt.Chart().encode(x=alt.X("token:N", sort=order, title=None), tooltip=tooltip)
    before = base.mark_bar(opacity=0.35).encode(
        y=alt.Y("before:Q", title="probability"),
        color=alt.Color(
            "kept:N", scale=alt.Scale(domain=[True, False], range=["#4a6fa5", "#c0392b"]), title="kept"
        ),
    )
    after = base.mark_bar(color="#1f3b63", width=alt.RelativeBandSize(0.4)).encode(y="after:Q")
    return (
        alt.layer(before, after, data=frame)
        .properties(width=260, height=180)
        .facet(facet=alt.Facet("method:N", title=None, sort=list(dict.fromkeys(frame.method))), columns=2)
        .resolve_scale(y="independent")  # a flat distribution stays visible beside greedy's single 1.0
    )
