"""A run's data, prepared and costed before training: melodies, tokenizer, the budget check, windows.

The cost is checked between the tokenizer and the windows, because the windows are what a bad setting
makes huge (a 10^6-token window over 231 melodies is ~7 GB); everything before them is bounded by the
corpus. The same functions size the data for the Training form's estimate and the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bachlstm.tokens.tokenizers import build_tokenizer
from bachlstm.training.budget import DataSize, Estimate, check_preset, data_size
from bachlstm.training.dataset import Datasets, build_datasets, split_by_tune
from bachlstm.training.presets import Preset
from bachlstm.training.splits import load_melodies


class TrainingStopped(Exception):
    """Stop was requested while the data was being prepared: nothing was trained or saved."""


def run_tokenizer(preset: Preset, melodies: list) -> Any:
    """The preset's tokenizer, its vocabulary built from `melodies` and their augmented transpositions."""
    # Every selected melody, not only the training split: test pieces may use a note no training piece
    # has, and an UNK there would be an unscorable target.
    return build_tokenizer(
        preset.tokenizer.name,
        melodies,
        transpositions=preset.data.augment_semitones or None,
        **preset.tokenizer.options,
    )


def measure_data(melodies: list, tokenizer: Any, preset: Preset) -> DataSize:
    """How much the preset's data weighs (budget.DataSize), from the encoded melodies of each split.

    Cheap next to building the windows: no augmentation (a transposed melody has as many tokens, so
    each training melody counts once per transposition).
    """
    split = split_by_tune(melodies, preset.data.split_fractions, preset.data.split_seed)
    encoded = {name: [tokenizer.encode(m) for m in split[name]] for name in ("train", "val")}
    return data_size(encoded, len(tokenizer.vocab), copies=1 + len(preset.data.augment_semitones))


def preset_data_size(preset: Preset, melodies: list | None = None) -> DataSize:
    """The DataSize of a preset's data: its melodies (or `melodies`, capped by max_melodies) encoded."""
    melodies = load_melodies(preset, melodies)
    return measure_data(melodies, run_tokenizer(preset, melodies), preset)


def check_budget(preset: Preset, melodies: list | None = None) -> Estimate:
    """The run's cost estimate (budget.check_preset) on its real data; BudgetError when over a limit."""
    return check_preset(preset, preset_data_size(preset, melodies))


def prepare(preset: Preset, data: list | None, tokenizer: Any = None) -> tuple[list, Any, Datasets]:
    """(melodies, tokenizer, datasets) for train(); BudgetError before the windows when over a limit.

    `data` replaces the corpus selection; `tokenizer` (a resumed run's) replaces building one.
    """
    melodies = load_melodies(preset, data)
    tokenizer = tokenizer or run_tokenizer(preset, melodies)
    check_preset(preset, measure_data(melodies, tokenizer, preset))
    return melodies, tokenizer, build_datasets(melodies, tokenizer, preset.data)


def prepare_stoppable(
    stop_event: threading.Event | None, preset: Preset, data: list | None, tokenizer: Any = None
) -> tuple[list, Any, Datasets]:
    """prepare(), ended at once by `stop_event` (TrainingStopped) whatever step it is in."""
    return _interruptible(stop_event, prepare, preset, data, tokenizer)


def _interruptible(stop_event: threading.Event | None, fn: Callable, *args: Any) -> Any:
    """fn(*args), run beside the caller so that Stop ends the wait at once (TrainingStopped).

    Data preparation is plain loops in other modules (corpus, tokens, dataset). Rather than thread a
    stop flag through each, it runs in a helper thread while this one polls the flag every 50 ms; on
    Stop the caller walks away and the helper finishes its bounded work (the budget check comes
    before the windows) in the background, its result dropped.
    """
    if stop_event is None:
        return fn(*args)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller below, whatever it is
            box["error"] = exc

    helper = threading.Thread(target=run, name="bachlstm-data", daemon=True)
    helper.start()
    while helper.is_alive() and not stop_event.wait(0.05):
        pass
    if stop_event.is_set():
        raise TrainingStopped("stopped before training began: nothing was trained or saved")
    if "error" in box:
        raise box["error"]
    return box["value"]
