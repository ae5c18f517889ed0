"""The Bach corpus: extracted once from music21 into a versioned cache, selected (meter, voice, length) with
reasons, hymn tunes, statistics and the overview.
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "cache": (
            "load_corpus",
            "CorpusCacheError",
        ),
        "extraction": ("build_corpus",),
        "grouping": ("DisjointSets",),
        "tunes": (
            "similarity",
            "similar_pairs",
        ),
        "selection": (
            "SelectionConfig",
            "Selection",
            "select",
        ),
        "stats": (
            "piece_table",
            "melody_table",
            "key_counts",
        ),
        "overview": (
            "CorpusOverview",
            "corpus_overview",
        ),
    },
)
