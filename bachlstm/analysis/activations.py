"""Inside the LSTM: every gate, cell state and hidden state of every layer, recorded step by step.

nn.LSTM computes its gates in one fused call and returns only the hidden states, so to show the gates
we run the same equations ourselves from its weights (PyTorch's documented gate order i, f, g, o;
https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html), with `model.lstm_cell`, the function
`LSTMModel.step` generates with:

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate: how much new content is written
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate: how much of the cell is kept
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)         the candidate content
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate: how much of the cell is shown
    c_t = f_t * c_{t-1} + i_t * g_t                           cell state (the long memory)
    h_t = o_t * tanh(c_t)                                     hidden state (what the next layer sees)

The recorded h_t and c_t equal nn.LSTM's own output (tests/analysis/test_activations.py), and the logits equal
the model's forward, so what the page draws is what the model computes. Dropout is off (eval mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bachlstm.model.lstm import LSTMModel, lstm_cell

# What a heatmap can show, in the order the page offers them; values are (label, value range).
SIGNALS = {
    "input_gate": ("input gate i", (0.0, 1.0)),
    "forget_gate": ("forget gate f", (0.0, 1.0)),
    "output_gate": ("output gate o", (0.0, 1.0)),
    "cell_input": ("candidate g", (-1.0, 1.0)),
    "cell": ("cell state c", (None, None)),  # unbounded: it accumulates
    "hidden": ("hidden state h", (-1.0, 1.0)),
}


@dataclass(frozen=True)
class LayerTrace:
    """One LSTM layer over T steps: each field is a float32 array (T, H) for step t after reading token t."""

    input_gate: np.ndarray
    forget_gate: np.ndarray
    cell_input: np.ndarray
    output_gate: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray

    @property
    def size(self) -> int:
        """Number of units H."""
        return self.hidden.shape[1]

    def signal(self, name: str) -> np.ndarray:
        """The (T, H) array of one of SIGNALS; ValueError naming the choices for another name."""
        if name not in SIGNALS:
            raise ValueError(f"unknown signal {name!r}; choose one of {list(SIGNALS)}")
        return getattr(self, name)


@dataclass(frozen=True)
class Activations:
    """A recorded forward pass over `tokens` (T,): one LayerTrace per LSTM layer and the logits (T, V).

    logits[t] is the model's prediction of token t + 1, made after reading tokens[: t + 1].
    """

    tokens: tuple[int, ...]
    layers: tuple[LayerTrace, ...]
    logits: np.ndarray


def _run_layer(lstm: nn.LSTM, inputs: torch.Tensor) -> tuple[LayerTrace, torch.Tensor]:
    """The LSTM equations (module docstring) over inputs (T, I) from a zero state -> (trace, h (T, H))."""
    if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size or not lstm.bias:
        raise ValueError("only single-layer, one-directional LSTMs with biases can be recorded")
    n = lstm.hidden_size
    w_hh = lstm.weight_hh_l0  # (4H, H)
    pre = inputs @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0  # (T, 4H): input part, all steps
    h = inputs.new_zeros(n)
    c = inputs.new_zeros(n)
    steps = len(inputs)
    gates = inputs.new_empty(steps, 4, n)  # i, f, g, o
    cells = inputs.new_empty(steps, n)
    hiddens = inputs.new_empty(steps, n)
    for t in range(steps):
        i, f, g, o, c, h = lstm_cell(pre[t] + w_hh @ h, c)  # the equations above, from z (4H,)
        gates[t, 0], gates[t, 1], gates[t, 2], gates[t, 3] = i, f, g, o
        cells[t], hiddens[t] = c, h
    g_np = gates.cpu().numpy()
    return LayerTrace(
        input_gate=g_np[:, 0].copy(),
        forget_gate=g_np[:, 1].copy(),
        cell_input=g_np[:, 2].copy(),
        output_gate=g_np[:, 3].copy(),
        cell=cells.cpu().numpy(),
        hidden=hiddens.cpu().numpy(),
    ), hiddens


@torch.no_grad()
def record_activations(model: LSTMModel, tokens: Sequence[int]) -> Activations:
    """Run `model` over one token sequence (T,) from a zero state, recording every layer's gates and states.

    The model is put in eval mode for the pass (dropout off) and restored. ValueError for an empty
    sequence or an id outside the vocabulary.
    """
    ids = [int(t) for t in tokens]
    if not ids:
        raise ValueError("there are no tokens to run the model over")
    vocab = model.config.vocab_size
    bad = [t for t in ids if not 0 <= t < vocab]
    if bad:
        raise ValueError(f"token id {bad[0]} is outside the model's vocabulary of {vocab} tokens")
    device = model.out.weight.device
    was_training = model.training
    model.eval()
    try:
        h = model.embedding(torch.tensor(ids, device=device)).float()  # (T, E)
        layers = []
        for lstm in model.lstms:
            trace, h = _run_layer(lstm, h)  # h (T, H): the next layer's input (dropout is off)
            layers.append(trace)
        logits = model.head(h).float().cpu().numpy()  # (T, V)
    finally:
        model.train(was_training)
    return Activations(tuple(ids), tuple(layers), logits)
