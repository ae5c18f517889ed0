"""What a training run will cost before it starts: peak memory and time, checked against limits.

The estimate is arithmetic on the configs and the data's size (no tensor is allocated):

- parameters: exact (`model_config.count_parameters`, tested equal to the built model's);
- state: weights + gradients + AdamW's two moments + the best weights kept aside = 20 bytes/parameter;
  saving a checkpoint briefly holds a copy of the tensors and their serialised bytes on top;
- activations of one batch: B x T x (72 bytes per LSTM unit + 16 per output/hidden-linear unit
  + 12 per embedding unit) + ~100 MB of allocator and thread workspace (measured on torch 2.13 CPU:
  one 256-unit layer, batch 64, 128 tokens: 285 MB; see tests/training/test_budget.py);
- training windows: N windows x seq_len tokens x 2 tensors of int64, plus the Python lists they are
  built from (32 bytes per token while building). Every window is seq_len long, padded, so a huge
  seq_len costs memory even when no melody is that long (the issue's 10^6 tokens: ~7.4 GB).

Time per optimizer step = 150 us per LSTM layer per time step (PyTorch's per-step overhead, which
dominates the tiny workshop network) + 6 FLOPs per weight per position at 50 GFLOP/s; calibrated so
that the shipped presets come out at their measured times on a 2-core laptop CPU (workshop 27 s for
45 epochs, bach ~15-18 s per epoch). It is a rough figure (+-50% between machines, much less on a GPU).

Limits, from the environment (read on every call):
- BACHLSTM_MAX_TRAIN_MB (default 2048): the estimated peak a run may add to the process. An 8 GB laptop
  has ~2-3 GB to spare next to the OS, a browser and the dashboard. It also bounds the weights of a
  checkpoint that is loaded.
- BACHLSTM_MAX_TRAIN_SECONDS (default 3600): the estimated time of the whole run.
- BACHLSTM_MAX_STEP_SECONDS (default 1): one optimizer step; training checks Stop between steps, so
  this is how quickly Stop answers.

A refusal is a BudgetError (a ValueError: the CLI prints it as one line, pages show it as an error box) whose
message names the setting to change and the largest value that fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bachlstm.model.config import ModelConfig, count_parameters
from bachlstm.settings.limits import MB, MEMORY, RUN_TIME, STEP_TIME, BudgetError, Limits

if TYPE_CHECKING:
    from bachlstm.training.presets import Preset


# Measured constants (see the module docstring).
LSTM_BYTES_PER_UNIT = 72  # per (batch row, time step, LSTM unit): gates, cell, output, saved for backward
OUTPUT_BYTES_PER_UNIT = 16  # per (row, step, logit or hidden-linear unit): value, softmax, gradient
EMBEDDING_BYTES_PER_UNIT = 12
TORCH_WORKSPACE_MB = 100  # allocator and thread workspace once the first step has run
WINDOW_BUILD_BYTES = 32  # per window token while building: two int lists + two int64 tensors
WINDOW_HOLD_BYTES = 22  # per window token while training: inputs, targets, the padding mask
STATE_BYTES_PER_PARAM = 20  # weights, gradients, AdamW exp_avg and exp_avg_sq, the best weights
LAYER_STEP_S = 150e-6  # per LSTM layer per time step of a batch, forward and backward
FLOPS_PER_S = 50e9
FLOPS_PER_WEIGHT = 6  # forward 2 + backward 4 per weight and position


@dataclass(frozen=True)
class DataSize:
    """How much data a run trains on: the vocabulary and the token count of every training sequence."""

    vocab_size: int
    train_lengths: tuple[int, ...]  # tokens per training sequence (BOS/EOS included), transpositions too
    eval_sequences: int = 0  # validation melodies (scored whole, batch 128, no gradients)
    eval_max_len: int = 0


def data_size(split: dict[str, Sequence[Sequence[int]]], vocab_size: int, copies: int = 1) -> DataSize:
    """DataSize from encoded sequences by split name; each train sequence counted `copies` times.

    `copies` is 1 + the number of transpositions: a transposed melody has as many tokens as the
    original, and copies leaving the voice's range are still counted (an upper bound).
    """
    train = tuple(len(s) for s in split.get("train", ())) * copies
    val = list(split.get("val", ()))
    return DataSize(vocab_size, train, len(val), max((len(s) for s in val), default=0))


def count_windows(lengths: Sequence[int], seq_len: int, stride: int) -> int:
    """How many windows dataset.make_windows cuts from sequences of these lengths (exact)."""
    total = 0
    for n_tokens in lengths:
        pairs = n_tokens - 1
        if pairs > 0:
            total += 1 + math.ceil(max(0, pairs - seq_len) / stride)
    return total


@dataclass(frozen=True)
class Estimate:
    """The estimated cost of a run (MB are added to the process; seconds on a laptop CPU)."""

    n_params: int
    state_mb: float  # weights, gradients, optimizer moments, best weights
    activations_mb: float  # one batch, forward and backward
    save_mb: float  # extra while a checkpoint is written
    windows: int
    windows_mb: float  # the training windows while building them
    peak_mb: float
    steps_per_epoch: int
    step_s: float
    epoch_s: float
    run_s: float
    epochs: int

    def summary(self) -> str:
        """One line for the form and the CLI."""
        return (
            f"Estimate: {self.n_params:,} parameters; peak memory ~{_mb(self.peak_mb)} (weights and "
            f"optimizer {_mb(self.state_mb)}, one batch {_mb(self.activations_mb)}, {self.windows:,} "
            f"windows {_mb(self.windows_mb)}); ~{_duration(self.epoch_s)} per epoch, "
            f"~{_duration(self.run_s)} of training in all on a laptop CPU (rough, +-50%), after the "
            "data is prepared (a few seconds, more the first time)."
        )


def _mb(value: float) -> str:
    if value >= 1024:
        return f"{value / 1024:.1f} GB"
    return f"{value:.0f} MB" if value >= 1 else "under 1 MB"  # a tiny network's weights: not "0 MB"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def estimate(model: ModelConfig, train: Any, data: Any, size: DataSize) -> Estimate:
    """Estimate a run from its ModelConfig, TrainConfig, DataConfig and DataSize (see module docstring)."""
    model = replace(model, vocab_size=size.vocab_size)
    n_params = count_parameters(model)
    longest = max(size.train_lengths, default=2) - 1
    t_eff = max(1, min(data.seq_len, longest))  # batches are cut to their longest window's content
    batch = train.batch_size
    lstm_units = sum(model.lstm_sizes)
    out_units = model.vocab_size + (model.hidden_linear or 0)
    per_position = (
        LSTM_BYTES_PER_UNIT * lstm_units
        + OUTPUT_BYTES_PER_UNIT * out_units
        + EMBEDDING_BYTES_PER_UNIT * model.embedding_dim
    )
    activations = (batch * t_eff * per_position) / MB + TORCH_WORKSPACE_MB
    # Validation: whole melodies, 128 at a time, no gradients (about a third of the training cost).
    eval_t = max(size.eval_max_len - 1, 1)
    activations = max(activations, min(size.eval_sequences, 128) * eval_t * per_position / 3 / MB)
    state = STATE_BYTES_PER_PARAM * n_params / MB
    stored = 4 * n_params * (3 if train.save_optimizer else 1)  # weights (+ the two moments)
    save = 2 * stored / MB  # a copy of the tensors and the serialised file, briefly
    n_windows = count_windows(size.train_lengths, data.seq_len, data.stride)
    windows_build = n_windows * data.seq_len * WINDOW_BUILD_BYTES / MB
    windows_hold = n_windows * data.seq_len * WINDOW_HOLD_BYTES / MB
    peak = max(windows_build, windows_hold + state + max(activations, save))
    steps = max(1, math.ceil(n_windows / batch))
    dense = n_params - model.vocab_size * model.embedding_dim  # embedding lookups cost no FLOPs
    step_s = len(model.lstm_sizes) * t_eff * LAYER_STEP_S + (
        batch * t_eff * FLOPS_PER_WEIGHT * dense / FLOPS_PER_S
    )
    eval_s = size.eval_sequences * eval_t * 2 * dense / FLOPS_PER_S
    epoch_s = steps * step_s + eval_s
    total_steps = steps * train.epochs
    if train.max_steps is not None:
        total_steps = min(total_steps, train.max_steps)
    run_s = total_steps * step_s + eval_s * math.ceil(total_steps / steps)
    return Estimate(
        n_params=n_params,
        state_mb=state,
        activations_mb=activations,
        save_mb=save,
        windows=n_windows,
        windows_mb=windows_build,
        peak_mb=peak,
        steps_per_epoch=steps,
        step_s=step_s,
        epoch_s=epoch_s,
        run_s=run_s,
        epochs=math.ceil(total_steps / steps),
    )


def estimate_preset(preset: Preset, size: DataSize) -> Estimate:
    """estimate() for a Preset."""
    return estimate(preset.model, preset.train, preset.data, size)


# The settings a refusal can name, in the words of the form and the CLI.
FIELD_NAMES = {
    "seq_len": "Sequence length (seq_len)",
    "batch_size": "Batch size (batch_size)",
    "lstm_sizes": "the widest LSTM layer (lstm_sizes)",
    "hidden_linear": "Hidden linear layer (hidden_linear)",
    "embedding_dim": "Embedding dimension (embedding_dim)",
    "epochs": "Epochs (epochs)",
    "max_steps": "Stop after N steps (max_steps)",
}


def check_preset(preset: Preset, size: DataSize, limits: Limits | None = None) -> Estimate:
    """The preset's Estimate, or BudgetError when it is over a limit, naming what to lower and how far."""
    limits = limits or Limits.from_env()
    est = estimate_preset(preset, size)
    if est.peak_mb > limits.max_mb:
        fields = _memory_suspects(est)
        what = (
            f"needs ~{_mb(est.peak_mb)} of memory, more than the limit of {_mb(limits.max_mb)} "
            "(BACHLSTM_MAX_TRAIN_MB)"
        )
        raise _refusal(
            preset, size, limits, what, fields, MEMORY, need_mb=est.peak_mb, limit_mb=limits.max_mb
        )
    if est.step_s > limits.max_step_s:
        what = (
            f"takes ~{est.step_s:.1f} s per training step, more than the {limits.max_step_s:g} s "
            "limit (BACHLSTM_MAX_STEP_SECONDS) that lets Stop answer at once"
        )
        fields = ("batch_size", "seq_len", "lstm_sizes")
        raise _refusal(
            preset, size, limits, what, fields, STEP_TIME, step_s=est.step_s, limit_s=limits.max_step_s
        )
    if est.run_s > limits.max_run_s:
        what = (
            f"would take ~{_duration(est.run_s)}, more than the limit of {_duration(limits.max_run_s)} "
            "(BACHLSTM_MAX_TRAIN_SECONDS)"
        )
        first = "max_steps" if preset.train.max_steps is not None else "epochs"
        fields = (first, "lstm_sizes", "seq_len")
        raise _refusal(
            preset, size, limits, what, fields, RUN_TIME, run_s=est.run_s, limit_s=limits.max_run_s
        )
    return est


def _memory_suspects(est: Estimate) -> tuple[str, ...]:
    """The settings to lower, the one behind the largest part of the estimate first."""
    parts = {
        "windows": est.windows_mb,
        "activations": est.activations_mb,
        "state": est.state_mb + est.save_mb,
    }
    order = {
        "windows": ("seq_len",),
        "activations": ("batch_size", "seq_len"),
        "state": ("lstm_sizes", "hidden_linear", "embedding_dim"),
    }
    out: list[str] = []
    for part in sorted(parts, key=parts.get, reverse=True):
        out.extend(f for f in order[part] if f not in out)
    return tuple(out)


def _refusal(
    preset: Preset,
    size: DataSize,
    limits: Limits,
    what: str,
    fields: Sequence[str],
    code: str,
    **values: float,
) -> BudgetError:
    """The BudgetError of a run over one limit: the first of `fields` that can bring it under, and how far."""
    for field in fields:
        best = largest_fitting(preset, size, limits, field)
        if best is not None:
            return BudgetError(
                f"This run {what}. Lower {FIELD_NAMES[field]} to at most {best:,} "
                "(or raise the limit on a machine that has more to spare).",
                code,
                **values,
                field=field,
                best=best,
            )
    return BudgetError(
        f"This run {what}, and no single setting brings it under the limit: choose a smaller model.",
        code,
        **values,
        field=None,
        best=None,
    )


def _current(preset: Preset, field: str) -> int | None:
    if field == "lstm_sizes":
        return max(preset.model.lstm_sizes)
    for section in (preset.train, preset.model, preset.data):
        if hasattr(section, field):
            return getattr(section, field)
    raise KeyError(field)


def _with(preset: Preset, field: str, value: int) -> Preset:
    # presets imports torch (through model.py and dataset.py); this module is imported by the
    # torch-free checkpoint listing, so presets is imported only when a refusal is worded.
    from bachlstm.training.presets import override  # noqa: PLC0415

    if field == "lstm_sizes":
        return override(preset, model__lstm_sizes=tuple(min(w, value) for w in preset.model.lstm_sizes))
    return override(preset, **{field: value})


def largest_fitting(preset: Preset, size: DataSize, limits: Limits, field: str) -> int | None:
    """The largest value of `field` (others unchanged) whose estimate is within every limit; None if none.

    Not a plain bisection: time is not monotone in batch_size (a smaller batch means more steps and
    more per-step overhead), so values are tried downwards on a geometric grid (x0.8) and the gap
    above the first one that fits is then bisected.
    """
    current = _current(preset, field)
    if current is None:  # hidden_linear None: nothing to lower
        return None

    def fits(value: int) -> bool:
        return limits.allow(estimate_preset(_with(preset, field, value), size))

    above, value = current, current - 1
    while value >= 1:
        if fits(value):
            return _bisect(fits, value, above - 1)
        above, value = value, min(value - 1, int(value * 0.8))
    return None


def _bisect(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """The largest v in [lo, hi] with fits(v), given fits(lo) and assuming monotony in between."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
