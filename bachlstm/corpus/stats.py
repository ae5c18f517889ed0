"""Corpus statistics as pandas DataFrames for the dashboard: meters, lengths, keys, ranges, tokens."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bachlstm.corpus.tunes import similarity_matrix, skeleton_intervals
from bachlstm.music.events import Corpus, Melody
from bachlstm.music.names import duration_name
from bachlstm.music.pitches import PITCH_CLASS_NAMES, key_name, midi_name
from bachlstm.tokens.tokenizers import build_tokenizer

# Patel & Bhattacharyya (2017), table 3: dimension -> most pairwise-equidistant points it can hold
# (as the original notebook used it). Reverse lookup gives the smallest dimension for E points.
EQUIDISTANT_TABLE = ((3, 6), (4, 6), (5, 10), (6, 16), (7, 28), (13, 28), (14, 30))
ORIGINAL_EMBEDDING_DIM = 3
DEFAULT_COVERAGE_TOP = (1, 2, 5, 10, 20, 50, 100, 200)


def _ts_label(signatures: Sequence[str]) -> str:
    return " + ".join(signatures) if signatures else "none"


# ---- pieces ----------------------------------------------------------------------------------------


def piece_table(corpus: Corpus) -> pd.DataFrame:
    """One row per piece: id, title, parts, time signatures, key, measures, pickup, length, flags."""
    rows = [
        {
            "piece_id": p.id,
            "title": p.title,
            "n_parts": p.n_parts,
            "parts": ", ".join(p.part_names),
            "time_signatures": _ts_label(p.time_signatures),
            "key_sharps": p.key_sharps,
            "mode": p.mode,
            "key": key_name(p.key_sharps, p.mode),
            "key_estimate": p.key_estimate,
            "n_measures": p.n_measures,
            "pickup_quarters": p.pickup_quarters,
            "length_quarters": p.length_quarters,
            "flags": ", ".join(p.flags),
        }
        for p in corpus.pieces
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["piece_id"])


def time_signature_counts(corpus: Corpus) -> pd.DataFrame:
    """Pieces per combination of time signatures found in their measures ("4/4 + 3/4" = both occur).

    Columns: time_signatures, n_pieces, n_four_parts (pieces with exactly four parts); most common first.
    """
    counts: Counter[str] = Counter()
    four: Counter[str] = Counter()
    for p in corpus.pieces:
        label = _ts_label(p.time_signatures)
        counts[label] += 1
        four[label] += p.n_parts == 4
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return pd.DataFrame(
        {
            "time_signatures": [k for k, _ in rows],
            "n_pieces": [v for _, v in rows],
            "n_four_parts": [four[k] for k, _ in rows],
        }
    )


def flag_counts(corpus: Corpus) -> pd.DataFrame:
    """How many pieces and parts carry each data-quality flag (chord, grace, tuplet, ...), sorted by name."""
    pieces: Counter[str] = Counter(f for p in corpus.pieces for f in p.flags)
    parts: Counter[str] = Counter(f for p in corpus.pieces for q in p.parts for f in q.flags)
    names = sorted(set(pieces) | set(parts))
    return pd.DataFrame(
        {"flag": names, "n_pieces": [pieces[n] for n in names], "n_parts": [parts[n] for n in names]}
    )


def key_counts(corpus: Corpus) -> pd.DataFrame:
    """Pieces per key signature and mode: key, key_sharps, mode, n_pieces; sorted by sharps then mode."""
    counts = Counter((p.key_sharps, p.mode) for p in corpus.pieces)
    rows = sorted(counts.items())
    return pd.DataFrame(
        {
            "key": [key_name(s, m) for (s, m), _ in rows],
            "key_sharps": [s for (s, _), _ in rows],
            "mode": [m for (_, m), _ in rows],
            "n_pieces": [n for _, n in rows],
        }
    )


# ---- melodies --------------------------------------------------------------------------------------


def melody_table(melodies: Iterable[Melody]) -> pd.DataFrame:
    """One row per melody: lengths (events, notes, rests, measures, quarters) and ambitus (MIDI).

    `n_measures` counts distinct measure numbers (a pickup bar counts); lowest/highest/span are
    NaN for a melody without notes.
    """
    rows = []
    for m in melodies:
        midis = [e.midi for e in m.events if e.kind == "note"]
        rows.append(
            {
                "piece_id": m.piece_id,
                "voice": m.voice,
                "tune": m.tune,
                "n_events": len(m.events),
                "n_notes": len(midis),
                "n_rests": len(m.events) - len(midis),
                "n_measures": len({e.measure for e in m.events}),
                "n_quarters": float(sum(e.quarter_length for e in m.events)),
                "lowest": min(midis) if midis else np.nan,
                "highest": max(midis) if midis else np.nan,
                "span": max(midis) - min(midis) if midis else np.nan,
            }
        )
    columns = ["piece_id", "voice", "tune", "n_events", "n_notes", "n_rests", "n_measures", "n_quarters",
               "lowest", "highest", "span"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def length_summary(melodies: Iterable[Melody]) -> pd.DataFrame:
    """Length distribution per voice: for events, measures and quarters the count, min, median, mean, max."""
    table = melody_table(melodies)
    rows = []
    for voice, group in table.groupby("voice", sort=True):
        for measure, column in (
            ("events", "n_events"),
            ("measures", "n_measures"),
            ("quarters", "n_quarters"),
        ):
            values = group[column]
            rows.append(
                {
                    "voice": voice,
                    "measure": measure,
                    "count": int(values.count()),
                    "min": float(values.min()),
                    "median": float(values.median()),
                    "mean": float(values.mean()),
                    "max": float(values.max()),
                }
            )
    return pd.DataFrame(rows, columns=["voice", "measure", "count", "min", "median", "mean", "max"])


def ambitus(melodies: Iterable[Melody]) -> pd.DataFrame:
    """Range per voice: lowest and highest note over all its melodies, and the median/max single span."""
    table = melody_table(melodies).dropna(subset=["lowest"])
    rows = []
    for voice, group in table.groupby("voice", sort=True):
        lo, hi = int(group["lowest"].min()), int(group["highest"].max())
        rows.append(
            {
                "voice": voice,
                "n_melodies": len(group),
                "lowest": lo,
                "highest": hi,
                "lowest_name": midi_name(lo),
                "highest_name": midi_name(hi),
                "median_span": float(group["span"].median()),
                "max_span": int(group["span"].max()),
            }
        )
    columns = [
        "voice",
        "n_melodies",
        "lowest",
        "highest",
        "lowest_name",
        "highest_name",
        "median_span",
        "max_span",
    ]
    return pd.DataFrame(rows, columns=columns)


def pitch_class_histogram(melodies: Iterable[Melody], *, by_duration: bool = False) -> pd.DataFrame:
    """Twelve rows (C..B): note count (or summed quarter lengths with by_duration) and share of the total."""
    totals = np.zeros(12)
    for m in melodies:
        for e in m.events:
            if e.kind == "note":
                totals[e.midi % 12] += e.quarter_length if by_duration else 1
    total = totals.sum()
    return pd.DataFrame(
        {
            "pitch_class": range(12),
            "name": PITCH_CLASS_NAMES,
            "count": totals if by_duration else totals.astype(int),
            "share": totals / total if total else np.zeros(12),
        }
    )


def duration_histogram(melodies: Iterable[Melody]) -> pd.DataFrame:
    """Events per quarter length: quarter_length, duration ("dotted quarter"), notes, rests, count, share."""
    notes: Counter[float] = Counter()
    rests: Counter[float] = Counter()
    labels: dict[float, str] = {}
    for m in melodies:
        for e in m.events:
            ql = round(float(e.quarter_length), 6)
            (notes if e.kind == "note" else rests)[ql] += 1
            labels.setdefault(ql, duration_name(ql, "en"))
    qls = sorted(labels)
    count = [notes[q] + rests[q] for q in qls]
    total = sum(count)
    return pd.DataFrame(
        {
            "quarter_length": qls,
            "duration": [labels[q] for q in qls],
            "notes": [notes[q] for q in qls],
            "rests": [rests[q] for q in qls],
            "count": count,
            "share": [c / total for c in count] if total else [],
        }
    )


# ---- tokens ----------------------------------------------------------------------------------------


def _tokenizer(tokenizer, melodies: Sequence[Melody]):
    """A Tokenizer instance, or one built on `melodies` from a name."""
    if isinstance(tokenizer, str):
        return build_tokenizer(tokenizer, melodies)
    return tokenizer


def token_frequencies(melodies: Iterable[Melody], tokenizer="event") -> pd.DataFrame:
    """Token counts by rank (for a Zipf plot): rank, token, type, count, share, cumulative_share.

    `tokenizer` is a tokenizer or a name ("factored", "event") built on these melodies. BOS/EOS are not
    counted (they say nothing about the music); ties in count are ordered by token string.
    """
    melodies = list(melodies)
    tok = _tokenizer(tokenizer, melodies)
    counts: Counter[int] = Counter()
    for m in melodies:
        counts.update(tok.encode(m.events, bos_eos=False))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], tok.vocab[kv[0]]))
    total = sum(counts.values())
    count = np.array([c for _, c in rows], dtype=int)
    share = count / total if total else count.astype(float)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "token": [tok.vocab[i] for i, _ in rows],
            "type": [tok.token_type(i) for i, _ in rows],
            "count": count,
            "share": share,
            "cumulative_share": np.cumsum(share),
        }
    )


def vocabulary_coverage(
    melodies: Iterable[Melody],
    tokenizers: Sequence = ("factored", "event"),
    top: Sequence[int] = DEFAULT_COVERAGE_TOP,
) -> pd.DataFrame:
    """Share of all tokens covered by the N most frequent types: tokenizer, vocab_size, top_n, coverage."""
    melodies = list(melodies)
    rows = []
    for t in tokenizers:
        tok = _tokenizer(t, melodies)
        freq = token_frequencies(melodies, tok)
        cum = freq["cumulative_share"].to_numpy()
        for n in top:
            coverage = float(cum[min(n, len(cum)) - 1]) if len(cum) and n > 0 else 0.0
            rows.append(
                {"tokenizer": tok.name, "vocab_size": len(tok.vocab), "top_n": n, "coverage": coverage}
            )
    return pd.DataFrame(rows, columns=["tokenizer", "vocab_size", "top_n", "coverage"])


# ---- training windows ------------------------------------------------------------------------------


def n_windows(n_tokens: int, seq_len: int, stride: int = 1) -> int:
    """Windows `training.dataset.make_windows` cuts from one sequence of n_tokens (0 below 2 tokens)."""
    if seq_len < 1 or not 1 <= stride <= seq_len:
        # the same rule as make_windows: a larger stride would skip targets
        raise ValueError(f"need seq_len >= 1 and 1 <= stride <= seq_len, got {seq_len}, {stride}")
    pairs = n_tokens - 1
    if pairs <= 0:
        return 0
    return 1 if pairs <= seq_len else math.ceil((pairs - seq_len) / stride) + 1


def window_targets(n_tokens: int, seq_len: int, stride: int = 1) -> int:
    """Real (non-padding) target slots over all windows of one sequence, overlaps counted each time."""
    # window i covers pairs [i*stride, i*stride + seq_len) of the n-1 pairs
    k = n_windows(n_tokens, seq_len, stride)
    return sum(max(0, min(seq_len, n_tokens - 1 - i * stride)) for i in range(k))


def window_counts(
    melodies: Iterable[Melody],
    tokenizer="event",
    seq_lens: Sequence[int] = (16, 32, 64, 128, 250),
    *,
    stride: int = 1,
    length_limits: Sequence[tuple[int | None, int | None]] = ((None, None), (30, 65)),
    bos_eos: bool = True,
) -> pd.DataFrame:
    """Training windows per sequence length and melody-length limits (in events), as make_windows cuts them.

    Columns: seq_len, stride, min_events, max_events, n_melodies, n_tokens, n_windows, n_targets (real,
    non-padding targets; each window repeats overlapping ones), padding_share (share of target slots
    that are padding).
    """
    melodies = list(melodies)
    tok = _tokenizer(tokenizer, melodies)
    lengths = [(len(m.events), len(tok.encode(m.events, bos_eos=bos_eos))) for m in melodies]
    rows = []
    for lo, hi in length_limits:
        kept = [n for events, n in lengths if (lo is None or events >= lo) and (hi is None or events <= hi)]
        for seq_len in seq_lens:
            windows = targets = 0
            for n in kept:
                windows += n_windows(n, seq_len, stride)
                targets += window_targets(n, seq_len, stride)
            slots = windows * seq_len
            rows.append(
                {
                    "seq_len": seq_len,
                    "stride": stride,
                    "min_events": lo,
                    "max_events": hi,
                    "n_melodies": len(kept),
                    "n_tokens": sum(kept),
                    "n_windows": windows,
                    "n_targets": targets,
                    "padding_share": 1 - targets / slots if slots else 0.0,
                }
            )
    frame = pd.DataFrame(rows)
    for column in ("min_events", "max_events"):  # nullable ints: "no limit" stays None-like, not 30.0
        frame[column] = frame[column].astype("Int64")
    return frame


# ---- embedding dimension ---------------------------------------------------------------------------


def dim_for_equidistant(points: int) -> int | None:
    """Smallest dimension the original's table gives for `points` pairwise-equidistant tokens (None: > 30)."""
    for dim, capacity in EQUIDISTANT_TABLE:
        if points <= capacity:
            return dim
    return None


def _max_clique(edges: list[tuple[int, int]]) -> int:
    """Size of the largest clique of a small graph given by its edges (Bron-Kerbosch with pivot)."""
    adj: dict[int, set[int]] = {}
    for a, b in edges:
        if a != b:
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
    best = 1 if adj else 0

    def expand(r: int, p: set[int], x: set[int]) -> None:
        nonlocal best
        if not p and not x:
            best = max(best, r)
            return
        if r + len(p) <= best:
            return
        pivot = max(p | x, key=lambda v: len(adj[v] & p))
        for v in list(p - adj[pivot]):
            expand(r + 1, p & adj[v], x & adj[v])
            p.discard(v)
            x.add(v)

    expand(0, set(adj), set())
    return best


def equidistant_bound(
    melodies: Iterable[Melody], tokenizer="factored", *, window: int = 10, decimals: int | None = None
) -> dict:
    """The original's embedding-size argument, recomputed: the largest set of equally similar tokens.

    Steps (Patel & Bhattacharyya 2017, as the workshop notebook did them): count co-occurrences of
    content tokens within `window` positions; take the cosine similarity of the count rows; for each
    similarity value, join the token pairs having exactly that value and find the largest clique (a
    set of pairwise-equidistant tokens); look its size up in EQUIDISTANT_TABLE. With exact floats
    (`decimals=None`) almost no two pairs share a value, so the clique has 2 tokens and the bound is the
    table's floor, 3: that is how the original got 3. Rounding the similarities (`decimals`) shows how
    fragile the bound is. Returns max_clique, dimension, similarity (of the largest clique), n_tokens.
    """
    melodies = list(melodies)
    tok = _tokenizer(tokenizer, melodies)
    n_special = 4  # PAD, UNK, BOS, EOS carry no co-occurrence meaning
    size = len(tok.vocab)
    co = np.zeros((size, size))
    for m in melodies:
        ids = [i for i in tok.encode(m.events, bos_eos=False) if i >= n_special]
        for pos, a in enumerate(ids):
            for b in ids[pos + 1 : pos + 1 + window]:
                co[a, b] += 1
                co[b, a] += 1
    used = np.flatnonzero(co.sum(axis=1) > 0)
    vectors = co[np.ix_(used, used)]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = unit @ unit.T
    if decimals is not None:
        sim = np.round(sim, decimals)
    pairs: dict[float, list[tuple[int, int]]] = {}
    iu, ju = np.triu_indices(len(used), k=1)
    for i, j, s in zip(iu.tolist(), ju.tolist(), sim[iu, ju].tolist()):
        pairs.setdefault(s, []).append((i, j))
    best, best_sim = (1 if len(used) else 0), None
    for s, edges in pairs.items():
        if len(edges) * 2 < best * (best - 1) + 2:  # a clique larger than `best` needs more edges
            continue
        k = _max_clique(edges)
        if k > best:
            best, best_sim = k, s
    return {
        "tokenizer": tok.name,
        "window": window,
        "decimals": decimals,
        "n_tokens": int(len(used)),
        "max_clique": int(best),
        "similarity": best_sim,
        "dimension": dim_for_equidistant(best),
    }


def embedding_suggestions(vocab_sizes: dict[str, int]) -> pd.DataFrame:
    """Embedding-size rules of thumb per tokenizer: tokenizer, vocab_size, rule, dim, reasoning.

    Rules: the fourth root of the vocabulary size (round(V ** 0.25), at least 2), fast.ai's
    min(600, round(1.6 * V ** 0.56)), and the original workshop's fixed 3 with its argument.
    """
    rows = []
    for name, v in vocab_sizes.items():
        if v < 1:
            raise ValueError(f"vocabulary size of {name!r} must be >= 1, got {v}")
        rows += [
            {
                "tokenizer": name,
                "vocab_size": v,
                "rule": "fourth root",
                "dim": max(2, round(v**0.25)),
                "reasoning": f"{v} ** 0.25 = {v**0.25:.2f}: a common rule of thumb for categorical inputs",
            },
            {
                "tokenizer": name,
                "vocab_size": v,
                "rule": "fast.ai",
                "dim": min(600, round(1.6 * v**0.56)),
                "reasoning": f"min(600, 1.6 * {v} ** 0.56): fast.ai's default, larger for small vocabularies",
            },
            {
                "tokenizer": name,
                "vocab_size": v,
                "rule": "original",
                "dim": ORIGINAL_EMBEDDING_DIM,
                "reasoning": (
                    "the workshop's lower bound (Patel & Bhattacharyya 2017): co-occurrence cosine "
                    "similarities, largest clique of tokens with one exact similarity value (2 tokens), "
                    "table lookup gives the table's floor, 3; a lower bound, not an optimum"
                ),
            },
        ]
    return pd.DataFrame(rows, columns=["tokenizer", "vocab_size", "rule", "dim", "reasoning"])


def tune_group_table(melodies: Iterable[Melody], *, shared_only: bool = True) -> pd.DataFrame:
    """One row per hymn tune (Melody.tune): how many melodies and pieces set it, the pieces, their titles.

    Columns tune, melodies, pieces, titles (distinct, "; "-joined, empty ones left out), and
    `closest` = the highest beat-skeleton similarity (tunes.similarity) between two of its pieces,
    NaN for one piece. Sorted by size, then tune. `shared_only` keeps tunes set by 2+ pieces.
    """
    groups: dict[str, list[Melody]] = {}
    for m in melodies:
        groups.setdefault(m.tune, []).append(m)
    rows = []
    for tune, ms in groups.items():
        pieces = sorted({m.piece_id for m in ms})
        if shared_only and len(pieces) < 2:
            continue
        first = {}
        for m in ms:
            first.setdefault(m.piece_id, m)
        intervals = [skeleton_intervals(first[p].events) for p in pieces]
        sim = similarity_matrix(intervals) if len(pieces) > 1 else np.zeros((1, 1))
        closest = float(np.max(sim[np.triu_indices(len(pieces), k=1)])) if len(pieces) > 1 else np.nan
        titles = sorted({str(m.meta.get("title", "")) for m in ms} - {""})
        rows.append(
            {
                "tune": tune,
                "melodies": len(ms),
                "pieces": ", ".join(pieces),
                "titles": "; ".join(titles),
                "closest": closest,
            }  # fmt: skip
        )
    frame = pd.DataFrame(rows, columns=["tune", "melodies", "pieces", "titles", "closest"])
    return frame.sort_values(["melodies", "tune"], ascending=[False, True], ignore_index=True)
