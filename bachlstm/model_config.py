"""The model's hyperparameters (ModelConfig) and the weight shapes they imply; no torch needed.

Kept apart from model.py so that listing checkpoints can check a file's declared shapes against its
config without importing torch (about 1-2 s) or building the model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

ACTIVATIONS = ("relu", "tanh", "gelu", "none")

# Generous bounds: they exist to turn a typo (lstm size 51200, dropout 5) into a clear message,
# not to limit experiments a 2-core laptop could still run.
MAX_VOCAB = 100_000
MAX_WIDTH = 4096
MAX_LAYERS = 8


class ModelConfigError(ValueError):
    """A ModelConfig value is out of range or inconsistent."""


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of LSTMModel; everything needed to rebuild it from a checkpoint."""

    vocab_size: int | None = None  # None in a preset: filled from the tokenizer before building
    embedding_dim: int = 32
    lstm_sizes: tuple[int, ...] = (256,)  # one nn.LSTM per entry, so each layer has its own width
    dropouts: tuple[float, ...] = (0.0,)  # dropout applied to each LSTM layer's output
    hidden_linear: int | None = None  # width of a hidden Linear before the output layer; None = none
    activation: str = "relu"  # after the hidden Linear; a Linear-Linear stack would collapse to one
    embedding_dropout: float = 0.0  # dropout on the embedded inputs (a cheap regulariser)
    pad_id: int = 0  # embedding row kept at zero and never trained (tokens.PAD)

    def __post_init__(self) -> None:
        # Accept lists (JSON, CLI) but store tuples so the config stays hashable and comparable.
        object.__setattr__(self, "lstm_sizes", tuple(self.lstm_sizes))
        object.__setattr__(self, "dropouts", tuple(float(d) for d in self.dropouts))
        if self.vocab_size is not None and not (
            isinstance(self.vocab_size, int) and 2 <= self.vocab_size <= MAX_VOCAB
        ):
            raise ModelConfigError(f"vocab_size must be an int in [2, {MAX_VOCAB}], got {self.vocab_size!r}")
        _check_width("embedding_dim", self.embedding_dim)
        if not 1 <= len(self.lstm_sizes) <= MAX_LAYERS:
            raise ModelConfigError(
                f"lstm_sizes needs 1 to {MAX_LAYERS} layers, got {len(self.lstm_sizes)}: {self.lstm_sizes}"
            )
        for i, size in enumerate(self.lstm_sizes):
            _check_width(f"lstm_sizes[{i}]", size)
        if len(self.dropouts) != len(self.lstm_sizes):
            raise ModelConfigError(
                f"dropouts needs one value per LSTM layer ({len(self.lstm_sizes)}), got {self.dropouts}"
            )
        for i, p in enumerate(self.dropouts):
            _check_prob(f"dropouts[{i}]", p)
        _check_prob("embedding_dropout", self.embedding_dropout)
        if self.hidden_linear is not None:
            _check_width("hidden_linear", self.hidden_linear)
        if self.activation not in ACTIVATIONS:
            raise ModelConfigError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not isinstance(self.pad_id, int) or self.pad_id < 0:
            raise ModelConfigError(f"pad_id must be an int >= 0, got {self.pad_id!r}")
        if self.vocab_size is not None and self.pad_id >= self.vocab_size:
            raise ModelConfigError(f"pad_id {self.pad_id} is outside the vocabulary (size {self.vocab_size})")

    def to_dict(self) -> dict:
        """JSON-safe dict (tuples become lists)."""
        d = asdict(self)
        d["lstm_sizes"] = list(self.lstm_sizes)
        d["dropouts"] = list(self.dropouts)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of to_dict; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelConfigError(f"unknown ModelConfig fields {unknown}")
        return cls(**d)


def _check_width(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WIDTH:
        raise ModelConfigError(f"{name} must be an int in [1, {MAX_WIDTH}], got {value!r}")


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ModelConfigError(f"{name} must be in [0, 1), got {value!r}")


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight of LSTMModel(config), in its state_dict order (= parameters()).

    Each layer is an nn.LSTM of one layer: weight_ih (4H, in), weight_hh (4H, H) and two biases (4H,)
    (PyTorch keeps b_ih and b_hh apart). Tested equal to the built model's state_dict.
    """
    if config.vocab_size is None:
        raise ModelConfigError("ModelConfig.vocab_size must be set (from the tokenizer) to know the weights")
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (config.vocab_size, config.embedding_dim)}
    n_in = config.embedding_dim
    for i, h in enumerate(config.lstm_sizes):
        shapes[f"lstms.{i}.weight_ih_l0"] = (4 * h, n_in)
        shapes[f"lstms.{i}.weight_hh_l0"] = (4 * h, h)
        shapes[f"lstms.{i}.bias_ih_l0"] = (4 * h,)
        shapes[f"lstms.{i}.bias_hh_l0"] = (4 * h,)
        n_in = h
    if config.hidden_linear is not None:
        shapes["hidden.weight"] = (config.hidden_linear, n_in)
        shapes["hidden.bias"] = (config.hidden_linear,)
        n_in = config.hidden_linear
    shapes["out.weight"] = (config.vocab_size, n_in)
    shapes["out.bias"] = (config.vocab_size,)
    return shapes


def count_parameters(config: ModelConfig) -> int:
    """Exact number of parameters of LSTMModel(config) (= model.n_params()), without building it."""
    return sum(math.prod(shape) for shape in parameter_shapes(config).values())
