"""The LSTM language model: embedding -> stacked LSTM layers -> optional hidden linear layer -> logits."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

log = logging.getLogger(__name__)

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
        return self.head(h), tuple(new_hidden)  # (B, T, V)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The layers after the LSTM stack: top LSTM output (..., H_last) -> logits (..., V)."""
        if self.hidden is not None:
            h = self.act(self.hidden(h))  # (..., hidden_linear)
        return self.out(h)

    def step(self, tokens: torch.Tensor, hidden: Hidden | None) -> tuple[torch.Tensor, Hidden]:
        """One generation step: tokens (B,) and the carried state -> (logits (B, V), new state)."""
        logits, hidden = self.forward(tokens[:, None], hidden)  # (B, 1, V)
        return logits[:, 0], hidden

    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class FastStep:
    """LSTMModel.step through torch.lstm_cell: the same arithmetic without nn.LSTM's per-call overhead
    for a one-token input (measured 3.7x faster for the bach network at batch 4 on one thread).

    The first layer's input projection is looked up, not multiplied: embedding @ W_ih + b_ih is
    computed once for the whole vocabulary, and lstm_cell gets an empty input whose bias is the
    looked-up rows (lstm_cell adds the bias to input @ W_ih, here nothing). That skips a matrix
    product per step and gave bit-identical logits here; `make` still compares with `model.step`.

    `make` gives one only for an LSTMModel in eval mode (dropout would differ), and only after one
    step has given the same logits as `model.step`; otherwise the caller uses `model.step` unchanged.
    The state stays in the model's format (`Hidden`: (h, c) of shape (1, B, H) per layer), so the two
    can be mixed.
    """

    def __init__(self, model: LSTMModel) -> None:
        self.model = model
        # Plain tensor references: nn.Module attribute look-ups cost microseconds, 10 per step.
        lstms = list(model.lstms)
        first = lstms[0]
        emb = model.embedding.weight
        self.input_table = torch.nn.functional.linear(emb, first.weight_ih_l0, first.bias_ih_l0)  # (V, 4H)
        self.no_input = emb.new_empty((0,)), first.weight_ih_l0.new_empty((first.weight_ih_l0.shape[0], 0))
        self.layers = [(m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0) for m in lstms]
        self.head = None if model.hidden is None else (model.hidden, model.act)
        self.out = (model.out.weight, model.out.bias)

    @classmethod
    def make(cls, model: nn.Module, hidden: Hidden, last_tokens: torch.Tensor) -> FastStep | None:
        """A stepper for `model` checked against `model.step` on (last_tokens (B,), hidden), or None
        for anything but an eval-mode LSTMModel."""
        if not isinstance(model, LSTMModel) or model.training:
            return None
        try:
            stepper = cls(model)
            fast, _ = stepper.step(last_tokens, hidden)
            slow, _ = model.step(last_tokens, hidden)
        except Exception as exc:  # any failure (a subclass with other insides): use the model's own step
            log.debug("fast LSTM step not used: %s", exc)
            return None
        if fast.shape != slow.shape or not torch.allclose(fast, slow, atol=1e-4, rtol=1e-4):
            log.debug("fast LSTM step not used: its logits differ from model.step")
            return None
        return stepper

    def _input_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        # embedding() gathers the rows; plain tensor indexing took twice as long per step.
        return torch.nn.functional.embedding(tokens, self.input_table)

    def step(self, tokens: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """tokens (B,) and the model-format state -> (logits (B, V), new state)."""
        # Functional calls skip nn.Module's per-call machinery; dropout is off in eval mode.
        new = []
        x = None
        for k, ((w_ih, w_hh, b_ih, b_hh), (h, c)) in enumerate(zip(self.layers, hidden)):
            if k == 0:  # input projection by look-up (see the class docstring)
                no_x = self.no_input[0].expand(tokens.shape[0], 0)  # (B, 0): a view, no data
                h1, c1 = torch.lstm_cell(
                    no_x, (h[0], c[0]), self.no_input[1], w_hh, self._input_rows(tokens), b_hh
                )
            else:
                h1, c1 = torch.lstm_cell(x, (h[0], c[0]), w_ih, w_hh, b_ih, b_hh)
            new.append((h1[None], c1[None]))
            x = h1  # (B, H)
        if self.head is not None:
            x = self.head[1](self.head[0](x))
        return torch.nn.functional.linear(x, *self.out), tuple(new)


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU(), "none": nn.Identity()}[name]
