"""Tests for bachlstm.model.lstm: config validation, shapes, step == forward, overfitting one batch."""

import pytest
import torch

from bachlstm.model.lstm import FastStep, LSTMModel, ModelConfig, ModelConfigError

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


# ---------------------------------------------------------------- FastStep


def test_fast_step_input_table_gives_the_models_logits():
    torch.manual_seed(0)
    model = LSTMModel(ModelConfig(vocab_size=25, embedding_dim=8, lstm_sizes=(16,), dropouts=(0.0,)))
    model.eval()
    hidden = model.init_hidden(3)
    tokens = torch.tensor([2, 5, 7])  # BOS and two content tokens
    stepper = FastStep.make(model, hidden, tokens)
    with torch.inference_mode():
        fast, (state,) = stepper.step(tokens, hidden)
        slow, (slow_state,) = model.step(tokens, hidden)
    assert torch.allclose(fast, slow, atol=1e-6) and torch.allclose(state[0], slow_state[0], atol=1e-6)


@pytest.mark.parametrize(
    "config",
    [
        dict(lstm_sizes=(16,), dropouts=(0.0,), hidden_linear=None),
        dict(lstm_sizes=(8, 6), dropouts=(0.1, 0.2), hidden_linear=16, activation="tanh"),
        dict(lstm_sizes=(12, 12, 4), dropouts=(0.0, 0.0, 0.3), hidden_linear=None, embedding_dropout=0.2),
    ],
    ids=["one-layer", "two-layers-hidden-linear", "three-layers"],
)
def test_fast_step_equals_step_over_a_greedy_run(config):
    """Same logits and states as LSTMModel.step at float tolerance, and so the same greedy tokens."""
    torch.manual_seed(1)
    model = LSTMModel(tiny(**config)).eval()  # dropout configured but off in eval mode
    tokens = torch.tensor([2, 3, 7, 10])
    fast_hidden = slow_hidden = model(torch.tensor([[2, 4], [2, 5], [2, 6], [2, 9]]))[1]
    stepper = FastStep.make(model, fast_hidden, tokens)
    assert stepper is not None
    fast_tokens, slow_tokens = tokens, tokens
    with torch.inference_mode():
        for _ in range(30):
            fast, fast_hidden = stepper.step(fast_tokens, fast_hidden)
            slow, slow_hidden = model.step(slow_tokens, slow_hidden)
            assert torch.allclose(fast, slow, atol=1e-6, rtol=1e-5)
            for (fh, fc), (sh, sc) in zip(fast_hidden, slow_hidden):
                assert fh.shape == sh.shape and torch.allclose(fh, sh, atol=1e-6)
                assert torch.allclose(fc, sc, atol=1e-6)
            fast_tokens, slow_tokens = fast.argmax(-1), slow.argmax(-1)
            assert torch.equal(fast_tokens, slow_tokens)


def test_fast_step_only_for_an_eval_mode_lstm_model():
    torch.manual_seed(0)
    model = LSTMModel(tiny())
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 2])
    assert FastStep.make(model, hidden, tokens) is None  # training mode: dropout would differ
    model.eval()
    assert FastStep.make(model, hidden, tokens) is not None
    assert FastStep.make(torch.nn.Sequential(model), hidden, tokens) is None  # not an LSTMModel


def test_fast_step_is_kept_per_model_and_batch_until_the_weights_change():
    torch.manual_seed(0)
    model = LSTMModel(tiny()).eval()
    hidden, tokens = model.init_hidden(2), torch.tensor([2, 5])
    first = FastStep.make(model, hidden, tokens)
    assert FastStep.make(model, hidden, tokens) is first  # packed once, not per Generate
    assert FastStep.make(model, model.init_hidden(3), torch.tensor([2, 5, 6])) is not first  # other batch
    with torch.no_grad():
        model.out.bias.add_(1.0)  # the weights change in place (as a training step does)
    again = FastStep.make(model, hidden, tokens)
    assert again is not first
    with torch.inference_mode():
        fast, _ = again.step(tokens, hidden)
        slow, _ = model.step(tokens, hidden)
    assert torch.allclose(fast, slow, atol=1e-6)
