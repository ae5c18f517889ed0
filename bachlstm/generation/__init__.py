"""Generation: the sampling functions on logits (greedy, top-k, nucleus, temperature, ...), batched
generation under the token grammar, and primers from files or melodies.
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "sampling": (
            "SamplingConfig",
            "greedy",
            "top_k_filter",
            "top_p_filter",
            "scale_by_temperature",
            "min_p_filter",
            "typical_filter",
            "process_logits",
            "sample",
            "BatchSampler",
        ),
        "generator": (
            "Generation",
            "generate",
        ),
        "primer": (
            "read_primer",
            "fit_primer",
            "PrimerFile",
            "PrimerLine",
            "UploadedPrimer",
            "PrimerChoice",
            "primer_choices",
            "upload_primer",
            "PrimerError",
            "MusicInputError",
        ),
    },
)
