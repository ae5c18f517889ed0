"""The model: its config (torch-free), the LSTM and its one-token step, the short-term model mixed into
its predictions, and checkpoints (format, files, loading).
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "config": (
            "ModelConfig",
            "ModelConfigError",
            "count_parameters",
        ),
        "lstm": ("LSTMModel",),
        "short_term": ("ShortTermModel", "has_short_term", "mix", "short_term_log_probs"),
        "checkpoint_format": (
            "CheckpointError",
            "read_header",
        ),
        "checkpoints": (
            "Checkpoint",
            "CheckpointInfo",
            "load_checkpoint",
            "save_checkpoint",
            "list_checkpoints",
            "checkpoint_info",
            "resolve_checkpoint",
        ),
    },
)
