"""Plain helpers for the dashboard pages (tables, altair charts, formatting); no streamlit here."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

# The pipeline picture on the home page (Graphviz DOT, drawn by the browser).
PIPELINE_DOT = """
digraph pipeline {
  rankdir=LR; bgcolor="transparent";
  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4a6fa5", fontname="Helvetica"];
  edge [color="#4a6fa5", fontname="Helvetica", fontsize=10];
  corpus [label="music21\\nBach corpus"]; select [label="selection\\n4/4, voice, length"];
  tokens [label="tokens\\nnotes + rests"]; lstm [label="LSTM\\nembedding -> LSTM stack"];
  sampling [label="sampling\\ngreedy | top-k | top-p | T"]; midi [label="MIDI, sheet music,\\naudio"];
  corpus -> select -> tokens -> lstm -> sampling -> midi;
  lstm -> tokens [label=" next token", style=dashed, constraint=false];
}
"""


def checkpoint_table(infos: Sequence) -> pd.DataFrame:
    """One row per CheckpointInfo: name, kind, preset, tokenizer, parameters, test metrics, status."""
    rows = []
    for info in infos:
        metrics = info.metrics or {}
        rows.append(
            {
                "name": info.name,
                "kind": "shipped" if info.shipped else "user run",
                "preset": info.preset or "",
                "tokenizer": info.tokenizer or "",
                "parameters": info.n_params,
                "test perplexity": _num(metrics.get("test_perplexity", metrics.get("perplexity"))),
                "test top-1": _num(metrics.get("test_top1", metrics.get("top1"))),
                "status": "broken" if info.error else "ok",
            }
        )
    return pd.DataFrame(rows)


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def format_seconds(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '42 s'; '?' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


# --------------------------------------------------------------------------------------------------
# Training page


class FormError(ValueError):
    """A dashboard form value cannot be used; the message names the field and the value."""


# The hyperparameters the training form edits: field name -> (label, kind). Kinds: int, float, ints,
# floats (comma-separated lists), int0 (0 means "none").
TRAINING_FIELDS = {
    "epochs": ("Epochs", "int"),
    "batch_size": ("Batch size", "int"),
    "lr": ("Learning rate", "float"),
    "embedding_dim": ("Embedding dimension", "int"),
    "lstm_sizes": ("LSTM layer sizes (comma-separated)", "ints"),
    "dropouts": ("Dropout per LSTM layer (comma-separated)", "floats"),
    "hidden_linear": ("Hidden linear layer (0 = none)", "int0"),
    "seq_len": ("Sequence length (tokens)", "int"),
    "max_melodies": ("Use only the first N melodies (0 = all)", "int0"),
    "max_steps": ("Stop after N steps (0 = no limit)", "int0"),
    "seed": ("Seed", "int"),
}

# A teacher's one-line explanation of each field, shown as the field's help tooltip.
TRAINING_HELP = {
    "epochs": "Passes over all training windows. More epochs fit the melodies better but take longer.",
    "batch_size": "Windows per optimizer step. Larger batches give fewer, smoother steps per epoch.",
    "lr": "Learning rate: how big each AdamW step is. Too large and the loss jumps about; too small and "
    "it learns slowly.",
    "embedding_dim": "Length of the vector each token becomes before the LSTM (see the Corpus page's "
    "embedding panel).",
    "lstm_sizes": "Memory units per LSTM layer, one number per layer: '6, 12, 6' is three layers.",
    "dropouts": "Share of units switched off at random while training, one value per LSTM layer (0 = none); "
    "it fights memorizing the training melodies.",
    "hidden_linear": "Size of an extra dense layer between the LSTMs and the output (0 = none).",
    "seq_len": "How many tokens the model sees in one training window: its context while it learns.",
    "max_melodies": "Train on only the first N melodies for a quicker demo (0 = all of them).",
    "max_steps": "End training after this many optimizer steps, whatever the epochs say (0 = no limit).",
    "seed": "The same seed and settings train the same model again.",
}


# What each Sampling-page knob does, in a teacher's words (the knobs' help tooltips).
KNOB_HELP = {
    "k": "top-k: draw the next token from the k most likely ones only. k = 1 is greedy; a larger k "
    "allows more variety (and more mistakes).",
    "p": "top-p (nucleus): draw from the fewest most-likely tokens whose probabilities add up to p. "
    "A small p plays safe; p = 1 keeps every token.",
    "t": "Temperature reshapes the probabilities before drawing: below 1 the likely tokens get likelier "
    "(safer, more repetitive), above 1 the distribution flattens (more surprising, more random).",
    "min_p": "Drop every token less likely than min-p times the most likely one (0 = off).",
    "typical_p": "Keep the tokens whose surprise is closest to the usual surprise, up to this total "
    "probability (1 = off).",
    "repetition_penalty": "Make tokens the melody has already used less likely (1 = off).",
    "no_repeat_ngram": "Never write the same n tokens in a row twice: breaks greedy loops (0 = off).",
    "constrained": "Allow only tokens that can come next in a well-formed melody (e.g. no duration "
    "without a pitch), so every sample can be turned into notes.",
}


def form_defaults(preset) -> dict:
    """The training form's starting values for a Preset (lists as text, None as 0)."""
    sections = (preset.train, preset.model, preset.data)
    values = {}
    for name, (_, kind) in TRAINING_FIELDS.items():
        value = next(getattr(s, name) for s in sections if hasattr(s, name))
        if kind in ("ints", "floats"):
            value = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif kind == "int0":
            value = value or 0
        values[name] = value
    return values


def parse_number_list(text: str, kind: type, field: str) -> tuple:
    """'6, 12, 6' -> (6, 12, 6); FormError naming `field` for anything that is not such a list."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise FormError(f"{field}: give at least one number, e.g. '64, 64'")
    try:
        return tuple(kind(p) for p in parts)
    except ValueError:
        raise FormError(f"{field}: {text!r} is not a comma-separated list of numbers") from None


def training_overrides(values: dict) -> dict:
    """Form values -> get_preset(name, **overrides) keyword arguments (text lists parsed, 0 -> None)."""
    out = {}
    for name, (label, kind) in TRAINING_FIELDS.items():
        if name not in values:
            continue
        value = values[name]
        if kind == "ints":
            value = parse_number_list(value, int, label)
        elif kind == "floats":
            value = parse_number_list(value, float, label)
        elif kind == "int0":
            value = int(value) or None
        elif kind == "int":
            value = int(value)
        else:
            value = float(value)
        out[name] = value
    return out


def next_run_name(name: str, taken) -> str:
    """The next free run name: 'my-run-1' -> 'my-run-2' (or 'x' -> 'x-2'), skipping names in `taken`."""
    import re

    m = re.match(r"^(.*?)-?(\d+)$", name)
    base, n = (m.group(1), int(m.group(2)) + 1) if m and m.group(1) else (name, 2)
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


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
    import altair as alt

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


def progress_text(record) -> tuple[float, str]:
    """(fraction done, one-line status) for the progress bar from the newest Progress record."""
    if record is None:
        return 0.0, "preparing the data ..."
    total = max(int(record.total_steps or 0), 1)
    fraction = min(max(record.step / total, 0.0), 1.0)
    text = f"epoch {record.epoch} · step {record.step:,}/{total:,}"
    if record.eta_s is not None and record.kind != "done":
        text += f" · ETA {format_seconds(record.eta_s)}"
    if record.tokens_per_s:
        text += f" · {record.tokens_per_s:,.0f} tokens/s"
    return fraction, text


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
    import altair as alt

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


# --------------------------------------------------------------------------------------------------
# Corpus page

# What each exclusion reason of selection.select() means, for the page's "what the filters exclude".
EXCLUSION_EXPLANATIONS = {
    "duplicate file": "a Humdrum (.krn) copy of a chorale that is also there as MusicXML; counted once",
    "time signature": "some measure of some part is in a time signature you did not choose",
    "no such voice": "the piece has no part of that voice (e.g. instrumental lines only)",
    "empty part": "the part has no notes at all",
    "too short": "fewer notes and rests than the minimum length",
    "too long": "more notes and rests than the maximum length",
}


def exclusion_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Selection.summary() with an `explanation` column (the selected row first)."""
    out = summary.copy()
    out["explanation"] = [
        "kept" if r == "selected" else EXCLUSION_EXPLANATIONS.get(r, "") for r in out["reason"]
    ]
    return out


def time_signature_chart(counts: pd.DataFrame, chosen: Sequence[str]):
    """Pieces per time-signature combination; combinations inside the chosen set highlighted."""
    import altair as alt

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
    import altair as alt

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
    import altair as alt

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
    import altair as alt

    from bachlstm.stats import midi_name

    rows = []
    for voice, g in table.dropna(subset=["lowest"]).groupby("voice", sort=True):
        rows.append((voice, "all melodies", g.lowest.min(), g.highest.max()))
        rows.append((voice, "median melody", g.lowest.median(), g.highest.median()))
    frame = pd.DataFrame(rows, columns=["voice", "range", "low", "high"])
    frame["from"] = [midi_name(int(round(v))) for v in frame.low]
    frame["to"] = [midi_name(int(round(v))) for v in frame.high]
    axis = alt.Axis(labelExpr="['C','C#','D','Eb','E','F','F#','G','G#','A','Bb','B'][datum.value % 12] + "
                    "(floor(datum.value / 12) - 1)")  # fmt: skip
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
    import altair as alt

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
    import altair as alt

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
    import altair as alt

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
    import altair as alt

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


def corpus_overview(corpus, config, tokenizer: str = "event", seq_lens=(16, 32, 64, 128, 250)) -> dict:
    """Every number and table the Corpus page shows for a SelectionConfig and a tokenizer name.

    Lengths are taken from the selection *without* length limits, so the chart can show what the
    cut-offs remove. Returns DataFrames (picklable, for st.cache_data) and plain numbers.
    """
    import dataclasses

    from bachlstm import stats
    from bachlstm.selection import select

    selection = select(corpus, config)
    unlimited = select(corpus, dataclasses.replace(config, min_events=None, max_events=None))
    melodies = selection.melodies
    chosen_ids = {m.piece_id for m in melodies}
    sub = dataclasses.replace(corpus, pieces=tuple(p for p in corpus.pieces if p.id in chosen_ids))
    out = {
        "n_melodies": len(melodies),
        "n_pieces": len(chosen_ids),
        "n_excluded": len(selection.excluded),
        "summary": exclusion_summary(selection.summary()),
        "excluded": selection.report(),
        "time_signatures": stats.time_signature_counts(corpus),
        "lengths": stats.melody_table(unlimited.melodies)[["piece_id", "voice", "n_events"]],
        "melodies": stats.melody_table(melodies),
        "keys": stats.key_counts(sub) if melodies else pd.DataFrame(),
    }
    if not melodies:
        return out
    freq = stats.token_frequencies(melodies, tokenizer)
    coverage = stats.vocabulary_coverage(melodies)
    vocab_sizes = dict(zip(coverage.tokenizer, coverage.vocab_size))
    limits = [(None, None)]
    if (config.min_events, config.max_events) != (None, None):
        limits.append((config.min_events, config.max_events))
    out.update(
        pitch_classes=stats.pitch_class_histogram(melodies, by_duration=True),
        durations=stats.duration_histogram(melodies),
        tokens=freq,
        n_tokens=int(freq["count"].sum()),
        vocab_size=vocab_sizes.get(tokenizer),
        coverage=coverage,
        windows=stats.window_counts(melodies, tokenizer, seq_lens, length_limits=limits),
        embedding=stats.embedding_suggestions(vocab_sizes),
        equidistant=stats.equidistant_bound(melodies, tokenizer),
    )
    return out


def melody_label(melody) -> str:
    """'bwv269 soprano: Aus meines Herzens Grunde' for the piece browser."""
    title = (melody.meta or {}).get("title") or ""
    return f"{melody.piece_id} {melody.voice}" + (f": {title}" if title else "")


# --------------------------------------------------------------------------------------------------
# Sampling page

METHODS = ("greedy", "top-k", "top-p", "temperature")
# The metrics each column shows under its music, in this order: (column of the table, label, format).
COLUMN_METRICS = (
    ("validity", "valid groups", "{:.0%}"),
    ("bar_validity", "full 4/4 bars", "{:.0%}"),
    ("pitch_range", "range (semitones)", "{:.0f}"),
    ("scale_consistency", "in one scale", "{:.0%}"),
    ("distinct_2", "distinct 2-grams", "{:.2f}"),
    ("self_perplexity", "self-perplexity", "{:.1f}"),
    ("kl_pc", "KL pitch classes vs Bach", "{:.2f}"),
    ("memorized", "longest copy (tokens)", "{:.0f}"),
)
# The metrics of the comparison chart: (column, title, what a good value looks like).
CHART_METRICS = (
    ("pitch_range", "pitch range", "Bach-like"),
    ("pc_entropy", "pitch-class entropy (bits)", "Bach-like"),
    ("scale_consistency", "scale consistency", "high"),
    ("distinct_2", "distinct 2-grams", "Bach-like, not 0"),
    ("bar_validity", "bar validity", "1"),
    ("kl_pc", "KL pitch classes", "low"),
    ("self_perplexity", "self-perplexity", "Bach-like"),
    ("memorized", "longest copy (tokens)", "low"),
)


def sampling_configs(knobs: dict, extras: dict | None = None) -> list:
    """The four columns' SamplingConfigs from the form: knobs k, k_t, p, p_t, t; extras for all columns.

    `extras` (min_p, typical_p, repetition_penalty, no_repeat_ngram) apply to every column; greedy
    takes only the penalties (cuts do not change an argmax). Raises SamplingConfigError (a ValueError).
    """
    from bachlstm.sampling import SamplingConfig

    extras = dict(extras or {})
    penalties = {k: extras.pop(k) for k in ("repetition_penalty", "no_repeat_ngram") if k in extras}
    return [
        SamplingConfig("greedy", **penalties),
        SamplingConfig("top-k", k=int(knobs["k"]), temperature=float(knobs["k_t"]), **extras, **penalties),
        SamplingConfig("top-p", p=float(knobs["p"]), temperature=float(knobs["p_t"]), **extras, **penalties),
        SamplingConfig("temperature", temperature=float(knobs["t"]), **extras, **penalties),
    ]


def memorization_threshold(bach_row: dict | None) -> int:
    """Copies at least this long (tokens) are flagged: twice what real held-out Bach shares, at least 16."""
    bach = (bach_row or {}).get("memorized")
    return max(16, int(2 * bach)) if bach else 16


def generation_warnings(label: str, row: dict, threshold: int) -> list[str]:
    """Plain-language warnings for one generated melody: loops, copies of a training piece, no notes."""
    out = []
    if not row.get("notes"):
        out.append(f"{label}: no notes at all (only rests, or nothing before the end token).")
    if row.get("loops"):
        period = int(row.get("loop_period") or 1)
        # metrics.find_loop's rule: at least 3 repeats covering at least 6 notes (so one note, 6 times)
        times = max(3, -(-6 // period))
        what = "note" if period == 1 else f"{period}-note phrase"
        out.append(f"{label}: ends in a loop (the same {what} {times} or more times in a row).")
    copied = row.get("memorized")
    if copied is not None and copied >= threshold:
        out.append(
            f"{label}: copies {copied:.0f} consecutive tokens of the training piece "
            f"{row.get('memorized_piece')} (real held-out Bach shares fewer): memorised, not composed."
        )
    return out


def format_metric(value, fmt: str) -> str:
    """A metric for display; '–' for None/NaN, 'yes'/'no' for booleans."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt.format(value)


def compare_methods(
    checkpoint, configs, *, primer=None, length=128, seed=0, constrained=True, reference=None
):
    """Generate one melody per config and score them: {"gens", "table", "rows", "warnings"}.

    `reference` is a generation.CheckpointReference (adds KL, memorization and the Bach row) or None.
    """
    from bachlstm.generation import comparison_table, generate

    gens = generate(
        checkpoint, configs, primer=primer, length=length, seed=seed, samples=1, constrained=constrained
    )
    table = comparison_table(
        gens,
        model=checkpoint.model,
        reference=reference.reference if reference else None,
        bach=reference.bach if reference else None,
    )
    rows = table.to_dict("records")[: len(gens)]
    threshold = memorization_threshold(reference.bach if reference else None)
    warnings = [w for g, row in zip(gens, rows) for w in generation_warnings(g.config.method, row, threshold)]
    return {"gens": gens, "table": table, "rows": rows, "warnings": warnings}


def melody_view(events: Sequence, n_primer: int = 0, title: str = "", page_width: int = 1000) -> dict:
    """What a column shows: sheet music (SVG pages, narrow), audio (None for silence), piano-roll frame."""
    from bachlstm.music import piano_roll, to_audio, to_svg

    roll = piano_roll(events)
    roll["part"] = ["primer" if i < n_primer else "generated" for i in roll["index"]]
    return {
        "svg": to_svg(events, title=title, page_width=page_width, all_pages=True) if events else None,
        "audio": to_audio(events) if events else None,
        "roll": roll,
    }


def piano_roll_chart(roll: pd.DataFrame, title: str = ""):
    """Notes as horizontal bars: time (quarters) on x, pitch on y; the primer greyed."""
    import altair as alt

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


def comparison_chart(table: pd.DataFrame):
    """One small bar chart per metric, methods side by side, the real Bach row in its own colour."""
    import altair as alt

    rows = []
    for _, r in table.iterrows():
        for col, title, good in CHART_METRICS:
            value = r.get(col)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                rows.append((r["method"], f"{title} ({good})", float(value)))
    frame = pd.DataFrame(rows, columns=["method", "metric", "value"])
    methods = list(dict.fromkeys(frame.method))
    palette = ["#4a6fa5", "#e1a33b", "#5aa469", "#c0392b", "#8e6bb3", "#7f8c8d"]
    colours = [
        ("#2c2c2c" if m.startswith("Bach") else palette[i % len(palette)]) for i, m in enumerate(methods)
    ]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("method:N", sort=methods, title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("method:N", sort=methods, scale=alt.Scale(domain=methods, range=colours)),
            tooltip=["method", "metric", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=130, height=130)
        .facet(facet=alt.Facet("metric:N", title=None), columns=4)
        .resolve_scale(y="independent")
    )


def next_token_frame(checkpoint, tokens: Sequence[int], configs, *, constrained: bool = True, top: int = 12):
    """The model's next-token distribution after `tokens` (BOS first) and what each config keeps of it.

    Long DataFrame: method, token, rank (by the model's probability), before (model, grammar-masked),
    after (the distribution that config samples from), kept. Only the `top` most likely tokens.
    """
    import torch

    from bachlstm.generation import grammar_of
    from bachlstm.sampling import explain

    tok = checkpoint.tokenizer
    with torch.inference_mode():
        logits = checkpoint.model(torch.tensor([list(tokens)], dtype=torch.long))[0][0, -1]  # (V,)
    mask = None
    if constrained:
        grammar = grammar_of(tok)  # cached: building a grammar's masks is the slow part
        state = grammar.initial_state()
        for t in list(tokens)[1:]:
            state = grammar.advance(state, t)
        mask = torch.tensor(grammar.allowed(state), dtype=torch.bool)
    frames = []
    for cfg in configs:
        f = explain(logits, cfg, mask=mask, history=list(tokens)[1:]).to_frame(tok.vocab, top=top)
        f.insert(0, "method", cfg.label)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def next_token_chart(frame: pd.DataFrame):
    """Per method: the model's probabilities (wide bars; red = cut) and what it samples from (narrow bars)."""
    import altair as alt

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


def zip_files(files: dict[str, bytes]) -> bytes:
    """A zip archive of name -> bytes (for "download all")."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
