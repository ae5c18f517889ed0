"""The training engine: train(preset) with progress callbacks, a stop flag, resume and best checkpoints."""

from __future__ import annotations

import collections
import contextlib
import copy
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from bachlstm import __version__
from bachlstm.analysis.bits_per_note import note_bits_of_ids, sequences_of
from bachlstm.model.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from bachlstm.model.lstm import LSTMModel
from bachlstm.model.short_term import has_short_term
from bachlstm.tokens.tokenizers import EventTokenizer
from bachlstm.training.dataset import NO_WINDOWS, DataConfigError, TokenTensors
from bachlstm.training.evaluation import NOT_SCORED, Scores, evaluate_tensors, finite_or_none
from bachlstm.training.presets import Preset, PresetError
from bachlstm.training.run_data import TrainingStopped, prepare_stoppable
from bachlstm.training.run_files import check_out, remove_stale_temp_files, save_best
from bachlstm.training.splits import split_keys

log = logging.getLogger(__name__)

__all__ = ["Progress", "TrainResult", "TrainingStopped", "train", "choose_device"]


@dataclass(frozen=True)
class Progress:
    """One progress record for the callback: kind "step" (each batch), "epoch" (after validation), "done".

    Validation fields are None on step records; train_loss is the running mean of the current epoch.
    """

    kind: str
    epoch: int  # 1-based epoch the record belongs to
    step: int  # optimizer steps done so far (over all epochs, resumed ones included)
    total_steps: int
    train_loss: float | None = None
    val_loss: float | None = None
    val_top1: float | None = None
    val_top5: float | None = None
    val_perplexity: float | None = None
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    lr: float | None = None
    message: str = ""


@dataclass
class TrainResult:
    """What train() returns: the best model (by val loss), its tokenizer, history and metrics."""

    model: LSTMModel
    tokenizer: Any
    preset: Preset
    history: list[dict]
    metrics: dict
    meta: dict
    checkpoint_path: Path | None = None
    stopped: bool = False  # True when the stop flag ended training early
    stop_reason: str = ""
    elapsed_s: float = 0.0
    split: dict = field(default_factory=dict)


# --- devices and threads ------------------------------------------------------------------------


def choose_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; an explicit name must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PresetError("device 'cuda' was asked for but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise PresetError("device 'mps' was asked for but Apple MPS is not available")
    return torch.device(name)


def choose_threads(model: LSTMModel, requested: int | None = None) -> int:
    """CPU threads for this model: small LSTMs lose time to thread sync, so they get fewer threads."""
    if requested is not None:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS / Windows
        cores = os.cpu_count() or 1
    # Per time step an LSTM does a (B, 4H) matmul; below ~64 units the work is too small to split.
    width = max(model.config.lstm_sizes)
    return max(1, min(cores, 1 if width < 64 else 4))


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    # torch's thread count is process-wide: restore it so the dashboard's other work is unaffected.
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- training -----------------------------------------------------------------------------------


def _lr_at(cfg: Any, step: int, total: int) -> float:
    if cfg.lr_schedule == "cosine" and total > 1:
        ratio = cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (
            1 + math.cos(math.pi * min(step / total, 1))
        )
        return cfg.lr * ratio
    return cfg.lr


def _optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for i, state in opt.state_dict()["state"].items():
        for k, v in state.items():
            out[f"optimizer.{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return out


def _load_optimizer(opt: torch.optim.Optimizer, extra: dict[str, torch.Tensor]) -> bool:
    state: dict[int, dict] = {}
    for key, v in extra.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "optimizer":
            state.setdefault(int(parts[1]), {})[parts[2]] = v
    if not state:
        return False
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)
    return True


def _resume_preset(meta: dict, preset: Preset) -> Preset:
    """Data, tokens and network come from the checkpoint; training settings from `preset`."""
    saved = Preset.from_dict(meta["preset_config"])
    return replace(saved, train=preset.train)


def train(
    preset: Preset,
    *,
    callback: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    resume: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    data: list | None = None,
    overwrite: bool = False,
    owner: str | None = None,
) -> TrainResult:
    """Train a preset (or resume a checkpoint) and return the best model by validation loss.

    `callback` gets a Progress record per step, per epoch and a final "done". Data preparation runs
    beside the caller, so a set `stop_event` ends it at once (TrainingStopped: nothing saved); then
    the flag is checked before every batch: training stops within one batch and the best weights so
    far are kept (saved as run_files says; the file always holds a loadable checkpoint). The run's
    cost is estimated before the windows are built and refused with a BudgetError over the limits
    (budget.py). `out` must be free, the resumed file, or `overwrite` must be given
    (run_files.check_out). `resume` continues a checkpoint, given by name or path (same tokenizer,
    split and network; epochs counted on from where it stopped). `data` replaces the corpus selection
    with a list of melodies (tests, quick demos). `owner` (a student's name) is saved in the
    checkpoint's metadata; a resumed run keeps its owner.
    """
    t_start = time.perf_counter()
    resumed = load_checkpoint(resume) if resume is not None else None
    if resumed:
        preset = _resume_preset(resumed.meta, preset)
    cfg = preset.train
    device = choose_device(cfg.device)
    emit = callback or (lambda p: None)
    if out is not None:
        remove_stale_temp_files([Path(out).parent])
        out = check_out(out, overwrite=overwrite, resume=resume)

    with torch.random.fork_rng(devices=[]):  # seed locally; leave the caller's RNG state alone
        torch.manual_seed(cfg.seed)
        known = resumed.tokenizer if resumed else None
        _, tokenizer, datasets = prepare_stoppable(stop_event, preset, data, known)
        split = split_keys(datasets.melodies)
        if resumed and resumed.meta.get("split") and split != resumed.meta["split"]:
            raise ValueError(
                f"cannot resume {resumed.path}: the data split rebuilt from the corpus differs from the "
                "one recorded in the checkpoint"
            )
        preset = replace(preset, model=replace(preset.model, vocab_size=len(tokenizer.vocab)))
        model, opt = _model_and_optimizer(preset, device, resumed)
        n_threads = choose_threads(model, cfg.num_threads)
        if cfg.num_threads is None:
            # The host process's own setting is a cap (the dashboard runs with one OpenMP thread).
            n_threads = min(n_threads, torch.get_num_threads())
        with _torch_threads(n_threads):
            loop = _Loop(preset, model, opt, tokenizer, device, emit, stop_event, out, split, t_start)
            loop.owner = owner
            if resumed:
                loop.resume_from(resumed.meta)
            loop.run(datasets.train, datasets.val)
            return loop.finish(datasets.val, datasets.test, n_threads)


def _model_and_optimizer(
    preset: Preset, device: torch.device, resumed: Checkpoint | None
) -> tuple[LSTMModel, torch.optim.Optimizer]:
    """A fresh model (or the resumed weights) on `device` and its AdamW optimizer (resumed state too)."""
    cfg = preset.train
    model = LSTMModel(preset.model)
    if resumed:
        model.load_state_dict(resumed.model.state_dict())
    model.to(device)
    # AdamW == Adam when weight_decay is 0; decoupled decay regularises better than L2 in Adam.
    # foreach: one fused update over all parameters instead of a Python loop per tensor.
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    if resumed:
        _load_optimizer(opt, resumed.extra)
    return model, opt


class _Loop:
    """The epoch/batch loop and its bookkeeping, split out of train() to keep each piece readable."""

    def __init__(self, preset, model, opt, tokenizer, device, emit, stop_event, out, split, t_start):
        self.preset, self.cfg = preset, preset.train
        self.model, self.opt, self.tokenizer, self.device = model, opt, tokenizer, device
        self.emit, self.stop_event, self.out, self.split = emit, stop_event, out, split
        self.t_start = t_start
        self.history: list[dict] = []
        self.start_epoch = 0
        self.step = 0
        self.best_loss = math.inf
        self.best_state: dict | None = None
        self.best_epoch = 0
        self.stopped, self.stop_reason = False, ""
        self.train_time = 0.0
        self.train_tokens = 0
        self.epoch = 0
        self.total_steps = self.run_start_step = 0  # set by run()
        self.gen = torch.Generator().manual_seed(self.cfg.seed)
        self.saved_path: Path | None = None
        self.best_val: dict | None = None  # validation of the best weights (eval mode: deterministic)
        self.owner: str | None = None  # the student whose run it is (saved in the metadata when known)
        self.recent: collections.deque = collections.deque(maxlen=self.cfg.average_last or 1)
        self.averaged = 0  # how many epochs' weights the kept weights average (0: one epoch's own)

    def resume_from(self, meta: dict) -> None:
        """Carry on a checkpoint's history, epoch and step count; its val loss is the one to beat."""
        self.history = list(meta.get("history", []))
        self.start_epoch = int(meta.get("epoch", 0))
        self.step = int(meta.get("step", 0))
        self.owner = self.owner or meta.get("owner") or None
        if meta.get("metrics", {}).get("val_loss") is not None:
            self.best_loss = meta["metrics"]["val_loss"]
            self.best_state = copy.deepcopy(self.model.state_dict())

    def _stop_requested(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def run(self, windows: TokenTensors, val: TokenTensors) -> None:
        """Epochs of shuffled batches of `windows` until done, stopped, out of steps or early-stopped."""
        cfg = self.cfg
        n = len(windows)
        if n == 0:
            raise DataConfigError(
                "the training split has no windows: select more melodies or shorten seq_len", NO_WINDOWS
            )
        per_epoch = math.ceil(n / cfg.batch_size)
        remaining_epochs = max(cfg.epochs - self.start_epoch, 0)
        self.total_steps = self.step + per_epoch * remaining_epochs
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, self.step + cfg.max_steps)
        self.run_start_step = self.step
        # Per-window target counts and lengths, computed once: per batch they become two cheap lookups
        # instead of mask reductions (measurable for the workshop's tiny network).
        mask = windows.targets != self.preset.model.pad_id  # (N, T)
        counts = mask.sum(1)  # (N,)
        lengths = torch.where(mask.any(1), mask.shape[1] - mask.flip(1).int().argmax(1), 1)  # (N,)
        # Re-seed per resumed epoch so a resumed run shuffles like an uninterrupted one would.
        self.gen.manual_seed(cfg.seed + self.start_epoch)
        for epoch in range(self.start_epoch + 1, cfg.epochs + 1):
            self.epoch = epoch
            loss_sum, tok_sum = self._epoch(windows, counts, lengths)
            if tok_sum == 0 and (self.stopped or self.step >= self.total_steps):
                break  # nothing trained in this epoch: no new validation needed
            if self.stopped and self.best_state is not None:
                break  # Stop answers at once: the part-epoch is not validated, the best weights stand
            self._end_epoch(loss_sum / max(tok_sum, 1), val)
            if self.stopped or self.step >= self.total_steps or self._early_stop():
                break

    def _epoch(self, windows: TokenTensors, counts: torch.Tensor, lengths: torch.Tensor) -> tuple[float, int]:
        """One shuffled pass over the windows (or until stopped); returns (summed loss, target tokens)."""
        bs = self.cfg.batch_size
        self.model.train()
        perm = torch.randperm(len(windows), generator=self.gen)
        loss_sum, tok_sum = 0.0, 0
        for b in range(math.ceil(len(windows) / bs)):
            if self._stop_requested():
                self.stopped, self.stop_reason = True, "stop requested"
                break
            if self.step >= self.total_steps:
                break
            t0 = time.perf_counter()
            idx = perm[b * bs : (b + 1) * bs]
            t_max = int(lengths[idx].max())
            n_tok = int(counts[idx].sum())
            # Skip the all-PAD tail of the batch: no target there, so no work needed.
            x = windows.inputs[idx, :t_max].to(self.device)  # (B, T')
            y = windows.targets[idx, :t_max].to(self.device)  # (B, T')
            w = None if windows.weights is None else windows.weights[idx].to(self.device)  # (B,)
            lr = _lr_at(self.cfg, self.step, self.total_steps)
            loss = self._train_batch(x, y, lr, w)
            loss_sum += loss * n_tok
            tok_sum += n_tok
            self.step += 1
            self.train_tokens += n_tok
            self.train_time += time.perf_counter() - t0
            self.emit(self._progress("step", train_loss=loss_sum / max(tok_sum, 1), lr=lr))
        return loss_sum, tok_sum

    def _train_batch(
        self, x: torch.Tensor, y: torch.Tensor, lr: float, w: torch.Tensor | None = None
    ) -> float:
        """One optimizer step on inputs/targets (B, T) at learning rate `lr`; returns the mean loss.

        `w` (B,): each window's loss weight (mean 1 per token over the data); None = unweighted.
        """
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr
        # Stateless: every batch starts from a zero state (hidden=None), as in the original.
        logits, _ = self.model(x)  # (B, T, V)
        # ignore_index=PAD: padded positions add nothing to the loss or the gradient.
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            y.reshape(-1),
            ignore_index=self.preset.model.pad_id,
            label_smoothing=cfg.label_smoothing,
            reduction="mean" if w is None else "none",
        )
        if w is not None:
            # Divided by the batch's tokens, not its weights: a batch of much-repeated tunes counts less.
            mask = y != self.preset.model.pad_id
            loss = (loss.view_as(y) * w[:, None]).sum() / mask.sum().clamp(min=1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_norm is not None:
            # LSTMs are prone to rare exploding gradients; one bad batch must not wreck the weights.
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_norm, foreach=True)
        self.opt.step()
        return loss.item()

    def _evaluate(self, data: TokenTensors) -> dict:
        return evaluate_tensors(
            self.model, data.inputs, data.targets, pad_id=self.preset.model.pad_id, device=self.device
        )

    def _end_epoch(self, train_loss: float, val_data: TokenTensors) -> None:
        val = self._evaluate(val_data)
        record = {
            "epoch": self.epoch,
            "step": self.step,
            "train_loss": finite_or_none(train_loss),
            **Scores.of(val).named("val", tokens=False),
            "elapsed_s": round(time.perf_counter() - self.t_start, 3),
            "partial": self.stopped,
        }
        self.history.append(record)
        if self.cfg.average_last:
            self.recent.append(copy.deepcopy(self.model.state_dict()))
        if val["loss"] < self.best_loss or self.best_state is None:
            self.best_loss, self.best_epoch, self.best_val = val["loss"], self.epoch, val
            self.best_state = copy.deepcopy(self.model.state_dict())
            if self.out is not None:
                self._save(self.model, metrics=Scores.of(val).named("val"), final=False)
        message = f"epoch {self.epoch} val loss {val['loss']:.4f}"
        self.emit(self._progress("epoch", train_loss=train_loss, val=val, message=message))

    def _early_stop(self) -> bool:
        patience = self.cfg.early_stopping
        if patience is None or self.epoch - self.best_epoch < patience:
            return False
        self.stop_reason = f"early stopping: no better val loss for {patience} epochs"
        log.info(self.stop_reason)
        return True

    def _progress(self, kind, *, train_loss=None, val=None, lr=None, message="") -> Progress:
        elapsed = time.perf_counter() - self.t_start
        run_steps = self.step - self.run_start_step
        left = self.total_steps - self.step
        per_step = self.train_time / run_steps if run_steps else None
        return Progress(
            kind=kind,
            epoch=self.epoch,
            step=self.step,
            total_steps=self.total_steps,
            train_loss=finite_or_none(train_loss),
            **(Scores.of(val).named("val", tokens=False) if val else {}),
            tokens_per_s=self.train_tokens / self.train_time if self.train_time > 0 else 0.0,
            elapsed_s=elapsed,
            eta_s=per_step * left if per_step is not None and kind != "done" else None,  # done: no ETA
            lr=lr,
            message=message,
        )

    def _meta(self, metrics: dict, final: bool) -> dict:
        owner = {"owner": self.owner} if self.owner else {}
        return {
            **owner,
            "preset": self.preset.name,
            # The one copy of the data selection, data, model and training settings (seed included).
            "preset_config": self.preset.to_dict(),
            "split": self.split,
            "history": self.history,
            "metrics": metrics,
            "epoch": self.epoch if final else self.best_epoch,
            "best_epoch": self.best_epoch,
            "step": self.step,
            "complete": final,
            "stopped": self.stopped,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "torch_version": torch.__version__,
            "package_version": __version__,
        }

    def _save(self, model, metrics: dict, final: bool) -> None:
        extra = _optimizer_tensors(self.opt) if self.cfg.save_optimizer else None
        meta = self._meta(metrics, final)
        self.saved_path = save_best(
            Path(self.out),
            lambda path: save_checkpoint(path, model, self.tokenizer, meta, extra_tensors=extra),
            metrics.get("val_loss"),
            complete=final and not self.stopped,
            own=self.saved_path is not None and self.saved_path == Path(self.out),
        )

    def _keep_average(self, val_data: TokenTensors) -> None:
        """Average the last epochs' weights; they replace the best weights when their val loss is lower."""
        states = list(self.recent)
        average = {
            k: sum(s[k] for s in states) / len(states) if v.is_floating_point() else v
            for k, v in states[-1].items()
        }
        self.model.load_state_dict(average)
        val = self._evaluate(val_data)
        if val["loss"] < self.best_loss:
            self.best_loss, self.best_val, self.best_state = val["loss"], val, average
            self.best_epoch, self.averaged = self.epoch, len(states)

    def _final_metrics(self, val: Scores, test: Scores, notes: dict, elapsed: float, n_threads: int) -> dict:
        """The metrics saved with the final checkpoint: val and test scores, run figures."""
        return {
            **val.named("val"),
            **test.named("test"),
            # per note, comparable across tokenizers (note_bits.py)
            **{f"test_{k}": finite_or_none(v) if isinstance(v, float) else v for k, v in notes.items()},
            "best_epoch": self.best_epoch,
            "epochs_run": self.epoch,
            "steps": self.step,
            "train_tokens_per_s": round(self.train_tokens / self.train_time, 1) if self.train_time else None,
            "elapsed_s": round(elapsed, 2),
            "device": str(self.device),
            "threads": n_threads,
            "n_params": self.model.n_params(),
            **({"averaged_epochs": self.averaged} if self.cfg.average_last else {}),
        }

    def finish(self, val_data: TokenTensors, test_data: TokenTensors, n_threads: int) -> TrainResult:
        """Restore the best weights, score val and test once, save the final checkpoint, report done."""
        if self.best_state is None:  # stopped before the first batch: validate what we have
            self.best_state = copy.deepcopy(self.model.state_dict())
        if len(self.recent) >= 2 and not self.stopped:
            self._keep_average(val_data)
        self.model.load_state_dict(self.best_state)
        # The best weights were validated when they were kept: after a Stop, not scoring them twice
        # shortens the wait. A stopped run is not scored on the test split either (that pass alone takes
        # seconds for `bach`): Stop must answer within a second; continuing the run to its end, or
        # `python -m bachlstm evaluate`, scores it.
        val = Scores.of(self.best_val or self._evaluate(val_data))
        test = NOT_SCORED if self.stopped else Scores.of(self._evaluate(test_data))
        notes = {}  # per-note figures (note_bits.py), of the test split like the token figures
        if not self.stopped:
            seqs = sequences_of(test_data.inputs, test_data.targets, self.preset.model.pad_id)
            # pitch given duration: cheap for event tokens; for factored ones it would add ~30 s of CPU
            # to a workshop run's minute (`evaluate` gives it)
            cheap = isinstance(self.tokenizer, EventTokenizer)
            notes = note_bits_of_ids(self.model, self.tokenizer, seqs, given_duration=cheap).to_dict()
            if has_short_term(self.model.config):  # and the network's own, for the comparison
                alone = note_bits_of_ids(self.model, self.tokenizer, seqs, with_short_term=False)
                notes["network_pitch_bits_per_note"] = alone.pitch_bits_per_note
                notes["network_pitch_bits_given_duration"] = alone.pitch_bits_given_duration
        elapsed = time.perf_counter() - self.t_start
        metrics = self._final_metrics(val, test, notes, elapsed, n_threads)
        if self.out is not None:
            self._save(self.model, metrics, final=True)
        path = self.saved_path
        self.emit(self._progress("done", message=self.stop_reason or "finished"))
        return TrainResult(
            model=self.model.cpu().eval(),
            tokenizer=self.tokenizer,
            preset=self.preset,
            history=self.history,
            metrics=metrics,
            meta=self._meta(metrics, True),
            checkpoint_path=path,
            stopped=self.stopped,
            stop_reason=self.stop_reason,
            elapsed_s=elapsed,
            split=self.split,
        )
