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
