"""Figures about melodies and models: metrics, style against held-out Bach, copies of training melodies, bits
per note, surprise, and what happens inside the LSTM (activations, probes, embeddings).
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "metrics": (
            "melody_metrics",
            "reference_metrics",
            "build_reference",
            "self_perplexity",
            "find_loop",
        ),
        "style": (
            "style_report",
            "StyleReport",
            "style_baseline",
        ),
        "memorization": (
            "longest_shared_ngram",
            "NgramIndex",
        ),
        "bits_per_note": (
            "note_bits",
            "NoteBits",
            "pitch_bits_given_duration",
        ),
        "literature": (
            "PUBLISHED",
            "PublishedFigure",
        ),
        "surprise": (
            "melody_surprise",
            "Surprise",
        ),
        "activations": (
            "record_activations",
            "Activations",
        ),
        "probes": (
            "unit_correlations",
            "pooled_correlations",
        ),
        "embeddings": (
            "embedding_view",
            "nearest_tokens",
        ),
    },
)
