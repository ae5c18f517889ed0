"""The dashboard's pictures: altair charts, plain Vega-Lite specs, the frames they draw, a melody's views.

Plain functions beside the pages (no streamlit here), so tests can build every chart without a server.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence

import altair as alt
import pandas as pd
import pyarrow as pa

from app_pages.i18n import N_, current_language, percent_sign, translator
from app_pages.messages import method_label, mode_words, token_type_words, voice_words
from bachlstm.music.names import key_label, pitch_class_label, pitch_name
from bachlstm.music.render import to_svg
from bachlstm.music.scores import piano_roll

_ = translator(__name__)

# d3-format number locales (Vega-Lite's config.locale): axes, tooltips and labels in the reader's format
# (a German page showed "1,000" and "0.15" on its charts beside "1.779" and "19,64" in its text).
NUMBER_LOCALES = {  # a chart's ".0%" as i18n.percent writes it: 50 % on German pages
    "de": {
        "decimal": ",",
        "thousands": ".",
        "grouping": [3],
        "currency": ["", "\u00a0€"],
        "percent": percent_sign("de"),
    },
    "en": {
        "decimal": ".",
        "thousands": ",",
        "grouping": [3],
        "currency": ["$", ""],
        "percent": percent_sign("en"),
    },
}
# A legend label longer than 18 letters in two lines, broken at its last space within them (Vega draws an
# array as lines): "mittlere Melodie (Median)" reached past an 800 px laptop's ~230 px column.
LEGEND_LINES = (
    "length(datum.label) > 18"
    " ? split(replace(datum.label, regexp('^(.{1,18}) '), '$1\\n'), '\\n') : datum.label"
)
# Room for German labels and titles: Vega cuts a legend label at 160 px and an axis title at its axis
# ("Validierungs-Lo…", "mittlere…"); a chart's own axis or legend setting still wins.
LABEL_ROOM = {
    "legend": {"labelLimit": 320, "titleLimit": 320},
    "axis": {"labelLimit": 240, "titleLimit": 0},  # 0: a title as long as it is (lines: `wrapped`)
}
# A chart in a ~230 px column (an 800 px laptop, sidebar open): titles longer than this many letters are
# drawn as lines, legends in one column; the padding keeps a y title's and the top tick label's edge in view
# (Vega drew them 1-2 px past the chart's box: "Tonart (B-Vorz…" cut on its left).
TITLE_LINE = 22
PADDING = {"left": 6, "right": 6, "top": 6, "bottom": 6}  # an object: Streamlit adds its own to it


def wrapped(text: str, width: int = TITLE_LINE) -> str | list[str]:
    """The text as lines of about `width` letters or fewer, as even as they go, broken between words; short
    text stays one string."""
    if len(text) <= width:
        return text
    fewest = math.ceil(len(text) / width)
    for limit in range(math.ceil(len(text) / fewest), len(text) + 1):  # the shortest even lines that do
        lines: list[str] = []
        for word in text.split(" "):
            if lines and len(lines[-1]) + 1 + len(word) <= limit:
                lines[-1] += " " + word
            else:
                lines.append(word)
        if len(lines) <= fewest:
            break
    return lines if len(lines) > 1 else text


UNSET = alt.Undefined
LEGEND_CHANNELS = ("color", "fill", "stroke", "shape", "size", "opacity", "strokeDash")


def _narrow(node) -> None:
    """Every long title of the spec (a dict or altair object, changed in place) as lines, every legend's long
    labels too (Vega-Lite's config has no legend labelExpr, so each channel's legend gets it)."""
    if isinstance(node, alt.SchemaBase):
        node = node._kwds
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                node[key] = wrapped(value)
            elif key in LEGEND_CHANNELS and isinstance(value, dict | alt.SchemaBase):
                channel = value._kwds if isinstance(value, alt.SchemaBase) else value
                legend = channel.get("legend", alt.Undefined)
                if all(channel.get(k, alt.Undefined) is alt.Undefined for k in ("field", "shorthand")):
                    pass  # a fixed colour: no legend
                elif legend is alt.Undefined:
                    channel["legend"] = {"labelExpr": LEGEND_LINES}
                elif isinstance(legend, dict):
                    legend.setdefault("labelExpr", LEGEND_LINES)
                elif isinstance(legend, alt.Legend) and legend._kwds.get("labelExpr") in (
                    None,
                    alt.Undefined,
                ):
                    legend._kwds["labelExpr"] = LEGEND_LINES
                _narrow(value)
            elif key not in ("data", "datasets"):
                _narrow(value)
    elif isinstance(node, list):
        for item in node:
            _narrow(item)


def localized(chart):
    """The chart (altair or a Vega-Lite dict) with numbers in the page's language and room for long labels
    (titles in lines, legends in one column, a padding): every chart a page draws passes through here."""
    extra = {"locale": {"number": NUMBER_LOCALES[current_language()]}}
    if isinstance(chart, dict):
        config = chart.get("config", {})
        extra |= {k: {**room, **config.get(k, {})} for k, room in LABEL_ROOM.items()}
        chart = copy.deepcopy(chart)  # the page's spec may be cached
        _narrow(chart)
        return {"padding": PADDING, **chart, "config": {**config, **extra}}
    chart = chart.copy(deep=True, ignore=["data"])
    config = chart.config.to_dict() if chart.config is not alt.Undefined else {}
    extra |= {k: {**room, **config.get(k, {})} for k, room in LABEL_ROOM.items()}
    chart.config = alt.Config(**{**config, **extra})
    _narrow(chart)
    if chart.padding is alt.Undefined:
        chart.padding = PADDING
    return chart


# The figures of the Sampling page's comparison chart (style.COLUMNS names): what a good value is.
STYLE_CHART = {
    "pitch classes vs Bach": N_("low"),
    "transitions vs Bach": N_("low"),
    "remote keys": N_("Bach-like"),
    "ends on tonic": N_("Bach-like"),
    "outside key": N_("Bach-like"),
    "awkward intervals": N_("Bach-like"),
    "inner rests": N_("Bach-like"),
    "copied": "0",
}


# Charts drawn on every Generate or every second of a live run are plain Vega-Lite dictionaries, not
# altair objects: building and validating an altair chart took 16-60 ms of server CPU each (measured:
# four piano rolls 0.18 s, the comparison chart 0.23 s), more than generating the music.


# Tooltip titles of the plain Vega-Lite specs' fields (a field without one showed its code name).
TOOLTIP_TITLES = {
    "run": N_("run"),
    "metric": N_("measure"),
    "epoch": N_("epoch"),
    "step": N_("optimizer step"),
    "value": N_("value"),
    "pitch": N_("pitch"),
    "start": N_("start (quarters)"),
    "duration": N_("duration (quarters)"),
    "part_words": N_("part"),
}


def _tooltip(*fields: tuple[str, str] | tuple[str, str, str]) -> list[dict]:
    """Vega-Lite tooltip entries from (field, type[, number format]), titled in the page's language."""
    return [
        {
            "field": f[0],
            "type": f[1],
            **({"title": _(TOOLTIP_TITLES[f[0]])} if f[0] in TOOLTIP_TITLES else {}),
            **({"format": f[2]} if len(f) > 2 else {}),
        }
        for f in fields
    ]


# --------------------------------------------------------------------------------------------------
# Training page


def progress_frame(records: Sequence, run: str = "", max_points: int = 400) -> pd.DataFrame:
    """Long DataFrame (run, step, epoch, metric, value, panel) of Progress records for the live chart.

    Step records give the running train loss (thinned to about `max_points` so a long run stays cheap
    to redraw every second); epoch records give validation loss and accuracies.
    """
    steps = [r for r in records if r.kind == "step" and r.train_loss is not None]
    every = max(1, math.ceil(len(steps) / max_points))
    train, train_epoch, val = _("train loss"), _("train loss (epoch)"), _("val loss")
    top1, top5 = _("val top-1"), _("val top-5")
    rows = [(r.step, r.epoch, train, r.train_loss, "loss") for r in steps[::every]]
    if steps and (len(steps) - 1) % every:
        r = steps[-1]  # always show the newest point
        rows.append((r.step, r.epoch, train, r.train_loss, "loss"))
    for r in records:
        if r.kind != "epoch":
            continue
        rows.append((r.step, r.epoch, train_epoch, r.train_loss, "loss"))
        rows.append((r.step, r.epoch, val, r.val_loss, "loss"))
        rows.append((r.step, r.epoch, top1, r.val_top1, "accuracy"))
        rows.append((r.step, r.epoch, top5, r.val_top5, "accuracy"))
    frame = pd.DataFrame(rows, columns=["step", "epoch", "metric", "value", "panel"]).dropna()
    frame.insert(0, "run", run)
    return frame


def training_charts(frame: pd.DataFrame) -> tuple:
    """((data, spec) loss chart, (data, spec) validation-accuracy chart) against optimizer steps; spec is
    None for a panel without a point yet (drawn, it is an empty frame: the page says when one comes)."""

    def panel(data: pd.DataFrame, title: str, y: dict) -> tuple[pd.DataFrame, dict | None]:
        if data.empty:
            return data, None
        spec = {
            "title": title,
            "height": 300,  # the plot's own: with Vega's default "fit" the title was drawn above the chart
            "autosize": {"type": "fit-x", "contains": "padding"},
            "mark": {"type": "line", "point": {"size": 20, "filled": True}},
            "encoding": {
                "x": {
                    "field": "step",
                    "type": "quantitative",
                    "title": _("optimizer step"),
                    "axis": {"format": "d", "tickMinStep": 1},
                },
                "y": {"field": "value", "type": "quantitative", **y},
                "color": {
                    "field": "metric",
                    "type": "nominal",
                    "title": None,
                    "legend": {"orient": "bottom", "columns": 1},  # a row, then two columns: cut at 800 px
                },
                "tooltip": _tooltip(
                    ("run", "nominal"),
                    ("metric", "nominal"),
                    ("epoch", "quantitative"),
                    ("step", "quantitative"),
                    ("value", "quantitative", ".4f"),
                ),
            },
        }
        return data, spec

    loss = panel(
        frame[frame.panel == "loss"], _("Loss"), {"title": _("cross-entropy"), "scale": {"zero": False}}
    )
    acc = panel(
        frame[frame.panel == "accuracy"],
        _("Validation accuracy"),
        {"title": _("accuracy"), "scale": {"domain": [0, 1]}},
    )
    return loss, acc


def history_frame(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """Long DataFrame (run, epoch, metric, value) of checkpoint histories (meta["history"]) by run name."""
    rows = []
    for run, history in histories.items():
        for rec in history or []:
            for key, metric in (
                ("train_loss", _("train loss")),
                ("val_loss", _("val loss")),
                ("val_top1", _("val top-1")),
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
            x=alt.X("epoch:Q", title=_("epoch"), axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title=_("run"), legend=alt.Legend(orient="top")),
            strokeDash=alt.StrokeDash("run:N", legend=None),
            tooltip=[
                alt.Tooltip("run:N", title=_("run")),
                alt.Tooltip("metric:N", title=_("measure")),
                alt.Tooltip("epoch:Q", title=_("epoch")),
                alt.Tooltip("value:Q", title=_("value"), format=".4f"),
            ],
        )
        # two panels a row, 160 px each: about 470 px in all, so it fits an 800 px laptop's page (three in a
        # row of 210 px were 787 px, cut off at the right)
        .properties(width=160, height=180)
        .facet(facet=alt.Facet("metric:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )


SWEEP_MEASURES = {
    "best_val_loss": N_("best validation loss (per token)"),
    "bits_per_note": N_("bits per note (test)"),
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
        alt.Chart(table.dropna(subset=[m]), height=240, width=170)  # two side by side: about 470 px
        .mark_line(point=alt.OverlayMarkDef(size=80, filled=True))
        .encode(
            x=x,
            y=alt.Y(f"{m}:Q", title=_(SWEEP_MEASURES[m]), scale=alt.Scale(zero=False)),
            tooltip=["run", "label", alt.Tooltip(f"{m}:Q", format=".4f")],
        )
        for m in measures
    ]
    return alt.hconcat(*panels) if len(panels) > 1 else panels[0]


# --------------------------------------------------------------------------------------------------
# Corpus page

# Legends under the plot, not beside it: beside it they took a third of a narrow column.
BOTTOM = alt.Legend(orient="bottom", direction="vertical", columns=1)  # two columns: cut at 800 px
# The Corpus charts have no title of their own: the page writes it above each (a Vega title wider than a
# narrow column was cut off with "...", and a page text wraps). Heights are the whole chart's.


def time_signature_chart(counts: pd.DataFrame, chosen: Sequence[str]):
    """Pieces per time-signature combination; combinations inside the chosen set highlighted."""
    frame = counts.copy()
    frame["selected"] = [
        all(ts in chosen for ts in label.split(" + ")) if chosen else True for label in frame.time_signatures
    ]
    return (
        alt.Chart(frame, height=alt.Step(22))
        .mark_bar()
        .encode(
            x=alt.X("n_pieces:Q", title=_("pieces")),
            y=alt.Y("time_signatures:N", sort="-x", title=None),
            color=alt.Color(
                "selected:N",
                scale=alt.Scale(domain=[True, False], range=["#4a6fa5", "#c8c8c8"]),
                legend=None,  # the title says it: the chosen ones are blue
            ),
            tooltip=[
                alt.Tooltip("time_signatures:N", title=_("time signatures")),
                alt.Tooltip("n_pieces:Q", title=_("pieces")),
                alt.Tooltip("n_four_parts:Q", title=_("in four parts")),
            ],
        )
    )


def length_chart(lengths: pd.DataFrame, min_events: int | None, max_events: int | None):
    """Histogram of melody lengths (notes + rests) per voice, the chosen cut-offs drawn as red rules."""
    lengths = lengths.assign(voice=[voice_words(v) for v in lengths["voice"]])
    hist = (
        alt.Chart(lengths, height=320)
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X("n_events:Q", bin=alt.Bin(step=5), title=_("notes + rests")),
            y=alt.Y("count():Q", title=_("melodies"), stack=None),
            color=alt.Color("voice:N", title=_("voice"), legend=BOTTOM),
        )
    )
    cuts = pd.DataFrame(
        [(v, label) for v, label in ((min_events, _("min")), (max_events, _("max"))) if v],
        columns=["n_events", "cut"],
    )
    rules = (
        alt.Chart(cuts)
        .mark_rule(color="#c0392b", strokeWidth=2, strokeDash=[6, 3])
        .encode(x="n_events:Q", tooltip=["cut:N", "n_events:Q"])
    )
    return hist + rules


def key_chart(keys: pd.DataFrame):
    """Pieces per key, ordered around the circle of fifths (flats at the top), coloured by mode; one row
    per key, so the names never overlap however narrow the column."""
    lang = current_language()
    keys = keys.sort_values(["key_sharps", "mode"]).assign(
        key=lambda k: [key_label((s, m), lang) for s, m in zip(k.key_sharps, k["mode"])],
        mode=lambda k: [mode_words(m) for m in k["mode"]],
    )
    return (
        alt.Chart(keys, height=alt.Step(20))
        .mark_bar()
        .encode(
            y=alt.Y("key:N", sort=keys.key.tolist(), title=_("key (flats at the top, sharps at the bottom)")),
            x=alt.X("n_pieces:Q", title=_("pieces")),
            color=alt.Color(
                "mode:N",
                title=_("mode"),
                scale=alt.Scale(
                    domain=[mode_words("major"), mode_words("minor")], range=["#e1a33b", "#4a6fa5"]
                ),
                legend=BOTTOM,
            ),
            tooltip=[
                alt.Tooltip("key:N", title=_("key")),
                alt.Tooltip("n_pieces:Q", title=_("pieces")),
            ],
        )
    )


def ambitus_chart(table: pd.DataFrame):
    """Range per voice: the full range over all melodies (light) and the median melody's range (dark); a
    row of its own for each voice (a fixed height printed the names of all parts over each other)."""
    rows = []
    for voice, g in table.dropna(subset=["lowest"]).groupby("voice", sort=True):
        voice = voice_words(voice)
        rows.append((voice, _("all melodies"), g.lowest.min(), g.highest.max()))
        rows.append((voice, _("median melody"), g.lowest.median(), g.highest.median()))
    lang = current_language()
    frame = pd.DataFrame(rows, columns=["voice", "range", "low", "high"])
    frame["from"] = [pitch_name(int(round(v)), lang) for v in frame.low]
    frame["to"] = [pitch_name(int(round(v)), lang) for v in frame.high]
    # the tooltips' spelling on the axis too (German H for B)
    names = ",".join(f"'{pitch_class_label(pc, lang)}'" for pc in range(12))
    axis = alt.Axis(labelExpr=f"[{names}][datum.value % 12] + (floor(datum.value / 12) - 1)")
    return (
        alt.Chart(frame, height=alt.Step(28))
        .mark_bar(height=14)
        .encode(
            y=alt.Y("voice:N", title=None),
            x=alt.X("low:Q", title=_("pitch"), scale=alt.Scale(zero=False), axis=axis),
            x2="high:Q",
            color=alt.Color(
                "range:N",
                title=_("range"),
                scale=alt.Scale(range=["#c6d4ea", "#4a6fa5"]),
                legend=alt.Legend(orient="bottom", columns=1),  # side by side, "mittlere…" was cut
            ),
            tooltip=[
                alt.Tooltip("voice:N", title=_("voice")),
                alt.Tooltip("range:N", title=_("range")),
                alt.Tooltip("from:N", title=_("from")),
                alt.Tooltip("to:N", title=_("to")),
            ],
        )
    )


def bar_chart(
    frame: pd.DataFrame, x: str, y: str, sort=None, x_title: str | None = None, y_title: str | None = None
):
    """A plain bar chart (pitch classes, durations) with tooltips: the categories (`x`) one row each, the
    bars across, so long names never squash the plot (rotated duration names left it about 30 px)."""
    return (
        alt.Chart(frame, height=alt.Step(20))
        .mark_bar(color="#4a6fa5")
        .encode(
            y=alt.Y(f"{x}:N", sort=sort, title=x_title or x),
            x=alt.X(f"{y}:Q", title=y_title or y),
            tooltip=[
                alt.Tooltip(f"{x}:N", title=x_title or x),
                alt.Tooltip(f"{y}:Q", title=y_title or y, format=".1%" if y == "share" else ","),
            ],
        )
    )


def zipf_chart(freq: pd.DataFrame):
    """Token frequency by rank on log-log axes (a straight line = Zipf's law), token types in words."""
    freq = freq.assign(type=freq["type"].map(token_type_words))
    return (
        alt.Chart(freq, height=320)
        .mark_line(point=True)
        .encode(
            x=alt.X("rank:Q", scale=alt.Scale(type="log"), title=_("rank")),
            y=alt.Y("count:Q", scale=alt.Scale(type="log"), title=_("count")),
            color=alt.Color("type:N", title=_("token type"), legend=BOTTOM),
            detail=alt.Detail("tokenizer:N") if "tokenizer" in freq else alt.Undefined,
            tooltip=[
                alt.Tooltip("rank:Q", title=_("rank")),
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("type:N", title=_("token type")),
                alt.Tooltip("count:Q", title=_("count")),
                alt.Tooltip("share:Q", title=_("share"), format=".2%"),
            ],
        )
    )


def coverage_chart(coverage: pd.DataFrame):
    """Share of all tokens covered by the N most frequent token types, one line per tokenizer."""
    return (
        alt.Chart(coverage, height=320)
        .mark_line(point=True)
        .encode(
            x=alt.X("top_n:Q", scale=alt.Scale(type="log"), title=_("most frequent N token types")),
            y=alt.Y(
                "coverage:Q",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
                title=_("tokens covered"),
            ),
            color=alt.Color("tokenizer:N", title=_("tokenizer"), legend=BOTTOM),
            tooltip=["tokenizer", "vocab_size", "top_n", alt.Tooltip("coverage:Q", format=".1%")],
        )
    )


def limits_label(lo, hi) -> str:
    """'all lengths', '30..65 events', '30..∞ events' for a (min, max) pair where None/NaN means no limit."""
    lo = None if lo is None or pd.isna(lo) else int(lo)
    hi = None if hi is None or pd.isna(hi) else int(hi)
    if lo is None and hi is None:
        return _("all lengths")
    return _("{lo}..{hi} events").format(lo=lo or 0, hi="∞" if hi is None else hi)


def windows_chart(windows: pd.DataFrame):
    """Training windows (stride 1) against sequence length, with and without the length limits."""
    frame = windows.copy()
    frame["melodies"] = [limits_label(lo, hi) for lo, hi in zip(frame.min_events, frame.max_events)]
    return (
        alt.Chart(frame, height=320)
        .mark_line(point=True)
        .encode(
            x=alt.X("seq_len:Q", title=_("sequence length (tokens)")),
            y=alt.Y("n_windows:Q", title=_("windows (stride 1)")),
            color=alt.Color("melodies:N", title=None, legend=BOTTOM),
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


ROLL_SCHEMA = pa.schema(
    [("index", pa.int64()), ("start", pa.float64()), ("end", pa.float64()), ("midi", pa.int64()),
     ("pitch", pa.string()), ("duration", pa.float64()), ("part", pa.string())]
)  # fmt: skip


# verovio's page width for sheet music in a Sampling column, in its units (scale 40). A page 1000 wide,
# shrunk into a quarter of a 1400 px window (about 250 px), drew a staff 25 px high, notes 5 px:
# unreadable on a projector. 450 draws them 2.2 times as large (more systems, each as wide as the column);
# with the engraver's compact spacing (`render.COMPACT`) about 2 bars per system, where it was 1.
COLUMN_PAGE_WIDTH = 450
# One method across the page (the focus view, the Class board's projector): about 5 bars per system, the
# staff about 90 px high in a 1000 px wide page; a column's page stretched this wide drew 2 bars a screen.
FOCUS_PAGE_WIDTH = 1100
# The Class board's projector: one melody across the page, read from the back of a room. The SVG is
# stretched to the page's width, so its page width alone sets the size: at the focus view's 1100 the
# staff drew 0.82 times as high as on a board card (half the page at 450); at 600, 1.5 times (the staff
# about 12% of the page's width, 2 to 3 bars a system).
PROJECTOR_PAGE_WIDTH = 600


def melody_view(
    events: Sequence, n_primer: int = 0, page_width: int = COLUMN_PAGE_WIDTH, key_sharps: int | None = None
) -> dict:
    """What a column shows: sheet music (SVG pages, [] for nothing to engrave) and the piano roll, a
    pyarrow Table (`ROLL_SCHEMA`): a chart sends it as it is, where a DataFrame is converted on every
    rerun of the page (about 1 ms a column, and building it another 1.3 ms).

    Built from the events (MEI -> verovio, no music21); audio is made separately, when asked for.
    key_sharps: the key signature (None: `pitches.estimate_key_sharps` of the events). The primer (the
    first `n_primer` events) is grey in both.
    """
    roll = piano_roll(events)
    lang = current_language()
    roll["pitch"] = [pitch_name(p, lang) for p in roll["pitch"]]  # the reader's names: H4, B♭3
    roll["part"] = ["primer" if i < n_primer else "generated" for i in roll["index"]]  # codes: see the spec
    return {
        "svg": to_svg(events, page_width=page_width, key_sharps=key_sharps, marked=n_primer),
        "roll": pa.Table.from_pydict(roll, schema=ROLL_SCHEMA),
    }


def roll_domains(rolls: Sequence[pa.Table]) -> tuple[list[float] | None, list[int] | None]:
    """(x, y) scale domains that fit every roll of one result: 0 to the last note's end in quarters, the
    lowest to the highest MIDI pitch; None where no roll has a note. Charts side by side then share axes
    (each its own, 0-20 beside 0-100 quarters, misled the eye)."""
    rolls = [r for r in rolls if len(r)]
    if not rolls:
        return None, None
    end = max(max(r["end"].to_pylist()) for r in rolls)
    low = min(min(r["midi"].to_pylist()) for r in rolls)
    high = max(max(r["midi"].to_pylist()) for r in rolls)
    return [0.0, float(end)], [int(low) - 1, int(high) + 1]


def piano_roll_chart(
    roll: pa.Table, title: str = "", x_domain: Sequence | None = None, y_domain: Sequence | None = None
) -> dict:
    """Vega-Lite spec of a `melody_view` roll: notes as horizontal bars, time (quarters) on x, pitch on y;
    the primer greyed. x_domain, y_domain: fixed axes (`roll_domains`), so rolls side by side compare."""
    x_scale = {"domain": list(x_domain), "nice": False} if x_domain is not None else {}
    y_scale = {"domain": list(y_domain)} if y_domain is not None else {"zero": False}
    part_words = {"primer": _("primer"), "generated": _("generated")}
    words = " : ".join(f"datum.part == {json.dumps(k)} ? {json.dumps(v)}" for k, v in part_words.items())
    return {
        "title": title,
        "height": 160,
        "transform": [{"calculate": f"{words} : datum.part", "as": "part_words"}],
        "mark": {"type": "bar", "cornerRadius": 2, "clip": True},
        "encoding": {
            "x": {"field": "start", "type": "quantitative", "title": _("quarters"), "scale": x_scale},
            "x2": {"field": "end"},
            "y": {"field": "midi", "type": "quantitative", "title": _("MIDI pitch"), "scale": y_scale},
            "color": {
                "field": "part",
                "type": "nominal",
                "legend": None,
                "scale": {"domain": ["primer", "generated"], "range": ["#b0b0b0", "#4a6fa5"]},
            },
            "tooltip": _tooltip(
                ("pitch", "nominal"),
                ("start", "quantitative"),
                ("duration", "quantitative"),
                ("part_words", "nominal"),
            ),
        },
    }


STYLE_PALETTE = ["#4a6fa5", "#e1a33b", "#5aa469", "#c0392b", "#8e6bb3", "#7f8c8d"]
BACH_COLOUR = "#2c2c2c"  # the reference row, apart from every method's colour


def style_frame(style) -> pd.DataFrame:
    """Long DataFrame (method, figure, value, low, high) of a style.StyleReport's charted figures, the
    rows in report order; figures whose value is NaN (not measured) are left out."""
    rows = [
        (method_label(row.label), f"{_(name)} ({_(good)})", iv.value, iv.low, iv.high)  # COLUMNS: catalog
        for row in style.rows
        for name, good in STYLE_CHART.items()
        if name in row.figures and not math.isnan(row.figures[name].value)
        for iv in [row.figures[name]]
    ]
    return pd.DataFrame(rows, columns=["method", "figure", "value", "low", "high"])


def zero_figures(frame: pd.DataFrame) -> list[str]:
    """The figures of a `style_frame` that are 0 for every row, intervals included: a bar chart of them is
    an empty panel (no bar, an axis of 0s), so the page says it in words instead. Names without the
    "(good)" suffix, in chart order."""
    zero: dict[str, bool] = {}  # a loop over ~40 rows: a pandas groupby took 6 ms on every page draw
    for figure, *numbers in zip(frame["figure"], frame["value"], frame["low"], frame["high"]):
        zero[figure] = zero.get(figure, True) and all(x == 0 or math.isnan(x) for x in numbers)
    return [figure.rsplit(" (", 1)[0] for figure, is_zero in zero.items() if is_zero]


OWN = "your melody"  # `kind` of a with_own_points row; the pooled rows' kind is "pooled"


def with_own_points(frame: pd.DataFrame, own: dict[str, dict[str, float]]) -> pd.DataFrame:
    """A `style_frame` plus one row per method and figure of `own` (figure name without its "(good)"
    suffix -> value, per method label), drawn by style_chart as dots; a `kind` column tells them apart.
    Figures the frame does not chart are left out."""
    figures = {f.rsplit(" (", 1)[0]: f for f in dict.fromkeys(frame.figure)}
    extra = [
        (method, figures[_(name)], value, math.nan, math.nan, OWN)  # the frame's names are translated
        for method, values in own.items()
        for name, value in values.items()
        if _(name) in figures
    ]
    pooled = frame.assign(kind="pooled")
    if not extra:
        return pooled
    return pd.concat([pooled, pd.DataFrame(extra, columns=[*frame.columns, "kind"])], ignore_index=True)


def style_chart(frame: pd.DataFrame) -> dict:
    """Vega-Lite spec of a `style_frame`: one small bar chart per figure, Bach validation first in its
    own colour, with the 95% interval as a line where there is one."""
    methods = list(dict.fromkeys(frame.method))
    colours = [
        BACH_COLOUR if m.startswith("Bach") else STYLE_PALETTE[i % len(STYLE_PALETTE)]
        for i, m in enumerate(methods)
    ]
    x = {
        "field": "method",
        "type": "nominal",
        "sort": methods,
        "title": None,
        "axis": {"labels": False, "ticks": False},
    }
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": {"field": "value", "type": "quantitative", "title": None},
            "color": {
                "field": "method",
                "type": "nominal",
                "sort": methods,
                "scale": {"domain": methods, "range": colours},
            },
            "tooltip": _tooltip(
                ("method", "nominal"),
                ("figure", "nominal"),
                ("value", "quantitative", ".3f"),
                ("low", "quantitative", ".3f"),
                ("high", "quantitative", ".3f"),
            ),
        },
    }
    whiskers = {
        "mark": {"type": "rule", "color": "black"},
        "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"}, "y2": {"field": "high"}},
    }
    bars["encoding"]["color"]["legend"] = {"orient": "bottom", "columns": 2, "title": None}
    layers = [bars, whiskers]
    if "kind" in frame.columns:  # with_own_points: the pooled bars, and the student's melodies as dots
        pooled = [{"filter": {"field": "kind", "equal": "pooled"}}]
        bars["transform"] = whiskers["transform"] = pooled
        layers.append(
            {
                "transform": [{"filter": {"field": "kind", "equal": OWN}}],
                "mark": {"type": "point", "filled": True, "color": "black", "size": 60},
                "encoding": {
                    "x": x,
                    "y": {"field": "value", "type": "quantitative"},
                    "tooltip": _tooltip(
                        ("method", "nominal"), ("figure", "nominal"), ("value", "quantitative", ".3f")
                    ),
                },
            }
        )
    # Two panels a row, the legend under them: about 360 px wide, so it fits an 800 px laptop's column
    # (four a row with the legend beside them were some 750 px, cut off at the right).
    return {
        "facet": {"field": "figure", "type": "nominal", "title": None},
        "columns": 2,
        "spec": {"width": 150, "height": 120, "layer": layers},
        "resolve": {"scale": {"y": "independent"}},
    }


def _yes_no_expression() -> str:
    """A Vega expression that words a boolean legend value: "ja" / "nein" on German pages."""
    return f"datum.value ? {json.dumps(_('yes'))} : {json.dumps(_('no'))}"


def next_token_chart(frame: pd.DataFrame) -> list[dict]:
    """Vega-Lite specs, one per method (in the frame's order): the model's probabilities (wide bars;
    red = cut), what the method samples from (narrow bars). Each is as wide as its container, so the page
    lays them out in columns that wrap on a narrow screen (a faceted chart of fixed width was cut off)."""
    order = frame.drop_duplicates("token").sort_values("rank").token.tolist()
    return [
        {
            "title": method_label(method),
            "width": "container",
            "height": 180,  # the bars' own: with Vega's default "fit" title, labels and legend took it all
            "autosize": {"type": "fit-x", "contains": "padding"},
            "transform": [{"filter": {"field": "method", "equal": method}}],
            "encoding": {
                "x": {"field": "token", "type": "nominal", "sort": order, "title": None},
                "tooltip": _tooltip(
                    ("token", "nominal"),
                    ("before", "quantitative", ".3f"),
                    ("after", "quantitative", ".3f"),
                    ("kept", "nominal"),
                ),
            },
            # each chart its own y scale: a flat distribution stays visible beside greedy's single 1.0
            "layer": [
                {
                    "mark": {"type": "bar", "opacity": 0.35},
                    "encoding": {
                        "y": {"field": "before", "type": "quantitative", "title": _("probability")},
                        "color": {
                            "field": "kept",
                            "type": "nominal",
                            "title": _("kept"),
                            "scale": {"domain": [True, False], "range": ["#4a6fa5", "#c0392b"]},
                            # true / false in the reader's words
                            "legend": {"orient": "bottom", "labelExpr": _yes_no_expression()},
                        },
                    },
                },
                {
                    "mark": {"type": "bar", "color": "#1f3b63", "width": {"band": 0.4}},
                    "encoding": {"y": {"field": "after", "type": "quantitative"}},
                },
            ],
        }
        for method in dict.fromkeys(frame.method)
    ]


def listening_frame(results) -> pd.DataFrame:
    """The "Bach or model?" results (`classroom.listening.ListeningResult`s) as the page's table."""
    return pd.DataFrame(
        {
            "model": [r.model for r in results],
            "method": [r.method for r in results],
            "answers": [r.answers for r in results],
            "taken for Bach": [r.taken_for_bach for r in results],
            "low": [r.low for r in results],
            "high": [r.high for r in results],
        }
    )


def listening_chart(frame: pd.DataFrame, axis: str = "taken for Bach (95% interval)") -> dict:
    """Vega-Lite spec for the projector: per model and method the share taken for Bach (a point) with
    its 95% interval (a rule), and chance (50%) as a dashed line; `axis`: the x axis' title, worded by
    the page."""
    y = {"field": "row", "type": "nominal", "title": None, "sort": None}
    x = {"type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    return {
        "transform": [{"calculate": "datum.model + ' · ' + datum.method", "as": "row"}],
        "height": {"step": 36},
        "layer": [
            {"mark": {"type": "rule", "strokeWidth": 3},
             "encoding": {"y": y, "x": {**x, "field": "low", "title": axis},
                          "x2": {"field": "high"}}},
            {"mark": {"type": "point", "filled": True, "size": 120},
             "encoding": {"y": y, "x": {**x, "field": "taken for Bach", "title": axis},
                          "tooltip": _tooltip(("row", "nominal"), ("answers", "quantitative"),
                                              ("taken for Bach", "quantitative", ".0%"))}},
            {"mark": {"type": "rule", "strokeDash": [6, 4], "color": "grey"},
             "encoding": {"x": {"datum": 0.5, "type": "quantitative"}}},
        ],
    }  # fmt: skip
