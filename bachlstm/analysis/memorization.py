"""Memorization: the longest token n-gram a generated line shares with a training piece, found fast."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SharedNgram:
    """The longest run of tokens shared with a training piece: its length, the piece, where in each."""

    length: int
    piece_id: str | None
    piece_start: int
    start: int


class NgramIndex:
    """Training pieces' token sequences concatenated once, for longest-shared-n-gram queries."""

    def __init__(
        self, pieces: Iterable[tuple[str, Sequence[int]]], ignore: Iterable[int] = (0, 1, 2, 3)
    ) -> None:
        ids: list[str] = []
        chunks, owners, offsets = [], [], []
        ignore = set(ignore)
        for piece_id, toks in pieces:
            arr = np.array([-1 if t in ignore else int(t) for t in toks] + [-1], dtype=np.int64)
            offsets.append(sum(len(c) for c in chunks))
            chunks.append(arr)
            owners.append(len(ids))
            ids.append(piece_id)
        self.piece_ids = ids
        self.tokens = np.concatenate(chunks) if chunks else np.array([-1], dtype=np.int64)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.ignore = ignore
        self._first: dict[int, int] = {}  # token -> its first position (a shared run of length 1)
        self._pairs: dict[int, np.ndarray] | None = None  # token pair code -> sorted positions

    def __len__(self) -> int:
        return len(self.piece_ids)

    def _pair_positions(self) -> dict[int, np.ndarray]:
        """Built on first use: for every adjacent token pair (a, b) of the concatenation (specials and
        piece ends excluded), the sorted positions of its b, under the code a * width + b."""
        if self._pairs is None:
            toks = self.tokens
            width = int(toks.max()) + 1 if len(toks) else 1
            ends = np.flatnonzero((toks[:-1] >= 0) & (toks[1:] >= 0)) + 1  # position of each pair's b
            codes = toks[ends - 1] * width + toks[ends]
            order = np.argsort(codes, kind="stable")  # stable: positions stay sorted within a code
            values, starts = np.unique(codes[order], return_index=True)
            bounds = [*starts[1:], len(order)]
            self._pairs = {int(v): ends[order[a:b]] for v, a, b in zip(values, starts, bounds)}
            self._width = width
            valid = np.flatnonzero(toks >= 0)
            firsts, at = np.unique(toks[valid], return_index=True)
            self._first = dict(zip(firsts.tolist(), valid[at].tolist()))
        return self._pairs

    def _shared(self, length: int, end: int, query_end: int) -> SharedNgram:
        """The run of `length` tokens ending at `end` (concatenation) and `query_end` (query)."""
        piece = int(np.searchsorted(self.offsets, end, side="right") - 1)
        start = end - length + 1 - int(self.offsets[piece])
        return SharedNgram(length, self.piece_ids[piece], start, query_end - length + 1)

    def longest_shared(self, tokens: Sequence[int]) -> SharedNgram:
        """Longest contiguous token run of `tokens` that also occurs in a training piece (specials never
        match); SharedNgram(0, None, 0, 0) if nothing is shared. Ties go to the earliest position in
        `tokens`, then the earliest in the training pieces.

        Dynamic programming over matches (the longest common substring): a run ending at query position
        i and training position p has length run(i-1, p-1) + 1. Only runs of 2 or more are carried, and
        those end where the pair (tokens[i-1], tokens[i]) occurs, so a step costs the pair's occurrences
        rather than the (far more numerous) occurrences of its single token.
        """
        pairs = self._pair_positions()
        toks = [-1 if int(t) in self.ignore else int(t) for t in tokens]
        best = SharedNgram(0, None, 0, 0)
        single = next(((i, self._first[t]) for i, t in enumerate(toks) if t in self._first), None)
        if single is not None:
            best = self._shared(1, single[1], single[0])
        empty = np.zeros(0, dtype=np.int64)
        prev_pos, prev_run = empty, empty  # runs of >= 2 ending at the previous query token, and lengths
        for i in range(1, len(toks)):
            a, b = toks[i - 1], toks[i]
            pos = (
                pairs.get(a * self._width + b, empty)
                if 0 <= a < self._width and 0 <= b < self._width
                else empty
            )
            if len(pos) == 0:
                prev_pos = prev_run = empty
                continue
            if len(prev_pos):
                idx = np.minimum(np.searchsorted(prev_pos, pos - 1), len(prev_pos) - 1)
                run = np.where(prev_pos[idx] == pos - 1, prev_run[idx] + 1, 2)
            else:
                run = np.full(len(pos), 2, dtype=np.int64)
            k = int(run.argmax())
            if run[k] > best.length:
                best = self._shared(int(run[k]), int(pos[k]), i)
            prev_pos, prev_run = pos, run
        return best


def longest_shared_ngram(
    tokens: Sequence[int], pieces: Iterable[tuple[str, Sequence[int]]] | NgramIndex
) -> SharedNgram:
    """Longest token n-gram of `tokens` that occurs in one of the (piece id, tokens) training pieces."""
    index = pieces if isinstance(pieces, NgramIndex) else NgramIndex(pieces)
    return index.longest_shared(tokens)
