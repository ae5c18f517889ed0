"""The Sampling page's 64-melody method comparison, made once and stored beside the checkpoint.

`method_style` is the one computation (the page's and `python -m bachlstm figures`'). The figures of a
checkpoint `NAME.safetensors` live in `NAME.figures.json` next to it, each entry under the key of what it
describes (`figures_key`): the checkpoint file's SHA-256 (weights, split and tokenizer), the corpus
extraction, torch's version (its random draws), the settings (knobs, grammar, lengths, samples, seed)
and FIGURES_VERSION. A reader takes an entry only when its key equals the one it would compute with,
so a retrained model, changed defaults or new comparison code fall back to computing, as without the file.
The JSON holds every float exactly (repr round-trips), so a stored report is the one the server makes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from bachlstm.analysis.style import BOOTSTRAP, Interval, SharedRun, StyleReport, StyleRow
from bachlstm.reports.comparison import CheckpointReference, Knobs, compare_methods, sampling_configs
from bachlstm.reports.links import SamplingRequest, length_arguments

log = logging.getLogger(__name__)

FIGURES_FORMAT = "bachlstm-method-figures"
# Bump when the comparison's code changes what it computes (generation, metrics, style figures): stored
# figures of an older version are then ignored. tests/reports/test_stored_figures.py recomputes one
# shipped model's figures (slow) and fails if a change was made without a bump and a rewrite.
FIGURES_VERSION = 1
FIGURES_SUFFIX = ".figures.json"
METHOD_SAMPLES = 64  # melodies per method behind the Sampling page's comparison (as `compare` makes them)
FIGURES_SEED = 0
MAX_FIGURES_BYTES = 1_000_000  # a few kB per entry: a larger file is not ours


@dataclass(frozen=True)
class FigureSettings:
    """What a comparison's figures were made with, apart from the checkpoint: the knobs, the grammar
    mask, compare_methods' length arguments (sorted items), melodies per method, the seed and the
    bootstrap resamples of the intervals."""

    knobs: Knobs
    constrained: bool
    lengths: tuple[tuple[str, object], ...]
    samples: int = METHOD_SAMPLES
    seed: int = FIGURES_SEED
    n_boot: int = BOOTSTRAP


def page_settings(request: SamplingRequest) -> FigureSettings:
    """The settings of the Sampling page's comparison for a request's knobs, grammar and lengths."""
    lengths = {**length_arguments(request.length, request.cadence), "min_length": request.min_length}
    return FigureSettings(request.knobs, request.constrained, tuple(sorted(lengths.items())))


def default_settings() -> FigureSettings:
    """The page's default settings (`SamplingRequest`'s defaults): the ones whose figures are shipped."""
    return page_settings(SamplingRequest(""))


def method_style(checkpoint, reference: CheckpointReference, settings: FigureSettings) -> StyleReport | None:
    """Each method's pooled figures against held-out Bach: `settings.samples` melodies per method, no
    primer (compare_methods' `style`; None when the reference carries no split)."""
    comparison = compare_methods(
        checkpoint,
        sampling_configs(settings.knobs),
        samples=settings.samples,
        seed=settings.seed,
        n_boot=settings.n_boot,
        reference=reference,
        constrained=settings.constrained,
        **dict(settings.lengths),
    )
    return comparison.style


# ----------------------------------------------------------------------------------------------------
# The key and the JSON


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (a shipped checkpoint: 2 MB, a few ms)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def figures_key(checkpoint_path: Path, settings: FigureSettings) -> dict:
    """Everything the figures depend on, as JSON values: equal keys, equal figures."""
    import torch

    from bachlstm.corpus.cache import installed_music21_version
    from bachlstm.corpus.extraction import EXTRACTOR_VERSION

    return {
        "version": FIGURES_VERSION,
        "checkpoint_sha256": file_sha256(checkpoint_path),
        "corpus": f"extractor {EXTRACTOR_VERSION}, music21 {installed_music21_version()}",
        "torch": torch.__version__.split("+")[0],
        "knobs": asdict(settings.knobs),
        "constrained": settings.constrained,
        "lengths": dict(settings.lengths),
        "samples": settings.samples,
        "seed": settings.seed,
        "n_boot": settings.n_boot,
    }


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value  # JSON has no NaN: null


def _float(value) -> float:
    return math.nan if value is None else float(value)


def style_to_json(style: StyleReport) -> dict:
    """A StyleReport as JSON values; `style_from_json` gives it back exactly (NaN as null)."""
    return {
        "rows": [
            {
                "label": row.label,
                "melodies": int(row.melodies),
                "figures": {
                    name: [_number(iv.value), _number(iv.low), _number(iv.high)]
                    for name, iv in row.figures.items()
                },
                "longest_copy": asdict(row.longest_copy),
            }
            for row in style.rows
        ],
        "noise_floor": [_number(x) for x in style.noise_floor],
        "memorization_floor": int(style.memorization_floor),
        "n_notes": style.n_notes,
    }


def style_from_json(data: dict) -> StyleReport:
    """The StyleReport `style_to_json` wrote; KeyError, TypeError or ValueError when it is not one."""
    rows = [
        StyleRow(
            str(row["label"]),
            int(row["melodies"]),
            {str(name): Interval(*map(_float, values)) for name, values in row["figures"].items()},
            SharedRun(**row["longest_copy"]),
        )
        for row in data["rows"]
    ]
    pcs, transitions = map(_float, data["noise_floor"])
    n_notes = data["n_notes"]
    return StyleReport(
        rows, (pcs, transitions), int(data["memorization_floor"]), None if n_notes is None else int(n_notes)
    )


def figures_text(entries: list[dict]) -> str:
    """The file's text, a newline at the end. Keys keep their order: a report's figures are its columns."""
    return json.dumps({"format": FIGURES_FORMAT, "entries": entries}, indent=1, allow_nan=False) + "\n"


# ----------------------------------------------------------------------------------------------------
# The file beside the checkpoint


def figures_path(checkpoint_path: Path) -> Path:
    """NAME.figures.json beside NAME.safetensors."""
    checkpoint_path = Path(checkpoint_path)
    return checkpoint_path.with_name(checkpoint_path.name.removesuffix(".safetensors") + FIGURES_SUFFIX)


def stored_figures(checkpoint_path: Path, settings: FigureSettings) -> StyleReport | None:
    """The stored figures for this checkpoint file and settings; None when there are none, they describe
    anything else (another file, code version, torch, corpus or setting) or the file is not readable."""
    path = figures_path(checkpoint_path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FIGURES_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FIGURES_FORMAT:
            return None
        key = figures_key(Path(checkpoint_path), settings)
        for entry in data["entries"]:
            if entry["key"] == key:
                return style_from_json(entry["figures"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
    return None


def make_entry(checkpoint, reference: CheckpointReference, settings: FigureSettings) -> dict | None:
    """A file entry: the figures `method_style` makes, under their key (None without a split)."""
    style = method_style(checkpoint, reference, settings)
    if style is None:
        return None
    return {"key": figures_key(Path(checkpoint.path), settings), "figures": style_to_json(style)}


def write_figures(checkpoint_path: Path, entries: list[dict]) -> Path:
    """Write the entries beside the checkpoint, atomically (a reader sees the old file or the new one)."""
    path = figures_path(checkpoint_path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(figures_text(entries), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
