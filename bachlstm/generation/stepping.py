"""One generation step of an LSTMModel, as fast as the machine allows: which stepper generation uses.

Generating is one forward step per token for a small batch (the Sampling page's four methods: B = 4),
so a step is a dozen small operations around one 1 MB matrix product (`bach`: h @ W_hh, 256 x 1024),
and what each operation costs to call matters more than its arithmetic. Three steppers, fastest first,
all with `step(tokens (B,), hidden) -> (logits (B, V), new hidden)` in the model's state format:

- `OnnxStep`: the step exported once per model to an ONNX graph and run by ONNX Runtime
  (onnxruntime.ai) on one thread, with inputs and outputs bound to buffers once per generation
  (measured for `bach` at batch 4 on a 2-core AVX-512 CPU: about 55 us per token in a generation
  loop, 45 us of it the run itself);
- `model.FastStep`: the same arithmetic in PyTorch eager mode (about 120 us);
- `LSTMModel.step` itself (nn.LSTM's own forward; about 300 us).

`make_stepper` gives the first that builds and whose logits agree with `model.step` on the caller's
first step (`model.checked_stepper`: to 1e-4), so generation is the same whichever is used (tests pin
the tokens).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from bachlstm.model.lstm import FastStep, Hidden, LSTMModel, checked_stepper

RUNTIMES = ("auto", "onnxruntime", "torch")

# (model id, weight versions) -> (its program, or None where it cannot be used; the model), oldest first
_PROGRAMS: dict[tuple, tuple[OnnxProgram | None, LSTMModel]] = {}
_KEPT = 8


def make_stepper(
    model: nn.Module,
    hidden: Hidden,
    last_tokens: torch.Tensor,
    runtime: str = "auto",
    blocked: np.ndarray | None = None,
):
    """A stepper for `model` (see the module's docstring), or None where only `model.step` fits (a
    model in training mode, where dropout is on, or anything but an LSTMModel).

    runtime: "auto" (ONNX Runtime where it is installed and agrees, else PyTorch), "onnxruntime"
    (None where it cannot be used) or "torch" (FastStep only). hidden: the state the first step
    will take; last_tokens (B,): that step's tokens. blocked: a (B, V) bool array the caller rewrites
    between steps (generation's grammar mask): an OnnxStep sets the logits it marks to -inf (its
    `blocked` is that array; FastStep ignores it). Each call gives the caller its own stepper
    (an OnnxStep holds buffers); the exported graphs and packed weights behind them are kept per model
    while its weights are unchanged. Raises ValueError for an unknown runtime.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if not isinstance(model, LSTMModel) or model.training:
        return None
    if runtime != "torch":
        program = OnnxProgram.kept(model, hidden, last_tokens)
        if program is not None:
            return program.stepper(int(last_tokens.shape[0]), blocked)
        if runtime == "onnxruntime":
            return None
    return FastStep.make(model, hidden, last_tokens)


class _StepGraph(nn.Module):
    """One step as a plain graph for export: (tokens (B,), blocked (B, V) bool, h_1, c_1, ..., h_L, c_L
    (B, H_k)) -> (logits (B, V) with the blocked tokens at -inf, h_1', c_1', ...). The first layer's
    input projection and both its biases are one table look-up (V, 4H), as in FastStep; the gates are
    torch.nn.LSTMCell's (order i, f, g, o; Hochreiter & Schmidhuber 1997 with the forget gate of
    Gers et al. 2000)."""

    def __init__(self, model: LSTMModel) -> None:
        super().__init__()
        lstms = list(model.lstms)
        first = lstms[0]
        table = nn.functional.linear(
            model.embedding.weight, first.weight_ih_l0, first.bias_ih_l0 + first.bias_hh_l0
        )
        self.register_buffer("table", table.detach().clone())  # (V, 4H)
        self.n_layers = len(lstms)
        for k, m in enumerate(lstms):
            self.register_buffer(f"w_hh{k}", m.weight_hh_l0.detach().t().contiguous())  # (H, 4H)
            if k:
                self.register_buffer(f"w_ih{k}", m.weight_ih_l0.detach().t().contiguous())
                self.register_buffer(f"b{k}", (m.bias_ih_l0 + m.bias_hh_l0).detach().clone())
        self.head = model.hidden
        self.act = model.act
        self.out = model.out

    def forward(
        self, tokens: torch.Tensor, blocked: torch.Tensor, *states: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        new: list[torch.Tensor] = []
        x = tokens
        for k in range(self.n_layers):
            h, c = states[2 * k], states[2 * k + 1]
            gates = self.table[x] if k == 0 else x @ getattr(self, f"w_ih{k}") + getattr(self, f"b{k}")
            i, f, g, o = (gates + h @ getattr(self, f"w_hh{k}")).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            new += [h, c]
            x = h
        if self.head is not None:
            x = self.act(self.head(x))
        # The grammar's mask, as Tensor.masked_fill(blocked, -inf) gives it (the same values).
        return (torch.where(blocked, torch.tensor(float("-inf")), self.out(x)), *new)


class OnnxProgram:
    """A model's step exported to ONNX (any batch size) and its ONNX Runtime session on one thread.

    Shared by every generation with that model (ONNX Runtime's Run is thread-safe); each generation
    takes its own `stepper`. Raises ImportError without `onnxruntime` (or `onnx`, which torch's
    exporter needs) and ValueError for a model that is not float32 on the CPU.
    """

    def __init__(self, model: LSTMModel) -> None:
        import onnxruntime  # here: ~0.3 s to import, and only generation needs it

        weight = model.out.weight
        if weight.device.type != "cpu" or weight.dtype != torch.float32:
            raise ValueError("ONNX Runtime's step is for a float32 model on the CPU")
        sizes = tuple(model.config.lstm_sizes)
        self.state_names = [f"{x}{k}" for k in range(len(sizes)) for x in ("h", "c")]
        self.state_sizes = [n for n in sizes for _ in (0, 1)]
        self.vocab = int(weight.shape[0])
        names = ["tokens", "blocked", *self.state_names]
        self.outputs = ["logits", *(f"{n}_out" for n in self.state_names)]
        example = (
            torch.zeros(2, dtype=torch.long),
            torch.zeros(2, self.vocab, dtype=torch.bool),
            *(torch.zeros(2, n) for n in self.state_sizes),
        )
        buffer = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's notice that dynamo is the future
            torch.onnx.export(
                _StepGraph(model).eval(), example, buffer, input_names=names, output_names=self.outputs,
                opset_version=17, dynamo=False, dynamic_axes={n: {0: "batch"} for n in names + self.outputs},
            )  # fmt: skip
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # a batch of 4 rows: one core
        options.log_severity_level = 3  # errors only: its notes about graph optimisations are not the user's
        self.session = onnxruntime.InferenceSession(
            buffer.getvalue(), options, providers=["CPUExecutionProvider"]
        )
        self._ortvalue = onnxruntime.OrtValue.ortvalue_from_numpy

    @classmethod
    def kept(cls, model: LSTMModel, hidden: Hidden, last_tokens: torch.Tensor) -> OnnxProgram | None:
        """The model's program, built and checked against `model.step` on (last_tokens, hidden) the
        first time, kept while the weights are unchanged (their version counters); None where ONNX
        Runtime is missing, fails, or disagrees."""
        key = (id(model), tuple(p._version for p in model.parameters()))
        if key not in _PROGRAMS:
            # A model that cannot use it is remembered too: the export is not tried again each Generate.
            if len(_PROGRAMS) >= _KEPT:
                _PROGRAMS.pop(next(iter(_PROGRAMS)), None)  # the oldest
            # the model is held beside its program, so its id is not reused while kept
            _PROGRAMS[key] = (cls._checked(model, hidden, last_tokens), model)
        return _PROGRAMS[key][0]

    @classmethod
    def _checked(cls, model: LSTMModel, hidden: Hidden, last_tokens: torch.Tensor) -> OnnxProgram | None:
        batch = int(last_tokens.shape[0])
        # no onnxruntime, a GPU model, an export failure or other logits: None, and PyTorch's step
        stepper = checked_stepper(
            lambda: cls(model).stepper(batch), model, hidden, last_tokens, "ONNX Runtime's step"
        )
        return None if stepper is None else stepper.program

    def stepper(self, batch: int, blocked: np.ndarray | None = None) -> OnnxStep:
        """A stepper for `batch` rows with its own buffers (one per generation; not thread-safe) and,
        where given, the caller's (B, V) bool mask bound as its `blocked` input."""
        return OnnxStep(self, batch, blocked)


class OnnxStep:
    """`OnnxProgram`'s step for one generation, with its inputs and outputs bound once to two sets of
    numpy buffers that take turns (binding anew each token, or copying the state in and out, costs
    about as much as the step itself: 45 us run, +22 us for copies, +30 us for new bindings).

    The logits and state a step returns are views of those buffers, valid until the next step (clone
    what you keep longer). The state this stepper returned last is taken as is; any other is copied in.

    blocked: None, or a (B, V) bool array bound as the graph's mask: the caller rewrites it between
    steps and every step's logits come back with the tokens it marks at -inf. Raises ValueError for
    an array of another shape or type.
    """

    def __init__(self, program: OnnxProgram, batch: int, blocked: np.ndarray | None = None) -> None:
        self.program = program
        self.run = program.session.run_with_iobinding
        self.tokens = np.zeros(batch, dtype=np.int64)
        if blocked is not None and (
            blocked.shape != (batch, program.vocab) or blocked.dtype != bool or not blocked.flags.c_contiguous
        ):
            raise ValueError(f"blocked must be a C-contiguous bool array of shape {(batch, program.vocab)}")
        self.blocked = blocked
        mask = blocked if blocked is not None else np.zeros((batch, program.vocab), dtype=bool)
        states = [[np.zeros((batch, n), dtype=np.float32) for n in program.state_sizes] for _ in (0, 1)]
        wrap = program._ortvalue
        self._values = []  # the OrtValues share the buffers' memory; kept as long as the bindings
        self.turns = []  # per turn: (binding, its input state arrays, (logits, state) as tensors)
        for turn in (0, 1):
            inputs, outputs = states[turn], states[1 - turn]
            logits = np.zeros((batch, program.vocab), dtype=np.float32)
            binding = program.session.io_binding()
            for name, array in zip(["tokens", "blocked", *program.state_names], [self.tokens, mask, *inputs]):
                self._values.append(value := wrap(array))
                binding.bind_ortvalue_input(name, value)
            for name, array in zip(program.outputs, [logits, *outputs]):
                self._values.append(value := wrap(array))
                binding.bind_ortvalue_output(name, value)
            as_torch = [torch.from_numpy(a)[None] for a in outputs]  # (1, B, H) as the model's state
            hidden = tuple((as_torch[j], as_torch[j + 1]) for j in range(0, len(as_torch), 2))
            self.turns.append((binding, inputs, (torch.from_numpy(logits), hidden)))
        self.turn = 0
        self.last = None  # the state the last step returned

    def step(self, tokens: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """tokens (B,) and the model-format state -> (logits (B, V), new state), views valid until the
        next step."""
        binding, inputs, result = self.turns[self.turn]
        np.copyto(self.tokens, tokens.numpy())
        if hidden is not self.last:  # a state from elsewhere (the primer's): copied into this turn's input
            for array, tensor in zip(inputs, (t for pair in hidden for t in pair)):
                np.copyto(array, tensor[0].numpy())
        self.run(binding)
        self.turn = 1 - self.turn
        self.last = result[1]
        return result
