"""Sampling as pure functions on logits (B, V): greedy, top-k, top-p, temperature, min-p, typical, penalties.

Every function takes and returns tensors and knows no model. A token that is cut gets the logit
`-inf`, so a softmax gives it probability 0 exactly.

One documented composition order (`process_logits`), the same for every method:

1. repetition penalty (CTRL-style, on tokens already in the history)
2. no-repeat-n-gram ban (a token that would complete an n-gram already in the history)
3. grammar mask (tokens that cannot follow in a valid melody)
4. top-k (method "top-k"), on the logits as they are: a temperature keeps their order, and dividing
   first could round two different logits into a tie
5. temperature (logits / T)
6. top-p / nucleus (method "top-p")
7. typical sampling (if `typical_p < 1`)
8. min-p (if `min_p > 0`)
9. sample: argmax for "greedy", else one draw from the remaining distribution

Greedy keeps only its argmax (`greedy`): steps 4-8 would not change it (they keep the top token).
Temperature applies to every stochastic method ("temperature" is plain sampling at temperature T,
"top-k" samples at temperature T from the k it kept, "top-p" cuts the tempered distribution). As
T -> 0 sampling tends to greedy, but a temperature of 0 is rejected, never silently changed (the
original turned 0 into 1).
If a penalty or ban would remove every allowed token, it is undone for that row (the grammar wins):
a melody that cannot continue is worse than a repeated n-gram.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from bachlstm.settings.problems import (
    ABOVE_0_TO_1,
    FROM_0_TO_1,
    POSITIVE,
    POSITIVE_TEMPERATURE,
    WHOLE_NUMBER,
    Checks,
    Problem,
    SettingsError,
)

METHODS = ("greedy", "top-k", "top-p", "temperature")
NEG_INF = float("-inf")


class SamplingConfigError(SettingsError):
    """Sampling parameters out of range; the message names each and its value (`problems`: all of them)."""


@dataclass(frozen=True)
class SamplingConfig:
    """One sampling method and its knobs. Off-values: min_p 0, typical_p 1, penalty 1, no_repeat_ngram 0."""

    method: str = "top-p"
    k: int = 8  # top-k: keep the k most likely tokens
    p: float = 0.9  # top-p: keep the smallest set whose probability reaches p
    temperature: float = 1.0  # > 0; < 1 sharpens, > 1 flattens; -> 0 tends to greedy
    min_p: float = 0.0  # keep tokens with prob >= min_p * (top prob); 0 = off
    typical_p: float = 1.0  # typical sampling mass; 1 = off
    repetition_penalty: float = 1.0  # > 1 discourages tokens already generated; 1 = off
    no_repeat_ngram: int = 0  # forbid repeating any n-gram of this size; 0 = off

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SamplingConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        # numpy numbers (from sliders, arrays) are accepted and stored as plain Python numbers.
        k = _integer("k", self.k, "a whole number of at least 1")
        p = _real("p", self.p, "above 0 and at most 1")
        t = _real("temperature", self.temperature, "a finite number above 0")
        min_p = _real("min_p", self.min_p, "from 0 to 1")
        typical = _real("typical_p", self.typical_p, "above 0 and at most 1")
        rp = _real("repetition_penalty", self.repetition_penalty, "a finite number above 0")
        n = _integer("no_repeat_ngram", self.no_repeat_ngram, "a whole number of at least 0")
        check = Checks()  # every problem at once, so a form can name each bad knob
        for name, ok, wanted, value in (
            ("k", k >= 1, "a whole number of at least 1", k),
            ("p", 0.0 < p <= 1.0, "above 0 and at most 1", p),
            ("temperature", t > 0 and math.isfinite(t), "a finite number above 0 (for T -> 0 use greedy)", t),
            ("min_p", 0.0 <= min_p <= 1.0, "from 0 to 1", min_p),
            ("typical_p", 0.0 < typical <= 1.0, "above 0 and at most 1", typical),
            ("repetition_penalty", math.isfinite(rp) and rp > 0, "a finite number above 0", rp),
            ("no_repeat_ngram", n >= 0, "a whole number of at least 0", n),
        ):
            if not ok:
                check.extend([_problem(name, value, wanted)])
        check.raise_any(SamplingConfigError)
        for name, value in (("k", k), ("p", p), ("temperature", t), ("min_p", min_p), ("typical_p", typical),
                            ("repetition_penalty", rp), ("no_repeat_ngram", n)):  # fmt: skip
            object.__setattr__(self, name, value)

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. "top-p (p=0.9)"."""
        if self.method == "greedy":
            main = "greedy"
        elif self.method == "top-k":
            main = f"top-k (k={self.k}" + (f", T={self.temperature:g})" if self.temperature != 1 else ")")
        elif self.method == "top-p":
            main = f"top-p (p={self.p:g}" + (f", T={self.temperature:g})" if self.temperature != 1 else ")")
        else:
            main = f"temperature (T={self.temperature:g})"
        extras = []
        if self.method != "greedy":
            if self.typical_p < 1:
                extras.append(f"typical={self.typical_p:g}")
            if self.min_p > 0:
                extras.append(f"min-p={self.min_p:g}")
        if self.repetition_penalty != 1:
            extras.append(f"rep={self.repetition_penalty:g}")
        if self.no_repeat_ngram:
            extras.append(f"no-repeat-{self.no_repeat_ngram}")
        return main + (" + " + ", ".join(extras) if extras else "")

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SamplingConfig:
        """Inverse of to_dict; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SamplingConfigError(f"unknown sampling settings: {sorted(unknown)}")
        return cls(**d)


# Each "must be ..." of the knobs as a problem code and its bounds (a page words it).
_WANTED = {
    "a whole number of at least 1": (WHOLE_NUMBER, {"lo": 1, "hi": None}),
    "a whole number of at least 0": (WHOLE_NUMBER, {"lo": 0, "hi": None}),
    "above 0 and at most 1": (ABOVE_0_TO_1, {}),
    "from 0 to 1": (FROM_0_TO_1, {}),
    "a finite number above 0": (POSITIVE, {}),
    "a finite number above 0 (for T -> 0 use greedy)": (POSITIVE_TEMPERATURE, {}),
}


def _problem(name: str, value, wanted: str) -> Problem:
    """The Problem of a knob that is not `wanted` (one of _WANTED), with its code and values."""
    code, bounds = _WANTED[wanted]
    values = tuple({**bounds, "got": value}.items())
    return Problem(name, f"must be {wanted}, got {value!r}", code, values)


def _integer(name: str, value, wanted: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SamplingConfigError([_problem(name, value, wanted)])
    return int(value)


def _real(name: str, value, wanted: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SamplingConfigError([_problem(name, value, wanted)])
    return float(value)


def default_configs() -> list[SamplingConfig]:
    """The four methods the workshop compares, with the dashboard's default knobs."""
    return [
        SamplingConfig("greedy"),
        SamplingConfig("top-k", k=8),
        SamplingConfig("top-p", p=0.9),
        SamplingConfig("temperature", temperature=1.0),
    ]


# ----------------------------------------------------------------------------------------------------
# Individual transforms: logits (B, V) -> logits (B, V). None of them changes its input in place.


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most likely token per row (B,); ties go to the lowest id."""
    return logits.argmax(dim=-1)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the k highest logits per row (ties broken by lower id), others -> -inf.

    Fewer than k survive only where the row has fewer than k finite logits (e.g. after the grammar mask).
    """
    if k < 1:
        raise SamplingConfigError(f"k must be >= 1, got {k!r}")
    k = min(k, logits.shape[-1])
    # A stable sort makes ties deterministic (torch.topk's tie order is unspecified).
    values, ids = torch.sort(logits, dim=-1, descending=True, stable=True)
    # every logit -inf, then the k highest written back in their places
    return torch.full_like(logits, NEG_INF).scatter_(-1, ids[..., :k], values[..., :k])


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus: keep the smallest set of most likely tokens whose total probability reaches p.

    A token is kept when the probability of the tokens ranked above it is still below p, so the top
    token is always kept. p = 1 keeps every token with non-zero probability.
    """
    if not 0.0 < p <= 1.0:
        raise SamplingConfigError(f"p must satisfy 0 < p <= 1, got {p!r}")
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # probability ranked above each token
    # The tokens ranked after the nucleus. Never the top token: its mass before is exactly 0 (the
    # cumulative sum's first entry is its probability) and p > 0.
    cut_sorted = mass_before >= p
    cut = torch.empty_like(cut_sorted).scatter_(-1, order, cut_sorted)  # back in token order
    return logits.masked_fill(cut, NEG_INF)


def scale_by_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature: logits / T; T < 1 sharpens the distribution, T > 1 flattens it. At T = 1 the logits
    themselves (x / 1 is x exactly: no new tensor for the default, every step of every row)."""
    if not (temperature > 0 and math.isfinite(temperature)):
        raise SamplingConfigError(f"temperature must be a finite number above 0, got {temperature!r}")
    return logits if temperature == 1.0 else logits / temperature


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens whose probability is at least min_p times the top token's; 0 keeps everything."""
    if not 0.0 <= min_p <= 1.0:
        raise SamplingConfigError(f"min_p must satisfy 0 <= min_p <= 1, got {min_p!r}")
    if min_p == 0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(probs < threshold, NEG_INF)


def typical_filter(logits: torch.Tensor, typical_p: float) -> torch.Tensor:
    """Typical sampling (Meister et al. 2022): keep the tokens whose surprisal is closest to the entropy,
    the smallest such set whose probability reaches typical_p; 1 keeps everything."""
    if not 0.0 < typical_p <= 1.0:
        raise SamplingConfigError(f"typical_p must satisfy 0 < typical_p <= 1, got {typical_p!r}")
    if typical_p >= 1.0:
        return logits.clone()
    log_probs = torch.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    finite = torch.isfinite(log_probs)
    entropy = -(probs * log_probs.masked_fill(~finite, 0.0)).sum(-1, keepdim=True)
    distance = (-log_probs - entropy).abs().masked_fill(~finite, float("inf"))
    order = torch.sort(distance, dim=-1, stable=True).indices
    sorted_probs = probs.gather(-1, order)
    mass_before = sorted_probs.cumsum(-1) - sorted_probs
    keep_sorted = mass_before < typical_p
    keep_sorted[..., 0] = True
    keep = torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted)
    return logits.masked_fill(~keep, NEG_INF)


def repetition_penalty(
    logits: torch.Tensor, history: Sequence[Sequence[int]], penalty: float
) -> torch.Tensor:
    """CTRL penalty on tokens already in a row's history: positive logits / penalty, negative * penalty."""
    if penalty == 1.0 or not history:
        return logits.clone()
    out = logits.clone()
    for row, seen in enumerate(history):
        if not seen:
            continue
        ids = torch.tensor(sorted(set(seen)), dtype=torch.long)
        vals = out[row, ids]
        out[row, ids] = torch.where(vals > 0, vals / penalty, vals * penalty)
    return out


def banned_ngram_tokens(history: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already present in `history` (empty for n < 1)."""
    if n < 1 or len(history) < n - 1:
        return set()
    if n == 1:
        return set(history)
    prefix = tuple(history[len(history) - (n - 1) :])
    banned = set()
    for i in range(len(history) - n + 1):
        if tuple(history[i : i + n - 1]) == prefix:
            banned.add(history[i + n - 1])
    return banned


def no_repeat_ngram_filter(logits: torch.Tensor, history: Sequence[Sequence[int]], n: int) -> torch.Tensor:
    """Set -inf on every token that would repeat an n-gram of its row's history."""
    out = logits.clone()
    if n < 1:
        return out
    for row, seen in enumerate(history):
        banned = banned_ngram_tokens(seen, n)
        if banned:
            out[row, torch.tensor(sorted(banned), dtype=torch.long)] = NEG_INF
    return out


def bool_mask(mask) -> torch.Tensor:
    """A bool tensor from a tensor or array; a read-only numpy mask (Grammar.allowed) is copied."""
    if isinstance(mask, torch.Tensor):
        return mask.bool()
    return torch.from_numpy(np.array(mask, dtype=bool))


def apply_mask(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Grammar mask: tokens where mask (B, V) is False get -inf. A row with no allowed token is an error."""
    if mask is None:
        return logits
    mask = bool_mask(mask)
    if mask.shape != logits.shape:
        mask = mask.expand_as(logits)
    if not bool(mask.any(dim=-1).all()):
        raise ValueError("the grammar mask allows no token in some row")
    return logits.masked_fill(~mask, NEG_INF)


# ----------------------------------------------------------------------------------------------------
# Composition


def _keep_some(candidate: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Rows of `candidate` where every logit is -inf fall back to `fallback` (a penalty never kills a row)."""
    dead = ~torch.isfinite(candidate).any(dim=-1, keepdim=True)
    return torch.where(dead, fallback, candidate) if bool(dead.any()) else candidate


def preprocess(
    logits: torch.Tensor,
    config: SamplingConfig,
    *,
    mask: torch.Tensor | None = None,
    history: Sequence[Sequence[int]] | None = None,
) -> torch.Tensor:
    """Steps 1-3 of the order for one config on every row: penalties, n-gram ban, grammar mask."""
    masked = apply_mask(logits, mask)
    if history is None or (config.repetition_penalty == 1.0 and not config.no_repeat_ngram):
        return masked
    out = logits
    if config.repetition_penalty != 1.0:
        out = repetition_penalty(out, history, config.repetition_penalty)
    if config.no_repeat_ngram:
        out = no_repeat_ngram_filter(out, history, config.no_repeat_ngram)
    return _keep_some(apply_mask(out, mask), masked)


def cut(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Steps 4-8 of the order for one config on every row: greedy keeps the argmax alone; the others
    take the temperature and their method's cut, then typical and min-p where set."""
    if config.method == "greedy":
        best = greedy(logits)[..., None]  # (..., 1): the argmax, ties to the lowest id
        return torch.full_like(logits, NEG_INF).scatter_(-1, best, logits.gather(-1, best))
    if config.method == "top-k":
        logits = top_k_filter(logits, config.k)
    logits = scale_by_temperature(logits, config.temperature)
    if config.method == "top-p":
        logits = top_p_filter(logits, config.p)
    if config.typical_p < 1.0:
        logits = typical_filter(logits, config.typical_p)
    if config.min_p > 0.0:
        logits = min_p_filter(logits, config.min_p)
    return logits


def process_logits(
    logits: torch.Tensor,
    config: SamplingConfig,
    *,
    mask: torch.Tensor | None = None,
    history: Sequence[Sequence[int]] | None = None,
) -> torch.Tensor:
    """All of steps 1-8: the logits whose softmax is the distribution actually sampled from."""
    return cut(preprocess(logits, config, mask=mask, history=history), config)


class BatchSampler:
    """Per-row sampling configs for one batch (rows may mix methods): each group of rows that share a
    config goes through `preprocess` and `cut`, all its rows at once, so a config gives the same
    distribution alone or inside a mixed batch."""

    def __init__(self, configs: Sequence[SamplingConfig]) -> None:
        self.configs = list(configs)
        if not self.configs:
            raise ValueError("BatchSampler needs at least one config")
        rows: dict[SamplingConfig, list[int]] = {}
        for row, c in enumerate(self.configs):
            rows.setdefault(c, []).append(row)
        # (config, its row numbers, the same as an index: a slice where they are consecutive, as
        # generate() orders them, so a group's logits are a view)
        self.groups = [(c, r, _as_index(r)) for c, r in rows.items()]
        # every group a slice and the groups one after the other: their results stack into the batch
        self.in_order = [row for _, r, _ in self.groups for row in r] == list(range(len(self.configs)))
        self.in_order = self.in_order and all(isinstance(i, slice) for _, _, i in self.groups)
        self.uses_history = any(c.repetition_penalty != 1.0 or c.no_repeat_ngram for c in self.configs)

    def __len__(self) -> int:
        return len(self.configs)

    def preprocess(
        self,
        logits: torch.Tensor,
        mask: torch.Tensor | None = None,
        history: Sequence[Sequence[int]] | None = None,
    ) -> torch.Tensor:
        """Steps 1-3: repetition penalty and n-gram ban on the rows that use them, then the grammar mask."""
        self._check(logits)
        if history is None or not self.uses_history:
            return apply_mask(logits, mask)
        mask = None if mask is None else bool_mask(mask).expand_as(logits)
        return self._per_group(
            logits,
            lambda c, rows, index: preprocess(
                logits[index],
                c,
                mask=None if mask is None else mask[index],
                history=[history[r] for r in rows],
            ),
        )

    def cut(self, logits: torch.Tensor) -> torch.Tensor:
        """Steps 4-8: temperature, top-k / top-p (greedy = top-1), then typical and min-p where set."""
        self._check(logits)
        return self._per_group(logits, lambda c, rows, index: cut(logits[index], c))

    def _per_group(self, logits: torch.Tensor, step) -> torch.Tensor:
        """`step(config, rows, index)` for each group, the results written into one (B, V) tensor."""
        if len(self.groups) == 1:
            return step(*self.groups[0])
        if self.in_order:  # one new tensor from the groups' results (generate()'s batches)
            return torch.cat([step(*group) for group in self.groups])
        out = torch.empty_like(logits)
        for c, rows, index in self.groups:
            out[index] = step(c, rows, index)
        return out

    def process(
        self,
        logits: torch.Tensor,
        mask: torch.Tensor | None = None,
        history: Sequence[Sequence[int]] | None = None,
    ) -> torch.Tensor:
        """Steps 1-8: logits whose softmax is the distribution each row samples from."""
        return self.cut(self.preprocess(logits, mask, history))

    def choose(self, processed: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """Step 9: one token per row (B,); greedy rows have one token left, so the draw is the argmax."""
        return sample_from_probs(torch.softmax(processed, dim=-1), uniforms)

    def _check(self, logits: torch.Tensor) -> None:
        if logits.dim() != 2 or logits.shape[0] != len(self.configs):
            raise ValueError(f"logits must be (B={len(self.configs)}, V), got {tuple(logits.shape)}")


def _as_index(rows: list[int]) -> slice | torch.Tensor:
    """Row numbers as a slice where they are consecutive (indexing gives a view), else a tensor."""
    if rows == list(range(rows[0], rows[-1] + 1)):
        return slice(rows[0], rows[-1] + 1)
    return torch.tensor(rows)


def sample_from_probs(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw (B,) from probs (B, V) with given uniforms in [0, 1) (B,); never picks a zero.

    Taking the uniforms as input lets the generator draw one row's random numbers independently of
    which other rows share the batch (same seed, same sample, whatever else is compared).
    """
    cdf = probs.cumsum(dim=-1)
    u = uniforms if uniforms.dtype == cdf.dtype else uniforms.to(cdf.dtype)
    target = cdf[:, -1:] * u.view(-1, 1)  # (B, 1)
    idx = torch.searchsorted(cdf, target, right=True).view(-1)
    if int(idx.max()) >= probs.shape[-1]:
        # Rounding pushed the target past the end: take the last token with non-zero probability.
        last = probs.shape[-1] - 1 - (probs > 0).flip(-1).int().argmax(dim=-1)
        idx = torch.minimum(idx, last)
    return idx


def sample(
    logits: torch.Tensor,
    config: SamplingConfig,
    generator: torch.Generator,
    *,
    mask: torch.Tensor | None = None,
    history: Sequence[Sequence[int]] | None = None,
) -> torch.Tensor:
    """Choose one token per row (B,) by `config`, drawing randomness only from `generator`."""
    probs = torch.softmax(process_logits(logits, config, mask=mask, history=history), dim=-1)
    return sample_from_probs(probs, torch.rand(logits.shape[0], generator=generator))
