"""`python -m bachlstm inspect --checkpoint NAME [ID|FILE] [--json]`: inside the model for one melody.

Prints each note's surprise (bits), the units that best track each musical feature and the embedding
view: the tables of the dashboard's "Inside the model" page.
"""

from __future__ import annotations

import json

from bachlstm.cli import args as args_types


def add_parser(sub) -> None:
    """Register `inspect`."""
    p = sub.add_parser("inspect", help="surprise per note, units that track the meter, the token embedding")
    p.add_argument(
        "--checkpoint", required=True, help="shipped name (workshop, bach, chorale), run name or path"
    )
    what = (
        "a chorale id of the model's melodies (e.g. bwv66.6) or a MIDI/MusicXML file (the whole file; "
        "with several parts, its top line); without one, the model's first held-out melody line "
        "(a soprano before an instrument's part), by the rule of the Inside the model page"
    )
    p.add_argument("melody", nargs="?", metavar="ID|FILE", help=what)
    p.add_argument("--melody", dest="melody_option", metavar="ID|FILE", help="the same, as an option")
    args_types.add_track_option(p)
    p.add_argument("--units", type=int, default=3, help="best units listed per feature (default 3)")
    p.add_argument("--json", action="store_true", help="print the tables as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    """Inspect one melody and print the tables."""
    # Late imports: torch and the corpus load only when the command runs, so `--help` stays instant.
    import torch

    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.inspection import checkpoint_embedding, find_melody, inspect_melody, inspection_json

    if args.units < 1:
        raise ValueError(f"--units must be at least 1, got {args.units}")
    if args.melody and args.melody_option and args.melody != args.melody_option:
        raise ValueError(f"two melodies given ({args.melody} and --melody {args.melody_option}): give one")
    torch.set_num_threads(1)  # one melody, step by step: more threads only spin
    checkpoint = load_checkpoint(args.checkpoint)
    events, label = find_melody(checkpoint, args.melody or args.melody_option, line=args.track)
    inspection = inspect_melody(checkpoint, events, label)
    out = {
        "checkpoint": str(checkpoint.path),
        **inspection_json(inspection, checkpoint_embedding(checkpoint), args.units),
    }
    print(json.dumps(out, indent=2) if args.json else format_report(out))
    return 0


def format_report(out: dict) -> str:
    """Readable lines for inspection_json's dict."""
    notes = sorted(out["surprise"], key=lambda r: -r["bits"])
    lines = [
        f"{out['melody']} under {out['checkpoint']}: {out['n_events']} notes and rests, "
        f"{out['n_tokens']} tokens",
        f"  mean surprise {out['mean_bits_per_note']:.2f} bits per note (bar lines and end: "
        f"{out['structure_bits']:.1f} bits in all)",
        "  most surprising: " + ", ".join(_note(r) for r in notes[:5]),
        "  least surprising: " + ", ".join(_note(r) for r in notes[::-1][:5]),
        "  units that track:",
    ]
    for r in out["units"]:
        unit = f"layer {r['layer'] + 1} unit {r['unit']:>3} ({r['signal']})"  # counted from 1 for people
        lines.append(f"    {r['feature']:>16}: {unit} r = {r['r']:+.2f}")
    emb = out["embedding"]
    shares = ", ".join(f"{e:.0%}" for e in emb["explained"])
    how = "drawn directly" if emb["method"] == "direct" else "projected by PCA"
    lines.append(f"  embedding: {emb['dims']} dimensions, {how} (variance per axis {shares})")
    if out["n_unknown"]:
        lines.append(
            f"  warning: {out['n_unknown']} tokens are not in the vocabulary (their bits mean little)"
        )
    return "\n".join(lines)


def _note(r: dict) -> str:
    return f"{r['name']} (bar {r['measure']}, beat {r['beat']:g}: {r['bits']:.1f} bits)"
