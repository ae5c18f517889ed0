"""`python -m bachlstm score FILE [--checkpoint NAME] [--json]`: one melody against held-out Bach."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from bachlstm.cli import args as args_types


def add_parser(sub) -> None:
    """Register `score`."""
    p = sub.add_parser(
        "score",
        help="score one melody (MIDI, MusicXML, or a chorale id such as bwv66.6) against held-out Bach",
    )
    p.add_argument("file", help="a MIDI or MusicXML file (its top line is scored), or a corpus piece id")
    p.add_argument(
        "--checkpoint",
        help="also give its bits per note under this model (shipped name, run name or path); held-out "
        "Bach is then that model's own validation/test split",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args_types.add_track_option(p)
    p.set_defaults(func=run)


def _events(spec: str, track: str | None = None):
    """Events of a file (its `track`, else the library's choice), or of a corpus piece's soprano (first
    part if it has none)."""
    from bachlstm.generation.primer import read_primer

    path = Path(spec)
    if path.exists():
        read = read_primer(path.read_bytes(), path.name, line=track)
        for warning in read.warnings:  # what a damaged or unusual file lost, in plain words
            print(f"{path.name}: {warning}", file=sys.stderr)
        args_types.print_lines(path.name, read.lines)
        return read.events, path.name
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import find_voice

    pieces = {p.id: p for p in load_corpus().pieces}
    if spec not in pieces:
        raise FileNotFoundError(f"{spec}: no such file, and no corpus piece of that id (e.g. bwv66.6)")
    part = find_voice(pieces[spec], "soprano") or find_voice(pieces[spec], "first")
    return list(part.events), f"{spec} (soprano)"


def run(args) -> int:
    """Score and print."""
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.scoring import bach_split, score_melody

    events, label = _events(args.file, args.track)
    checkpoint = load_checkpoint(args.checkpoint) if args.checkpoint else None
    split = bach_split(checkpoint)
    result = score_melody(events, split, checkpoint)
    if args.json:
        print(json.dumps({"melody": label, "reference": split.source, **result.to_dict()}, indent=2))
        return 0
    print(f"{label}: key {result.key}; held-out Bach from {split.source} (validation: 10th / median / 90th)")
    for name, value in result.figures.items():
        b = result.bach[name]
        print(f"  {name:>24} {value:8.3f}   Bach {b['p10']:.3f} / {b['median']:.3f} / {b['p90']:.3f}")
    piece = f" (from {result.copy_piece})" if result.copy_piece else ""
    print(
        f"  longest run shared with a training melody: {result.copy_notes} notes{piece}; held-out Bach "
        f"shares up to {result.copy_floor} by chance"
    )
    if result.model:
        m = result.model
        nan = math.isnan(m["pitch_bits_per_note"])
        print(
            f"  under {args.checkpoint}: {m['bits_per_event']:.3f} bits per event, pitch "
            f"{'n/a' if nan else format(m['pitch_bits_per_note'], '.3f')} bits per note, "
            f"pitch top-1 {m['pitch_top1']:.3f}"
        )
    return 0
