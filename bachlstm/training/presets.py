"""Named training recipes (`workshop`, `bach`): data selection, tokenizer, windows, model and training."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bachlstm.corpus.selection import SelectionConfig
from bachlstm.model.lstm import ModelConfig
from bachlstm.settings.problems import (
    ABOVE_0_TO_1,
    FROM_0_TO_1,
    PROBABILITY,
    SHORT_TERM_TOKENS,
    Checks,
    Problem,
    SettingsError,
    problems_of,
)
from bachlstm.settings.seeds import SeedError, check_seed
from bachlstm.training.dataset import DataConfig

LR_SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")


class PresetError(SettingsError):
    """Unknown preset, unknown override or values out of range (`problems`: every bad field at once)."""


@dataclass(frozen=True)
class TokenizerSpec:
    """Which tokenizer to build (`tokens.build_tokenizer(name, melodies, **options)`)."""

    name: str = "event"
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in ("event", "factored"):
            raise PresetError(f"tokenizer must be 'event' or 'factored', got {self.name!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; every field can be overridden from the CLI or the dashboard."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3  # Adam's default step size; fine for small LSTMs
    weight_decay: float = 0.0  # decoupled (AdamW) weight decay
    clip_norm: float | None = 1.0  # LSTM gradients can explode on long sequences; clipping caps the step
    lr_schedule: str = "constant"  # "cosine" decays to lr_min_ratio * lr over the run
    lr_min_ratio: float = 0.05
    label_smoothing: float = 0.0
    seed: int = 0
    early_stopping: int | None = None  # stop after this many epochs without a better val loss
    # Average the weights of the last N epochs' ends; the average is kept when its val loss beats the best
    # epoch's (checkpoint averaging). None = off.
    average_last: int | None = None
    max_steps: int | None = None  # cap on optimizer steps (quick tests / demos)
    max_melodies: int | None = None  # train on the first N selected melodies only (quick tests)
    num_threads: int | None = None  # CPU threads; None = chosen for the model size
    device: str = "auto"  # "auto" = CUDA, then Apple MPS, then CPU
    save_optimizer: bool = True  # keep Adam's state in the checkpoint so resume continues exactly

    def __post_init__(self) -> None:
        check = Checks()  # every problem at once, so a form can name each bad field
        check.whole("epochs", self.epochs, 1, 10_000)
        check.whole("batch_size", self.batch_size, 1, 65_536)
        if not (_number(self.lr) and 0 < self.lr <= 1.0 and math.isfinite(self.lr)):
            check.add("lr", f"must be above 0 and at most 1, got {self.lr!r}", ABOVE_0_TO_1, got=self.lr)
        if not (_number(self.weight_decay) and 0 <= self.weight_decay < 1):
            check.add(
                "weight_decay",
                f"must be at least 0 and below 1, got {self.weight_decay!r}",
                PROBABILITY,
                got=self.weight_decay,
            )
        if self.clip_norm is not None and not (_number(self.clip_norm) and 0 < self.clip_norm <= 1e6):
            check.add("clip_norm", f"must be positive (or None for no clipping), got {self.clip_norm!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            check.add("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not (_number(self.lr_min_ratio) and 0 <= self.lr_min_ratio <= 1):
            check.add(
                "lr_min_ratio",
                f"must be from 0 to 1, got {self.lr_min_ratio!r}",
                FROM_0_TO_1,
                got=self.lr_min_ratio,
            )
        if not (_number(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            check.add(
                "label_smoothing",
                f"must be at least 0 and below 1, got {self.label_smoothing!r}",
                PROBABILITY,
                got=self.label_smoothing,
            )
        try:
            check_seed(self.seed)
        except SeedError as exc:
            check.extend(exc.problems)
        for name, lo, hi in _OPTIONAL_WHOLE:
            if getattr(self, name) is not None:
                check.whole(name, getattr(self, name), lo, hi)
        if self.device not in DEVICES:
            check.add("device", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        check.raise_any(PresetError)


# TrainConfig's optional whole numbers (None = off) and their bounds.
_OPTIONAL_WHOLE = (
    ("early_stopping", 1, 10_000),
    ("average_last", 2, 10_000),
    ("max_steps", 1, 10**9),
    ("max_melodies", 3, 10**7),
    ("num_threads", 1, 1024),
)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Preset:
    """A full recipe: which melodies, which tokens, which windows, which network, how to train it."""

    name: str
    selection: SelectionConfig
    tokenizer: TokenizerSpec
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    description: str = ""

    def __post_init__(self) -> None:
        if self.model.short_term_max_order and self.tokenizer.name != "event":
            raise PresetError(
                [
                    Problem(
                        "short_term_max_order",
                        "needs the event tokens (one token per note), or 0",
                        SHORT_TERM_TOKENS,
                    )
                ]
            )

    def to_dict(self) -> dict:
        """JSON-safe dict (stored in checkpoints)."""
        return {
            "name": self.name,
            "description": self.description,
            "selection": _plain(asdict(self.selection)),
            "tokenizer": _plain(asdict(self.tokenizer)),
            "data": _plain(asdict(self.data)),
            "model": self.model.to_dict(),
            "train": _plain(asdict(self.train)),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preset:
        """Inverse of to_dict."""
        try:
            return cls(
                name=d["name"],
                description=d.get("description", ""),
                selection=_build(SelectionConfig, d["selection"]),
                tokenizer=TokenizerSpec(**d["tokenizer"]),
                data=_build(DataConfig, d["data"]),
                model=ModelConfig.from_dict(d["model"]),
                train=_build(TrainConfig, d["train"]),
            )
        except (KeyError, TypeError) as exc:
            raise PresetError(f"invalid preset dict: {exc}") from exc


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _build(cls: type, d: dict) -> Any:
    # JSON turns tuples into lists; give tuple-typed fields their tuples back.
    kwargs = {}
    for f in fields(cls):
        if f.name in d:
            v = d[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


def _workshop() -> Preset:
    return Preset(
        name="workshop",
        description=(
            "The original workshop network: embedding 3, LSTM 6-12-6 (dropout 0.2/0.3/0.3), a 512-unit "
            "linear layer, batch 64, stateless, factored tokens, 4/4 first part with 30-65 events."
        ),
        selection=SelectionConfig.preset("original"),
        tokenizer=TokenizerSpec("factored"),
        # 64-token windows, each token once: with batch 64 that gives ~25 updates per epoch instead of 4
        # for whole pieces, and the tiny network needs many updates (measured: test top-1 0.75 in 30
        # epochs vs 0.68 after 80 epochs of whole pieces). Evaluation still scores whole pieces.
        data=DataConfig(seq_len=64, stride=64),
        model=ModelConfig(
            embedding_dim=3,
            lstm_sizes=(6, 12, 6),
            dropouts=(0.2, 0.3, 0.3),
            hidden_linear=512,
            # The README names no activation; without one the 512-unit layer would collapse into
            # the output layer (two linear maps compose to one), so ReLU.
            activation="relu",
        ),
        # A higher step size than Adam's usual 1e-3: 24k parameters, few updates, one minute of budget.
        train=TrainConfig(epochs=45, batch_size=64, lr=1e-2, lr_schedule="cosine", seed=0),
    )


def _bach() -> Preset:
    return Preset(
        name="bach",
        description=(
            "A stronger model: one token per note/rest plus bar lines and ties, 4/4 soprano melodies, "
            "every training melody also transposed by -5..+6 semitones, one 256-unit LSTM layer."
        ),
        selection=SelectionConfig(time_signatures=("4/4",), voice="soprano"),
        tokenizer=TokenizerSpec("event", {"bar_tokens": True, "ties": True}),
        # Transposition multiplies the 287 training melodies by ~9 (those leaving the soprano range are
        # skipped): the network must learn intervals, not memorise keys. 128 tokens hold most chorales.
        data=DataConfig(seq_len=128, stride=64, augment_semitones=tuple(range(-5, 7))),
        # Chosen by validation perplexity, 12 epochs each (val ppl; test ppl / top-1 / top-5): one
        # 256-unit layer at lr 3e-3 5.65 (6.06/0.48/0.83), 5e-3 4.95 (5.56/0.50/0.84), 8e-3 4.69
        # (5.26/0.52/0.85); two 128-unit layers 9.24 (9.29/0.36/0.74). Two 256-unit layers cost ~2x
        # per token for the 10-minute budget and ~4 MB of weights. See checkpoints/README.md.
        model=ModelConfig(embedding_dim=64, lstm_sizes=(256,), dropouts=(0.3,), embedding_dropout=0.1),
        train=TrainConfig(epochs=12, batch_size=64, lr=8e-3, lr_schedule="cosine", seed=0),
    )


def _chorale() -> Preset:
    bach = _bach()
    return dataclasses.replace(
        bach,
        name="chorale",
        description=(
            "The default model: the bach network and tokens, its training melodies transposed only into "
            "keys of at most 3 sharps or flats (where Bach's chorales stay), each hymn tune counted once "
            "however often Bach harmonised it, dropout 0.4, batch 32, 20 epochs; with a short-term model "
            "(what the melody itself did before: contexts of 2 to 8 tokens)."
        ),
        # Measured against `bach` on the same test split (checkpoints/README.md, ablation): the key limit
        # takes the remote keys of sampled melodies from 0.39 to 0.02-0.06; batch 32 gives twice the
        # updates of the now smaller data. One weight per tune (tune_weight=1: a tune in 15 training
        # melodies weighs as one) ends the copies of much-harmonised tunes (6 of 1152 sampled melodies,
        # then 0); with dropout 0.4 over 20 epochs, test pitch bits given duration 2.031 -> 1.977.
        data=dataclasses.replace(bach.data, max_key_accidentals=3, tune_weight=1.0),
        # The short-term model (model/short_term.py) changes no weight; chosen on the validation split
        # (pitch bits given duration 1.917 -> 1.755; test 1.977 -> 1.885; checkpoints/README.md).
        model=dataclasses.replace(bach.model, dropouts=(0.4,), short_term_max_order=8),
        train=dataclasses.replace(bach.train, batch_size=32, epochs=20),
    )


PRESETS = {"workshop": _workshop, "bach": _bach, "chorale": _chorale}


def preset_names() -> list[str]:
    """Names accepted by get_preset."""
    return list(PRESETS)


def get_preset(name: str, **overrides: Any) -> Preset:
    """A fresh copy of the named preset, with `overrides` applied (see override())."""
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; choose one of {preset_names()}")
    preset = PRESETS[name]()
    return override(preset, **overrides) if overrides else preset


_SECTIONS = ("selection", "data", "model", "train")
# Not overridable: the vocabulary size comes from the tokenizer, PAD's id is fixed by tokens.PAD.
_FIXED = ("vocab_size", "pad_id")


def overridable_fields() -> dict[str, str]:
    """Flat override name -> section ('train', 'model', 'data', 'selection'); names unique across them."""
    out: dict[str, str] = {}
    for section, cls in zip(_SECTIONS, (SelectionConfig, DataConfig, ModelConfig, TrainConfig)):
        for f in fields(cls):
            if f.name in _FIXED:
                continue
            # First section wins on a clash; the dotted form "section.field" always works.
            out.setdefault(f.name, section)
    return out


def override(preset: Preset, **changes: Any) -> Preset:
    """A copy of `preset` with fields replaced: `epochs=5`, `lstm_sizes=(32,)`, `model__dropouts=...`.

    Flat names are looked up in train, model, data and selection configs; `section__field` picks one
    explicitly. Values go through each config's validation, so absurd values raise a clear error.
    """
    flat = overridable_fields()
    per_section: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    changes = dict(changes)
    preset = _override_tokenizer(preset, changes)  # consumes "tokenizer" and tokenizer option keys
    for key, value in changes.items():
        section, _, fname = key.partition("__") if "__" in key else (flat.get(key), "", key)
        if fname in _FIXED:
            raise PresetError(f"{fname} is fixed (vocab_size comes from the tokenizer, pad_id is tokens.PAD)")
        if section not in per_section or fname not in {f.name for f in fields(_section_cls(section))}:
            names = sorted([*flat, "tokenizer", *_tokenizer_options(preset.tokenizer.name)])
            raise PresetError(f"unknown setting {key!r}; valid settings: {', '.join(names)}")
        per_section[section][fname] = value
    return dataclasses.replace(preset, **_replaced_sections(preset, per_section))


def _replaced_sections(preset: Preset, per_section: dict[str, dict[str, Any]]) -> dict:
    """Each changed section rebuilt; PresetError with the problems of every section at once."""
    replaced, check = {}, Checks()
    for section, kw in per_section.items():
        if not kw:
            continue
        current = getattr(preset, section)
        # Changing the number of LSTM layers without giving dropouts: repeat the first dropout.
        if section == "model" and "lstm_sizes" in kw and "dropouts" not in kw:
            kw["dropouts"] = (current.dropouts[0],) * len(tuple(kw["lstm_sizes"]))
        # Changing seq_len alone keeps the preset's window overlap (stride / seq_len).
        if section == "data" and "seq_len" in kw and "stride" not in kw and isinstance(kw["seq_len"], int):
            kw["stride"] = max(1, round(kw["seq_len"] * current.stride / current.seq_len))
        try:
            replaced[section] = dataclasses.replace(current, **kw)
        except (TypeError, ValueError) as exc:
            if not problems_of(exc):
                raise PresetError(f"invalid {section} setting: {exc}") from exc
            check.extend(problems_of(exc))
    check.raise_any(PresetError)
    return replaced


def _tokenizer_options(name: str) -> dict:
    from bachlstm.tokens.tokenizers import TOKENIZERS

    return dict(TOKENIZERS[name].OPTIONS)


def _override_tokenizer(preset: Preset, changes: dict) -> Preset:
    """Apply `tokenizer=...` and tokenizer options (`bar_tokens=False`...) and remove them from changes."""
    from bachlstm.tokens.tokenizers import TOKENIZERS

    name = changes.pop("tokenizer", preset.tokenizer.name)
    if name not in TOKENIZERS:
        raise PresetError(f"tokenizer must be one of {sorted(TOKENIZERS)}, got {name!r}")
    options = dict(preset.tokenizer.options) if name == preset.tokenizer.name else {}
    for key in list(changes):
        if key in TOKENIZERS[name].OPTIONS:
            options[key] = changes.pop(key)
    try:
        TOKENIZERS[name].check_options(options)
    except ValueError as exc:
        raise PresetError(f"invalid tokenizer setting: {exc}") from exc
    return dataclasses.replace(preset, tokenizer=TokenizerSpec(name, options))


def _section_cls(section: str) -> type:
    return {"selection": SelectionConfig, "data": DataConfig, "model": ModelConfig, "train": TrainConfig}[
        section
    ]
