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


def training_chart(frame: pd.DataFrame):
    """Loss and validation accuracy against optimizer steps, side by side (altair)."""
    import altair as alt

    def panel(data: pd.DataFrame, title: str, y):
        return (
            alt.Chart(data, title=title, height=260)
            .mark_line(point=alt.OverlayMarkDef(size=20, filled=True))
            .encode(
                x=alt.X("step:Q", title="optimizer step"),
                y=y,
                color=alt.Color("metric:N", title=None),
                tooltip=["run", "metric", "epoch", "step", alt.Tooltip("value:Q", format=".4f")],
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
    return alt.hconcat(loss, acc).resolve_scale(color="independent")


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
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            strokeDash=alt.StrokeDash("run:N", legend=None),
            tooltip=["run", "metric", "epoch", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=260, height=220)
        .facet(column=alt.Column("metric:N", title=None))
        .resolve_scale(y="independent")
    )
