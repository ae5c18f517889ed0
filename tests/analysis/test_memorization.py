"""Memorization: the longest shared n-gram, exact on tiny pieces and against a brute-force search."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.analysis.memorization import NgramIndex, longest_shared_ngram


def test_longest_shared_ngram():
    pieces = [("x", [2, 4, 5, 6, 7, 8, 3]), ("y", [2, 9, 5, 6, 7, 10, 3])]
    shared = longest_shared_ngram([5, 6, 7, 10, 4], pieces)
    assert (shared.length, shared.piece_id, shared.piece_start, shared.start) == (4, "y", 2, 0)
    # Specials (PAD, UNK, BOS, EOS) never match; ties go to the first piece.
    tie = NgramIndex(pieces).longest_shared([2, 5, 6, 3, 3])
    assert (tie.length, tie.piece_id, tie.piece_start, tie.start) == (2, "x", 2, 1)
    assert longest_shared_ngram([11, 12], pieces).length == 0
    assert longest_shared_ngram([11, 12], pieces).piece_id is None
    # Matches never run across the end of one piece into the next.
    assert longest_shared_ngram([8, 9], [("x", [7, 8]), ("y", [9, 1])]).length == 1


def _brute_longest(query, pieces):
    best = 0
    for _, toks in pieces:
        for i in range(len(query)):
            for j in range(len(toks)):
                k = 0
                while (
                    i + k < len(query)
                    and j + k < len(toks)
                    and query[i + k] == toks[j + k]
                    and query[i + k] > 3
                ):
                    k += 1
                best = max(best, k)
    return best


SEQ = st.lists(st.integers(0, 7), max_size=15)


@settings(max_examples=60, deadline=None)
@given(SEQ, st.lists(SEQ, min_size=1, max_size=3))
def test_longest_shared_ngram_matches_brute_force(query, seqs):
    pieces = [(f"p{i}", s) for i, s in enumerate(seqs)]
    shared = longest_shared_ngram(query, pieces)
    assert shared.length == _brute_longest(query, pieces)
    if shared.length:
        piece = dict(pieces)[shared.piece_id]
        assert (
            piece[shared.piece_start : shared.piece_start + shared.length]
            == query[shared.start : shared.start + shared.length]
        )


def _brute_first_longest(query, pieces):
    """(length, piece id, piece start, query start) of the longest shared run; ties to the earliest query
    start, then the earliest piece and position (the documented rule), by trying every pair of starts."""
    best = (0, None, 0, 0)
    for i in range(len(query)):
        for p, (pid, toks) in enumerate(pieces):
            for j in range(len(toks)):
                k = 0
                while i + k < len(query) and j + k < len(toks) and query[i + k] == toks[j + k] > 3:
                    k += 1
                if k > best[0] or (k == best[0] and k and (i, p, j) < (best[3], best[4], best[2])):
                    best = (k, pid, j, i, p)
    return best[:4]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 6), max_size=20),
    st.lists(st.lists(st.integers(0, 6), max_size=12), min_size=1, max_size=4),
)
def test_longest_shared_ngram_follows_the_tie_rule(query, seqs):
    """Length, piece, both positions equal a brute-force search with the documented tie rule (the index
    carries only runs of two or more along token pairs; runs of one come from a first-position table)."""
    pieces = [(f"p{i}", s) for i, s in enumerate(seqs)]
    shared = NgramIndex(pieces).longest_shared(query)
    assert (shared.length, shared.piece_id, shared.piece_start, shared.start) == _brute_first_longest(
        query, pieces
    )
