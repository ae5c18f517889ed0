"""The model's hyperparameters (ModelConfig) and the weight shapes they imply; no torch needed.

Kept apart from model.py so that listing checkpoints can check a file's declared shapes against its
config without importing torch (about 1-2 s) or building the model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from bachlstm.settings.problems import (
    EACH_PROBABILITY,
    EACH_WIDTH,
    LAYER_COUNT,
    PER_LAYER,
    POSITIVE,
    PROBABILITY,
    WHOLE_NUMBER,
    Checks,
    SettingsError,
)

ACTIVATIONS = ("relu", "tanh", "gelu", "none")

# Generous bounds: they exist to turn a typo (lstm size 51200, dropout 5) into a clear message,
# not to limit experiments a 2-core laptop could still run.
MAX_VOCAB = 100_000
MAX_WIDTH = 4096
MAX_LAYERS = 8
MAX_ORDER = 64  # the short-term model's longest context, in tokens


class ModelConfigError(SettingsError):
    """ModelConfig values out of range or inconsistent; `problems` lists every one."""


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
    # The short-term model mixed into the network's predictions (model/short_term.py): contexts of
    # min..max tokens found earlier in the same melody. max 0 = none (the network alone).
    short_term_max_order: int = 0
    short_term_min_order: int = 2
    short_term_beta: float = 0.5  # how much several different continuations lower the trust
    short_term_cap: float = 0.5  # the most weight the short-term model ever gets

    def __post_init__(self) -> None:
        # Accept lists (JSON, CLI) but store tuples so the config stays hashable and comparable.
        object.__setattr__(self, "lstm_sizes", tuple(self.lstm_sizes))
        object.__setattr__(self, "dropouts", tuple(float(d) for d in self.dropouts))
        check = Checks()  # every problem at once, so a form can name each bad field
        if self.vocab_size is not None:
            check.whole("vocab_size", self.vocab_size, 2, MAX_VOCAB)
        check.whole("embedding_dim", self.embedding_dim, 1, MAX_WIDTH)
        if not 1 <= len(self.lstm_sizes) <= MAX_LAYERS:
            check.add(
                "lstm_sizes",
                f"needs 1 to {MAX_LAYERS} layers, got {len(self.lstm_sizes)}",
                LAYER_COUNT,
                max=MAX_LAYERS,
                got=len(self.lstm_sizes),
            )
        _check_each(check, "lstm_sizes", self.lstm_sizes, "a whole number from 1 to {MAX_WIDTH:,}", _width_ok)
        if len(self.dropouts) != len(self.lstm_sizes):
            check.add(
                "dropouts",
                f"needs one value per LSTM layer ({len(self.lstm_sizes)}), got {len(self.dropouts)}",
                PER_LAYER,
                layers=len(self.lstm_sizes),
                got=len(self.dropouts),
            )
        _check_each(check, "dropouts", self.dropouts, "at least 0 and below 1", _prob_ok)
        if not _prob_ok(self.embedding_dropout):
            check.add(
                "embedding_dropout",
                f"must be at least 0 and below 1, got {self.embedding_dropout!r}",
                PROBABILITY,
                got=self.embedding_dropout,
            )
        if self.hidden_linear is not None:
            check.whole("hidden_linear", self.hidden_linear, 1, MAX_WIDTH)
        if self.activation not in ACTIVATIONS:
            check.add("activation", f"must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if (
            check.whole("pad_id", self.pad_id, 0)
            and self.vocab_size is not None
            and self.pad_id >= self.vocab_size
        ):
            check.add("pad_id", f"{self.pad_id} is outside the vocabulary (size {self.vocab_size})")
        orders_ok = check.whole("short_term_max_order", self.short_term_max_order, 0, MAX_ORDER)
        orders_ok &= check.whole("short_term_min_order", self.short_term_min_order, 1, MAX_ORDER)
        if orders_ok and 0 < self.short_term_max_order < self.short_term_min_order:
            check.add(
                "short_term_max_order",
                f"must be 0 (none) or at least short_term_min_order ({self.short_term_min_order}), "
                f"got {self.short_term_max_order}",
                WHOLE_NUMBER,
                lo=self.short_term_min_order,
                hi=MAX_ORDER,
                got=self.short_term_max_order,
            )
        if not (_number(self.short_term_beta) and 0 < self.short_term_beta < math.inf):
            check.add(
                "short_term_beta",
                f"must be above 0, got {self.short_term_beta!r}",
                POSITIVE,
                got=self.short_term_beta,
            )
        if not (_number(self.short_term_cap) and 0 < self.short_term_cap <= 1):
            check.add(
                "short_term_cap",
                f"must be above 0 and at most 1, got {self.short_term_cap!r}",
                got=self.short_term_cap,
            )
        check.raise_any(ModelConfigError)

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


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _width_ok(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_WIDTH


def _prob_ok(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value < 1.0


def _check_each(check: Checks, field: str, values: tuple, must: str, ok) -> None:
    """One problem for a list field, naming each bad entry: 'layer 2 is 0, layer 3 is -1'."""
    bad = tuple((i + 1, v) for i, v in enumerate(values) if not ok(v))
    if bad:
        listed = ", ".join(f"layer {i} is {v!r}" for i, v in bad)
        code, values = (EACH_WIDTH, {"max": MAX_WIDTH}) if ok is _width_ok else (EACH_PROBABILITY, {})
        check.add(
            field, f"must each be {must.format(MAX_WIDTH=MAX_WIDTH)}: {listed}", code, **values, bad=bad
        )


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
