"""The LSTM language model: embedding -> stacked LSTM layers -> optional hidden linear layer -> logits."""

from __future__ import annotations

import logging

import torch
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
    """LSTMModel.step without nn.LSTM's per-call machinery, for generation one token at a time.

    The same arithmetic as `model.step` (logits agree to float rounding; `make` checks one step):
    - the first layer's input projection is looked up, not multiplied: embedding @ W_ih + b_ih + b_hh
      is computed once for the whole vocabulary (V, 4H), and a step gathers B rows of it;
    - the recurrent products h @ W_hh^T use a weight pre-packed by oneDNN (MKL-DNN) for the batch size
      when PyTorch has it: at batch 4 a plain matrix product reads the 1 MB weight as if it were a
      large problem (measured 62 -> 41 us per product for the bach network, one thread, AVX-512);
      without oneDNN it is the plain `linear`;
    - the gate non-linearities take one sigmoid over all 4H gates: the cell-input block of the
      weights and biases is doubled once (exact: a power of two), and tanh(x) = 2 sigmoid(2x) - 1
      gives it back; then c' = f c + i tanh(.) and h' = o tanh(c'), as in torch.nn.LSTMCell
      (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000). Fewer tensor ops per
      step matter more than their arithmetic at this size (each op costs ~2-4 us of dispatch).

    `make` gives one only for an LSTMModel in eval mode on the CPU or a GPU (dropout would differ in
    training mode), and only after one step has given the same logits as `model.step`; otherwise the
    caller uses `model.step` unchanged. The state stays in the model's format (`Hidden`: (h, c) of
    shape (1, B, H) per layer), so the two can be mixed.
    """

    KEPT = 8

    def __init__(self, model: LSTMModel, batch: int) -> None:
        self.model = model
        # Plain tensor references: nn.Module attribute look-ups cost microseconds, 10 per step.
        lstms = list(model.lstms)
        first = lstms[0]
        emb = model.embedding.weight
        bias0 = first.bias_ih_l0 + first.bias_hh_l0
        twice = _cell_input_doubled
        self.input_table = twice(torch.nn.functional.linear(emb, first.weight_ih_l0, bias0).T).T  # (V, 4H)
        packed = _packer(emb.device, batch)
        self.layers = [
            (
                None if k == 0 else packed(twice(m.weight_ih_l0)),
                packed(twice(m.weight_hh_l0)),
                None if k == 0 else twice(m.bias_ih_l0 + m.bias_hh_l0),
            )
            for k, m in enumerate(lstms)
        ]
        self.head = None if model.hidden is None else (model.hidden, model.act)
        self.out = (model.out.weight, model.out.bias)

    @classmethod
    def make(cls, model: nn.Module, hidden: Hidden, last_tokens: torch.Tensor) -> FastStep | None:
        """A stepper for `model` checked against `model.step` on (last_tokens (B,), hidden), or None
        for anything but an eval-mode LSTMModel.

        Steppers are kept for the last `KEPT` (model, batch size) pairs while the model's weights are
        unchanged (their version counters), so a dashboard's every Generate does not pack the weights
        and check them again."""
        if not isinstance(model, LSTMModel) or model.training:
            return None
        key = (id(model), int(last_tokens.shape[0]), tuple(p._version for p in model.parameters()))
        kept = _STEPPERS.get(key)
        if kept is not None:
            return kept
        stepper = cls._checked(model, hidden, last_tokens)
        if stepper is not None:
            if len(_STEPPERS) >= cls.KEPT:
                _STEPPERS.pop(next(iter(_STEPPERS)), None)  # the oldest
            _STEPPERS[key] = stepper  # holds the model, so its id is not reused while kept
        return stepper

    @classmethod
    def _checked(cls, model: LSTMModel, hidden: Hidden, last_tokens: torch.Tensor) -> FastStep | None:
        batch = int(last_tokens.shape[0])
        return checked_stepper(lambda: cls(model, batch), model, hidden, last_tokens, "fast LSTM step")

    def step(self, tokens: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """tokens (B,) and the model-format state -> (logits (B, V), new state)."""
        new = []
        x = None
        for (w_ih, w_hh, b), (h, c) in zip(self.layers, hidden):
            h, c = h[0], c[0]  # (B, H)
            # first layer: the input projection and both biases by look-up (B, 4H)
            gates = torch.nn.functional.embedding(tokens, self.input_table) if x is None else w_ih(x, b)
            gates = (gates + w_hh(h, None)).sigmoid_()
            i, f, g, o = gates.chunk(4, 1)  # PyTorch's gate order (input, forget, cell, output)
            c = torch.addcmul(f * c - i, i, g, value=2.0)  # f c + i (2 g - 1), 2 g - 1 = tanh(cell input)
            h = o * c.tanh()
            new.append((h[None], c[None]))
            x = h  # (B, H)
        if self.head is not None:
            x = self.head[1](self.head[0](x))
        return torch.nn.functional.linear(x, *self.out), tuple(new)


_STEPPERS: dict[tuple, FastStep] = {}  # FastStep.make's kept steppers, oldest first


def checked_stepper(build, model: LSTMModel, hidden: Hidden, last_tokens: torch.Tensor, name: str):
    """`build()`'s stepper if its first step on (last_tokens (B,), hidden) gives `model.step`'s logits
    (to 1e-4, absolute and relative), else None, the reason logged at debug level under `name`. Any
    exception from building or stepping (a missing runtime, a subclass with other insides) means None:
    the caller then uses a slower step that is known to be right."""
    try:
        with torch.inference_mode():
            stepper = build()
            fast, _ = stepper.step(last_tokens, hidden)
            slow, _ = model.step(last_tokens, hidden)
    except Exception as exc:
        log.debug("%s not used: %s", name, exc)
        return None
    if fast.shape != slow.shape or not torch.allclose(fast, slow, atol=1e-4, rtol=1e-4):
        log.debug("%s not used: its logits differ from model.step", name)
        return None
    return stepper


def _cell_input_doubled(weight: torch.Tensor) -> torch.Tensor:
    """A copy of an LSTM weight (4H, ...) or bias (4H,) with its cell-input block (the third quarter in
    PyTorch's order i, f, g, o) times 2, for tanh(x) = 2 sigmoid(2x) - 1."""
    out = weight.detach().clone()
    quarter = out.shape[0] // 4
    out[2 * quarter : 3 * quarter] *= 2
    return out


def _packer(device: torch.device, batch: int):
    """weight (out, in) -> a function (x (B, in), bias or None) -> x @ weight^T + bias.

    On the CPU with oneDNN, the weight is reordered once for batch size `batch` (the op PyTorch's own
    compiler uses for frozen linear layers, `torch.ops.mkldnn._linear_pointwise`); elsewhere, or when
    that private op is missing in this PyTorch, the plain `torch.nn.functional.linear`.
    """
    ops = getattr(torch.ops, "mkldnn", None)
    if device.type == "cpu" and torch.backends.mkldnn.is_available() and ops is not None:
        try:
            reorder, pointwise = ops._reorder_linear_weight, ops._linear_pointwise
        except (AttributeError, RuntimeError):
            reorder = pointwise = None
        if reorder is not None:

            def packed(weight: torch.Tensor):
                w = reorder(weight, batch)
                return lambda x, bias: pointwise(x, w, bias, "none", [], "")

            return packed
    return lambda weight: lambda x, bias: torch.nn.functional.linear(x, weight, bias)


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU(), "none": nn.Identity()}[name]
