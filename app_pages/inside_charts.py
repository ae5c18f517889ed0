"""Altair charts of the "Inside the model" page: surprise on the piano roll, unit heatmaps, traces, embedding.

Every time-based chart uses quarters on x from 0 to the melody's end, the same room for its y axis and
no legend at the side, so charts drawn one under another line up: a unit's trace sits exactly under the
notes it responds to.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from app_pages.i18n import N_, translator
from app_pages.messages import shown

_ = translator(__name__)

Y_AXIS = alt.Axis(minExtent=55)  # the same room for every y axis, so stacked plots line up
# Heights are the whole chart's (Streamlit fits title, legend and axes inside them), in pixels.
BITS_SCHEME = "yelloworangered"  # the surprise colour scale: pale = expected, dark red = surprising


def _x(total: float, titled: bool = True) -> alt.X:
    """Time in quarters from 0 to the melody's end (untitled in a chart stacked over one that says it)."""
    title = _("time (quarters)") if titled else None
    return alt.X("start:Q", title=title, scale=alt.Scale(domain=[0, total], nice=False))


def _note_tooltip() -> list[alt.Tooltip]:
    """A note's name, bar, beat and duration, titled in the page's language."""
    return [
        alt.Tooltip("name:N", title=_("note")),
        alt.Tooltip("measure:Q", title=_("bar")),
        alt.Tooltip("beat:Q", title=_("beat"), format=".2~f"),
        alt.Tooltip("duration:Q", title=_("duration (quarters)"), format=".2~f"),
    ]


def bar_rules(bar_lines, total: float, color: str = "#888") -> alt.Chart:
    """Thin dashed vertical rules at the bar lines (quarters)."""
    frame = pd.DataFrame({"start": list(bar_lines)})
    return alt.Chart(frame).mark_rule(color=color, strokeDash=[3, 3], strokeWidth=1.5).encode(x=_x(total))


def roll_frame(notes: pd.DataFrame) -> pd.DataFrame:
    """Piano-roll rows of a note table (timeline/surprise notes): rests sit one row under the lowest note."""
    frame = notes.copy()
    low = frame.midi.min() if frame.midi.notna().any() else 60.0
    frame["pitch"] = frame.midi.fillna(low - 2)
    frame["low"], frame["high"] = frame.pitch - 0.45, frame.pitch + 0.45  # one row per semitone
    frame["start"], frame["end"] = frame.onset, frame.onset + frame.duration
    return frame


def surprise_roll(
    notes: pd.DataFrame, bar_lines, total: float, title: str = "", max_bits: float | None = None
):
    """Notes as bars coloured by their surprise in bits (rests under the lowest note)."""
    frame = roll_frame(notes)
    top = max_bits if max_bits is not None else float(np.nanmax(frame.bits)) if len(frame) else 1.0
    bars = (
        alt.Chart(frame, title=title)
        .mark_rect(cornerRadius=2, stroke="#555", strokeWidth=0.3)
        .encode(
            x=_x(total),
            x2="end:Q",
            y=alt.Y("low:Q", title=_("MIDI pitch"), scale=alt.Scale(zero=False), axis=Y_AXIS),
            y2="high:Q",
            color=alt.Color(
                "bits:Q",
                title=_("surprise (bits)"),
                scale=alt.Scale(scheme=BITS_SCHEME, domain=[0, max(top, 1e-6)]),
            ),
            tooltip=[*_note_tooltip(), alt.Tooltip("bits:Q", title=_("surprise (bits)"), format=".2f")],
        )
    )
    return (bars + bar_rules(bar_lines, total)).properties(height=260)  # all in: axes and title


def plain_roll(notes: pd.DataFrame, bar_lines, total: float, height: int = 170):
    """The melody's piano roll without colour coding (for stacking above heatmaps and traces)."""
    frame = roll_frame(notes)
    bars = (
        alt.Chart(frame)
        .mark_rect(cornerRadius=2, color="#4a6fa5")
        .encode(
            x=_x(total, titled=False),
            x2="end:Q",
            y=alt.Y("low:Q", title=_("MIDI pitch"), scale=alt.Scale(zero=False), axis=Y_AXIS),
            y2="high:Q",
            tooltip=_note_tooltip(),
        )
    )
    return (bars + bar_rules(bar_lines, total)).properties(height=height)


def heatmap_frame(steps: pd.DataFrame, values: np.ndarray, units) -> pd.DataFrame:
    """Long rows (start, end, token, unit, value) of values (T, H) for the chosen units."""
    units = list(units)
    chosen = values[:, units]  # (T, U)
    return pd.DataFrame(
        {
            "start": np.repeat(steps.start.to_numpy().round(4), len(units)),
            "end": np.repeat(steps.end.to_numpy().round(4), len(units)),
            "token": np.repeat(steps.token.to_numpy(), len(units)),
            "unit": np.tile(units, len(steps)),
            "value": chosen.reshape(-1).round(3),  # the chart's data is JSON: 3 decimals are plenty
        }
    )


def unit_heatmap(frame: pd.DataFrame, label: str, value_range, bar_lines, total: float):
    """Units (rows) x time (quarters): one cell per token step, coloured by the signal's value."""
    lo, hi = value_range
    if lo is None:  # unbounded (cell state): symmetric around 0 so the sign stays readable
        m = float(np.abs(frame.value).max()) if len(frame) else 1.0
        lo, hi = -max(m, 1e-6), max(m, 1e-6)
    scheme = "viridis" if lo == 0 else "redblue"
    rows = frame.unit.nunique()
    cells = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=_x(total),
            x2="end:Q",
            y=alt.Y("unit:O", title=_("unit"), axis=Y_AXIS),
            color=alt.Color(
                "value:Q",
                title=label,
                scale=alt.Scale(scheme=scheme, domain=[lo, hi], reverse=scheme == "redblue"),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("unit:O", title=_("unit")),
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("value:Q", title=label, format=".2f"),
            ],
        )
    )
    height = 150 + min(22 * rows, 660)  # legend and axis, then the rows
    return (cells + bar_rules(bar_lines, total, color="#fff")).properties(height=height)  # over colour


def unit_trace(steps: pd.DataFrame, values: np.ndarray, label: str, bar_lines, total: float):
    """One unit's value (T,) over the token steps, as a step line."""
    frame = pd.DataFrame({"start": steps.start, "token": steps.token, "value": values})
    line = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=12))
        .encode(
            x=_x(total),
            y=alt.Y("value:Q", title=label, axis=Y_AXIS),
            tooltip=[
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("value:Q", title=_("value"), format=".2f"),
            ],
        )
    )
    return (line + bar_rules(bar_lines, total)).properties(height=190)


def feature_traces(frame: pd.DataFrame, bar_lines, total: float):
    """z-scored feature and unit values per note (columns start, series, z, value): do they move together?"""
    line = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=14))
        .encode(
            x=_x(total),
            y=alt.Y("z:Q", title=_("standardised value"), axis=Y_AXIS),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
            strokeDash=alt.condition(
                alt.datum.series_kind == "feature", alt.value([1, 0]), alt.value([4, 2])
            ),
            tooltip=[
                alt.Tooltip("series:N", title=_("curve")),
                alt.Tooltip("value:Q", title=_("value"), format=".2f"),
            ],
        )
    )
    return (line + bar_rules(bar_lines, total)).properties(height=320)


# The embedding's colour legend fits this many pixels, the main column of a phone: it is drawn once under
# the views, never cut off (a legend under each of three narrow views lost half its entries).
LEGEND_WIDTH = 300
NO_VALUE = N_("none")  # the colour of tokens without the attribute (a duration has no pitch class)


# Vega's "tableau20": 20 colours that differ; past 20 distinct_colours spreads hues around the circle.
TABLEAU20 = [
    "#4c78a8", "#9ecae9", "#f58518", "#ffbf79", "#54a24b", "#88d27a", "#b79a20", "#f2cf5b", "#439894",
    "#83bcb6", "#e45756", "#ff9d98", "#79706e", "#bab0ac", "#d67195", "#fcbfd2", "#b279a2", "#d6a5c9",
    "#9e765f", "#d8b5a5",
]  # fmt: skip
NO_VALUE_COLOUR = "#bbbbbb"


def distinct_colours(n: int) -> list[str]:
    """n colours, no two alike: tableau20 up to 20, else n hues evenly around the colour circle in three
    alternating lightnesses (Vega's default scheme has 10 and repeats them: a legend of 17 pitch classes
    showed C and F in one colour)."""
    if n <= len(TABLEAU20):
        return TABLEAU20[:n]
    out = []
    for i in range(n):
        hue = round(360 * i / n)
        lightness = (38, 55, 70)[i % 3]
        out.append(f"hsl({hue}, 65%, {lightness}%)")
    return out


def _coloured(frame: pd.DataFrame, colour: str) -> tuple[pd.DataFrame, alt.Scale]:
    """The frame with a `colour` column (NO_VALUE where the token lacks the attribute) and the one colour
    scale the views and the legend share: a colour of its own for every value, grey for NO_VALUE."""
    none = _(NO_VALUE)
    column = frame[colour]
    if pd.api.types.is_numeric_dtype(column):  # durations and octaves in numeric order, 0,25 in German
        order = sorted(column.dropna().unique())
        words = {v: shown(v.item() if hasattr(v, "item") else v) for v in order}
        data = frame.assign(colour=[none if pd.isna(v) else words[v] for v in column])
        values = [words[v] for v in order]
    else:
        data = frame.assign(colour=column.astype("string").fillna(none))
        values = sorted(v for v in data.colour.unique() if v != none)
    colours = distinct_colours(len(values))
    if (data.colour == none).any():
        values, colours = [*values, none], [*colours, NO_VALUE_COLOUR]
    return data, alt.Scale(domain=values, range=colours)


def embedding_scatter(frame: pd.DataFrame, x: str, y: str, colour: str, colour_title: str, titles=("", "")):
    """Tokens as points in two embedding axes, coloured by a token attribute; the legend is
    embedding_legend's, drawn once for all views (the same colour scale)."""
    data, scale = _coloured(frame, colour)
    return (
        alt.Chart(data, height=420)
        .mark_circle(size=60, opacity=0.8)
        .encode(
            x=alt.X(f"{x}:Q", title=titles[0] or x, scale=alt.Scale(zero=False)),
            y=alt.Y(f"{y}:Q", title=titles[1] or y, scale=alt.Scale(zero=False)),
            color=alt.Color("colour:N", title=colour_title, scale=scale, legend=None),
            tooltip=[
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("type:N", title=_("type")),
                alt.Tooltip("pitch_class:N", title=_("pitch class")),
                alt.Tooltip("octave:O", title=_("octave")),
                alt.Tooltip("duration:Q", title=_("duration (quarters)"), format=".3~f"),
            ],
        )
    )


def embedding_legend(frame: pd.DataFrame, colour: str):
    """embedding_scatter's colours as a chart of its own: a grid of dots and names at most LEGEND_WIDTH
    pixels wide, so every entry shows in any window (a Vega legend is cut at its chart's edge). No title:
    Streamlit fits a chart to its declared height, and a title would push the last line out."""
    data, scale = _coloured(frame, colour)
    names = scale.domain
    per_column = 30 + 7 * max(len(n) for n in names)  # dot, gap and name (about 7 px a character)
    columns = max(1, min(len(names), LEGEND_WIDTH // per_column))
    rows = -(-len(names) // columns)
    # Pixel positions (identity scales): entry i sits in column i % columns, line i // columns.
    grid = pd.DataFrame(
        {
            "colour": names,
            "px": [6 + (i % columns) * per_column for i in range(len(names))],
            "py": [10 + (i // columns) * 20 for i in range(len(names))],
        }
    )
    base = alt.Chart(grid, width=columns * per_column, height=20 * rows).encode(
        x=alt.X("px:Q", scale=None, axis=None), y=alt.Y("py:Q", scale=None, axis=None)
    )
    dots = base.mark_circle(size=80, opacity=0.8).encode(
        color=alt.Color("colour:N", scale=scale, legend=None)
    )
    labels = base.mark_text(align="left", dx=8, fontSize=12).encode(text="colour:N")
    # No padding either (charts.localized gives other charts 6 px): it would push the last line out too.
    return (dots + labels).configure_view(strokeWidth=0).properties(padding=0)
