"""The corpus overview: every figure and table of one selection (filters + tokenizer), as one dataclass."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from bachlstm.corpus import stats
from bachlstm.corpus.selection import SelectionConfig, select
from bachlstm.music.events import Corpus

# Sequence lengths (tokens) for the windows table: the presets' 16..128 and the original's 250.
SEQ_LENS = (16, 32, 64, 128, 250)


@dataclass(frozen=True)
class CorpusOverview:
    """What one selection keeps and why, and what its melodies look like (DataFrames, picklable).

    The first group is always there. The second is None (n_tokens 0) when no melody is selected.
    """

    n_melodies: int
    n_pieces: int  # pieces the selected melodies come from
    n_excluded: int  # parts or pieces left out (selection.Selection.excluded)
    summary: pd.DataFrame  # Selection.summary(): reason, count (the "selected" row first)
    excluded: pd.DataFrame  # Selection.report(): one row per exclusion
    time_signatures: pd.DataFrame  # stats.time_signature_counts of the whole corpus
    lengths: pd.DataFrame  # piece_id, voice, n_events of the selection *without* its length limits
    melodies: pd.DataFrame  # stats.melody_table of the selected melodies
    keys: pd.DataFrame  # stats.key_counts of the pieces selected (empty without melodies)
    pitch_classes: pd.DataFrame | None = None  # weighted by duration
    durations: pd.DataFrame | None = None
    tokens: pd.DataFrame | None = None  # stats.token_frequencies for the chosen tokenizer
    n_tokens: int = 0  # tokens of all selected melodies (no BOS/EOS)
    vocab_size: int | None = None  # of the chosen tokenizer built on this selection
    coverage: pd.DataFrame | None = None  # stats.vocabulary_coverage, every tokenizer
    windows: pd.DataFrame | None = None  # stats.window_counts, with and without the length limits
    embedding: pd.DataFrame | None = None  # stats.embedding_suggestions, every tokenizer
    equidistant: dict | None = None  # stats.equidistant_bound: max_clique, dimension, ...


def corpus_overview(
    corpus: Corpus, config: SelectionConfig, tokenizer: str = "event", seq_lens: Sequence[int] = SEQ_LENS
) -> CorpusOverview:
    """Select melodies from `corpus` with `config` and compute the overview for tokenizer `tokenizer`.

    `tokenizer` is a tokenizer name ("event" or "factored"). Lengths are taken from the selection
    without length limits, so a chart can show what the cut-offs remove. Raises ValueError (from
    selection or tokens) for filters or a tokenizer that cannot be used.
    """
    selection = select(corpus, config)
    unlimited = select(corpus, dataclasses.replace(config, min_events=None, max_events=None))
    melodies = selection.melodies
    chosen_ids = {m.piece_id for m in melodies}
    chosen = dataclasses.replace(corpus, pieces=tuple(p for p in corpus.pieces if p.id in chosen_ids))
    base = CorpusOverview(
        n_melodies=len(melodies),
        n_pieces=len(chosen_ids),
        n_excluded=len(selection.excluded),
        summary=selection.summary(),
        excluded=selection.report(),
        time_signatures=stats.time_signature_counts(corpus),
        lengths=stats.melody_table(unlimited.melodies)[["piece_id", "voice", "n_events"]],
        melodies=stats.melody_table(melodies),
        keys=stats.key_counts(chosen) if melodies else pd.DataFrame(),
    )
    if not melodies:
        return base
    freq = stats.token_frequencies(melodies, tokenizer)
    coverage = stats.vocabulary_coverage(melodies)
    vocab_sizes = dict(zip(coverage.tokenizer, coverage.vocab_size))
    limits = [(None, None)]
    if (config.min_events, config.max_events) != (None, None):
        limits.append((config.min_events, config.max_events))
    return dataclasses.replace(
        base,
        pitch_classes=stats.pitch_class_histogram(melodies, by_duration=True),
        durations=stats.duration_histogram(melodies),
        tokens=freq,
        n_tokens=int(freq["count"].sum()),
        vocab_size=int(vocab_sizes[tokenizer]) if tokenizer in vocab_sizes else None,
        coverage=coverage,
        windows=stats.window_counts(melodies, tokenizer, seq_lens, length_limits=limits),
        embedding=stats.embedding_suggestions(vocab_sizes),
        equidistant=stats.equidistant_bound(melodies, tokenizer),
    )
