"""`python -m bachlstm evaluate --checkpoint PATH|NAME --split test [--json]`: token and per-note figures."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    """Register `evaluate`."""
    p = sub.add_parser("evaluate", help="score a checkpoint on its tune-disjoint val or test split")
    p.add_argument(
        "--checkpoint", required=True, help="shipped name (workshop, bach, chorale), run name or path"
    )
    p.add_argument("--split", choices=("val", "test", "train"), default="test")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    """Evaluate and print the metrics (overall and per token type)."""
    # Late imports: torch and the corpus load only when the command runs, so `--help` stays instant.
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.training.evaluation import evaluate

    result = evaluate(load_checkpoint(args.checkpoint), split=args.split)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    where = f"{result['checkpoint']} on {args.split}"
    print(f"{where} ({result['n_melodies']} melodies, {result['n_tokens']} tokens)")
    print(f"  perplexity {result['perplexity']:.3f}  top-1 {result['top1']:.3f}  top-5 {result['top5']:.3f}")
    print(
        f"  per note ({result['n_notes']} notes, {result['n_events']} notes+rests): "
        f"{result['bits_per_event']:.3f} bits per event, pitch {result['pitch_bits_per_note']:.3f} bits, "
        f"duration {result['duration_bits_per_note']:.3f} bits, pitch top-1 {result['pitch_top1']:.3f}"
    )
    print(
        f"  pitch given the note's duration (IDyOM's condition): {result['pitch_bits_given_duration']:.3f} "
        "bits per note"
    )
    if "network_pitch_bits_given_duration" in result:
        print(
            "  with its short-term model; the network alone: pitch "
            f"{result['network_pitch_bits_per_note']:.3f} bits, given the duration "
            f"{result['network_pitch_bits_given_duration']:.3f} bits "
            "(perplexity and top-1/top-5: the network's)"
        )
    for name, m in result.get("per_type", {}).items():
        print(
            f"  {name:>10}: perplexity {m['perplexity']:8.3f}  top-1 {m['top1']:.3f}  "
            f"top-5 {m['top5']:.3f}  ({m['n_tokens']} tokens)"
        )
    return 0
