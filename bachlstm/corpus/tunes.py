"""Melodic similarity of hymn tunes: the beat skeleton, aligned transposition-invariantly (Smith-Waterman).

Two harmonisations of one tune can differ in their passing notes, start in another key, or one can be a
later section of the other; an opening key (`selection.tune_key`) misses those. This module compares
whole melodies: the pitch sounding on each beat (the "beat skeleton", which passing notes between beats
do not change), written as intervals (so a transposition does not change it), locally aligned.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bachlstm.music.events import Event

# A local alignment must cover at least this many beat intervals to count: shorter common stretches are
# cadential formulas that unrelated tunes share (measured: 16-note cadences recur across tunes).
MIN_BEATS = 8

# Pieces whose similarity reaches this are one tune. Chosen from the data (413 score files of the
# music21 Bach corpus, soprano or first part, 85,078 pairs of pieces the opening key and titles put in
# different groups; see tests/corpus/test_tunes.py): 99th percentile 0.26, 99.9th 0.36, then a thin tail up
# to 0.49 (bwv324 / bwv79.3: shared phrase endings, different tunes). Pairs already grouped as one tune:
# median 0.85. The leaks the opening key missed score 0.61-0.91 (bwv149.7 ~ bwv174.5 0.87, ~ bwv245.40
# 0.61; bwv328 ~ bwv120.6 0.81; bwv185.6 ~ bwv177.5 0.78; bwv276 ~ bwv66.6 0.91; bwv11.6 ~ bwv43.11
# 0.80). 0.5 sits in the gap and errs towards merging: a false merge only makes a split group larger,
# a missed one leaks a tune into the test set. It also merges bwv353/bwv354 with bwv404 (0.66, 0.53),
# short tunes sharing a long phrase.
SIMILAR_TUNE = 0.5

# The pairs of the shipped corpus, so selecting melodies does not align 85,000 pairs (2-5 s) in every
# new process. Used only when its key (a hash of every sequence and the rule's settings) matches;
# otherwise the pairs are computed. tests/corpus/test_tunes.py checks it is current.
PAIRS_CACHE = Path(__file__).resolve().parent / "data" / "tune_pairs.json"

_BLOCK = 32  # sequences per block in the batched alignment: (32 x 32 pairs, length) arrays stay small


def beat_skeleton(events: Sequence[Event], beat_quarters: float = 1.0) -> tuple[int, ...]:
    """MIDI numbers of the notes sounding on each beat, in order; beats on which a rest sounds are skipped.

    Beats are the multiples of `beat_quarters` (quarter notes for 4/4) on the metrical grid: the first
    event's `beat` (1-based, music21's) places a pickup, so a melody starting on beat 4 has its first
    skeleton pitch at its second quarter note, if that lies on the grid. A note held over several beats
    appears once per beat. () for no events.
    """
    if not events:
        return ()
    start = events[0].beat - 1.0  # quarters into the bar (beats are quarters in 4/4)
    ends, t = [], start
    for e in events:
        t += e.quarter_length
        ends.append(t)
    out, i = [], 0
    k = math.ceil(start / beat_quarters - 1e-9)
    while k * beat_quarters < t - 1e-9:
        pos = k * beat_quarters
        while ends[i] <= pos + 1e-9:
            i += 1
        if not events[i].is_rest:
            out.append(events[i].midi)
        k += 1
    return tuple(out)


def skeleton_intervals(events: Sequence[Event]) -> tuple[int, ...]:
    """Semitone steps between consecutive beat-skeleton pitches, what `similarity` aligns; () if < 2 beats."""
    sk = beat_skeleton(events)
    return tuple(b - a for a, b in zip(sk, sk[1:]))


def alignment_score(a: Sequence[int], b: Sequence[int]) -> int:
    """Smith-Waterman local alignment score of two sequences: match +1, mismatch -1, gap -1.

    The best score of any pair of aligned stretches (Smith & Waterman 1981), 0 if nothing matches or
    either is empty. A plain dynamic programme: the reference `similarity_matrix` is tested against.
    """
    prev = [0] * (len(b) + 1)
    best = 0
    for x in a:
        row = [0]
        for j, y in enumerate(b, 1):
            h = max(0, prev[j - 1] + (1 if x == y else -1), prev[j] - 1, row[j - 1] - 1)
            row.append(h)
            best = max(best, h)
        prev = row
    return best


def similarity(a: Sequence[int], b: Sequence[int], min_beats: int = MIN_BEATS) -> float:
    """Alignment score of two interval sequences divided by the shorter one's length, in [0, 1].

    1.0 when the shorter is contained in the longer exactly; 0.0 when the shorter has fewer than
    `min_beats` intervals (too short to tell a tune from a cadential formula).
    """
    n = min(len(a), len(b))
    if n < min_beats:
        return 0.0
    return alignment_score(a, b) / n


def _pad(seqs: Sequence[Sequence[int]], fill: int) -> np.ndarray:
    width = max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), width), fill, dtype=np.int16)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def _block_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smith-Waterman scores of every row of a (n, La) against every row of b (m, Lb) -> (n, m).

    Row by row of a, all pairs at once. Within a row, H[j] = max(D[j], H[j-1] - 1) with D the diagonal
    and upward moves; its solution is H[j] = max_k<=j (D[k] + k) - j, a cumulative maximum, so no loop
    over j is needed. Padding (different fill values in a and b) only mismatches, which never raises a score.
    """
    n, m = len(a), len(b)
    bb = np.repeat(b[None], n, axis=0).reshape(n * m, -1)  # (n*m, Lb)
    ar = np.arange(bb.shape[1] + 1, dtype=np.int16)
    h = np.zeros((n * m, bb.shape[1] + 1), dtype=np.int16)
    best = np.zeros(n * m, dtype=np.int16)
    for col in range(a.shape[1]):
        x = np.repeat(a[:, col], m)[:, None]  # (n*m, 1)
        s = np.where(bb == x, 1, -1).astype(np.int16)
        d = np.zeros_like(h)
        d[:, 1:] = np.maximum(np.maximum(h[:, :-1] + s, h[:, 1:] - 1), 0)
        h = np.maximum.accumulate(d + ar, axis=1) - ar
        best = np.maximum(best, h.max(axis=1))
    return best.reshape(n, m)


@functools.lru_cache(maxsize=8)
def _matrix(seqs: tuple[tuple[int, ...], ...], min_beats: int) -> np.ndarray:
    lens = np.array([len(s) for s in seqs])
    order = np.argsort(lens, kind="stable")  # blocks of similar length waste little padding
    scores = np.zeros((len(seqs), len(seqs)))
    blocks = [order[i : i + _BLOCK] for i in range(0, len(order), _BLOCK)]
    for bi, rows in enumerate(blocks):
        a = _pad([seqs[i] for i in rows], fill=-999)
        for cols in blocks[bi:]:
            s = _block_scores(a, _pad([seqs[j] for j in cols], fill=999))
            scores[np.ix_(rows, cols)] = s
            scores[np.ix_(cols, rows)] = s.T
    shorter = np.minimum(lens[:, None], lens[None, :])
    sim = np.where(shorter >= min_beats, scores / np.maximum(shorter, 1), 0.0)
    sim.setflags(write=False)  # cached and shared: nobody may change it
    return sim


def similarity_matrix(seqs: Sequence[Sequence[int]], min_beats: int = MIN_BEATS) -> np.ndarray:
    """`similarity` of every pair of interval sequences, as an (n, n) float array (read-only, cached).

    Equal to calling `similarity` on each pair; batched with numpy (the 413 pieces of the corpus take a
    few seconds once per process, then come from a cache keyed by the sequences).
    """
    return _matrix(tuple(tuple(int(v) for v in s) for s in seqs), min_beats)


def similar_pairs(
    skeletons: Mapping[str, Sequence[int]], threshold: float = SIMILAR_TUNE, min_beats: int = MIN_BEATS
) -> list[tuple[str, str, float]]:
    """(id, id, similarity) for every pair of ids whose interval sequences reach `threshold`, sorted."""
    ids = sorted(skeletons)
    sim = similarity_matrix([skeletons[i] for i in ids], min_beats)
    rows, cols = np.nonzero(np.triu(sim >= threshold, k=1))
    return [(ids[r], ids[c], float(sim[r, c])) for r, c in zip(rows, cols)]


def _pairs_key(skeletons: Mapping[str, Sequence[int]], threshold: float, min_beats: int) -> str:
    text = json.dumps([sorted((k, list(map(int, v))) for k, v in skeletons.items()), threshold, min_beats])
    return hashlib.sha256(text.encode()).hexdigest()


def cached_similar_pairs(
    skeletons: Mapping[str, Sequence[int]], threshold: float = SIMILAR_TUNE, min_beats: int = MIN_BEATS
) -> list[tuple[str, str, float]]:
    """`similar_pairs`, read from PAIRS_CACHE when it was written for exactly these sequences and settings."""
    key = _pairs_key(skeletons, threshold, min_beats)
    try:
        data = json.loads(PAIRS_CACHE.read_text())
        if data.get("key") == key:
            return [(a, b, float(v)) for a, b, v in data["pairs"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass  # no cache or a broken one: compute
    return similar_pairs(skeletons, threshold, min_beats)


def write_pairs_cache(
    skeletons: Mapping[str, Sequence[int]], threshold: float = SIMILAR_TUNE, min_beats: int = MIN_BEATS
) -> None:
    """Compute the pairs and write PAIRS_CACHE atomically (temporary file + rename)."""
    pairs = similar_pairs(skeletons, threshold, min_beats)
    data = {
        "key": _pairs_key(skeletons, threshold, min_beats),
        "pairs": [[a, b, round(v, 6)] for a, b, v in pairs],
    }
    tmp = PAIRS_CACHE.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=0))
    os.replace(tmp, PAIRS_CACHE)
