"""Tests for presets, the training engine, evaluation and the train/evaluate commands (tiny data)."""

import dataclasses
import json
import math
import threading

import pytest
import torch

from bachlstm.cli import main
from bachlstm.model.checkpoints import load_checkpoint, read_meta
from bachlstm.model.lstm import ModelConfig
from bachlstm.training.evaluation import evaluate, evaluate_tensors
from bachlstm.training.loop import Progress, TrainingStopped, choose_device, train
from bachlstm.training.presets import Preset, PresetError, get_preset, override
from bachlstm.training.splits import checkpoint_selection, split_melodies
from tests.builders import scale_melodies


def tiny(**kw):
    base = dict(
        embedding_dim=4,
        lstm_sizes=(8,),
        hidden_linear=None,
        epochs=2,
        batch_size=4,
        seq_len=16,
        stride=8,
        augment_semitones=(),
    )
    return get_preset("bach", **{**base, **kw})


def test_train_reports_progress_and_saves_the_best(tmp_path):
    records: list[Progress] = []
    out = tmp_path / "run.safetensors"
    result = train(tiny(), callback=records.append, out=out, data=scale_melodies())
    steps = [r for r in records if r.kind == "step"]
    epochs = [r for r in records if r.kind == "epoch"]
    assert [r.kind for r in records][-1] == "done"
    assert len(epochs) == 2 and len(steps) == steps[-1].total_steps == result.metrics["steps"]
    assert [r.step for r in steps] == list(range(1, len(steps) + 1))
    assert steps[-1].eta_s == 0 and all(r.tokens_per_s > 0 for r in steps)
    assert all(r.val_loss is None for r in steps)
    for r in epochs:
        assert r.val_perplexity == pytest.approx(math.exp(r.val_loss))
        assert 0 <= r.val_top1 <= r.val_top5 <= 1
    ckpt = load_checkpoint(out)
    assert ckpt.meta["preset"] == "bach" and len(ckpt.meta["history"]) == 2
    split = ckpt.meta["split"]
    keys = [k for name in ("train", "val", "test") for k in split[name]]
    assert sorted(keys) == sorted(f"p{i:02d}:soprano" for i in range(12))  # disjoint and complete
    assert ckpt.meta["metrics"]["test_top1"] == result.metrics["test_top1"]
    # One copy of the settings: the preset, from which the selection is read back.
    assert not {"selection", "data", "train", "seed"} & set(ckpt.meta)
    assert Preset.from_dict(ckpt.meta["preset_config"]) == result.preset
    assert checkpoint_selection(ckpt.meta) == result.preset.selection
    for a, b in zip(ckpt.model.state_dict().values(), result.model.state_dict().values()):
        assert torch.equal(a, b)


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    a, b = (train(tiny(seed=3), data=scale_melodies()).model.state_dict() for _ in range(2))
    c = train(tiny(seed=4), data=scale_melodies()).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_the_chorale_preset_is_reproducible_and_keeps_to_bachs_keys(tmp_path):
    # the chorale recipe on a tiny network: its key limit, tune weights, dropout and batch, augmentation on
    # scale melodies in C
    small = dict(embedding_dim=4, lstm_sizes=(8,), epochs=2, seq_len=16, stride=8, augment_semitones=(-4, 4))
    preset = get_preset("chorale", **small)
    assert (preset.data.max_key_accidentals, preset.data.tune_weight, preset.train.batch_size) == (3, 1.0, 32)
    assert (preset.model.dropouts, get_preset("chorale").train.epochs) == ((0.4,), 20)
    runs = [train(preset, data=scale_melodies(), out=tmp_path / f"{k}.safetensors") for k in range(2)]
    shas = [read_meta(tmp_path / f"{k}.safetensors")["weights_sha256"] for k in range(2)]
    assert shas[0] == shas[1] and runs[0].metrics["test_loss"] == runs[1].metrics["test_loss"]
    # C + 4 = E major (4 sharps) is left out, C - 4 = A-flat major (4 flats) too: only the originals
    assert runs[0].meta["preset_config"]["data"]["max_key_accidentals"] == 3
    wider = train(override(preset, max_key_accidentals=4), data=scale_melodies())
    assert wider.metrics["steps"] > runs[0].metrics["steps"]


def test_tune_weight_changes_the_loss_only_where_a_tune_repeats():
    distinct = scale_melodies()  # every melody its own tune: all weights 1, the unweighted loss
    repeated = [dataclasses.replace(m, tune="t0") if i < 6 else m for i, m in enumerate(distinct)]
    plain, weighted = train(tiny(), data=distinct), train(tiny(tune_weight=1.0), data=distinct)
    losses = [[h["train_loss"] for h in r.history] for r in (plain, weighted)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    once = train(tiny(tune_weight=1.0), data=repeated)
    assert once.meta["preset_config"]["data"]["tune_weight"] == 1.0
    every = train(tiny(), data=repeated)
    assert once.history[0]["train_loss"] != pytest.approx(every.history[0]["train_loss"])


def test_average_last_keeps_the_mean_of_the_last_epochs_only_when_it_validates_better(monkeypatch):
    import bachlstm.training.loop as training_module

    real, seen = training_module.evaluate_tensors, []

    def scoring(model, *args, **kwargs):  # the 4th scoring is of the average: let it win
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        out = real(model, *args, **kwargs)
        return {**out, "loss": 0.0} if len(seen) == 4 else out

    monkeypatch.setattr(training_module, "evaluate_tensors", scoring)
    averaged = train(tiny(epochs=3, average_last=2), data=scale_melodies())
    assert averaged.metrics["averaged_epochs"] == 2 and averaged.metrics["best_epoch"] == 3
    for k, v in averaged.model.state_dict().items():
        assert torch.allclose(v, (seen[1][k] + seen[2][k]) / 2)  # epochs 2 and 3
    monkeypatch.undo()
    # on these melodies every epoch beats the last: the average loses and the last epoch stays
    plain, kept = (train(tiny(epochs=3, average_last=n), data=scale_melodies()) for n in (None, 3))
    assert kept.metrics["averaged_epochs"] == 0 and "averaged_epochs" not in plain.metrics
    assert all(
        torch.equal(a, b) for a, b in zip(plain.model.state_dict().values(), kept.model.state_dict().values())
    )
    with pytest.raises(PresetError, match="average_last must be a whole number from 2"):
        tiny(average_last=1)


def test_stop_flag_halts_within_one_batch_and_leaves_a_loadable_checkpoint(tmp_path):
    stop = threading.Event()
    seen = []

    def callback(p):
        seen.append(p)
        if p.kind == "step" and p.step == 3:
            stop.set()

    out = tmp_path / "stopped.safetensors"
    result = train(tiny(epochs=50), callback=callback, stop_event=stop, out=out, data=scale_melodies())
    assert max(p.step for p in seen) == 3  # no batch ran after the flag was set
    assert result.stopped and result.metrics["steps"] == 3
    assert load_checkpoint(out).meta["stopped"] is True


def test_stop_after_an_epoch_scores_nothing_more_and_keeps_the_best(tmp_path, monkeypatch):
    """Stop answers at once: no validation of the part-epoch, no test pass; the best weights are saved."""
    import bachlstm.training.loop as training_module

    stop = threading.Event()
    scored_after_stop = []
    real = training_module.evaluate_tensors

    def counting(*args, **kwargs):
        if stop.is_set():
            scored_after_stop.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(training_module, "evaluate_tensors", counting)
    epochs_seen = []

    def callback(p):
        if p.kind == "epoch":
            epochs_seen.append(p.epoch)
        if p.kind == "step" and epochs_seen and p.epoch == 2:
            stop.set()

    out = tmp_path / "stopped.safetensors"
    result = train(tiny(epochs=50), callback=callback, stop_event=stop, out=out, data=scale_melodies())
    assert result.stopped and scored_after_stop == []
    assert [h["epoch"] for h in result.history] == [1]  # the part-epoch 2 is not validated
    assert result.metrics["test_top1"] is None and result.metrics["val_loss"] is not None
    assert load_checkpoint(out).meta["metrics"]["test_top1"] is None


def test_stop_before_training_began_saves_nothing(tmp_path):
    """Stop pressed while the data is prepared ends the run there: an untrained model is not a result."""
    stop = threading.Event()
    stop.set()
    out = tmp_path / "never.safetensors"
    with pytest.raises(TrainingStopped, match="nothing was trained or saved"):
        train(tiny(), stop_event=stop, out=out, data=scale_melodies())
    assert not out.exists()


def test_max_steps_caps_training():
    seen = []
    train(tiny(max_steps=3, epochs=10), callback=seen.append, data=scale_melodies())
    assert [p.step for p in seen if p.kind == "step"] == [1, 2, 3]


def test_resume_continues_the_epochs_and_history(tmp_path):
    first = tmp_path / "a.safetensors"
    train(tiny(epochs=2), out=first, data=scale_melodies())
    steps_before = read_meta(first)["step"]
    seen = []
    result = train(
        tiny(epochs=4),
        resume=first,
        out=tmp_path / "b.safetensors",
        callback=seen.append,
        data=scale_melodies(),
    )
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert min(p.step for p in seen if p.kind == "step") == steps_before + 1
    assert result.meta["split"] == read_meta(first)["split"]


def test_evaluate_checkpoint_matches_the_training_metrics(tmp_path):
    out = tmp_path / "e.safetensors"
    result = train(tiny(), out=out, data=scale_melodies())
    metrics = evaluate(load_checkpoint(out), "test", melodies=scale_melodies())
    assert metrics["perplexity"] == pytest.approx(result.metrics["test_perplexity"])
    assert metrics["top1"] == pytest.approx(result.metrics["test_top1"])
    assert metrics["n_tokens"] == result.metrics["test_tokens"]
    for key in (
        "bits_per_event",
        "pitch_bits_per_note",
        "duration_bits_per_note",
        "pitch_top1",
        "pitch_bits_given_duration",  # event tokens: cheap, so training reports it too
    ):
        assert metrics[key] == pytest.approx(result.metrics[f"test_{key}"])  # training reports them too
    assert sum(m["n_tokens"] for m in metrics["per_type"].values()) == metrics["n_tokens"]
    with pytest.raises(ValueError, match="split must be one of"):
        evaluate(load_checkpoint(out), "dev", melodies=scale_melodies())


def test_a_checkpoint_without_split_or_selection_says_so():
    with pytest.raises(ValueError, match="records no train/val/test split"):
        split_melodies({"preset_config": {}})
    with pytest.raises(ValueError, match="records no data selection"):
        checkpoint_selection({"split": {"train": [], "val": [], "test": []}})


class FixedLogits(torch.nn.Module):
    """A stand-in model whose logits are the same at every position: [0, ln 2, 0]."""

    config = ModelConfig(vocab_size=3, embedding_dim=1, lstm_sizes=(1,), dropouts=(0.0,))

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.tensor([0.0, math.log(2), 0.0]).expand(*x.shape, 3) + self.w, None


def test_evaluate_tensors_exact_values():
    # p = [1/4, 1/2, 1/4]; targets 1, 2 (two tokens, PAD=0 ignored): nll = ln 2 and ln 4.
    x = torch.tensor([[1, 1, 1]])
    y = torch.tensor([[1, 2, 0]])
    m = evaluate_tensors(FixedLogits(), x, y, token_type=lambda i: "a" if i == 1 else "b")
    assert m["loss"] == pytest.approx(1.5 * math.log(2))
    assert m["perplexity"] == pytest.approx(2**1.5)
    assert (m["top1"], m["top5"], m["n_tokens"]) == (0.5, 1.0, 2)
    assert m["per_type"]["a"]["perplexity"] == pytest.approx(2.0)
    assert m["per_type"]["b"]["top1"] == 0.0
    empty = evaluate_tensors(FixedLogits(), x, torch.zeros_like(y))
    assert empty["n_tokens"] == 0 and math.isnan(empty["perplexity"])


def test_workshop_preset_is_the_original_network():
    p = get_preset("workshop")
    m = p.model
    assert (m.embedding_dim, m.lstm_sizes, m.dropouts, m.hidden_linear) == (
        3,
        (6, 12, 6),
        (0.2, 0.3, 0.3),
        512,
    )
    assert p.train.batch_size == 64 and p.tokenizer.name == "factored"
    assert (p.selection.voice, p.selection.min_events, p.selection.max_events) == ("first", 30, 65)
    b = get_preset("bach")
    assert b.tokenizer.name == "event" and b.data.augment_semitones


def test_overrides_apply_and_validate():
    p = get_preset("workshop", epochs=3, lstm_sizes=(32, 32), seq_len=64, stride=32, model__embedding_dim=8)
    assert (p.train.epochs, p.model.lstm_sizes, p.model.dropouts) == (3, (32, 32), (0.2, 0.2))
    assert (p.data.seq_len, p.model.embedding_dim) == (64, 8)
    assert override(p, lr=0.01).train.lr == 0.01
    assert get_preset("bach", bar_tokens=False).tokenizer.options == {"bar_tokens": False, "ties": True}
    assert get_preset("workshop", tokenizer="event").tokenizer.name == "event"
    assert (get_preset("bach", seq_len=32).data.stride, get_preset("workshop", seq_len=32).data.stride) == (
        16,
        32,
    )
    with pytest.raises(PresetError, match="unknown preset"):
        get_preset("mozart")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 10**6}, "epochs"),
        ({"lr": 5.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"lstm_sizes": (100_000,)}, "lstm_sizes must each be .*: layer 1 is 100000"),
        ({"dropouts": (0.1, 0.2, 0.3, 0.4)}, "one value per LSTM layer"),
        ({"seq_len": 0}, "seq_len"),
        ({"frobnicate": 1}, "unknown setting 'frobnicate'"),
        ({"vocab_size": 10}, "vocab_size"),
        ({"device": "tpu"}, "device"),
        ({"max_melodies": 1}, "max_melodies"),
        ({"pad_id": 3}, "pad_id is fixed"),
        ({"tokenizer": "event", "bar_tokens": "no"}, "bar_tokens must be True or False"),
        ({"tokenizer": "midi"}, "tokenizer must be one of"),
    ],
    ids=[
        "no-epochs",
        "many-epochs",
        "lr",
        "batch",
        "huge-lstm",
        "dropouts",
        "seq",
        "unknown",
        "vocab",
        "device",
        "melodies",
        "pad",
        "bar-option",
        "tokenizer",
    ],
)
def test_absurd_overrides_give_clear_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        get_preset("workshop", **kw)


def test_every_bad_setting_is_reported_at_once_across_sections():
    """Not only the first: the form names each bad field (the new-user trial saw one at a time)."""
    with pytest.raises(PresetError) as caught:
        get_preset("workshop", epochs=0, batch_size=0, seed=-1, seq_len=0, embedding_dim=0, lstm_sizes=(6, 0))
    problems = {p.field: p.text for p in caught.value.problems}
    assert list(problems) == ["seq_len", "embedding_dim", "lstm_sizes", "epochs", "batch_size", "seed"]
    assert problems["epochs"] == "must be a whole number from 1 to 10,000, got 0"
    assert problems["seed"].startswith("must be a whole number from 0 to 4,294,967,295")
    assert str(caught.value).startswith("seq_len must be a whole number of at least 1, got 0; embedding_dim ")


def test_device_choice():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(PresetError, match="no CUDA"):
            choose_device("cuda")


@pytest.mark.slow
def test_cli_train_then_evaluate_on_the_real_corpus(tmp_path, capsys):
    out = tmp_path / "cli.safetensors"
    args = ["train", "--preset", "workshop", "--epochs", "1", "--max-melodies", "24", "--out", str(out)]
    assert main([*args, "--quiet", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["checkpoint"] == str(out) and trained["epochs_run"] == 1
    assert main(["evaluate", "--checkpoint", str(out), "--split", "test", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert {"perplexity", "top1", "top5", "n_tokens"} <= set(scored)
    assert {"bits_per_event", "pitch_bits_per_note", "duration_bits_per_note", "pitch_top1"} <= set(scored)
    assert scored["perplexity"] == pytest.approx(trained["test_perplexity"])
    assert set(scored["per_type"]) >= {"pitch", "octave"}


def test_early_stopping_after_patience_epochs_without_improvement(monkeypatch):
    import bachlstm.training.loop as training

    real = training.evaluate_tensors
    calls = []

    def worse_every_epoch(model, x, y, **kw):
        result = real(model, x, y, **kw)
        calls.append(1)
        loss = float(len(calls))  # validation loss 1, 2, 3, ...: never better than epoch 1
        return {**result, "loss": loss, "perplexity": math.exp(loss)}

    monkeypatch.setattr(training, "evaluate_tensors", worse_every_epoch)
    result = train(tiny(epochs=20, early_stopping=2), data=scale_melodies())
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.metrics["best_epoch"] == 1 and "early stopping" in result.stop_reason
    assert not result.stopped  # early stopping is not a user stop


def test_scores_keep_the_saved_names_and_leave_out_what_is_not_finite():
    from bachlstm.training.evaluation import NOT_SCORED, Scores

    scores = Scores.of({"loss": 2.0, "perplexity": math.inf, "top1": 0.5, "top5": math.nan, "n_tokens": 7})
    assert scores.named("val") == {
        "val_loss": 2.0,
        "val_perplexity": None,
        "val_top1": 0.5,
        "val_top5": None,
        "val_tokens": 7,
    }
    assert NOT_SCORED.named("test", tokens=False) == dict.fromkeys(
        ["test_loss", "test_perplexity", "test_top1", "test_top5"]
    )
