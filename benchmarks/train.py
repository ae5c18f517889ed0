"""Training speed: our train() loop vs a bare nn.LSTM loop on the same batches, and one epoch per preset."""

from __future__ import annotations

import os
import platform
import time

import torch
import torch.nn.functional as F
from torch import nn

from bachlstm.training.dataset import build_datasets
from bachlstm.training.loop import train
from bachlstm.training.presets import get_preset
from bachlstm.training.run_data import run_tokenizer
from bachlstm.training.splits import load_melodies

STEPS = 40  # timed steps per side and round
ROUNDS = 5  # side-by-side rounds, alternating which side goes first


class BareLSTM(nn.Module):
    """The same layers as LSTMModel (dropouts included), written the plain way: the loop is what we time."""

    def __init__(self, vocab: int, m) -> None:
        super().__init__()
        self.emb = nn.Sequential(nn.Embedding(vocab, m.embedding_dim), nn.Dropout(m.embedding_dropout))
        ins = (m.embedding_dim, *m.lstm_sizes[:-1])
        self.rnns = nn.ModuleList(nn.LSTM(i, o, batch_first=True) for i, o in zip(ins, m.lstm_sizes))
        self.drops = nn.ModuleList(nn.Dropout(p) for p in m.dropouts)
        top = m.lstm_sizes[-1]
        self.head = (
            nn.Sequential(nn.Linear(top, m.hidden_linear), nn.ReLU()) if m.hidden_linear else nn.Identity()
        )
        self.out = nn.Linear(m.hidden_linear or top, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) for tokens (B, T)."""
        h = self.emb(x)
        for rnn, drop in zip(self.rnns, self.drops):
            h = drop(rnn(h)[0])
        return self.out(self.head(h))


def _batches(preset, n_steps: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """The first n_steps training batches exactly as train() draws and trims them, and the vocab size."""
    melodies = load_melodies(preset)
    tokenizer = run_tokenizer(preset, melodies)
    ds = build_datasets(melodies, tokenizer, preset.data)
    x_all, y_all = ds.train.inputs, ds.train.targets
    perm = torch.randperm(len(x_all), generator=torch.Generator().manual_seed(preset.train.seed))
    bs, pad = preset.train.batch_size, preset.model.pad_id
    out = []
    for b in range(n_steps):
        idx = perm[(b * bs) % len(perm) :][:bs]
        x, y = x_all[idx], y_all[idx]
        t = int((y != pad).any(0).nonzero().max()) + 1
        out.append((x[:, :t], y[:, :t]))
    return out, len(tokenizer.vocab)


def _bare_tokens_per_s(preset, batches, vocab: int) -> float:
    m = preset.model
    torch.manual_seed(0)
    model = BareLSTM(vocab, m)
    opt = torch.optim.Adam(model.parameters(), lr=preset.train.lr)
    stamps, tokens = [], []
    for x, y in batches:
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1), ignore_index=m.pad_id)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # our loop reads the loss every step too
        stamps.append(time.perf_counter())
        tokens.append(int((y != m.pad_id).sum()))
    return sum(tokens[1:]) / (stamps[-1] - stamps[0])  # first step excluded (warm-up) on both sides


def compare_loops(name: str = "bach", steps: int = STEPS, rounds: int = ROUNDS, threads: int = 1) -> dict:
    """tokens/s of train() and of the bare loop on identical batches, measured alternately.

    Both sides use `threads` CPU threads (1 by default: on a shared machine extra OpenMP threads make
    the figures noisy, and the ratio is about the loop's own overhead). The side that goes first
    alternates each round so slow drift in machine load favours neither.
    """
    preset = get_preset(name, max_steps=steps, epochs=10_000, num_threads=threads)
    batches, vocab = _batches(preset, steps)
    tokens = [int((y != preset.model.pad_id).sum()) for _, y in batches]
    ours, bare = [], []

    def run_ours() -> None:
        stamps: list[float] = []
        train(preset, callback=lambda r: r.kind == "step" and stamps.append(time.perf_counter()))
        ours.append(sum(tokens[1:]) / (stamps[-1] - stamps[0]))

    def run_bare() -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            bare.append(_bare_tokens_per_s(preset, batches, vocab))
        finally:
            torch.set_num_threads(before)

    for r in range(rounds):
        for side in (run_ours, run_bare) if r % 2 == 0 else (run_bare, run_ours):
            side()
    ratios = sorted(o / b for o, b in zip(ours, bare))
    return {
        "preset": name,
        "batch_size": preset.train.batch_size,
        "threads": threads,
        "steps": steps,
        "rounds": rounds,
        "ours_tokens_per_s": round(max(ours)),
        "bare_tokens_per_s": round(max(bare)),
        "ratio": round(max(ours) / max(bare), 3),  # best of each side: least disturbed by other load
        "ratio_median": round(ratios[len(ratios) // 2], 3),  # per-round ratios, side by side
        "ours_all": [round(v) for v in ours],
        "bare_all": [round(v) for v in bare],
    }


def epoch_time(name: str, threads: int | None = None) -> dict:
    """Setup time and the time of one full epoch (training + validation) of a preset."""
    preset = get_preset(name, epochs=2, num_threads=threads)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def callback(r) -> None:
        if r.kind == "step" and "first_step" not in marks:
            marks["first_step"] = time.perf_counter()
        if r.kind == "epoch":
            marks[f"epoch{r.epoch}"] = time.perf_counter()

    result = train(preset, callback=callback)
    epoch_s = marks["epoch2"] - marks["epoch1"]  # the second epoch: no one-off warm-up inside
    setup_s = marks["first_step"] - t0
    full_epochs = get_preset(name).train.epochs
    return {
        "preset": name,
        "setup_s": round(setup_s, 2),
        "epoch_s": round(epoch_s, 2),
        "epochs": full_epochs,
        "projected_full_s": round(setup_s + full_epochs * epoch_s, 1),
        "threads": result.metrics["threads"],
        "n_params": result.metrics["n_params"],
    }


def run() -> dict:
    """All figures: loop comparison for both presets and one epoch of each."""
    return {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cuda": torch.cuda.is_available(),
        },
        "loop": [compare_loops("workshop"), compare_loops("bach")],
        # bach twice: with train()'s automatic thread count and with the 1 thread of the shipped run.
        "epochs": [epoch_time("workshop"), epoch_time("bach"), epoch_time("bach", threads=1)],
    }


def format_report(figures: dict) -> str:
    """Human-readable report."""
    lines = [f"machine: {figures['machine']}"]
    for c in figures["loop"]:
        ok = "ok" if c["ratio"] >= 0.9 else "BELOW 0.9"
        lines.append(
            f"{c['preset']:>9} loop: ours {c['ours_tokens_per_s']:,} tok/s vs bare nn.LSTM "
            f"{c['bare_tokens_per_s']:,} tok/s -> ratio {c['ratio']:.3f} best/best, "
            f"{c['ratio_median']:.3f} median per round ({ok}; batch {c['batch_size']}, "
            f"{c['threads']} thread(s), {c['steps']} steps x {c['rounds']} rounds)"
        )
    for e in figures["epochs"]:
        lines.append(
            f"{e['preset']:>9} epoch: {e['epoch_s']:.2f} s (setup {e['setup_s']:.2f} s, "
            f"{e['threads']} threads); "
            f"{e['epochs']} epochs projected {e['projected_full_s']:.0f} s"
        )
    return "\n".join(lines)
