"""Training data: split by hymn tune, transposition augmentation, and next-token windows as tensors."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch

from bachlstm.corpus.grouping import DisjointSets
from bachlstm.music.events import Melody
from bachlstm.music.pitches import transpose
from bachlstm.settings.problems import FROM_0_TO_1, STRIDE, Checks, SettingsError
from bachlstm.tokens.tokenizers import PAD, UNK

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


# DataConfigError codes of the data as a whole (a page words them).
TOO_FEW_GROUPS = "too_few_groups"  # groups: the selection's hymn-tune groups, too few for three splits
NO_WINDOWS = "no_windows"  # the training split is shorter than one window


class DataConfigError(SettingsError):
    """A DataConfig value or a split request is invalid (`problems`: each bad field, when known)."""

    kind = "data"


@dataclass(frozen=True)
class DataConfig:
    """How melodies become training windows; saved with a checkpoint via `asdict()`."""

    seq_len: int = 128  # tokens per window; a soprano chorale is ~60-250 tokens, so most fit whole
    stride: int = 64  # half-overlapping windows: each long piece gives every position some context
    # Extra transpositions of the training split (0, the original, is always there); an int N given
    # here means every shift in -N..N and is stored as that tuple.
    augment_semitones: tuple[int, ...] = ()
    # Transpositions whose key signature would have more sharps or flats than this are left out (Bach's
    # chorales stay within 4); None: every transposition that stays in the voice's range.
    max_key_accidentals: int | None = None
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, val, test by melody count
    split_seed: int = 0
    # Each training melody's loss weighted by 1 / (melodies of its tune in the training split) ** this:
    # 0 = every melody counts the same, 1 = every tune counts once however often Bach harmonised it.
    tune_weight: float = 0.0

    def __post_init__(self) -> None:
        check = Checks()  # every problem at once, so a form can name each bad field
        seq_ok = check.whole("seq_len", self.seq_len, 1)
        if seq_ok and not (isinstance(self.stride, int) and 1 <= self.stride <= self.seq_len):
            check.add(
                "stride",
                f"must be a whole number from 1 to seq_len ({self.seq_len}) so no token is skipped, "
                f"got {self.stride!r}",
                STRIDE,
                seq_len=self.seq_len,
                got=self.stride,
            )
        check.whole("split_seed", self.split_seed, 0)
        if self.max_key_accidentals is not None:
            check.whole("max_key_accidentals", self.max_key_accidentals, 0, 7)
        w = self.tune_weight
        if not (isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w <= 1):
            check.add("tune_weight", f"must be from 0 to 1, got {w!r}", FROM_0_TO_1, got=w)
        check.raise_any(DataConfigError)
        shifts = self.augment_semitones
        if isinstance(shifts, int) and not isinstance(shifts, bool):  # N is shorthand for -N..N
            if not 0 <= shifts <= 11:
                raise DataConfigError(
                    f"DataConfig.augment_semitones as a number must be in 0..11, got {shifts}"
                )
            shifts = range(-shifts, shifts + 1)
        try:
            shifts = tuple(shifts)
        except TypeError:
            raise DataConfigError(
                "DataConfig.augment_semitones must be a tuple of semitones or a number N (-N..N), "
                f"got {shifts!r}"
            ) from None
        for s in shifts:
            if isinstance(s, bool) or not isinstance(s, int) or not -11 <= s <= 11:
                raise DataConfigError(f"DataConfig.augment_semitones must be integers in -11..11, got {s!r}")
        # Normalised (sorted, unique, no 0) so equal configs compare and save equal.
        object.__setattr__(self, "augment_semitones", tuple(sorted(set(shifts) - {0})))
        fractions = tuple(self.split_fractions)
        check_fractions(fractions)
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in fractions))

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        """Inverse of to_dict (lists from JSON are accepted)."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise DataConfigError(f"unknown DataConfig field(s) {sorted(unknown)}")
        return cls(**d)


def check_fractions(fractions: Sequence[float]) -> None:
    """Raise DataConfigError unless `fractions` are three non-negative numbers summing to 1, train > 0."""
    if len(fractions) != 3:
        raise DataConfigError(f"split_fractions needs 3 values (train, val, test), got {fractions!r}")
    for f in fractions:
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0 <= f <= 1:
            raise DataConfigError(f"split_fractions must be numbers in [0, 1], got {fractions!r}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise DataConfigError(f"split_fractions must sum to 1, got {fractions!r} (sum {sum(fractions)})")
    if fractions[0] <= 0:
        raise DataConfigError(f"split_fractions: the training share must be > 0, got {fractions!r}")


# ---------------------------------------------------------------- split


def tune_groups(melodies: Iterable[Melody]) -> list[list[Melody]]:
    """Melodies grouped so that a tune, and every voice of a piece, falls in exactly one group.

    Two melodies are together when they share `tune` or `piece_id` (transitively), so a chorale
    whose tune recurs elsewhere stays with all its tune-mates. An empty `tune` is its piece's own.
    Groups and their members come sorted, independent of the input order.
    """
    sets = DisjointSets()
    melodies = list(melodies)
    for m in melodies:
        sets.union("piece:" + m.piece_id, "tune:" + (m.tune or m.piece_id))
    groups: dict[str, list[Melody]] = {}
    for m in melodies:
        groups.setdefault(sets.find("piece:" + m.piece_id), []).append(m)
    out = [sorted(g, key=lambda m: (m.piece_id, m.voice)) for g in groups.values()]
    return sorted(out, key=lambda g: (g[0].piece_id, g[0].voice))


def split_by_tune(
    melodies: Iterable[Melody], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[Melody]]:
    """Deterministic train/val/test split in which no tune (and no piece) is in two splits.

    Tune groups (see `tune_groups`) are shuffled with `seed`, then test and val take groups until
    they hold their share of melodies (at least one group each if their share is > 0), train the rest.
    """
    check_fractions(tuple(fractions))
    groups = tune_groups(melodies)
    n = sum(len(g) for g in groups)
    random.Random(seed).shuffle(groups)
    targets = {
        name: (max(1, round(f * n)) if f > 0 else 0) for name, f in zip(("val", "test"), fractions[1:])
    }
    out: dict[str, list[Melody]] = {name: [] for name in SPLITS}
    for g in groups:
        dest = next((s for s in ("test", "val") if len(out[s]) < targets[s]), "train")
        out[dest].extend(g)
    if n and not out["train"]:
        raise DataConfigError(
            f"only {len(groups)} tune group(s): too few to fill train, val and test",
            TOO_FEW_GROUPS,
            groups=len(groups),
        )
    for name in SPLITS:
        out[name].sort(key=lambda m: (m.piece_id, m.voice))
    return out


# ---------------------------------------------------------------- windows


def make_windows(
    sequences: Iterable[Sequence[int]], seq_len: int, stride: int, pad_id: int = PAD
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token windows: inputs[i, t] predicts targets[i, t] = the following token; both (N, seq_len).

    Every token after the first is a target in at least one window. A sequence of n+1 tokens gives
    windows starting at 0, stride, 2*stride, ... until one reaches its end; windows running past
    the end (and short sequences) are right-padded with `pad_id` in inputs and targets, so the
    loss with `ignore_index=pad_id` skips them. Sequences shorter than 2 tokens give nothing.
    """
    if seq_len < 1 or not 1 <= stride <= seq_len:
        # stride > seq_len would skip targets and emit all-padding windows
        raise DataConfigError(f"need seq_len >= 1 and 1 <= stride <= seq_len, got {seq_len}, {stride}")
    inputs: list[list[int]] = []
    targets: list[list[int]] = []
    for seq in sequences:
        seq = list(seq)
        for start in window_starts(len(seq), seq_len, stride):
            x = seq[start : start + seq_len]
            y = seq[start + 1 : start + seq_len + 1]
            inputs.append(x + [pad_id] * (seq_len - len(x)))
            targets.append(y + [pad_id] * (seq_len - len(y)))
    if not inputs:
        empty = torch.zeros((0, seq_len), dtype=torch.long)
        return empty, empty.clone()
    return torch.tensor(inputs, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


def window_starts(length: int, seq_len: int, stride: int) -> list[int]:
    """Where make_windows starts the windows of a sequence of `length` tokens (none below 2 tokens)."""
    n = length - 1  # number of (input, target) pairs
    starts, start = [], 0
    while n > 0:
        starts.append(start)
        if start + seq_len >= n:
            break
        start += stride
    return starts


def tune_weights(melodies: Sequence[Melody], train: Iterable[Melody], power: float) -> list[float]:
    """Each melody's weight: 1 / (melodies of its tune group in `train`) ** power (`tune_groups`' groups).

    `melodies` may hold transpositions of the `train` melodies (same piece and voice, same weight).
    """
    size = {(m.piece_id, m.voice): len(g) for g in tune_groups(train) for m in g}
    return [size[(m.piece_id, m.voice)] ** -power for m in melodies]


def window_weights(
    sequences: Sequence[Sequence[int]], weights: Sequence[float], seq_len: int, stride: int
) -> torch.Tensor:
    """make_windows' windows' loss weights (N,): each its sequence's, scaled to a mean of 1 per target token.

    With the mean at 1 a weighted run takes steps of the size of an unweighted one.
    """
    per_window, per_tokens = [], []
    for seq, w in zip(sequences, weights):
        for start in window_starts(len(seq), seq_len, stride):
            per_window.append(w)
            per_tokens.append(min(seq_len, len(seq) - 1 - start))
    out = torch.tensor(per_window, dtype=torch.float64)
    tokens = torch.tensor(per_tokens, dtype=torch.float64)
    scale = tokens.sum() / (out * tokens).sum() if len(out) else 1.0
    return (out * scale).float()


# ---------------------------------------------------------------- datasets


def sequence_tensors(
    sequences: Iterable[Sequence[int]], pad_id: int = PAD
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole sequences as right-padded (N, T) inputs and next-token targets (`pad_id` where padded).

    One row per sequence, T = the longest sequence minus one (at least 1). Used for validation and
    test so each token is scored once, with its whole piece as context.
    """
    seqs = [list(s) for s in sequences]
    t = max((len(s) - 1 for s in seqs), default=1)
    inputs = torch.full((len(seqs), max(t, 1)), pad_id, dtype=torch.long)
    targets = torch.full_like(inputs, pad_id)
    for i, s in enumerate(seqs):
        n = len(s) - 1
        if n > 0:
            inputs[i, :n] = torch.tensor(s[:-1])
            targets[i, :n] = torch.tensor(s[1:])
    return inputs, targets


@dataclass(frozen=True)
class TokenTensors:
    """Next-token pairs: inputs[i, t] predicts targets[i, t]; both (N, T) token ids, PAD where padded.

    `weights` (N,): each row's loss weight (DataConfig.tune_weight); None = all rows count the same.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.inputs)


@dataclass
class Datasets:
    """Training windows, whole val/test melodies, the piece ids of each split, and figures.

    `train` holds `make_windows` windows of the augmented training split; `val` and `test` hold one row
    per melody (`sequence_tensors`), which is how the training loop scores them.
    """

    train: TokenTensors
    val: TokenTensors
    test: TokenTensors
    split: dict[str, list[str]]
    melodies: dict[str, list[Melody]] = field(default_factory=dict)  # before augmentation
    stats: dict = field(default_factory=dict)


def augment(
    melodies: Iterable[Melody], semitones: Iterable[int], ranges=None, max_key_accidentals: int | None = None
) -> tuple[list[Melody], int]:
    """The melodies plus each transposition that stays in range (and, with `max_key_accidentals`, in a key
    signature with at most that many sharps or flats), and how many were left out."""
    melodies = list(melodies)
    out, skipped = list(melodies), 0
    for s in semitones:
        for m in melodies:
            t = transpose(m, s, ranges)
            if t is None or (max_key_accidentals is not None and abs(t.key_sharps) > max_key_accidentals):
                skipped += 1
            else:
                out.append(t)
    return out, skipped


def build_datasets(melodies: Iterable[Melody], tokenizer, config: DataConfig) -> Datasets:
    """Split by tune, augment the training split, encode; train in windows, val/test whole."""
    split = split_by_tune(melodies, config.split_fractions, config.split_seed)
    stats: dict = {}
    tensors = {}
    for name in SPLITS:
        mels = split[name]
        skipped = 0
        if name == "train" and config.augment_semitones:
            mels, skipped = augment(mels, config.augment_semitones, None, config.max_key_accidentals)
        seqs = [tokenizer.encode(m) for m in mels]
        n_unknown = sum(s.count(UNK) for s in seqs)
        if n_unknown:
            log.warning("%s split: %d unknown tokens (UNK) in %d melodies", name, n_unknown, len(mels))
        weights = None
        if name == "train":
            x, y = make_windows(seqs, config.seq_len, config.stride, PAD)
            if config.tune_weight:
                per_melody = tune_weights(mels, split["train"], config.tune_weight)
                weights = window_weights(seqs, per_melody, config.seq_len, config.stride)
        else:
            x, y = sequence_tensors(seqs, PAD)
        tensors[name] = TokenTensors(x, y, weights)
        stats[name] = {
            "melodies": len(split[name]),
            "sequences": len(seqs),
            "transpositions_out_of_range": skipped,  # or, with max_key_accidentals, in a remote key
            "tokens": sum(len(s) for s in seqs),
            "unknown_tokens": n_unknown,
            "rows": int(x.shape[0]),  # train: windows; val/test: one per melody
            "target_tokens": int((y != PAD).sum()),
        }
    ids = {name: sorted({m.piece_id for m in split[name]}) for name in SPLITS}
    return Datasets(tensors["train"], tensors["val"], tensors["test"], ids, split, stats)
