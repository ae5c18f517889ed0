"""The LSTM language model: embedding -> stacked LSTM layers -> optional hidden linear layer -> logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The config lives in a torch-free module (listing checkpoints checks shapes without torch); re-exported.
from bachlstm.model.config import (  # noqa: F401
    ACTIVATIONS,
    MAX_LAYERS,
    MAX_VOCAB,
    MAX_WIDTH,
    ModelConfig,
    ModelConfigError,
)

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
        self._input_table: tuple | None = None  # (weights' versions, table): see input_table

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
        """One generation step: tokens (B,) and the carried state -> (logits (B, V), new state).

        `forward` on one token (tested equal to float rounding), written out as the LSTM equations
        (`lstm_cell`) from each layer's weights: at one token nn.LSTM's per-call checks cost more than
        its arithmetic (measured for `bach` at batch 4, one thread, on a busy 2-core machine: about
        400 us a step through `forward`, 170-190 us written out). Dropout as in `forward`; in eval
        mode its modules, which would return their input, are not called (a few us each per token),
        and the first layer's input term W_i x + b_i is its token's row of `input_table` (the same
        numbers, looked up instead of multiplied).
        """
        if hidden is None:
            hidden = self.init_hidden(tokens.shape[0], tokens.device)
        # training: the embedding with its dropout (B, E); eval: the first layer's W_i x + b_i (B, 4H_0)
        x = self.embedding_dropout(self.embedding(tokens)) if self.training else self.input_table()[tokens]
        new_hidden = []
        for i, (lstm, drop, (h, c)) in enumerate(zip(self.lstms, self.dropouts, hidden)):
            # pre-activations of the four gates (B, 4H): W_i x + b_i + W_h h + b_h
            wx = x if i == 0 and not self.training else F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0)
            z = wx + F.linear(h[0], lstm.weight_hh_l0, lstm.bias_hh_l0)
            *_, c, h = lstm_cell(z, c[0])  # (B, H) each
            new_hidden.append((h[None], c[None]))  # the state as nn.LSTM keeps it: (1, B, H)
            x = drop(h) if self.training else h
        return self.head(x), tuple(new_hidden)

    def input_table(self) -> torch.Tensor:
        """W_i e + b_i of the first LSTM layer for every token's embedding e (V, 4H_0), which an eval-mode
        `step` looks up instead of computing: made once per version of those three weights (their
        tensors' own version counters move with every in-place change: an optimizer step, a load)."""
        lstm = self.lstms[0]
        weights = (self.embedding.weight, lstm.weight_ih_l0, lstm.bias_ih_l0)
        key = tuple((w._version, w.device, w.dtype, w.shape) for w in weights)
        kept = self._input_table
        if kept is None or kept[0] != key:
            # a plain tensor (not an inference-mode one, not part of autograd): usable in any mode
            with torch.inference_mode(False), torch.no_grad():
                kept = (key, F.linear(*weights))
            self._input_table = kept  # one assignment: a thread sees the old pair or the new one
        return kept[1]

    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def lstm_cell(z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The LSTM equations of one step (PyTorch's gate order i, f, g, o; Hochreiter & Schmidhuber 1997
    with the forget gate of Gers et al. 2000): pre-activations z (..., 4H) and the cell c (..., H) ->
    (i, f, g, o, new cell c', new hidden state h'), each (..., H).

        i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
        c' = f * c + i * g                    h' = o * tanh(c')
    """
    i, f, g, o = z.chunk(4, -1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    return i, f, g, o, c, o * torch.tanh(c)


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU(), "none": nn.Identity()}[name]
