"""The LSTM language model: embedding -> stacked LSTM layers -> optional hidden linear layer -> logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

ACTIVATIONS = ("relu", "tanh", "gelu", "none")

# Generous bounds: they exist to turn a typo (lstm size 51200, dropout 5) into a clear message,
# not to limit experiments a 2-core laptop could still run.
MAX_VOCAB = 100_000
MAX_WIDTH = 4096
MAX_LAYERS = 8

# Per-layer LSTM state: ((h, c), ...) with h, c of shape (1, B, H_layer) each.
Hidden = tuple[tuple[torch.Tensor, torch.Tensor], ...]


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


class LSTMModel(nn.Module):
    """A token-level LSTM language model; knows nothing about music."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.vocab_size is None:
            raise ModelConfigError("ModelConfig.vocab_size must be set (from the tokenizer) to build a model")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        sizes_in = (config.embedding_dim, *config.lstm_sizes[:-1])
        # Separate single-layer LSTMs (not one nn.LSTM with num_layers) because each layer has its own
        # width and its own dropout, as in the original workshop network.
        self.lstms = nn.ModuleList(
            nn.LSTM(n_in, n_out, batch_first=True) for n_in, n_out in zip(sizes_in, config.lstm_sizes)
        )
        self.dropouts = nn.ModuleList(nn.Dropout(p) for p in config.dropouts)
        top = config.lstm_sizes[-1]
        if config.hidden_linear is not None:
            self.hidden = nn.Linear(top, config.hidden_linear)
            self.act = _activation(config.activation)
            top = config.hidden_linear
        else:
            self.hidden = None
            self.act = nn.Identity()
        self.out = nn.Linear(top, config.vocab_size)

    def init_hidden(self, batch: int, device: torch.device | str | None = None) -> Hidden:
        """Zero state for `batch` sequences: one (h, c) pair of shape (1, B, H_layer) per layer."""
        device = device if device is not None else self.out.weight.device
        return tuple(
            (torch.zeros(1, batch, n, device=device), torch.zeros(1, batch, n, device=device))
            for n in self.config.lstm_sizes
        )

    def forward(self, x: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """Logits for every position of x (B, T) -> ((B, T, V), new hidden state)."""
        h = self.embedding_dropout(self.embedding(x))  # (B, T, E)
        new_hidden = []
        for i, (lstm, drop) in enumerate(zip(self.lstms, self.dropouts)):
            h, state = lstm(h, None if hidden is None else hidden[i])  # (B, T, H_i)
            h = drop(h)
            new_hidden.append(state)
        if self.hidden is not None:
            h = self.act(self.hidden(h))  # (B, T, hidden_linear)
        return self.out(h), tuple(new_hidden)  # (B, T, V)

    def step(self, tokens: torch.Tensor, hidden: Hidden | None) -> tuple[torch.Tensor, Hidden]:
        """One generation step: tokens (B,) and the carried state -> (logits (B, V), new state)."""
        logits, hidden = self.forward(tokens[:, None], hidden)  # (B, 1, V)
        return logits[:, 0], hidden

    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def detach_hidden(hidden: Hidden) -> Hidden:
    """The same state cut from the autograd graph (for stateful/truncated training)."""
    return tuple((h.detach(), c.detach()) for h, c in hidden)


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU(), "none": nn.Identity()}[name]
