"""Which stepper generation uses (bachlstm.generation.stepping): ONNX Runtime's step where it agrees with
LSTMModel.step, PyTorch's FastStep otherwise, the model's own step for anything else."""

import builtins

import numpy as np
import pytest
import torch

from bachlstm.generation import stepping
from bachlstm.generation.stepping import OnnxStep, make_stepper
from bachlstm.model.lstm import FastStep, LSTMModel, ModelConfig

pytest.importorskip("onnxruntime")  # pinned in requirements.txt; the fallback is tested below without it


def tiny(**overrides) -> ModelConfig:
    base = dict(vocab_size=20, embedding_dim=6, lstm_sizes=(10,), dropouts=(0.0,))
    return ModelConfig(**{**base, **overrides})


CONFIGS = [
    dict(lstm_sizes=(16,), dropouts=(0.0,), hidden_linear=None),
    dict(lstm_sizes=(8, 6), dropouts=(0.1, 0.2), hidden_linear=16, activation="tanh"),
    dict(lstm_sizes=(12, 12, 4), dropouts=(0.0, 0.0, 0.3), hidden_linear=10, activation="gelu"),
    dict(lstm_sizes=(9,), dropouts=(0.0,), hidden_linear=7, activation="relu"),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["one-layer", "two-layers-tanh", "three-layers-gelu", "relu"])
def test_onnx_step_equals_model_step_over_a_greedy_run(config):
    """Same logits and states as LSTMModel.step at float tolerance, and so the same greedy tokens, over
    40 steps in which the stepper's two buffer sets take turns."""
    torch.manual_seed(3)
    model = LSTMModel(tiny(**config)).eval()
    tokens = torch.tensor([2, 3, 7, 10, 11])
    fast_hidden = slow_hidden = model(torch.tensor([[2, 4], [2, 5], [2, 6], [2, 9], [2, 2]]))[1]
    stepper = make_stepper(model, fast_hidden, tokens)
    assert isinstance(stepper, OnnxStep)
    fast_tokens, slow_tokens = tokens, tokens
    with torch.inference_mode():
        for _ in range(40):
            fast, fast_hidden = stepper.step(fast_tokens, fast_hidden)
            slow, slow_hidden = model.step(slow_tokens, slow_hidden)
            assert fast.shape == slow.shape and torch.allclose(fast, slow, atol=1e-5, rtol=1e-5)
            for (fh, fc), (sh, sc) in zip(fast_hidden, slow_hidden):
                assert fh.shape == sh.shape and torch.allclose(fh, sh, atol=1e-5)
                assert torch.allclose(fc, sc, atol=1e-5)
            fast_tokens, slow_tokens = fast.argmax(-1), slow.argmax(-1)
            assert torch.equal(fast_tokens, slow_tokens)


def test_a_state_from_elsewhere_is_copied_in_and_each_stepper_has_its_own_buffers():
    torch.manual_seed(4)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 5])
    one, two = make_stepper(model, hidden, tokens), make_stepper(model, hidden, tokens)
    assert one is not two and one.program is two.program  # one export per model, buffers per caller
    with torch.inference_mode():
        a, state_a = one.step(tokens, hidden)
        a, kept = a.clone(), tuple((h.clone(), c.clone()) for h, c in state_a)  # views: cloned to keep
        two.step(torch.tensor([7, 8]), hidden)  # another generation in between changes nothing in `one`
        b, _ = one.step(tokens, hidden)  # not the state `one` returned last: copied in, the same result
        assert torch.equal(a, b)
        want, _ = model.step(torch.tensor([3, 4]), model.step(tokens, hidden)[1])
        got, _ = one.step(torch.tensor([3, 4]), kept)
        assert torch.allclose(got, want, atol=1e-5)
        chained, _ = one.step(torch.tensor([3, 4]), one.step(tokens, hidden)[1])  # the last state: no copy
        assert torch.allclose(chained, want, atol=1e-5)


def test_the_bound_mask_is_applied_as_masked_fill_does():
    torch.manual_seed(5)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(3), torch.tensor([2, 5, 9])
    blocked = np.zeros((3, 20), dtype=bool)
    stepper = make_stepper(model, hidden, tokens, blocked=blocked)
    assert stepper.blocked is blocked
    rng = np.random.default_rng(0)
    with torch.inference_mode():
        state = hidden
        for _ in range(5):
            blocked[:] = rng.random((3, 20)) < 0.6  # rewritten in place between steps, as generation does
            logits, state_next = stepper.step(tokens, state)
            plain, _ = model.step(tokens, state)
            want = plain.masked_fill(torch.from_numpy(blocked), float("-inf"))
            assert torch.equal(torch.isinf(logits), torch.isinf(want))
            assert torch.allclose(
                logits[~torch.from_numpy(blocked)], want[~torch.from_numpy(blocked)], atol=1e-5
            )
            state, tokens = state_next, plain.argmax(-1)
    with pytest.raises(ValueError, match="bool array of shape"):
        stepping.OnnxProgram.kept(model, hidden, tokens).stepper(3, np.zeros((3, 19), dtype=bool))


def test_which_stepper_and_when():
    torch.manual_seed(0)
    model = LSTMModel(tiny())
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 2])
    assert make_stepper(model, hidden, tokens) is None  # training mode: dropout would differ
    model.eval()
    assert isinstance(make_stepper(model, hidden, tokens), OnnxStep)
    assert isinstance(make_stepper(model, hidden, tokens, "onnxruntime"), OnnxStep)
    assert isinstance(make_stepper(model, hidden, tokens, "torch"), FastStep)
    assert make_stepper(torch.nn.Sequential(model), hidden, tokens) is None  # not an LSTMModel
    with pytest.raises(ValueError, match="runtime must be one of"):
        make_stepper(model, hidden, tokens, "tensorflow")


def test_the_export_is_kept_until_the_weights_change():
    torch.manual_seed(0)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 5])
    first = make_stepper(model, hidden, tokens).program
    assert make_stepper(model, model.init_hidden(3), torch.tensor([2, 5, 6])).program is first  # any batch
    with torch.no_grad():
        model.out.bias.add_(1.0)  # the weights change in place (as a training step does)
    again = make_stepper(model, hidden, tokens)
    assert again.program is not first
    with torch.inference_mode():
        fast, _ = again.step(tokens, hidden)
        slow, _ = model.step(tokens, hidden)
    assert torch.allclose(fast, slow, atol=1e-5)


def test_without_onnxruntime_generation_uses_pytorchs_step(monkeypatch):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime" or name.startswith("onnxruntime."):
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    monkeypatch.setattr(stepping, "_PROGRAMS", {})
    torch.manual_seed(0)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 5])
    assert isinstance(make_stepper(model, hidden, tokens), FastStep)
    assert make_stepper(model, hidden, tokens, "onnxruntime") is None


def test_a_stepper_that_disagrees_with_the_model_is_not_used(monkeypatch):
    """The check on the first step guards against an export that computes something else."""
    torch.manual_seed(0)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 5])
    real_step = OnnxStep.step

    def off_by_one(self, tokens, hidden):
        logits, state = real_step(self, tokens, hidden)
        return logits + 1.0, state

    monkeypatch.setattr(OnnxStep, "step", off_by_one)
    monkeypatch.setattr(stepping, "_PROGRAMS", {})
    built = []
    real_init = stepping.OnnxProgram.__init__

    def counted(self, model):
        built.append(model)
        real_init(self, model)

    monkeypatch.setattr(stepping.OnnxProgram, "__init__", counted)
    assert isinstance(make_stepper(model, hidden, tokens), FastStep)
    assert isinstance(make_stepper(model, hidden, tokens), FastStep)
    assert len(built) == 1  # not exported again for every Generate
