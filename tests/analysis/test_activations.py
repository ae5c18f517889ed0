"""Recorded gates and states: the LSTM equations run from nn.LSTM's weights reproduce the model exactly."""

import numpy as np
import pytest
import torch

from bachlstm.analysis.activations import SIGNALS, record_activations
from bachlstm.model.lstm import LSTMModel, ModelConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest

CONFIGS = {
    "workshop-shape": dict(
        embedding_dim=3, lstm_sizes=(6, 12, 6), dropouts=(0.2, 0.3, 0.3), hidden_linear=32
    ),
    "one-layer": dict(embedding_dim=8, lstm_sizes=(16,), dropouts=(0.5,), embedding_dropout=0.1),
}


def model_of(name: str, seed: int = 0) -> LSTMModel:
    torch.manual_seed(seed)
    return LSTMModel(ModelConfig(vocab_size=13, **CONFIGS[name]))


def lstm_reference(model: LSTMModel, tokens: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (h (T, H), c (T, H)) from nn.LSTM itself, stepped one token at a time to see every c."""
    with torch.no_grad():
        x = model.embedding(torch.tensor([tokens]))  # (1, T, E)
        out = []
        for lstm in model.lstms:
            state, hs, cs = None, [], []
            for t in range(x.shape[1]):
                h, state = lstm(x[:, t : t + 1], state)
                hs.append(h[0, 0].numpy())
                cs.append(state[1][0, 0].numpy())
            full, _ = lstm(x)  # the fused pass over the whole sequence, as forward() runs it
            np.testing.assert_allclose(np.stack(hs), full[0].numpy(), atol=1e-6)
            out.append((full[0].numpy(), np.stack(cs)))
            x = full
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_recorded_states_and_logits_equal_the_model(name):
    model = model_of(name).eval()
    tokens = [2, 5, 7, 7, 9, 4, 11, 12, 5, 6, 3]
    rec = record_activations(model, tokens)
    assert rec.tokens == tuple(tokens)
    for trace, (h, c) in zip(rec.layers, lstm_reference(model, tokens), strict=True):
        np.testing.assert_allclose(trace.hidden, h, atol=1e-6)
        np.testing.assert_allclose(trace.cell, c, atol=1e-6)
    with torch.no_grad():
        logits, _ = model(torch.tensor([tokens]))
    np.testing.assert_allclose(rec.logits, logits[0].numpy(), atol=1e-5)
    assert [layer.size for layer in rec.layers] == list(model.config.lstm_sizes)


def test_gates_obey_the_cell_update_and_stay_in_range():
    rec = record_activations(model_of("workshop-shape", seed=3), [2, 4, 6, 8, 10, 12, 3])
    for layer in rec.layers:
        c_prev = np.vstack([np.zeros((1, layer.size)), layer.cell[:-1]])
        expected = layer.forget_gate * c_prev + layer.input_gate * layer.cell_input
        np.testing.assert_allclose(layer.cell, expected, atol=1e-6)
        np.testing.assert_allclose(layer.hidden, layer.output_gate * np.tanh(layer.cell), atol=1e-6)
        for name, (_, (lo, hi)) in SIGNALS.items():
            values = layer.signal(name)
            assert values.shape == (7, layer.size)
            if lo is not None:
                assert values.min() >= lo and values.max() <= hi, name


def test_dropout_is_off_and_training_mode_is_restored():
    model = model_of("one-layer").train()
    tokens = [2, 5, 6, 7, 3]
    first = record_activations(model, tokens)
    second = record_activations(model, tokens)
    assert model.training
    np.testing.assert_array_equal(first.logits, second.logits)  # no random dropout masks
    with torch.no_grad():
        logits, _ = model.eval()(torch.tensor([tokens]))
    np.testing.assert_allclose(first.logits, logits[0].numpy(), atol=1e-5)


def test_bad_input_is_a_clear_error():
    model = model_of("one-layer")
    with pytest.raises(ValueError, match="no tokens"):
        record_activations(model, [])
    with pytest.raises(ValueError, match="token id 13 is outside the model's vocabulary of 13"):
        record_activations(model, [2, 13])
    with pytest.raises(ValueError, match="unknown signal 'gate'"):
        record_activations(model, [2, 4]).layers[0].signal("gate")
