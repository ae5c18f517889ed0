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
        self._positions: dict[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.piece_ids)

    def longest_shared(self, tokens: Sequence[int]) -> SharedNgram:
        """Longest contiguous token run of `tokens` that also occurs in a training piece (specials never
        match); SharedNgram(0, None, 0, 0) if nothing is shared. Ties go to the earliest position."""
        if self._positions is None:
            # token -> sorted positions in the concatenation; built on first use
            order = np.argsort(self.tokens, kind="stable")
            values, starts = np.unique(self.tokens[order], return_index=True)
            bounds = list(starts[1:]) + [len(order)]
            self._positions = {int(v): order[a:b] for v, a, b in zip(values, starts, bounds) if v >= 0}
        best = SharedNgram(0, None, 0, 0)
        empty = np.zeros(0, dtype=np.int64)
        prev_pos, prev_run = empty, empty  # matches ending at the previous query token, and their lengths
        for i, t in enumerate(tokens):
            pos = self._positions.get(int(t), empty) if int(t) not in self.ignore else empty
            if len(pos) == 0:
                prev_pos, prev_run = empty, empty
                continue
            run = np.ones(len(pos), dtype=np.int64)
            if len(prev_pos):
                idx = np.minimum(np.searchsorted(prev_pos, pos - 1), len(prev_pos) - 1)
                extend = prev_pos[idx] == pos - 1
                run[extend] = prev_run[idx[extend]] + 1
            k = int(run.argmax())
            if run[k] > best.length:
                j, length = int(pos[k]), int(run[k])
                piece = int(np.searchsorted(self.offsets, j, side="right") - 1)
                best = SharedNgram(
                    length, self.piece_ids[piece], j - length + 1 - int(self.offsets[piece]), i - length + 1
                )
            prev_pos, prev_run = pos, run
        return best


def longest_shared_ngram(
    tokens: Sequence[int], pieces: Iterable[tuple[str, Sequence[int]]] | NgramIndex
) -> SharedNgram:
    """Longest token n-gram of `tokens` that occurs in one of the (piece id, tokens) training pieces."""
    index = pieces if isinstance(pieces, NgramIndex) else NgramIndex(pieces)
    return index.longest_shared(tokens)
