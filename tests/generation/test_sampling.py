"""Samplers on hand-built logits: exact kept sets, validation, determinism, composition order."""

import math

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bachlstm.generation.sampling import (
    SamplingConfig,
    SamplingConfigError,
    apply_mask,
    banned_ngram_tokens,
    default_configs,
    greedy,
    min_p_filter,
    no_repeat_ngram_filter,
    process_logits,
    repetition_penalty,
    sample,
    sample_from_probs,
    top_k_filter,
    top_p_filter,
    typical_filter,
)
from bachlstm.reports.comparison import entropy_bits, explain

# Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 as logits.
PROBS = torch.tensor([[0.5, 0.25, 0.125, 0.0625, 0.0625]])
LOGITS = PROBS.log()


def kept(logits):
    return torch.isfinite(logits)[0].tolist()


def test_greedy_is_argmax():
    logits = torch.tensor([[0.1, 3.0, 2.0], [5.0, -1.0, 4.9]])
    assert greedy(logits).tolist() == [1, 0]


def test_greedy_ties_go_to_lowest_id():
    assert greedy(torch.tensor([[1.0, 2.0, 2.0]])).tolist() == [1]


@pytest.mark.parametrize("k,expected", [(1, 1), (2, 2), (3, 3), (5, 5), (50, 5)], ids=str)
def test_top_k_keeps_exactly_k(k, expected):
    out = top_k_filter(LOGITS, k)
    assert sum(kept(out)) == expected
    assert kept(out)[: min(k, 5)] == [True] * min(k, 5)


def test_top_k_with_ties_keeps_exactly_k_lowest_ids():
    out = top_k_filter(torch.zeros(1, 6), 3)
    assert kept(out) == [True, True, True, False, False, False]


def test_top_k_keeps_finite_values_unchanged():
    out = top_k_filter(LOGITS, 2)
    assert torch.equal(out[0, :2], LOGITS[0, :2])


@pytest.mark.parametrize(
    "p,expected",
    [
        (0.5, [True, False, False, False, False]),  # 0.5 alone reaches 0.5
        (0.51, [True, True, False, False, False]),
        (0.75, [True, True, False, False, False]),
        (0.8, [True, True, True, False, False]),
        (0.9, [True, True, True, True, False]),  # ties: lower id first
        (0.1, [True, False, False, False, False]),  # the top token always stays
        (1.0, [True] * 5),
    ],
    ids=str,
)
def test_top_p_keeps_the_minimal_set(p, expected):
    assert kept(top_p_filter(LOGITS, p)) == expected


def test_top_p_is_on_probabilities_not_log_probabilities():
    # The original summed log-probs (always negative) so nothing was ever cut; p=0.6 must cut here.
    out = top_p_filter(LOGITS, 0.6)
    assert sum(kept(out)) == 2


def test_min_p_threshold():
    # top prob 0.5: min_p 0.25 keeps probs >= 0.125, min_p 0.26 keeps >= 0.13.
    assert kept(min_p_filter(LOGITS, 0.25)) == [True, True, True, False, False]
    assert kept(min_p_filter(LOGITS, 0.26)) == [True, True, False, False, False]
    assert kept(min_p_filter(LOGITS, 0.0)) == [True] * 5
    assert kept(min_p_filter(LOGITS, 1.0)) == [True, False, False, False, False]


def test_typical_keeps_tokens_closest_to_entropy():
    # Entropy = 1.875 bits; surprisals 1, 2, 3, 4, 4 bits -> distances 0.875, 0.125, 1.125, 2.125, 2.125.
    # Order by distance: id1 (0.25), id0 (0.5) -> reaches 0.7 after two tokens.
    assert kept(typical_filter(LOGITS, 0.2)) == [False, True, False, False, False]
    assert kept(typical_filter(LOGITS, 0.7)) == [True, True, False, False, False]
    assert kept(typical_filter(LOGITS, 0.8)) == [True, True, True, False, False]
    assert kept(typical_filter(LOGITS, 1.0)) == [True] * 5


def test_temperature_changes_entropy_monotonically():
    cfgs = [SamplingConfig("temperature", temperature=t) for t in (0.25, 0.5, 1.0, 2.0, 8.0)]
    ents = [float(entropy_bits(torch.softmax(process_logits(LOGITS, c), -1))[0]) for c in cfgs]
    assert ents == sorted(ents)
    assert ents[2] == pytest.approx(1.875)
    assert ents[-1] < math.log2(5)
    # T -> 0 tends to greedy: almost all mass on the top token.
    cold = torch.softmax(process_logits(LOGITS, SamplingConfig("temperature", temperature=0.01)), -1)
    assert float(cold[0, 0]) > 0.999


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"method": "beam"}, "method"),
        ({"k": 0}, "k"),
        ({"k": 2.5}, "k"),
        ({"p": 0.0}, "p"),
        ({"p": 1.5}, "p"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"min_p": -0.1}, "min_p"),
        ({"typical_p": 0.0}, "typical_p"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"no_repeat_ngram": -1}, "no_repeat_ngram"),
    ],
    ids=lambda x: str(x),
)
def test_config_validation_names_the_bad_value(kwargs, name):
    with pytest.raises(SamplingConfigError, match=name):
        SamplingConfig(**kwargs)


def test_config_error_is_a_value_error_and_temperature_zero_is_not_changed():
    with pytest.raises(ValueError, match="greedy"):
        SamplingConfig("temperature", temperature=0)


def test_config_round_trip_and_labels():
    for cfg in default_configs():
        assert SamplingConfig.from_dict(cfg.to_dict()) == cfg
    assert [c.label for c in default_configs()] == [
        "greedy",
        "top-k (k=8)",
        "top-p (p=0.9)",
        "temperature (T=1)",
    ]
    with pytest.raises(SamplingConfigError, match="bogus"):
        SamplingConfig.from_dict({"bogus": 1})


def test_sampling_is_deterministic_under_a_seed_and_varies_across_seeds():
    logits = torch.randn(8, 20, generator=torch.Generator().manual_seed(0))
    cfg = SamplingConfig("temperature")

    def draw(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.stack([sample(logits, cfg, g) for _ in range(10)]).tolist()

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


def test_sample_from_probs_frequencies_and_never_zero():
    probs = torch.tensor([[0.0, 0.5, 0.0, 0.5, 0.0]]).repeat(4000, 1)
    u = torch.rand(4000, generator=torch.Generator().manual_seed(3))
    drawn = sample_from_probs(probs, u)
    assert set(drawn.tolist()) == {1, 3}
    assert abs(float((drawn == 1).float().mean()) - 0.5) < 0.03
    # Edge uniforms.
    edge = sample_from_probs(probs[:2], torch.tensor([0.0, 0.9999999]))
    assert edge.tolist() == [1, 3]


def test_samples_only_from_kept_set():
    g = torch.Generator().manual_seed(0)
    cfg = SamplingConfig("top-k", k=2)
    draws = {int(sample(LOGITS, cfg, g)) for _ in range(200)}
    assert draws == {0, 1}


def test_mask_is_respected_and_a_dead_row_is_an_error():
    mask = torch.tensor([[False, False, True, True, False]])
    g = torch.Generator().manual_seed(0)
    for cfg in default_configs():
        draws = {int(sample(LOGITS, cfg, g, mask=mask)) for _ in range(50)}
        assert draws <= {2, 3}
    with pytest.raises(ValueError, match="no token"):
        apply_mask(LOGITS, torch.zeros(1, 5, dtype=torch.bool))


def test_repetition_penalty_ctrl_rule():
    logits = torch.tensor([[2.0, -2.0, 1.0]])
    out = repetition_penalty(logits, [[0, 1]], 2.0)
    assert out.tolist() == [[1.0, -4.0, 1.0]]
    assert logits.tolist() == [[2.0, -2.0, 1.0]]  # input unchanged


def test_no_repeat_ngram():
    hist = [5, 6, 7, 5, 6]
    assert banned_ngram_tokens(hist, 3) == {7}
    assert banned_ngram_tokens(hist, 2) == {7}  # last token 6 was followed by 7
    assert banned_ngram_tokens(hist, 1) == {5, 6, 7}
    assert banned_ngram_tokens(hist, 0) == set()
    out = no_repeat_ngram_filter(torch.zeros(1, 9), [hist], 3)
    assert kept(out) == [True] * 7 + [False, True]


def test_penalty_never_removes_every_allowed_token():
    # Grammar allows only token 2; the ban would remove it: the grammar wins.
    mask = torch.tensor([[False, False, True]])
    cfg = SamplingConfig("greedy", no_repeat_ngram=1)
    out = process_logits(torch.zeros(1, 3), cfg, mask=mask, history=[[2]])
    assert greedy(out).tolist() == [2]


def test_explain_before_and_after():
    ex = explain(LOGITS[0], SamplingConfig("top-p", p=0.75))
    assert ex.n_kept == 2
    assert ex.kept_mass == pytest.approx(0.75)
    assert ex.after.tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0, 0])
    assert ex.before.tolist() == pytest.approx(PROBS[0].tolist())
    frame = ex.to_frame(vocab=list("abcde"), top=3)
    assert frame["token"].tolist() == ["a", "b", "c"]
    assert frame["kept"].tolist() == [True, True, False]


def test_explain_greedy_keeps_one_and_mask_shows_in_before():
    mask = torch.tensor([False, True, True, True, True])
    ex = explain(LOGITS[0], SamplingConfig("greedy"), mask=mask)
    assert ex.before[0] == 0
    assert ex.after.tolist() == [0, 1, 0, 0, 0]


def test_batch_sampler_mixed_rows_equal_single_configs():
    from bachlstm.generation.sampling import BatchSampler

    logits = torch.randn(6, 12, generator=torch.Generator().manual_seed(7))
    cfgs = [
        SamplingConfig("greedy"),
        SamplingConfig("top-k", k=3, temperature=0.7),
        SamplingConfig("top-p", p=0.6, temperature=1.3),
        SamplingConfig("temperature", temperature=2.0, min_p=0.2),
        SamplingConfig("top-p", p=0.9, typical_p=0.5),
        SamplingConfig("top-k", k=5, repetition_penalty=1.5, no_repeat_ngram=2),
    ]
    history = [[1, 2, 1], [3], [], [4, 4], [0], [5, 6, 5]]
    mixed = BatchSampler(cfgs).process(logits, history=history)
    for row, cfg in enumerate(cfgs):
        alone = process_logits(logits[row : row + 1], cfg, history=[history[row]])
        assert torch.equal(torch.isfinite(mixed[row]), torch.isfinite(alone[0])), cfg.label
        assert torch.allclose(mixed[row][torch.isfinite(mixed[row])], alone[0][torch.isfinite(alone[0])])


def test_composition_matches_the_individual_filters_in_the_documented_order():
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
    cfg = SamplingConfig("top-k", k=4, temperature=0.5, min_p=0.3)
    expected = min_p_filter(top_k_filter(logits / 0.5, 4), 0.3)
    assert torch.equal(torch.isfinite(process_logits(logits, cfg)), torch.isfinite(expected))
    cfg = SamplingConfig("top-p", p=0.8, temperature=2.0, typical_p=0.9)
    expected = typical_filter(top_p_filter(logits / 2.0, 0.8), 0.9)
    assert torch.equal(torch.isfinite(process_logits(logits, cfg)), torch.isfinite(expected))


LOGIT_ROWS = st.lists(st.floats(-8, 8, allow_nan=False, width=32), min_size=2, max_size=30)


@settings(max_examples=80, deadline=None)
@given(LOGIT_ROWS, st.floats(0.01, 1.0))
def test_top_p_property_minimal_nucleus(values, p):
    logits = torch.tensor([values])
    probs = torch.softmax(logits, -1)[0]
    kept = torch.isfinite(process_logits(logits, SamplingConfig("top-p", p=p)))[0]
    kept_probs = sorted(probs[kept].tolist(), reverse=True)
    assert sum(kept_probs) >= p - 1e-5 or kept.all()
    assert sum(kept_probs[:-1]) < p + 1e-5  # one fewer would not reach p
    # Every kept token is at least as likely as every cut one.
    if (~kept).any():
        assert probs[kept].min() >= probs[~kept].max() - 1e-7


@settings(max_examples=80, deadline=None)
@given(LOGIT_ROWS, st.integers(1, 40), st.floats(0.1, 5.0))
# Found by hypothesis: the tiny logit divided by 2 rounds to -0.0 and would tie the zeros.
@example([0.0] * 9 + [-1.4e-45, 0.0], 10, 2.0)
def test_top_k_property_exact_count_and_temperature_invariance(values, k, temperature):
    logits = torch.tensor([values])
    kept = torch.isfinite(process_logits(logits, SamplingConfig("top-k", k=k, temperature=temperature)))[0]
    assert int(kept.sum()) == min(k, len(values))
    plain = torch.isfinite(process_logits(logits, SamplingConfig("top-k", k=k)))[0]
    assert torch.equal(kept, plain)  # temperature never changes which tokens top-k keeps


def test_config_accepts_numpy_numbers_and_stores_python_ones():
    import json

    import numpy as np

    cfg = SamplingConfig("top-k", k=np.int64(5), p=np.float32(0.5), temperature=np.float64(0.7))
    assert type(cfg.k) is int and type(cfg.p) is float and cfg.k == 5
    json.dumps(cfg.to_dict())  # JSON-safe
    with pytest.raises(SamplingConfigError, match="p must"):
        SamplingConfig(p=True)
    with pytest.raises(SamplingConfigError, match="p must"):
        SamplingConfig(p=float("nan"))
    with pytest.raises(SamplingConfigError, match="k must"):
        SamplingConfig(k="3")


def test_a_read_only_numpy_mask_is_accepted_without_warning():
    import warnings

    import numpy as np

    mask = np.array([True, False, True, True, False])
    mask.flags.writeable = False  # as Grammar.allowed returns it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex = explain(LOGITS[0], SamplingConfig("greedy"), mask=mask)
    assert ex.after.tolist() == [1, 0, 0, 0, 0]


def test_batch_sampler_skips_only_what_no_row_needs():
    from bachlstm.generation.sampling import BatchSampler, top_k_filter, top_p_filter

    torch.manual_seed(0)
    logits = torch.randn(3, 40) * 3
    logits[0, :5] = float("-inf")
    plain = [SamplingConfig("temperature", temperature=t) for t in (1.0, 0.7, 1.3)]
    out = BatchSampler(plain).cut(logits)  # no sort at all
    assert torch.equal(out, logits / torch.tensor([[1.0], [0.7], [1.3]])) and out is not logits
    ranked = [SamplingConfig("top-k", k=k) for k in (1, 3, 40)]
    out = BatchSampler(ranked).cut(logits)  # sorted, but no cumulative mass
    for r, k in enumerate((1, 3, 40)):
        assert torch.equal(out[r], top_k_filter(logits[r : r + 1], k)[0])
    nucleus = [SamplingConfig("top-p", p=p) for p in (0.3, 0.9, 1.0)]
    out = BatchSampler(nucleus).cut(logits)
    for r, p in enumerate((0.3, 0.9, 1.0)):
        assert torch.equal(out[r], top_p_filter(logits[r : r + 1], p)[0])


def test_batch_sampler_applies_the_readable_filters_to_each_group_of_rows():
    """A mixed batch, one config's rows apart (rows 0 and 4): each row's processed logits are exactly
    (values too) the filters above composed by hand in the documented order."""
    from bachlstm.generation.sampling import BatchSampler, scale_by_temperature

    logits = torch.randn(6, 12, generator=torch.Generator().manual_seed(3)) * 2
    nucleus = SamplingConfig("top-p", p=0.6, temperature=1.3)
    cfgs = [
        nucleus,
        SamplingConfig("greedy", repetition_penalty=2.0),
        SamplingConfig("top-k", k=3, temperature=0.7, min_p=0.4),
        SamplingConfig("temperature", temperature=2.0, typical_p=0.5),
        nucleus,
        SamplingConfig("top-k", k=5, no_repeat_ngram=2),
    ]
    history = [[], [4, 4], [], [], [], [5, 6, 5]]
    out = BatchSampler(cfgs).process(logits, history=history)
    by_hand = [
        top_p_filter(scale_by_temperature(logits[0:1], 1.3), 0.6),
        None,  # greedy: below
        min_p_filter(scale_by_temperature(top_k_filter(logits[2:3], 3), 0.7), 0.4),
        typical_filter(scale_by_temperature(logits[3:4], 2.0), 0.5),
        top_p_filter(scale_by_temperature(logits[4:5], 1.3), 0.6),
        scale_by_temperature(top_k_filter(no_repeat_ngram_filter(logits[5:6], [[5, 6, 5]], 2), 5), 1.0),
    ]
    for row, want in enumerate(by_hand):
        if want is not None:
            assert torch.equal(out[row : row + 1], want), cfgs[row].label
    penalised = repetition_penalty(logits[1:2], [[4, 4]], 2.0)
    assert kept(out[1:2]) == [i == int(greedy(penalised)) for i in range(12)]
    assert out[1, int(greedy(penalised))] == penalised[0, int(greedy(penalised))]


def test_batch_sampler_gives_each_row_the_same_whether_its_groups_come_in_order_or_not():
    """generate() orders rows config by config (the groups' results are stacked); rows in any other
    order are written back row by row: every row's logits are the same either way."""
    from bachlstm.generation.sampling import BatchSampler

    logits = torch.randn(6, 12, generator=torch.Generator().manual_seed(5)) * 2
    cfgs = [SamplingConfig("greedy")] * 2 + [SamplingConfig("top-k", k=3)] * 2 + [SamplingConfig("top-p")] * 2
    in_order = BatchSampler(cfgs)
    order = [4, 0, 2, 5, 1, 3]
    mixed = BatchSampler([cfgs[i] for i in order])
    assert in_order.in_order and not mixed.in_order
    assert torch.equal(in_order.process(logits)[order], mixed.process(logits[order]))
    from bachlstm.generation.sampling import scale_by_temperature

    assert torch.equal(scale_by_temperature(logits, 1.0), logits)  # T = 1: the logits unchanged
