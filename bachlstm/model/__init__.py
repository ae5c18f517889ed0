"""The network: its config (torch-free), the LSTM and its one-token step, and checkpoints (format, files,
loading).
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
