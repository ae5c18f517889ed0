"""Honest evaluation: perplexity, top-1 and top-5 accuracy on a tune-disjoint split, overall and per type."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from bachlstm.analysis.bits_per_note import note_bits
from bachlstm.model.checkpoints import Checkpoint
from bachlstm.model.lstm import LSTMModel
from bachlstm.model.short_term import has_short_term
from bachlstm.training.dataset import sequence_tensors
from bachlstm.training.splits import SPLITS, split_melodies


def finite_or_none(x: float | None) -> float | None:
    """`x` as a float, None where it is missing, NaN or infinite (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class Scores:
    """One split's token figures as a checkpoint saves them and a Progress record carries them: mean loss
    (nats per token), perplexity, top-1 and top-5 accuracy (None where not finite or not scored), and
    how many tokens were scored."""

    loss: float | None = None
    perplexity: float | None = None
    top1: float | None = None
    top5: float | None = None
    tokens: int = 0

    @classmethod
    def of(cls, figures: dict) -> Scores:
        """From `evaluate_tensors`' figures."""
        return cls(
            loss=finite_or_none(figures["loss"]),
            perplexity=finite_or_none(figures["perplexity"]),
            top1=finite_or_none(figures["top1"]),
            top5=finite_or_none(figures["top5"]),
            tokens=int(figures["n_tokens"]),
        )

    def named(self, split: str, tokens: bool = True) -> dict:
        """The figures under their saved names: {split}_loss, _perplexity, _top1, _top5 (and _tokens)."""
        out = {
            f"{split}_loss": self.loss,
            f"{split}_perplexity": self.perplexity,
            f"{split}_top1": self.top1,
            f"{split}_top5": self.top5,
        }
        return {**out, f"{split}_tokens": self.tokens} if tokens else out


NOT_SCORED = Scores()  # a stopped run's test split (scoring it would keep Stop waiting)


@torch.no_grad()
def evaluate_tensors(
    model: LSTMModel,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    pad_id: int = 0,
    batch_size: int = 128,
    token_type: Any = None,
    device: torch.device | str | None = None,
) -> dict:
    """Metrics over every non-PAD target of (N, T) inputs/targets, each position counted once.

    Returns loss (mean cross-entropy, nats), perplexity (exp(loss)), top1, top5 (shares of targets
    among the 1 / 5 highest logits), n_tokens, and `per_type` (the same per token type) when a
    `token_type(id) -> str` function is given. Zero targets give NaN metrics and n_tokens 0.
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    nll_sum, top1, top5, n = 0.0, 0, 0, 0
    per = defaultdict(lambda: [0.0, 0, 0, 0])  # type index -> [nll, top1, top5, n]
    type_names, type_of = _token_types(model.config.vocab_size, token_type)
    try:
        for start in range(0, len(inputs), batch_size):
            x = inputs[start : start + batch_size].to(device)  # (B, T)
            y = targets[start : start + batch_size].to(device)  # (B, T)
            t_max = _last_target(y, pad_id)
            if t_max == 0:
                continue
            x, y = x[:, :t_max], y[:, :t_max]
            logits, _ = model(x)  # (B, T, V)
            mask = y != pad_id
            logits, y = logits[mask].float(), y[mask]  # (M, V), (M,)
            nll = F.cross_entropy(logits, y, reduction="none")  # (M,)
            topk = logits.topk(min(5, logits.shape[-1]), dim=-1).indices  # (M, k)
            hit1 = topk[:, 0] == y
            hit5 = (topk == y[:, None]).any(-1)
            nll_sum += nll.sum().item()
            top1 += hit1.sum().item()
            top5 += hit5.sum().item()
            n += y.numel()
            if type_of is not None:
                _add_per_type(per, type_of[y.cpu()], nll, hit1, hit5)
    finally:
        model.train(was_training)
    result = _metrics(nll_sum, top1, top5, n)
    if type_of is not None:
        result["per_type"] = {type_names[k]: _metrics(*v) for k, v in sorted(per.items())}
    return result


def _token_types(vocab_size: int, token_type: Any) -> tuple[list[str], torch.Tensor | None]:
    """(sorted type names, (V,) type index of each token id), or ([], None) without `token_type`."""
    if token_type is None:
        return [], None
    names = [token_type(i) for i in range(vocab_size)]
    type_names = sorted(set(names))
    index = {t: k for k, t in enumerate(type_names)}
    return type_names, torch.tensor([index[t] for t in names])


def _add_per_type(per: dict, types: torch.Tensor, nll, hit1, hit5) -> None:
    """Add one batch's (M,) losses and hits to `per`, grouped by the (M,) type index of each target."""
    for k_type in types.unique().tolist():
        sel = (types == k_type).to(nll.device)
        acc = per[k_type]
        acc[0] += nll[sel].sum().item()
        acc[1] += hit1[sel].sum().item()
        acc[2] += hit5[sel].sum().item()
        acc[3] += int(sel.sum().item())


def _last_target(y: torch.Tensor, pad_id: int) -> int:
    """Length up to the last non-PAD target (padding at the end is skipped, not computed)."""
    cols = (y != pad_id).any(0).nonzero()
    return int(cols.max().item()) + 1 if len(cols) else 0


def _metrics(nll_sum: float, top1: int, top5: int, n: int) -> dict:
    if n == 0:
        nan = float("nan")
        return {"loss": nan, "perplexity": nan, "top1": nan, "top5": nan, "n_tokens": 0}
    loss = nll_sum / n
    return {
        "loss": loss,
        "perplexity": math.exp(min(loss, 50.0)),
        "top1": top1 / n,
        "top5": top5 / n,
        "n_tokens": n,
    }


def evaluate(
    checkpoint: Checkpoint, split: str = "test", *, melodies: list | None = None, batch_size: int = 128
) -> dict:
    """Metrics of a loaded checkpoint on the split recorded inside it.

    The split's melodies are re-selected from the corpus with the checkpoint's selection config and
    picked by the ids recorded at training time, so the test set is exactly the tune-disjoint one
    the model never saw. `melodies` replaces the corpus (tests). Keys: perplexity, top1, top5,
    n_tokens, loss, per_type, split, checkpoint, n_melodies, and the figures that compare across tokenizers
    (note_bits.NoteBits): bits_per_event, pitch_bits_per_note, duration_bits_per_note, pitch_top1,
    n_events, n_notes, pitch_bits_given_duration. The token figures (perplexity, top-1, top-5, loss) are
    the network's, what training minimises; the per-note figures are the model's, with its short-term
    model where it has one, and then `network_pitch_bits_per_note` and
    `network_pitch_bits_given_duration` give the network's own.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    parts = split_melodies(checkpoint.meta, melodies)
    tokenizer = checkpoint.tokenizer
    inputs, targets = sequence_tensors((tokenizer.encode(m) for m in parts[split]), checkpoint.config.pad_id)
    result = evaluate_tensors(
        checkpoint.model,
        inputs,
        targets,
        pad_id=checkpoint.config.pad_id,
        batch_size=batch_size,
        token_type=tokenizer.token_type,
    )
    result.update(note_bits(checkpoint.model, tokenizer, parts[split]).to_dict())
    if has_short_term(checkpoint.config):  # what the network alone gives, for the comparison
        alone = note_bits(checkpoint.model, tokenizer, parts[split], with_short_term=False)
        result["network_pitch_bits_per_note"] = alone.pitch_bits_per_note
        result["network_pitch_bits_given_duration"] = alone.pitch_bits_given_duration
    result.update(split=split, checkpoint=os.fspath(checkpoint.path), n_melodies=len(parts[split]))
    return result
