"""The Sampling page's 64-melody comparison stored beside a checkpoint: exact, keyed, never stale."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from bachlstm.analysis.style import Interval, SharedRun, StyleReport, StyleRow
from bachlstm.cli import main
from bachlstm.model.checkpoints import SHIPPED_NAMES, load_checkpoint, resolve_checkpoint, save_checkpoint
from bachlstm.reports import stored_figures as figures
from bachlstm.reports.comparison import Knobs, checkpoint_reference
from bachlstm.reports.links import SamplingRequest
from bachlstm.reports.stored_figures import (
    FigureSettings,
    default_settings,
    figures_path,
    figures_text,
    make_entry,
    method_style,
    stored_figures,
    style_from_json,
    style_to_json,
    write_figures,
)
from tests.builders import scale_melodies

TINY = FigureSettings(Knobs(), True, (("length", 30), ("min_length", 4)), samples=2, n_boot=10)


def _text(style: StyleReport) -> str:
    return json.dumps(style_to_json(style))  # in order: a report's figures are the page's columns


def test_a_report_goes_to_json_and_back_exactly_nan_as_null():
    third = 1 / 3
    report = StyleReport(
        rows=[
            StyleRow(
                "top-p (p=0.9)",
                64,
                {"ends on tonic": Interval(np.float64(third), 0.25, 0.5), "copied": Interval(math.nan, 0, 0)},
                SharedRun(17, "bwv254", 29, 3),
            )
        ],
        noise_floor=(0.1, 0.2),
        memorization_floor=13,
        n_notes=None,
    )
    data = style_to_json(report)
    assert data == {
        "rows": [
            {
                "label": "top-p (p=0.9)",
                "melodies": 64,
                "figures": {"ends on tonic": [third, 0.25, 0.5], "copied": [None, 0.0, 0.0]},
                "longest_copy": {"notes": 17, "piece_id": "bwv254", "piece_start": 29, "start": 3},
            }
        ],
        "noise_floor": [0.1, 0.2],
        "memorization_floor": 13,
        "n_notes": None,
    }
    back = style_from_json(json.loads(json.dumps(data, allow_nan=False)))
    assert math.isnan(back.rows[0].figures["copied"].value)
    assert back.rows[0].figures["ends on tonic"] == Interval(third, 0.25, 0.5)
    assert back.rows[0].longest_copy == SharedRun(17, "bwv254", 29, 3)
    assert (back.noise_floor, back.memorization_floor, back.n_notes) == ((0.1, 0.2), 13, None)
    assert _text(back) == _text(report)


def test_written_figures_read_back_as_what_the_page_computes(checkpoint_path, tmp_path, one_thread):
    """Both ways on a tiny case: stored by `figures`' route, read back, against a fresh computation."""
    path = tmp_path / "tiny.safetensors"
    shutil.copyfile(checkpoint_path, path)
    ckpt = load_checkpoint(path)
    entry = make_entry(ckpt, checkpoint_reference(ckpt, melodies=scale_melodies(9)), TINY)
    assert write_figures(path, [entry]) == tmp_path / "tiny.figures.json"
    assert figures_path(path).read_text() == figures_text([entry])
    stored = stored_figures(path, TINY)
    fresh = method_style(ckpt, checkpoint_reference(ckpt, melodies=scale_melodies(9)), TINY)
    assert [r.label for r in stored.rows][-4:] == [
        "greedy",
        "top-k (k=8)",
        "top-p (p=0.9)",
        "temperature (T=1)",
    ]
    assert _text(stored) == _text(fresh)
    assert stored.frame().equals(fresh.frame())  # the page's table, intervals written out


def test_stored_figures_describe_one_file_and_one_setting(checkpoint_path, tmp_path, monkeypatch):
    path = tmp_path / "tiny.safetensors"
    shutil.copyfile(checkpoint_path, path)
    ckpt = load_checkpoint(path)
    write_figures(path, [make_entry(ckpt, checkpoint_reference(ckpt, melodies=scale_melodies(9)), TINY)])
    assert stored_figures(path, TINY) is not None
    # another setting: knobs, lengths, samples, seed or bootstrap
    assert stored_figures(path, FigureSettings(Knobs(k=9), True, TINY.lengths, 2, n_boot=10)) is None
    assert stored_figures(path, FigureSettings(Knobs(), True, (("length", 31), ("min_length", 4)), 2)) is None
    assert stored_figures(path, FigureSettings(Knobs(), True, TINY.lengths, 3, n_boot=10)) is None
    assert stored_figures(path, FigureSettings(Knobs(), True, TINY.lengths, 2, seed=1, n_boot=10)) is None
    # the same bytes under another name: the same figures; other bytes (metadata only): none
    twin, other = tmp_path / "twin.safetensors", tmp_path / "other.safetensors"
    shutil.copyfile(path, twin)
    save_checkpoint(other, ckpt.model, ckpt.tokenizer, {**ckpt.meta, "created": "another day"})
    for copy in (twin, other):
        shutil.copyfile(figures_path(path), figures_path(copy))
    assert _text(stored_figures(twin, TINY)) == _text(stored_figures(path, TINY))
    assert stored_figures(other, TINY) is None
    # another version of the comparison code
    monkeypatch.setattr(figures, "FIGURES_VERSION", figures.FIGURES_VERSION + 1)
    assert stored_figures(path, TINY) is None
    monkeypatch.undo()
    # a file that is not ours, or broken: ignored (the page computes)
    for text in ("{", '{"format": "other", "entries": []}', '{"format": "bachlstm-method-figures"}', "[]"):
        figures_path(path).write_text(text)
        assert stored_figures(path, TINY) is None
    figures_path(path).write_text(" " * (figures.MAX_FIGURES_BYTES + 1))
    assert stored_figures(path, TINY) is None
    figures_path(path).unlink()
    assert stored_figures(path, TINY) is None


def test_the_default_settings_are_the_sampling_pages():
    request = SamplingRequest("")
    assert default_settings() == FigureSettings(
        request.knobs,
        request.constrained,
        (("cadence", True), ("close_after", 40), ("length", 976), ("max_notes", 120), ("min_length", 8)),
        samples=64,
        seed=0,
        n_boot=1000,
    )


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_each_shipped_model_ships_current_figures_for_the_defaults(name):
    """The key: the checkpoint's bytes, torch, the corpus, the settings and the code version. A failure
    here means: `python -m bachlstm figures` (checkpoints/README.md)."""
    found = stored_figures(resolve_checkpoint(name), default_settings())
    assert found is not None, f"checkpoints/{name}.figures.json is stale: run python -m bachlstm figures"


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_the_shipped_figures_are_what_the_comparison_makes_today(name, capsys):
    """Recomputed (4-20 s of CPU per model): a change to the comparison's code that changes its figures
    needs FIGURES_VERSION bumped and `python -m bachlstm figures` run."""
    assert main(["figures", "--check", "--checkpoint", name]) == 0, capsys.readouterr().out
