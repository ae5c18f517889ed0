"""The training engine: train(preset) with progress callbacks, a stop flag, resume and best checkpoints."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from bachlstm import __version__
from bachlstm.evaluation import evaluate, evaluate_tensors
from bachlstm.model import LSTMModel
from bachlstm.presets import Preset, PresetError, get_preset

log = logging.getLogger(__name__)

__all__ = ["Progress", "TrainResult", "train", "evaluate", "choose_device", "split_melodies"]


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


# --- data ---------------------------------------------------------------------------------------


def melody_key(melody: Any) -> str:
    """The id a split records for a melody: 'piece_id:voice'."""
    return f"{melody.piece_id}:{melody.voice}"


def load_melodies(preset: Preset, melodies: list | None = None) -> list:
    """The preset's selected melodies from the corpus cache (or `melodies`), capped by max_melodies."""
    if melodies is None:
        from bachlstm.corpus import load_corpus
        from bachlstm.selection import select

        melodies = list(select(load_corpus(), preset.selection).melodies)
    if preset.train.max_melodies is not None:
        melodies = melodies[: preset.train.max_melodies]
    if len(melodies) < 3:
        raise PresetError(f"need at least 3 melodies to split into train/val/test, got {len(melodies)}")
    return melodies


def split_melodies(meta: dict, melodies: list | None = None) -> dict[str, list]:
    """Re-create a checkpoint's train/val/test melodies from the split ids recorded in its metadata."""
    from bachlstm.selection import SelectionConfig

    split = meta.get("split")
    if not isinstance(split, dict) or not all(k in split for k in ("train", "val", "test")):
        raise ValueError("the checkpoint records no train/val/test split, so it cannot be evaluated")
    if melodies is None:
        from bachlstm.corpus import load_corpus
        from bachlstm.selection import select

        sel = meta.get("preset_config", {}).get("selection", {})
        config = SelectionConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in sel.items()})
        melodies = list(select(load_corpus(), config).melodies)
    by_key = {melody_key(m): m for m in melodies}
    out = {}
    for name in ("train", "val", "test"):
        missing = [k for k in split[name] if k not in by_key]
        if missing:
            raise ValueError(
                f"{len(missing)} {name} melodies recorded in the checkpoint are not in the corpus "
                f"selection (first: {missing[0]}); was the corpus cache rebuilt differently?"
            )
        out[name] = [by_key[k] for k in split[name]]
    return out


def sequence_tensors(melodies: list, tokenizer: Any, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole melodies as right-padded (N, T) inputs and next-token targets (PAD where padded).

    Used for validation and test so each token is scored once, with its whole piece as context.
    """
    seqs = [tokenizer.encode(m.events) for m in melodies]
    t = max((len(s) - 1 for s in seqs), default=1)
    inputs = torch.full((len(seqs), max(t, 1)), pad_id, dtype=torch.long)
    targets = torch.full_like(inputs, pad_id)
    for i, s in enumerate(seqs):
        n = len(s) - 1
        if n > 0:
            inputs[i, :n] = torch.tensor(s[:-1])
            targets[i, :n] = torch.tensor(s[1:])
    return inputs, targets


def _pair(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) from whatever dataset.py returns for one split (a pair or an object)."""
    if isinstance(ds, tuple | list) and len(ds) == 2:
        return ds[0], ds[1]
    return ds.tensors[0], ds.tensors[1]  # torch TensorDataset


# --- training -----------------------------------------------------------------------------------


def _lr_at(cfg: Any, step: int, total: int) -> float:
    if cfg.lr_schedule == "cosine" and total > 1:
        ratio = cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (
            1 + math.cos(math.pi * min(step / total, 1))
        )
        return cfg.lr * ratio
    return cfg.lr


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


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
    preset: Preset | str,
    *,
    callback: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    resume: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    data: list | None = None,
) -> TrainResult:
    """Train a preset (or resume a checkpoint) and return the best model by validation loss.

    `callback` gets a Progress record per step, per epoch and a final "done". `stop_event` is checked
    before every batch: training stops within one batch and the best weights so far are kept (saved to
    `out` when given; the file then always holds a loadable checkpoint). `resume` continues a
    checkpoint (same tokenizer, split and network; epochs counted on from where it stopped). `data`
    replaces the corpus selection with a list of melodies (tests, quick demos).
    """
    t_start = time.perf_counter()
    preset = get_preset(preset) if isinstance(preset, str) else preset
    resumed = None
    if resume is not None:
        from bachlstm.checkpoints import load_checkpoint

        resumed = load_checkpoint(resume)
        preset = _resume_preset(resumed.meta, preset)
    cfg = preset.train
    device = choose_device(cfg.device)
    emit = callback or (lambda p: None)
    out = Path(out) if out is not None else None

    with torch.random.fork_rng(devices=[]):  # seed locally; leave the caller's RNG state alone
        torch.manual_seed(cfg.seed)
        melodies = load_melodies(preset, data)
        tokenizer = resumed.tokenizer if resumed else _build_tokenizer(preset, melodies)
        datasets = _build_datasets(melodies, tokenizer, preset)
        split = _split_keys(datasets)
        if resumed and resumed.meta.get("split") and split != resumed.meta["split"]:
            raise ValueError(
                f"cannot resume {resumed.path}: the data split rebuilt from the corpus differs from the "
                "one recorded in the checkpoint"
            )
        train_x, train_y = _pair(datasets.train)
        by_name = datasets.melodies
        pad_id = preset.model.pad_id
        val_x, val_y = sequence_tensors(by_name["val"], tokenizer, pad_id)
        model_config = replace(preset.model, vocab_size=len(tokenizer.vocab))
        preset = replace(preset, model=model_config)
        model = LSTMModel(model_config)
        if resumed:
            model.load_state_dict(resumed.model.state_dict())
        model.to(device)
        # AdamW == Adam when weight_decay is 0; decoupled decay regularises better than L2 in Adam.
        # foreach: one fused update over all parameters instead of a Python loop per tensor.
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
        if resumed:
            _load_optimizer(opt, resumed.extra)
        n_threads = choose_threads(model, cfg.num_threads)
        if cfg.num_threads is None:
            # The host process's own setting is a cap (the dashboard runs with one OpenMP thread).
            n_threads = min(n_threads, torch.get_num_threads())
        with _torch_threads(n_threads):
            loop = _Loop(preset, model, opt, tokenizer, device, emit, stop_event, out, split, t_start)
            loop.history = list(resumed.meta.get("history", [])) if resumed else []
            loop.start_epoch = int(resumed.meta.get("epoch", 0)) if resumed else 0
            loop.step = int(resumed.meta.get("step", 0)) if resumed else 0
            if resumed and resumed.meta.get("metrics", {}).get("val_loss") is not None:
                loop.best_loss = resumed.meta["metrics"]["val_loss"]
                loop.best_state = copy.deepcopy(model.state_dict())
            loop.run(train_x, train_y, val_x, val_y)
            test_x, test_y = sequence_tensors(by_name["test"], tokenizer, pad_id)
            return loop.finish(val_x, val_y, test_x, test_y, n_threads)


def _build_tokenizer(preset: Preset, melodies: list) -> Any:
    from bachlstm.tokens import build_tokenizer

    # Vocabulary from every selected melody and its augmented transpositions: test pieces may use a
    # note no training piece has, and an UNK there would be an unscorable target.
    return build_tokenizer(
        preset.tokenizer.name,
        melodies,
        transpositions=preset.data.augment_semitones or None,
        **preset.tokenizer.options,
    )


def _build_datasets(melodies: list, tokenizer: Any, preset: Preset) -> Any:
    from bachlstm.dataset import build_datasets

    return build_datasets(melodies, tokenizer, preset.data)


def _split_keys(datasets: Any) -> dict[str, list[str]]:
    """Melody keys ('piece:voice') of each split, in the dataset's order (before augmentation)."""
    return {name: [melody_key(m) for m in datasets.melodies[name]] for name in ("train", "val", "test")}


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
        self.gen = torch.Generator().manual_seed(self.cfg.seed)

    def _stop_requested(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def run(self, train_x, train_y, val_x, val_y) -> None:
        """Epochs of shuffled batches until done, stopped, out of steps or early-stopped."""
        cfg, pad = self.cfg, self.preset.model.pad_id
        n, bs = len(train_x), cfg.batch_size
        if n == 0:
            raise ValueError("the training split has no windows: select more melodies or shorten seq_len")
        per_epoch = math.ceil(n / bs)
        remaining_epochs = max(cfg.epochs - self.start_epoch, 0)
        self.total_steps = self.step + per_epoch * remaining_epochs
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, self.step + cfg.max_steps)
        run_start_step = self.step
        # Per-window target counts and lengths, computed once: per batch they become two cheap lookups
        # instead of mask reductions (measurable for the workshop's tiny network).
        mask = train_y != pad  # (N, T)
        counts = mask.sum(1)  # (N,)
        lengths = torch.where(mask.any(1), mask.shape[1] - mask.flip(1).int().argmax(1), 1)  # (N,)
        # Re-seed per resumed epoch so a resumed run shuffles like an uninterrupted one would.
        self.gen.manual_seed(cfg.seed + self.start_epoch)
        for epoch in range(self.start_epoch + 1, cfg.epochs + 1):
            self.epoch = epoch
            self.model.train()
            perm = torch.randperm(n, generator=self.gen)
            loss_sum, tok_sum = 0.0, 0
            for b in range(per_epoch):
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
                x = train_x[idx, :t_max].to(self.device)  # (B, T')
                y = train_y[idx, :t_max].to(self.device)  # (B, T')
                lr = _lr_at(cfg, self.step, self.total_steps)
                for group in self.opt.param_groups:
                    group["lr"] = lr
                # Stateless: every batch starts from a zero state (hidden=None), as in the original.
                logits, _ = self.model(x)  # (B, T, V)
                # ignore_index=PAD: padded positions add nothing to the loss or the gradient.
                loss = F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]),
                    y.reshape(-1),
                    ignore_index=pad,
                    label_smoothing=cfg.label_smoothing,
                )
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.clip_norm is not None:
                    # LSTMs are prone to rare exploding gradients; one bad batch must not wreck the weights.
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_norm, foreach=True)
                self.opt.step()
                loss_sum += loss.item() * n_tok
                tok_sum += n_tok
                self.step += 1
                self.train_tokens += n_tok
                self.train_time += time.perf_counter() - t0
                self.emit(
                    self._progress(
                        "step",
                        train_loss=loss_sum / max(tok_sum, 1),
                        lr=lr,
                        run_steps=self.step - run_start_step,
                    )
                )
            if tok_sum == 0 and (self.stopped or self.step >= self.total_steps):
                break  # nothing trained in this epoch: no new validation needed
            self._end_epoch(loss_sum / max(tok_sum, 1), val_x, val_y, run_start_step)
            if self.stopped or self.step >= self.total_steps or self._early_stop():
                break

    def _end_epoch(self, train_loss, val_x, val_y, run_start_step) -> None:
        val = evaluate_tensors(self.model, val_x, val_y, pad_id=self.preset.model.pad_id, device=self.device)
        record = {
            "epoch": self.epoch,
            "step": self.step,
            "train_loss": _finite_or_none(train_loss),
            "val_loss": _finite_or_none(val["loss"]),
            "val_perplexity": _finite_or_none(val["perplexity"]),
            "val_top1": _finite_or_none(val["top1"]),
            "val_top5": _finite_or_none(val["top5"]),
            "elapsed_s": round(time.perf_counter() - self.t_start, 3),
            "partial": self.stopped,
        }
        self.history.append(record)
        if val["loss"] < self.best_loss or self.best_state is None:
            self.best_loss, self.best_epoch = val["loss"], self.epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
            if self.out is not None:
                self._save(self.model, metrics=_val_metrics(val), final=False)
        self.emit(
            self._progress(
                "epoch",
                train_loss=train_loss,
                val=val,
                run_steps=self.step - run_start_step,
                message=f"epoch {self.epoch} val loss {val['loss']:.4f}",
            )
        )

    def _early_stop(self) -> bool:
        patience = self.cfg.early_stopping
        if patience is None or self.epoch - self.best_epoch < patience:
            return False
        self.stop_reason = f"early stopping: no better val loss for {patience} epochs"
        log.info(self.stop_reason)
        return True

    def _progress(self, kind, *, train_loss=None, val=None, lr=None, run_steps=0, message="") -> Progress:
        elapsed = time.perf_counter() - self.t_start
        left = self.total_steps - self.step
        per_step = self.train_time / run_steps if run_steps else None
        return Progress(
            kind=kind,
            epoch=self.epoch,
            step=self.step,
            total_steps=self.total_steps,
            train_loss=_finite_or_none(train_loss),
            val_loss=_finite_or_none(val["loss"]) if val else None,
            val_top1=_finite_or_none(val["top1"]) if val else None,
            val_top5=_finite_or_none(val["top5"]) if val else None,
            val_perplexity=_finite_or_none(val["perplexity"]) if val else None,
            tokens_per_s=self.train_tokens / self.train_time if self.train_time > 0 else 0.0,
            elapsed_s=elapsed,
            eta_s=per_step * left if per_step is not None else None,
            lr=lr,
            message=message,
        )

    def _meta(self, metrics: dict, final: bool) -> dict:
        return {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "selection": asdict(self.preset.selection),
            "data": asdict(self.preset.data),
            "train": asdict(self.cfg),
            "seed": self.cfg.seed,
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
        from bachlstm.checkpoints import save_checkpoint

        extra = _optimizer_tensors(self.opt) if self.cfg.save_optimizer else None
        save_checkpoint(self.out, model, self.tokenizer, self._meta(metrics, final), extra_tensors=extra)

    def finish(self, val_x, val_y, test_x, test_y, n_threads) -> TrainResult:
        """Restore the best weights, score val and test once, save the final checkpoint, report done."""
        if self.best_state is None:  # stopped before the first batch: validate what we have
            self.best_state = copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(self.best_state)
        pad = self.preset.model.pad_id
        val = evaluate_tensors(self.model, val_x, val_y, pad_id=pad, device=self.device)
        test = evaluate_tensors(self.model, test_x, test_y, pad_id=pad, device=self.device)
        elapsed = time.perf_counter() - self.t_start
        metrics = {
            **_val_metrics(val),
            "test_loss": _finite_or_none(test["loss"]),
            "test_perplexity": _finite_or_none(test["perplexity"]),
            "test_top1": _finite_or_none(test["top1"]),
            "test_top5": _finite_or_none(test["top5"]),
            "test_tokens": test["n_tokens"],
            "best_epoch": self.best_epoch,
            "epochs_run": self.epoch,
            "steps": self.step,
            "train_tokens_per_s": round(self.train_tokens / self.train_time, 1) if self.train_time else None,
            "elapsed_s": round(elapsed, 2),
            "device": str(self.device),
            "threads": n_threads,
            "n_params": self.model.n_params(),
        }
        path = None
        if self.out is not None:
            self._save(self.model, metrics, final=True)
            path = self.out
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


def _val_metrics(val: dict) -> dict:
    return {
        "val_loss": _finite_or_none(val["loss"]),
        "val_perplexity": _finite_or_none(val["perplexity"]),
        "val_top1": _finite_or_none(val["top1"]),
        "val_top5": _finite_or_none(val["top5"]),
        "val_tokens": val["n_tokens"],
    }
