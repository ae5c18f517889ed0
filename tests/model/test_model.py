"""Tests for bachlstm.model.lstm: config validation, shapes, step == forward, overfitting one batch."""

import math

import pytest
import torch

from bachlstm.model.lstm import LSTMModel, ModelConfig, ModelConfigError, lstm_cell

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=11, embedding_dim=4, lstm_sizes=(8, 6), dropouts=(0.1, 0.2), hidden_linear=16)
    return ModelConfig(**{**base, **kw})


def test_shapes_and_hidden():
    torch.manual_seed(0)
    model = LSTMModel(tiny())
    x = torch.randint(0, 11, (3, 7))
    logits, hidden = model(x)
    assert logits.shape == (3, 7, 11)
    assert [tuple(h.shape) for h, _ in hidden] == [(1, 3, 8), (1, 3, 6)]
    assert [tuple(c.shape) for _, c in model.init_hidden(5)] == [(1, 5, 8), (1, 5, 6)]
    step_logits, _ = model.step(x[:, 0], None)
    assert step_logits.shape == (3, 11)


def test_workshop_network_has_the_original_layers():
    model = LSTMModel(
        ModelConfig(
            vocab_size=31, embedding_dim=3, lstm_sizes=(6, 12, 6), dropouts=(0.2, 0.3, 0.3), hidden_linear=512
        )
    )
    assert [lstm.hidden_size for lstm in model.lstms] == [6, 12, 6]
    assert [d.p for d in model.dropouts] == [0.2, 0.3, 0.3]
    assert (model.hidden.in_features, model.hidden.out_features) == (6, 512)
    assert (model.out.in_features, model.out.out_features) == (512, 31)
    # By hand: embedding 31*3; each LSTM 4H(I+H) + 8H (two bias vectors); linear layers W + b.
    lstm = [4 * 6 * (3 + 6) + 48, 4 * 12 * (6 + 12) + 96, 4 * 6 * (12 + 6) + 48]
    assert model.n_params() == 93 + sum(lstm) + (6 * 512 + 512) + (512 * 31 + 31) == 21284


@pytest.mark.parametrize("hidden_linear", [None, 16], ids=["no-hidden", "hidden"])
def test_step_by_step_equals_full_forward(hidden_linear):
    torch.manual_seed(1)
    model = LSTMModel(tiny(hidden_linear=hidden_linear)).eval()
    x = torch.randint(1, 11, (2, 9))
    full, _ = model(x)
    hidden = model.init_hidden(2)
    steps = []
    for t in range(x.shape[1]):
        logits, hidden = model.step(x[:, t], hidden)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_forward_continues_from_a_carried_state():
    torch.manual_seed(2)
    model = LSTMModel(tiny()).eval()
    x = torch.randint(1, 11, (2, 10))
    full, _ = model(x)
    first, hidden = model(x[:, :4])
    second, _ = model(x[:, 4:], hidden)
    torch.testing.assert_close(torch.cat([first, second], 1), full, atol=1e-5, rtol=1e-5)


def test_pad_embedding_is_zero_and_untrained():
    model = LSTMModel(tiny())
    assert torch.count_nonzero(model.embedding.weight[0]) == 0
    logits, _ = model(torch.tensor([[0, 3, 4]]))
    logits.sum().backward()
    assert torch.count_nonzero(model.embedding.weight.grad[0]) == 0


def test_overfits_one_small_batch():
    torch.manual_seed(0)
    model = LSTMModel(tiny(dropouts=(0.0, 0.0), lstm_sizes=(32, 32), hidden_linear=None))
    x = torch.randint(1, 11, (4, 12))
    y = torch.roll(x, -1, dims=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model(x)[0].argmax(-1) == y).all()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"vocab_size": 1}, "vocab_size"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"lstm_sizes": ()}, "lstm_sizes"),
        (
            {"lstm_sizes": (8, 100_000), "dropouts": (0.0, 0.0)},
            "lstm_sizes must each be .*: layer 2 is 100000",
        ),
        ({"dropouts": (0.1,)}, "one value per LSTM layer"),
        ({"dropouts": (0.1, 1.5)}, "dropouts must each be .*: layer 2 is 1.5"),
        ({"hidden_linear": -3}, "hidden_linear"),
        ({"activation": "swish"}, "activation"),
        ({"pad_id": 11}, "pad_id"),
        ({"lstm_sizes": (8, 6.5)}, "lstm_sizes must each be .*: layer 2 is 6.5"),
    ],
    ids=[
        "vocab",
        "emb",
        "no-layers",
        "huge",
        "dropout-count",
        "dropout-range",
        "hidden",
        "act",
        "pad",
        "float",
    ],
)
def test_config_rejects_bad_values(kw, message):
    with pytest.raises(ModelConfigError, match=message):
        tiny(**kw)


def test_every_bad_value_is_reported_at_once_with_its_field():
    with pytest.raises(ModelConfigError) as caught:
        tiny(embedding_dim=0, lstm_sizes=(8, 0), hidden_linear=-3, activation="swish")
    assert [p.field for p in caught.value.problems] == [
        "embedding_dim",
        "lstm_sizes",
        "hidden_linear",
        "activation",
    ]
    assert caught.value.problems[0].text == "must be a whole number from 1 to 4,096, got 0"


def test_config_round_trip_and_unset_vocab():
    config = tiny()
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ModelConfigError, match="unknown"):
        ModelConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(ModelConfigError, match="vocab_size must be set"):
        LSTMModel(tiny(vocab_size=None))


# ---------------------------------------------------------------- the step generation runs


def test_lstm_cell_is_the_lstm_equations():
    """Gate order i, f, g, o: zero pre-activations open every sigmoid gate halfway, tanh(0) = 0."""
    z = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # (1, 4H), H = 2
    z[0, 4:6] = torch.tensor([1.0, -1.0])  # the candidate g's pre-activations
    i, f, g, o, c, h = lstm_cell(z, torch.tensor([[1.0, 2.0]]))
    assert i.tolist() == f.tolist() == o.tolist() == [[0.5, 0.5]]
    torch.testing.assert_close(g, torch.tanh(torch.tensor([[1.0, -1.0]])))
    torch.testing.assert_close(c, torch.tensor([[0.5 + 0.5 * math.tanh(1.0), 1.0 - 0.5 * math.tanh(1.0)]]))
    torch.testing.assert_close(h, 0.5 * torch.tanh(c))


@pytest.mark.parametrize(
    "config",
    [
        dict(lstm_sizes=(16,), dropouts=(0.0,), hidden_linear=None),
        dict(lstm_sizes=(8, 6), dropouts=(0.1, 0.2), hidden_linear=16, activation="tanh"),
        dict(lstm_sizes=(12, 12, 4), dropouts=(0.0, 0.0, 0.3), hidden_linear=None, embedding_dropout=0.2),
    ],
    ids=["one-layer", "two-layers-hidden-linear", "three-layers"],
)
def test_step_equals_forward_over_a_greedy_run(config):
    """Same logits and states as nn.LSTM's forward at float tolerance, and so the same greedy tokens,
    from a state the forward pass left (a primer's)."""
    torch.manual_seed(1)
    model = LSTMModel(tiny(**config)).eval()  # dropout configured but off in eval mode
    tokens = torch.tensor([2, 3, 7, 10])
    step_hidden = forward_hidden = model(torch.tensor([[2, 4], [2, 5], [2, 6], [2, 9]]))[1]
    step_tokens, forward_tokens = tokens, tokens
    with torch.inference_mode():
        for _ in range(30):
            stepped, step_hidden = model.step(step_tokens, step_hidden)
            full, forward_hidden = model(forward_tokens[:, None], forward_hidden)
            torch.testing.assert_close(stepped, full[:, 0], atol=1e-6, rtol=1e-5)
            for (sh, sc), (fh, fc) in zip(step_hidden, forward_hidden):
                assert sh.shape == fh.shape
                torch.testing.assert_close(sh, fh, atol=1e-6, rtol=1e-5)
                torch.testing.assert_close(sc, fc, atol=1e-6, rtol=1e-5)
            step_tokens, forward_tokens = stepped.argmax(-1), full[:, 0].argmax(-1)
            assert torch.equal(step_tokens, forward_tokens)


def test_step_in_training_mode_drops_out_as_forward_does():
    """Dropout on the embedding and after each layer, not on the carried state: with the same random
    numbers, the step and forward give the same logits; without a state, the step starts from zeros."""
    torch.manual_seed(0)
    model = LSTMModel(tiny(dropouts=(0.5, 0.5), embedding_dropout=0.5)).train()
    tokens, hidden = torch.tensor([2, 5, 7]), model.init_hidden(3)
    torch.manual_seed(3)
    stepped, step_state = model.step(tokens, None)
    torch.manual_seed(3)
    full, forward_state = model(tokens[:, None], hidden)
    torch.testing.assert_close(stepped, full[:, 0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(step_state[1][1], forward_state[1][1], atol=1e-6, rtol=1e-5)
    torch.manual_seed(4)
    assert not torch.allclose(model.step(tokens, None)[0], stepped)  # other draws: other logits


def test_the_input_table_follows_the_weights():
    """An eval step looks the first layer's W_i e + b_i up in `input_table`, built from the weights as
    they are: after an optimizer step or a load it is rebuilt, so the step still equals forward."""
    torch.manual_seed(2)
    model = LSTMModel(tiny(lstm_sizes=(8, 6), dropouts=(0.0, 0.0))).eval()
    lstm = model.lstms[0]
    table = model.input_table()
    assert table.shape == (model.config.vocab_size, 4 * 8) and not table.requires_grad
    assert model.input_table() is table  # the same weights: the same table
    torch.testing.assert_close(table[5], lstm.weight_ih_l0 @ model.embedding.weight[5] + lstm.bias_ih_l0)

    def step_equals_forward():
        tokens = torch.tensor([2, 5, 7])
        with torch.inference_mode():
            stepped = model.step(tokens, None)[0]
            full = model(tokens[:, None], model.init_hidden(3))[0][:, 0]
        torch.testing.assert_close(stepped, full, atol=1e-6, rtol=1e-5)

    step_equals_forward()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(torch.tensor([[2, 5, 7, 3]]))[0].sum().backward()
    optimizer.step()  # in place: the weights' versions move
    assert model.input_table() is not table
    step_equals_forward()
    other = LSTMModel(tiny(lstm_sizes=(8, 6), dropouts=(0.0, 0.0)))
    before = model.input_table()
    model.load_state_dict(other.state_dict())  # copied in place as well
    assert not torch.equal(model.input_table(), before)
    step_equals_forward()
