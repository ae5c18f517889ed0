"""Drawing parts of the "Inside the model" page (streamlit): one function per tab, plus the cached work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import inside_charts as charts
from app_pages.charts import localized
from app_pages.common import SESSION, checkpoint, mtime
from app_pages.i18n import N_, current_language, number, percent, translator
from app_pages.messages import describe, method_label, token_type_words
from app_pages.sampling_state import SamplingResult
from app_pages.tables import show_table
from app_pages.terms import glossary_link
from app_pages.texts import (
    COLOUR_WORDS,
    FEATURE_WORDS,
    INSIDE_HEADERS,
    INSIDE_HELP,
    MISSING,
    melody_label,
    shown_headers,
    signal_words,
    signed,
    token_words,
)
from bachlstm.analysis.activations import SIGNALS
from bachlstm.analysis.embeddings import COLOUR_KEYS, nearest_tokens
from bachlstm.analysis.probes import best_units, pooled_correlations
from bachlstm.analysis.surprise import extremes
from bachlstm.model.checkpoints import CheckpointError
from bachlstm.music.names import pitch_name
from bachlstm.reports.inspection import Inspection, checkpoint_embedding, inspect_melody
from bachlstm.tokens.timeline import FEATURES
from bachlstm.training.splits import split_melodies, trained_pieces

_ = translator(__name__)

MAX_UNITS = 32  # rows of a heatmap by default: a 256-unit layer shows its 32 most active units
TAB_IDS = ("surprise", "states", "units", "embedding")  # the tabs in order, as a link names them
KEPT_TAB = "inside_tab_kept"  # the open tab, kept across page switches (tabs have no persist_state)


def kept_tab(labels: list[str]) -> str:
    """The tab to open: the one open when the student last left the page, else the first."""
    kept = st.session_state.get(KEPT_TAB)
    return kept if kept in labels else labels[0]


def keep_tab(labels: list[str], tabs) -> None:
    """Remember which tab is open now, for the student's next visit to the page."""
    st.session_state[KEPT_TAB] = next((label for label, t in zip(labels, tabs) if t.open), labels[0])


# The cached work shows no spinner of its own (a cache's spinner text is fixed when the module loads, in
# one language): each public function below says what it does in the page's language.


def held_out(path: str, mtime: float) -> tuple | None:
    """The checkpoint's held-out melodies (see _held_out), with a spinner in the page's language."""
    with st.spinner(_("Loading the held-out melodies ...")):
        return _held_out(path, mtime)


def inspection(path: str, mtime: float, events: tuple, label: str) -> Inspection:
    """inspect_melody for one model file and melody (see _inspection), with a spinner."""
    with st.spinner(_("Running the model over the melody ...")):
        return _inspection(path, mtime, events, label)


def pooled(path: str, mtime: float, melodies: tuple) -> pd.DataFrame:
    """Unit correlations pooled over all the given melodies (see _pooled), with a spinner."""
    with st.spinner(_("Running the model over every held-out melody ...")):
        return _pooled(path, mtime, melodies)


@st.cache_resource(max_entries=8, show_spinner=False)
def _held_out(path: str, mtime: float) -> tuple | None:
    """The checkpoint's test-split melodies (never trained on), None when it records no split.

    Only the melodies: the Sampling page's reference (Bach metrics row, memorization index) is not
    needed here and costs far more.
    """
    try:
        return tuple(split_melodies(checkpoint(path, mtime).meta)["test"])
    except ValueError:
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def _inspection(path: str, mtime: float, events: tuple, label: str) -> Inspection:
    """inspect_melody for one model file and melody (shared, read-only)."""
    return inspect_melody(checkpoint(path, mtime), events, label)


@st.cache_resource(max_entries=8, show_spinner=False)
def embedding(path: str, mtime: float):
    """The model's embedding view (shared, read-only)."""
    return checkpoint_embedding(checkpoint(path, mtime))


@st.cache_resource(max_entries=4, show_spinner=False)
def _pooled(path: str, mtime: float, melodies: tuple) -> pd.DataFrame:
    """Unit correlations pooled over all the given melodies (their notes stacked)."""
    ck = checkpoint(path, mtime)
    pairs = []
    for m in melodies:
        ins = inspect_melody(ck, m.events)
        pairs.append((ins.activations, ins.timeline))
    return pooled_correlations(pairs)


def choose_melody(melodies, generated: SamplingResult | None, source_col, melody_col) -> tuple[tuple, str]:
    """The melody to look at: a held-out chorale, or one generated on the Sampling page; stops the page
    with a message when there is neither."""
    sources = ([N_("a held-out chorale")] if melodies else []) + (
        [N_("a melody from the Sampling page")] if generated else []
    )
    if not sources:
        st.info(
            _(
                "This model records no held-out melodies: generate one on the Sampling page to look at "
                "it here."
            )
        )
        st.stop()
    labels = [_(s) for s in sources]  # the labels are the options (AppTest keeps a radio's raw value)
    source = source_col.radio(
        _("Melody"), labels, key="inside_source", help=_(INSIDE_HELP["source"]), persist_state=SESSION
    )
    source = sources[labels.index(source)] if source in labels else sources[0]
    if source == "a held-out chorale":
        # Labels as options, not positions: each model holds out other chorales, and a browser keeps
        # the label it drew for a chosen option (a position showed the old model's chorale name).
        by_label = {melody_label(m): m for m in melodies}
        chosen = melody_col.selectbox(_("Chorale"), list(by_label), key="inside_piece", persist_state=SESSION)
        melody = by_label[chosen]
        events, label = tuple(melody.events), melody.piece_id
    else:
        by_label = {g.label: g for g in generated.gens}
        chosen = melody_col.selectbox(
            _("Generated melody"),
            list(by_label),
            format_func=method_label,
            key="inside_gen",
            persist_state=SESSION,
        )
        gen = by_label[chosen]
        events, label = tuple(gen.full_events), f"{method_label(gen.label)} ({generated.model})"
    if not events:
        st.info(_("That melody has no notes: choose another."))
        st.stop()
    return events, label


def others_trained(usable: list, name: str) -> frozenset[str]:
    """The piece ids the other models (not `name`) were trained on."""
    pieces: set[str] = set()
    for info in usable:
        if info.name != name:
            pieces |= trained_pieces(checkpoint(str(info.path), mtime(info.path)).meta)
    return frozenset(pieces)


def second_model(
    usable: list, name: str, events: tuple, label: str, piece: str | None = None
) -> tuple[str, Inspection] | None:
    """The model chosen to compare with (its inspection of the same melody), or None; says so when that
    model was trained on the chorale `piece` (its surprise there partly measures memory)."""
    names = [info.name for info in usable]
    others = ["none", *(n for n in names if n != name)]
    other = st.selectbox(
        _("Compare with"),
        others,
        format_func={o: _("none") if o == "none" else o for o in others}.__getitem__,
        key="inside_other",
        persist_state=SESSION,
    )
    if other == "none":
        return None
    info = usable[names.index(other)]
    if piece is not None and piece in trained_pieces(checkpoint(str(info.path), mtime(info.path)).meta):
        st.warning(
            _(
                "{other} was trained on {piece}: its surprise here partly measures memory. For a fair "
                "comparison choose a chorale neither model was trained on (those come first in the list)."
            ).format(other=other, piece=piece)
        )
    try:
        return other, inspection(str(info.path), mtime(info.path), events, label)
    except (ValueError, CheckpointError) as exc:
        st.error(_("{model} cannot read this melody: {error}").format(model=other, error=describe(exc)))
        return None


def _total(ins: Inspection) -> float:
    notes = ins.timeline.notes
    return float(notes.onset.iat[-1] + notes.duration.iat[-1])


def named_notes(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A note table with its `name`s in the reader's convention (names.pitch_name: B4 is H4 in German);
    a rest is the page's word for it."""
    rest = _("rest")
    return frame.assign(name=[rest if n == "rest" else pitch_name(n, lang) for n in frame.name])


def notes_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table of surprise.extremes for a student: notes counted from 1, bits to two decimals, headers in
    words (the note names already in the reader's convention: named_notes)."""
    table = frame.assign(index=frame["index"] + 1, bits=frame.bits.round(2))
    return shown_headers(table, INSIDE_HEADERS)


# Shown figures: bits to two decimals, beats and durations as they are (1.5, 0.25).
NOTES_FORMATS = {"bits": "%.2f"}


def draw_surprise(ins: Inspection, name: str, other: tuple[str, Inspection] | None) -> None:
    """The surprise roll, the mean bits, the most and least surprising notes; a second model beside it."""
    lang = current_language()
    shown = [(name, ins)] + ([other] if other else [])
    top = max(float(i.surprise.notes.bits.max()) for _, i in shown)
    for col, (model, one) in zip(st.columns(len(shown)), shown):
        s = one.surprise
        col.metric(
            _("{model}: mean surprise").format(model=model),
            _("{bits} bits per note").format(bits=number(s.mean_bits, 2)),
            help=glossary_link("information-content"),
        )
        if one.n_unknown:
            col.warning(
                _("{n} tokens of this melody are not in {model}'s vocabulary.").format(
                    n=number(one.n_unknown), model=model
                )
            )
        notes = named_notes(s.notes, lang)
        chart = charts.surprise_roll(notes, one.timeline.bar_lines, _total(one), model, max_bits=top)
        col.altair_chart(localized(chart), width="stretch")
        config = {
            _(INSIDE_HEADERS[c]): st.column_config.NumberColumn(format=f) for c, f in NOTES_FORMATS.items()
        }
        most, least = (notes_table(named_notes(f, lang)) for f in extremes(s, 5))
        col.markdown(_("**Most surprising notes**"))
        show_table(col, most, hide_index=True, width="stretch", column_config=config, placeholder=MISSING)
        col.markdown(_("**Least surprising notes**"))
        show_table(col, least, hide_index=True, width="stretch", column_config=config, placeholder=MISSING)


def _shown_units(values: np.ndarray, limit: int) -> list[int]:
    """All units if they fit, else the `limit` with the largest spread over the melody (in unit order)."""
    if values.shape[1] <= limit:
        return list(range(values.shape[1]))
    return sorted(np.argsort(-values.std(axis=0), kind="stable")[:limit].tolist())


def most_varying(values: np.ndarray, units: list[int]) -> int:
    """Of the given units, the one whose values (T, H) have the largest spread (the first on a tie)."""
    return units[int(np.argmax(values[:, units].std(axis=0)))]


def draw_states(ins: Inspection) -> None:
    """A heatmap of one signal of one layer under the piano roll, and one unit's trace."""
    layers = ins.activations.layers
    c = st.columns(3)
    # The label is the option (another model has other layer sizes; see choose_melody).
    by_label = {
        _("{layer} ({n} units)").format(layer=i + 1, n=number(t.size)): i for i, t in enumerate(layers)
    }
    layer = by_label[c[0].selectbox(_("Layer"), list(by_label), key="inside_layer", persist_state=SESSION)]
    signal = c[1].selectbox(
        _("Signal"),
        list(SIGNALS),
        key="inside_signal",
        format_func={s: signal_words(s) for s in SIGNALS}.__getitem__,
        persist_state=SESSION,
    )
    trace = layers[layer]
    values = trace.signal(signal)
    units = _shown_units(values, MAX_UNITS)
    # The traced unit is one of the heatmap's rows: by default the one that varies most over the melody.
    if st.session_state.get("inside_unit") not in units:
        st.session_state.inside_unit = most_varying(values, units)
    unit = c[2].selectbox(_("Unit to trace"), units, key="inside_unit", help=_("One of the heatmap's rows."))
    label, value_range = signal_words(signal), SIGNALS[signal][1]
    if len(units) < trace.size:
        st.caption(
            _("The {n} of {total} units whose {signal} varies most over this melody.").format(
                n=number(len(units)), total=number(trace.size), signal=label
            )
        )
    steps, bars, total = ins.timeline.steps, ins.timeline.bar_lines, _total(ins)
    heat = charts.unit_heatmap(charts.heatmap_frame(steps, values, units), label, value_range, bars, total)
    roll = charts.plain_roll(ins.timeline.notes, bars, total)
    line = charts.unit_trace(
        steps, values[:, unit], _("unit {unit}: {signal}").format(unit=unit, signal=label), bars, total
    )
    for chart in (roll, heat, line):  # one under another on the same time axis
        st.altair_chart(localized(chart), width="stretch")


def _feature_frame(ins: Inspection, feature: str, rows: pd.DataFrame) -> pd.DataFrame:
    """z-scored feature and the best units' states per note, for feature_traces."""
    notes = ins.timeline.notes
    steps = ins.timeline.note_steps()
    series = [("feature", _(FEATURE_WORDS[feature]), notes[feature].to_numpy(dtype=float))]
    for r in rows.itertuples():
        values = ins.activations.layers[r.layer].signal(r.signal)[steps, r.unit]
        name = _("layer {layer}, unit {unit} ({signal}, r = {r})").format(
            layer=r.layer + 1, unit=r.unit, signal=signal_words(r.signal), r=signed(r.r)
        )
        series.append(("unit", name, values))
    frames = []
    for kind, name, v in series:
        sd = np.nanstd(v)
        z = (v - np.nanmean(v)) / sd if sd > 0 else v * 0.0
        frames.append(
            pd.DataFrame({"start": notes.onset, "series": name, "series_kind": kind, "z": z, "value": v})
        )
    return pd.concat(frames, ignore_index=True).dropna(subset=["z"])


def best_tracked(best: pd.DataFrame) -> str | None:
    """The feature some unit tracks best (largest |r| in `best`), None for an empty table."""
    return None if best.empty else str(best.loc[best.r.abs().idxmax(), "feature"])


def units_table(best: pd.DataFrame) -> pd.DataFrame:
    """best_units in words: the feature and the state named, layers counted from 1, r to two decimals,
    headers in the page's language."""
    table = pd.DataFrame(
        {
            "feature": best.feature.map(lambda f: _(FEATURE_WORDS[f])),
            "layer": best.layer + 1,
            "unit": best.unit,
            "state": best.signal.map(signal_words),
            "r": best.r.round(2),
            "notes": best.n,
        }
    )
    return shown_headers(table, INSIDE_HEADERS)


def draw_units(ins: Inspection, table: pd.DataFrame) -> None:
    """The ranked table of the best units per feature; the chosen feature and its units over the melody."""
    best = best_units(table, 3)
    config = {
        "r": st.column_config.NumberColumn(format="%+.2f", help=_(INSIDE_HELP["r"])),
        _(INSIDE_HEADERS["notes"]): st.column_config.NumberColumn(
            format="localized", help=_("Notes the correlation is computed over.")
        ),
    }
    show_table(
        st, units_table(best), hide_index=True, width="stretch", column_config=config, placeholder=MISSING
    )
    features = list(FEATURES)
    if st.session_state.get("inside_feature") not in features:  # opens on what some unit tracks best
        st.session_state.inside_feature = best_tracked(best) or features[0]
    feature = st.selectbox(
        _("Feature"),
        features,
        key="inside_feature",
        format_func={f: _(FEATURE_WORDS[f]) for f in features}.__getitem__,
    )
    rows = best_units(table[table.feature == feature], 3)
    if rows.empty:
        st.info(_("This feature does not vary in this melody, so no unit can track it."))
        return
    frame = _feature_frame(ins, feature, rows)
    st.altair_chart(
        localized(charts.feature_traces(frame, ins.timeline.bar_lines, _total(ins))), width="stretch"
    )


def embedding_frame(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The embedding's token rows as a reader sees them: token types in words, pitch classes in the
    reader's convention (B and H in German), the separator token named."""
    return frame.assign(
        token=frame.token.map(token_words),
        type=frame.type.map(token_type_words),
        pitch_class=[pc if pd.isna(pc) else pitch_name(pc, lang) for pc in frame.pitch_class],
    )


def draw_embedding(ck, path: str, mtime: float) -> None:
    """The token embedding as points (three projections for 3 dims, PCA for more) and nearest neighbours."""
    view = embedding(path, mtime)
    key = st.selectbox(
        _("Colour by"),
        list(COLOUR_KEYS),
        key="inside_colour",
        format_func={k: _(COLOUR_WORDS[k]) for k in COLOUR_KEYS}.__getitem__,
    )
    title = _(COLOUR_WORDS[key])
    frame = embedding_frame(view.frame, current_language())
    share = [percent(e) for e in view.explained]
    if view.method == "direct" and view.dims == 3:
        pairs = [("x", "y"), ("x", "z"), ("y", "z")]
        for col, (a, b) in zip(st.columns(3), pairs):
            i, j = "xyz".index(a), "xyz".index(b)
            titles = tuple(_("dimension {n} ({share})").format(n=k + 1, share=share[k]) for k in (i, j))
            col.altair_chart(
                localized(charts.embedding_scatter(frame, a, b, key, title, titles)), width="stretch"
            )
    else:
        y = "y" if "y" in frame else "x"
        titles = (
            _("main direction 1 ({share} of the variance)").format(share=share[0]),
            _("direction 2 ({share})").format(share=share[-1]),
        )
        st.altair_chart(
            localized(charts.embedding_scatter(frame, "x", y, key, title, titles)), width="stretch"
        )
    st.caption(_("Colours: {what}").format(what=title))
    st.altair_chart(localized(charts.embedding_legend(frame, key)), width="content")
    tokens = view.frame.token.tolist()
    first = next((k for k, t in enumerate(view.frame.type) if t in ("note", "pitch")), 0)
    token = st.selectbox(
        _("Nearest neighbours of"),
        tokens,
        index=first,
        key="inside_token",
        format_func={t: token_words(t) for t in tokens}.__getitem__,
    )
    show_table(
        st,
        neighbours_table(nearest_tokens(ck.model, ck.tokenizer, token, 8)),
        hide_index=True,
        column_config={_(INSIDE_HEADERS["similarity"]): st.column_config.NumberColumn(format="%.2f")},
        placeholder=MISSING,
    )


def neighbours_table(nearest: pd.DataFrame) -> pd.DataFrame:
    """nearest_tokens for a reader: tokens and types in words (the separator is a space: an
    empty-looking cell), similarity to two decimals, headers in the page's language."""
    table = nearest.assign(
        token=nearest.token.map(token_words),
        type=nearest.type.map(token_type_words),
        similarity=nearest.similarity.round(2),
    )
    return shown_headers(table, INSIDE_HEADERS)
