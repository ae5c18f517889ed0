"""Tests for training.budget and model.config: exact parameter counts, estimates, refusals with a way out."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bachlstm.model.config import ModelConfig, count_parameters, parameter_shapes
from bachlstm.model.lstm import LSTMModel
from bachlstm.training import budget
from bachlstm.training.budget import (
    BudgetError,
    DataSize,
    Limits,
    check_preset,
    count_windows,
    estimate_preset,
)
from bachlstm.training.dataset import make_windows
from bachlstm.training.presets import get_preset
from tests.builders import ROOT

CONFIGS = [
    ModelConfig(vocab_size=36, embedding_dim=3, lstm_sizes=(6, 12, 6), dropouts=(0.2,) * 3, hidden_linear=9),
    ModelConfig(vocab_size=316, embedding_dim=64, lstm_sizes=(256,), dropouts=(0.3,)),
    ModelConfig(vocab_size=2, embedding_dim=1, lstm_sizes=(1,), dropouts=(0.0,)),
    ModelConfig(vocab_size=50, embedding_dim=7, lstm_sizes=(5, 9), dropouts=(0.0, 0.1), hidden_linear=3),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["workshop", "bach", "smallest", "odd"])
def test_parameter_shapes_and_count_are_exact(config):
    model = LSTMModel(config)
    assert parameter_shapes(config) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert count_parameters(config) == sum(p.numel() for p in model.parameters()) == model.n_params()


def test_shipped_preset_counts_match_their_checkpoints():
    assert count_parameters(replace_vocab(get_preset("workshop").model, 36)) == 23_864
    assert count_parameters(replace_vocab(get_preset("bach").model, 316)) == 431_164


def replace_vocab(config, vocab):
    from dataclasses import replace

    return replace(config, vocab_size=vocab)


@pytest.mark.parametrize(
    ("lengths", "seq_len", "stride"),
    [((10, 3, 1, 2), 4, 2), ((65, 64, 200), 64, 64), ((5,), 100, 50), ((130, 7), 128, 1)],
    ids=["short", "exact", "long-window", "stride-1"],
)
def test_window_count_equals_make_windows(lengths, seq_len, stride):
    seqs = [list(range(1, n + 1)) for n in lengths]
    x, _ = make_windows(seqs, seq_len, stride)
    assert count_windows(lengths, seq_len, stride) == x.shape[0]


# DataSize of the shipped presets' real data (measured: tests below compare with the real pipeline).
WORKSHOP = DataSize(vocab_size=36, train_lengths=(238,) * 231, eval_sequences=30, eval_max_len=300)
BACH = DataSize(vocab_size=316, train_lengths=(68,) * 2619, eval_sequences=36, eval_max_len=200)


def test_shipped_presets_fit_the_default_limits():
    for preset, size in ((get_preset("workshop"), WORKSHOP), (get_preset("bach"), BACH)):
        est = check_preset(preset, size, Limits())
        assert est.peak_mb < 600 and est.run_s < 1200 and est.step_s < 1.0
        assert "parameters" in est.summary() and "per epoch" in est.summary()


@pytest.mark.parametrize(
    ("name", "changes", "field"),
    [
        ("workshop", {"seq_len": 10**6}, "seq_len"),
        ("bach", {"seq_len": 10**5}, "seq_len"),
        ("workshop", {"lstm_sizes": (4096,), "hidden_linear": 4096}, "lstm_sizes"),
        ("workshop", {"lstm_sizes": (4096,) * 8, "hidden_linear": 4096}, "lstm_sizes"),
        ("bach", {"batch_size": 65_536, "seq_len": 512}, "batch_size"),
        ("bach", {"epochs": 10_000}, "epochs"),
    ],
    ids=["workshop-seq-1e6", "bach-seq-1e5", "wide", "8-wide-layers", "huge-batch", "many-epochs"],
)
def test_absurd_configs_are_refused_with_the_field_and_the_largest_value_that_fits(name, changes, field):
    preset = get_preset(name, **changes)
    size = WORKSHOP if name == "workshop" else BACH
    with pytest.raises(BudgetError) as err:
        check_preset(preset, size, Limits())
    message = str(err.value)
    assert isinstance(err.value, ValueError)  # the CLI reports ValueErrors as a one-line error
    assert f"({field})" in message
    best = int(re.search(r"at most ([\d,]+)", message).group(1).replace(",", ""))
    # The same as a code with values, for a page in another language.
    assert err.value.kind == "budget" and err.value.code in ("memory", "step_time", "run_time")
    assert (err.value.values["field"], err.value.values["best"]) == (field, best)
    # The value named fits, one more does not: the student can act on the sentence.
    fixed = budget._with(preset, field, best)
    assert check_preset(fixed, size, Limits())
    with pytest.raises(BudgetError):
        check_preset(budget._with(preset, field, best + 1), size, Limits())


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BACHLSTM_MAX_TRAIN_MB", "100")
    with pytest.raises(BudgetError, match="BACHLSTM_MAX_TRAIN_MB"):
        check_preset(get_preset("bach"), BACH)
    monkeypatch.setenv("BACHLSTM_MAX_TRAIN_MB", "lots")
    with pytest.raises(BudgetError, match="must be a number") as err:
        Limits.from_env()
    assert (err.value.code, err.value.values) == (
        "env_number",
        {"name": "BACHLSTM_MAX_TRAIN_MB", "got": "lots"},
    )
    monkeypatch.delenv("BACHLSTM_MAX_TRAIN_MB")
    monkeypatch.setenv("BACHLSTM_MAX_TRAIN_SECONDS", "10")
    with pytest.raises(BudgetError, match=r"Lower Epochs \(epochs\) to at most"):
        check_preset(get_preset("bach"), BACH)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads Linux's /proc")
def test_the_estimate_follows_measured_memory_within_a_factor_of_two():
    """One step of bach's network on a batch of 64 x 128 tokens, in a fresh process: peak RSS added."""
    code = """
import torch, torch.nn.functional as F
from bachlstm.model.lstm import LSTMModel, ModelConfig
torch.set_num_threads(1)
def status(key):
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith(key)) / 1024
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the present size
before = status("VmRSS")
m = LSTMModel(ModelConfig(vocab_size=316, embedding_dim=64, lstm_sizes=(256,), dropouts=(0.3,)))
opt = torch.optim.AdamW(m.parameters(), foreach=True)
x = torch.randint(1, 316, (64, 128))
for _ in range(2):
    logits, _ = m(x); loss = F.cross_entropy(logits.reshape(-1, 316), x.reshape(-1))
    opt.zero_grad(); loss.backward(); opt.step()
print(status("VmHWM") - before)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    measured = float(out.stdout)
    size = DataSize(vocab_size=316, train_lengths=(129,) * 64)
    est = estimate_preset(get_preset("bach", seq_len=128, augment_semitones=()), size)
    model_part = est.activations_mb + est.state_mb
    assert measured / 2 < model_part < measured * 2, (measured, model_part)


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads Linux's /proc")
def test_training_refuses_before_building_windows(monkeypatch):
    """train() with a 10^6-token window refuses in seconds, without allocating the windows (~7 GB)."""
    import time

    from bachlstm.training import dataset
    from bachlstm.training.loop import train

    calls = []
    monkeypatch.setattr(dataset, "make_windows", lambda *a, **k: calls.append(1))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the present size
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    with pytest.raises(BudgetError, match=r"Sequence length \(seq_len\)"):
        train(get_preset("workshop", seq_len=10**6))
    assert time.perf_counter() - start < 5  # corpus load + tokenizer; windows never built
    assert not calls
    assert _status_mb("VmHWM") - before < 200  # corpus, melodies, tokenizer: no windows
    assert torch.get_num_threads() >= 1
