"""The LSTM language model: embedding -> stacked LSTM layers -> optional hidden linear layer -> logits."""

from __future__ import annotations

import logging

import torch
from torch import nn

# The config lives in a torch-free module (listing checkpoints checks shapes without torch); re-exported.
from bachlstm.model_config import (  # noqa: F401
    ACTIVATIONS,
    MAX_LAYERS,
    MAX_VOCAB,
    MAX_WIDTH,
    ModelConfig,
    ModelConfigError,
)

log = logging.getLogger(__name__)

# Per-layer LSTM state: ((h, c), ...) with h, c of shape (1, B, H_layer) each.
Hidden = tuple[tuple[torch.Tensor, torch.Tensor], ...]


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
