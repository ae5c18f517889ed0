"""The short-term model: what this melody did before, mixed into the network's next-token probabilities.

Chorale melodies repeat themselves: most repeat their opening phrases (the Stollen of a bar form), and
short figures come back. The LSTM learns how chorales go in general (IDyOM's long-term model); the
short-term model (Conklin & Witten 1995; Pearce 2005, whose best chorale figures combine the two) looks
only at the melody being read or written:

1. find the longest context, from `short_term_max_order` tokens down to `short_term_min_order`, that
   ends at the current token and also occurred earlier in this melody;
2. what followed that context there, as shares (`q`: twice E4 and once D4 -> 2/3 and 1/3);
3. mix: p = (1 - w) * p_network + w * q, with the weight
   w = min(cap, n / (n + beta * k)) * order / max_order
   (n: how often the context occurred with a continuation, k: how many different continuations; a
   longer context that always went on the same way is trusted more).

Without an earlier occurrence of even the shortest context, the network's probabilities stay as they
are. The cap keeps a melody being written from locking into a loop of its own making (at cap 1 and
beta 4, 20 of 40 top-p melodies of the `chorale` network looped; at 0.5 and 0.5, 1 of 40, the network
alone 0). The mix works on tokens, so it serves any tokenizer whose tokens are whole notes (events).
Every place that asks the model for probabilities (generation, bits per note, surprise, the next-token
explorer, perplexities) goes through `short_term_log_probs` or `ShortTermModel`, so all show one model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch

from bachlstm.model.config import ModelConfig


class ShortTermModel:
    """The short-term model of one melody, fed one token at a time (`add`); `recall` gives its guess."""

    def __init__(self, config: ModelConfig, tokens: Sequence[int] = ()) -> None:
        self.low, self.high = config.short_term_min_order, config.short_term_max_order
        self.beta, self.cap = config.short_term_beta, config.short_term_cap
        self.tokens: list[int] = []
        self.followers: dict[tuple[int, ...], Counter] = {}  # context -> the tokens that came after it
        for token in tokens:
            self.add(token)

    def add(self, token: int) -> None:
        """Read one more token: it followed each context (of low..high tokens) that ended just before it."""
        history = self.tokens
        for order in range(self.low, min(self.high, len(history)) + 1):
            self.followers.setdefault(tuple(history[-order:]), Counter())[token] += 1
        history.append(token)

    def recall(self) -> tuple[float, dict[int, float]]:
        """(weight w, {token: share}) from the longest context ending now that occurred before; (0, {})
        when none did."""
        history = self.tokens
        for order in range(min(self.high, len(history)), self.low - 1, -1):
            seen = self.followers.get(tuple(history[-order:]))
            if seen:
                n, k = sum(seen.values()), len(seen)
                weight = min(self.cap, n / (n + self.beta * k)) * order / self.high
                return weight, {token: count / n for token, count in seen.items()}
        return 0.0, {}


def has_short_term(config: ModelConfig | None) -> bool:
    """Whether a model of this config mixes in a short-term model (None, a bare network: no)."""
    return config is not None and config.short_term_max_order > 0


def mix(probs: torch.Tensor, memories: Sequence[ShortTermModel | None]) -> torch.Tensor:
    """(B, V) probabilities with each row's short-term guess mixed in (rows with None stay as they are)."""
    return _mixed(probs, [None if memory is None else memory.recall() for memory in memories])


def _mixed(probs: torch.Tensor, recalls: Sequence[tuple[float, dict[int, float]] | None]) -> torch.Tensor:
    """p = (1 - w) p + w q for each row's recall (w, q): in three tensor operations for all rows."""
    weights = [0.0 if recall is None else recall[0] for recall in recalls]
    if not any(weights):
        return probs.clone()
    rows, ids, values = [], [], []
    for row, recall in enumerate(recalls):
        if recall is not None and recall[0] > 0.0:
            weight, shares = recall
            rows += [row] * len(shares)
            ids += list(shares)
            values += [weight * share for share in shares.values()]
    out = probs * (1.0 - torch.tensor(weights, dtype=probs.dtype))[:, None]
    return out.index_put_(
        (torch.tensor(rows), torch.tensor(ids)), torch.tensor(values, dtype=probs.dtype), accumulate=True
    )


def short_term_log_probs(config: ModelConfig, tokens: Sequence[int], logits: torch.Tensor) -> torch.Tensor:
    """The model's (T, V) next-token scores over one melody read left to right: row t is the prediction
    after tokens[: t + 1] (the network's `logits` from a pass over tokens[:T]).

    Without a short-term model the logits come back unchanged (same numbers, bit for bit); with one, the
    log of the mixed probabilities (a softmax of them gives the mixed probabilities back).
    """
    if not has_short_term(config):
        return logits
    memory = ShortTermModel(config)
    recalls = []
    for t in range(len(logits)):
        memory.add(int(tokens[t]))
        recalls.append(memory.recall())
    return torch.log(_mixed(torch.softmax(logits.float(), dim=-1), recalls))
