"""What units track: the correlation of each LSTM unit with musical features of the note just heard.

Each note contributes one sample: the state after its last token (Timeline.note_steps), i.e. once
the model has heard the whole note. For every feature (timeline.FEATURES), every layer, every unit
and the hidden and cell state, the Pearson correlation r over the notes where the feature is defined
(pitch height skips rests). A unit with |r| near 1 rises and falls with that feature: a "meter
unit", a "pitch unit". Correlation over one melody of 60 notes is noisy (|r| of 0.25 arises by chance
about once in 20 for a single unit, and a layer has many units): pool several melodies for a claim.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bachlstm.analysis.activations import Activations
from bachlstm.tokens.timeline import FEATURES, Timeline

PROBE_SIGNALS = ("hidden", "cell")
MIN_NOTES = 3  # fewer samples make r meaningless (2 points always lie on a line)


def note_states(activations: Activations, timeline: Timeline, signal: str = "hidden") -> list[np.ndarray]:
    """Per layer, the (N, H) states after each of the N notes (see the module docstring)."""
    steps = timeline.note_steps()
    return [layer.signal(signal)[steps] for layer in activations.layers]


def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Correlation of each column of x (N, H) with y (N,) -> (H,); NaN where a column or y is constant."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    denom = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc[:, None]).sum(axis=0) / denom
    return np.where(denom > 1e-12, r, np.nan)


def unit_correlations(
    states: dict[str, Sequence[np.ndarray]], notes: pd.DataFrame, features: Sequence[str] = tuple(FEATURES)
) -> pd.DataFrame:
    """Long table: feature, signal, layer, unit, r, abs_r, n (notes used); sorted by feature, |r| falling.

    `states` maps a signal name to its per-layer (N, H) arrays (note_states; several melodies may be
    stacked row-wise with their note tables concatenated in the same order). A feature with fewer
    than MIN_NOTES defined values, or constant, gives no rows; a constant unit gives r NaN.
    """
    frames = []
    for feature in features:
        y_all = notes[feature].to_numpy(dtype=np.float64)
        ok = np.isfinite(y_all)
        if ok.sum() < MIN_NOTES or np.ptp(y_all[ok]) == 0:
            continue
        for signal, layers in states.items():
            for layer, x in enumerate(layers):
                r = pearson(np.asarray(x, dtype=np.float64)[ok], y_all[ok])
                frame = pd.DataFrame({"unit": np.arange(len(r)), "r": r})
                frames.append(frame.assign(feature=feature, signal=signal, layer=layer, n=int(ok.sum())))
    if not frames:
        return pd.DataFrame(columns=["feature", "signal", "layer", "unit", "r", "abs_r", "n"])
    out = pd.concat(frames, ignore_index=True)
    out["abs_r"] = out.r.abs()
    order = {f: i for i, f in enumerate(features)}
    out = out.sort_values(
        ["feature", "abs_r"], key=lambda c: c.map(order) if c.name == "feature" else -c.fillna(-1.0)
    )
    return out[["feature", "signal", "layer", "unit", "r", "abs_r", "n"]].reset_index(drop=True)


def best_units(correlations: pd.DataFrame, per_feature: int = 3) -> pd.DataFrame:
    """The `per_feature` units with the largest |r| for each feature (NaN r left out), in feature order."""
    ranked = correlations.dropna(subset=["r"])
    return ranked.groupby("feature", sort=False).head(per_feature).reset_index(drop=True)


def melody_correlations(
    activations: Activations, timeline: Timeline, signals: Sequence[str] = PROBE_SIGNALS
) -> pd.DataFrame:
    """unit_correlations for one melody, over the hidden and cell states of every layer."""
    states = {s: note_states(activations, timeline, s) for s in signals}
    return unit_correlations(states, timeline.notes)


def pooled_correlations(
    pairs: Sequence[tuple[Activations, Timeline]], signals: Sequence[str] = PROBE_SIGNALS
) -> pd.DataFrame:
    """unit_correlations over several melodies at once (their notes stacked), one (activations, timeline)
    pair per melody. Pooling separates features one melody confounds: within one melody the distance
    to the end is the time since the start reversed, so any unit that drifts with time tracks it."""
    if not pairs:
        raise ValueError("no melodies to pool")
    states = {
        s: [np.vstack(layers) for layers in zip(*(note_states(a, t, s) for a, t in pairs))] for s in signals
    }
    notes = pd.concat([t.notes for _, t in pairs], ignore_index=True)
    return unit_correlations(states, notes)
