"""The short-term model (model/short_term.py): its recall, its mix, and that every place that asks the
model for probabilities (generation, bits per note, perplexities, next token, surprise) uses it alike."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from bachlstm.analysis.bits_per_note import note_bits
from bachlstm.analysis.metrics import self_perplexities
from bachlstm.generation.generator import generate
from bachlstm.generation.sampling import SamplingConfig
from bachlstm.model.config import ModelConfig, ModelConfigError
from bachlstm.model.lstm import LSTMModel
from bachlstm.model.short_term import ShortTermModel, has_short_term, mix, short_term_log_probs
from bachlstm.music.events import Melody
from bachlstm.reports.comparison import next_token
from bachlstm.reports.inspection import inspect_melody
from bachlstm.settings.problems import SHORT_TERM_TOKENS, problems_of
from bachlstm.tokens.tokenizers import EOS, build_tokenizer
from bachlstm.training.presets import PresetError, get_preset
from tests.builders import MELODIES, as_checkpoint, note

pytestmark = pytest.mark.usefixtures("one_thread")

ON = ModelConfig(vocab_size=10, short_term_max_order=8)  # min order 2, beta 0.5, cap 0.5


def test_recall_takes_the_longest_context_seen_before():
    memory = ShortTermModel(ON, [5, 6, 7, 5, 6])
    # (7, 5, 6) never came before; (5, 6) did once, followed by 7: weight min(0.5, 1/1.5) * 2/8.
    assert memory.recall() == (0.125, {7: 1.0})
    for token in (7, 5, 6):
        memory.add(token)
    # Now (5, 6, 7, 5, 6), five tokens, came before (followed by 7); nothing longer did.
    assert memory.recall() == (0.5 * 5 / 8, {7: 1.0})


def test_shares_and_weight_follow_the_counts():
    memory = ShortTermModel(
        dataclasses.replace(ON, short_term_max_order=2), [1, 2, 3, 1, 2, 4, 1, 2, 3, 1, 2]
    )
    # (1, 2) was followed by 3, 4, 3: n = 3, k = 2, weight min(0.5, 3 / (3 + 0.5 * 2)) * 2/2 = 0.5.
    weight, shares = memory.recall()
    assert weight == 0.5
    assert shares == pytest.approx({3: 2 / 3, 4: 1 / 3})
    cautious = ShortTermModel(
        dataclasses.replace(ON, short_term_max_order=2, short_term_beta=4.0), memory.tokens
    )
    assert cautious.recall()[0] == pytest.approx(3 / (3 + 4 * 2))


def test_nothing_seen_before_leaves_the_network_alone():
    assert ShortTermModel(ON, [1, 2, 3, 4]).recall() == (0.0, {})
    assert ShortTermModel(ON).recall() == (0.0, {})
    probs = torch.softmax(torch.randn(2, 10), dim=-1)
    assert torch.equal(mix(probs, [ShortTermModel(ON, [1, 2, 3]), None]), probs)


def test_mix_moves_the_weight_to_the_recalled_tokens():
    probs = torch.full((2, 10), 0.1)
    memory = ShortTermModel(ON, [5, 6, 7, 5, 6])  # weight 0.125 on token 7
    out = mix(probs, [memory, None])
    assert out[0, 7] == pytest.approx(0.875 * 0.1 + 0.125)
    assert out[0, 3] == pytest.approx(0.875 * 0.1)
    assert out[0].sum() == pytest.approx(1.0)
    assert torch.equal(out[1], probs[1])  # a row without a short-term model
    assert torch.equal(probs, torch.full((2, 10), 0.1))  # the input is not changed


def test_log_probs_over_a_melody_are_the_step_by_step_mix():
    tokens = [1, 5, 6, 7, 5, 6, 7, 5]
    logits = torch.randn(len(tokens) - 1, 10)
    off = ModelConfig(vocab_size=10)
    assert short_term_log_probs(off, tokens, logits) is logits  # no short-term model: the same numbers
    scores = short_term_log_probs(ON, tokens, logits)
    probs = torch.softmax(logits, dim=-1)
    for t in range(len(logits)):
        expected = mix(probs[t : t + 1], [ShortTermModel(ON, tokens[: t + 1])])[0]
        assert torch.allclose(scores[t].exp(), expected, atol=1e-6)
    assert not torch.allclose(scores.exp(), probs)  # the repeats were recalled


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(short_term_max_order=1), "short_term_max_order"),  # below the min order 2
        (dict(short_term_max_order=-1), "short_term_max_order"),
        (dict(short_term_min_order=0), "short_term_min_order"),
        (dict(short_term_beta=0.0), "short_term_beta"),
        (dict(short_term_beta=float("nan")), "short_term_beta"),
        (dict(short_term_cap=0.0), "short_term_cap"),
        (dict(short_term_cap=1.5), "short_term_cap"),
    ],
)
def test_absurd_settings_are_named(changes, field):
    with pytest.raises(ModelConfigError) as info:
        ModelConfig(**{"short_term_max_order": 8, **changes})
    assert [p.field for p in info.value.problems] == [field]


def test_factored_tokens_cannot_have_one():
    with pytest.raises(PresetError) as info:
        get_preset("workshop", short_term_max_order=4)
    assert [(p.field, p.code) for p in problems_of(info.value)] == [
        ("short_term_max_order", SHORT_TERM_TOKENS)
    ]
    assert has_short_term(get_preset("chorale").model)
    assert not has_short_term(get_preset("bach").model) and not has_short_term(None)


# A melody that repeats its first bar three times: what the short-term model is for.
REPEATED = Melody(
    "rep",
    "soprano",
    tuple(
        note(name, 4, 1.0, bar, beat)
        for bar in (1, 2, 3)
        for beat, name in zip((1.0, 2.0, 3.0, 4.0), ("C", "E", "D", "F"))
    ),
)


def tiny_with_short_term():
    """An untrained event model whose vocabulary has REPEATED's notes, with a short-term model."""
    tok = build_tokenizer("event", [*MELODIES, REPEATED])
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(tok.vocab), embedding_dim=8, lstm_sizes=(16,), short_term_max_order=8)
    return LSTMModel(config).eval(), tok


def test_bits_per_note_use_it_and_fall_on_a_repeated_melody():
    model, tok = tiny_with_short_term()
    both = note_bits(model, tok, [REPEATED])
    network = note_bits(model, tok, [REPEATED], with_short_term=False)
    # The untrained network is near uniform; the repeats of bar 1 are recalled.
    assert both.pitch_bits_given_duration < network.pitch_bits_given_duration - 0.5
    assert both.pitch_bits_per_note < network.pitch_bits_per_note - 0.5
    ids = tok.encode(REPEATED.events)
    with torch.no_grad():
        logits = model(torch.tensor([ids[:-1]]))[0][0]
    scores = torch.log_softmax(short_term_log_probs(model.config, ids, logits), dim=-1)
    bits = -scores.gather(1, torch.tensor(ids[1:])[:, None]).sum() / math.log(2)
    assert both.bits_per_event == pytest.approx(float(bits) / len(REPEATED.events), rel=1e-5)


def test_perplexity_next_token_and_surprise_use_it():
    model, tok = tiny_with_short_term()
    ids = tok.encode(REPEATED.events)
    with torch.no_grad():
        logits = model(torch.tensor([ids[:-1]]))[0][0]
    scores = torch.log_softmax(short_term_log_probs(model.config, ids, logits), dim=-1)
    picked = scores.gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    assert self_perplexities(model, [ids], [1])[0] == pytest.approx(math.exp(-float(picked.mean())), rel=1e-5)
    cut = next_token(as_checkpoint(model, tok), ids[:-1], [SamplingConfig("top-k", k=3)], constrained=False)
    assert torch.allclose(cut.cuts[0].before, scores[-1].exp(), atol=1e-6)
    inspection = inspect_melody(as_checkpoint(model, tok), REPEATED)
    assert inspection.surprise.tokens["bits"].to_numpy() == pytest.approx(
        (-picked / math.log(2)).numpy(), rel=1e-5
    )


def test_generation_samples_from_the_mixed_probabilities():
    model, tok = tiny_with_short_term()
    plain = LSTMModel(dataclasses.replace(model.config, short_term_max_order=0))
    plain.load_state_dict(model.state_dict())
    configs = [SamplingConfig("greedy"), SamplingConfig("top-p", p=0.9), SamplingConfig("temperature")]
    with_memory = generate(
        as_checkpoint(model, tok), configs, length=60, seed=3, min_length=30, constrained=False
    )
    network = generate(
        as_checkpoint(plain.eval(), tok), configs, length=60, seed=3, min_length=30, constrained=False
    )
    assert [g.tokens for g in with_memory] != [g.tokens for g in network]
    # Greedy's line is the argmax of the mixed probabilities at every step.
    line = with_memory[0].full_tokens
    with torch.no_grad():
        logits = model(torch.tensor([line[:-1]]))[0][0]
    scores = short_term_log_probs(model.config, line, logits)
    scores[:, EOS] = -math.inf  # held back by the minimum length
    assert scores.argmax(-1).tolist() == line[1:]
    # The same seed gives the same melodies.
    again = generate(as_checkpoint(model, tok), configs, length=60, seed=3, min_length=30, constrained=False)
    assert [g.tokens for g in again] == [g.tokens for g in with_memory]
