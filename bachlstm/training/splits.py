"""A run's melodies: the preset's selection from the corpus, and the train/val/test split by melody key.

Training records the split as keys ('piece_id:voice'); evaluation and the held-out reference rebuild
the melodies from those keys and the selection stored in the checkpoint's `preset_config`.
"""

from __future__ import annotations

from bachlstm.corpus.cache import load_corpus
from bachlstm.corpus.selection import SelectionConfig, select, voice_role
from bachlstm.music.events import Melody
from bachlstm.training.presets import Preset, PresetError

SPLITS = ("train", "val", "test")


def melody_key(melody: Melody) -> str:
    """The id a split records for a melody: 'piece_id:voice'."""
    return f"{melody.piece_id}:{melody.voice}"


def split_keys(parts: dict[str, list[Melody]]) -> dict[str, list[str]]:
    """Melody keys of each split ('train', 'val', 'test'), in the given order."""
    return {name: [melody_key(m) for m in parts[name]] for name in SPLITS}


def trained_pieces(meta: dict) -> frozenset[str]:
    """The piece ids of a checkpoint's training melodies, from the split keys in its metadata (no corpus
    needed); empty when it records no split."""
    split = meta.get("split")
    train = split.get("train") if isinstance(split, dict) else None
    return frozenset(str(key).rpartition(":")[0] for key in train or ())


def inspection_order(melodies, trained: frozenset[str] = frozenset()) -> list:
    """The melodies in the order the Inside page lists them and `inspect` takes its default from: first
    the sung melody lines (soprano) of pieces not in `trained` (none of the models behind `trained`
    learnt from them), then other lines of those pieces (a trumpet playing the tune, with bars of rests),
    then the trained pieces' melody lines and other lines; each group in the given order."""
    melodies = list(melodies)
    return sorted(melodies, key=lambda m: (m.piece_id in trained, voice_role(m.voice) != "soprano"))


def load_melodies(preset: Preset, melodies: list[Melody] | None = None) -> list[Melody]:
    """The preset's selected melodies from the corpus cache (or `melodies`), capped by max_melodies.

    PresetError when fewer than 3 remain: train, val and test need one melody each at least.
    """
    if melodies is None:
        melodies = list(select(load_corpus(), preset.selection).melodies)
    if preset.train.max_melodies is not None:
        melodies = melodies[: preset.train.max_melodies]
    if len(melodies) < 3:
        raise PresetError(f"need at least 3 melodies to split into train/val/test, got {len(melodies)}")
    return melodies


def checkpoint_selection(meta: dict) -> SelectionConfig:
    """The corpus selection a checkpoint was trained on (its metadata's `preset_config.selection`).

    ValueError when the metadata records none (a file not written by `train`).
    """
    selection = (meta.get("preset_config") or {}).get("selection")
    if not isinstance(selection, dict):
        raise ValueError("the checkpoint records no data selection (preset_config): its melodies are unknown")
    return SelectionConfig.from_dict(selection)


def split_melodies(meta: dict, melodies: list[Melody] | None = None) -> dict[str, list[Melody]]:
    """Re-create a checkpoint's train/val/test melodies from the split keys recorded in its metadata.

    The melodies come from `melodies` or else the corpus with the checkpoint's selection. ValueError
    when the metadata has no split or a recorded key is not among the melodies.
    """
    split = meta.get("split")
    if not isinstance(split, dict) or not all(k in split for k in SPLITS):
        raise ValueError("the checkpoint records no train/val/test split, so it cannot be evaluated")
    if melodies is None:
        melodies = list(select(load_corpus(), checkpoint_selection(meta)).melodies)
    by_key = {melody_key(m): m for m in melodies}
    out = {}
    for name in SPLITS:
        missing = [k for k in split[name] if k not in by_key]
        if missing:
            raise ValueError(
                f"{len(missing)} {name} melodies recorded in the checkpoint are not in the corpus "
                f"selection (first: {missing[0]}); was the corpus cache rebuilt differently?"
            )
        out[name] = [by_key[k] for k in split[name]]
    return out
