"""`python -m bachlstm train --preset workshop|bach [...]`: train a preset with a progress bar on stderr."""

from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

from bachlstm.cli import args as args_types

# Common overrides get their own flag; any other preset field goes through --set KEY=VALUE.
FLAGS = {
    "epochs": int,
    "batch_size": int,
    "lr": float,
    "seed": args_types.seed,
    "seq_len": int,
    "stride": int,
    "embedding_dim": int,
    "weight_decay": float,
    "early_stopping": int,
    "max_steps": int,
    "max_melodies": int,
    "num_threads": int,
    "device": str,
}


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def _float_tuple(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def add_parser(sub) -> None:
    """Register `train`."""
    from bachlstm.training.presets import PRESETS

    p = sub.add_parser("train", help="train a preset and save a checkpoint")
    p.add_argument("--preset", choices=sorted(PRESETS), default="workshop")
    for name, kind in FLAGS.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None)
    p.add_argument("--lstm-sizes", type=_int_tuple, default=None, help="e.g. 256,256")
    p.add_argument("--dropouts", type=_float_tuple, default=None, help="one per LSTM layer, e.g. 0.3,0.3")
    p.add_argument("--hidden-linear", type=int, default=None, help="width of the hidden linear layer")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any preset field, e.g. --set lr_schedule=cosine --set augment_semitones=(-2,2)",
    )
    p.add_argument("--out", help="checkpoint file (.safetensors) or run name (saved in runs/)")
    p.add_argument("--resume", help="continue training a checkpoint (path or name); --out may be the same")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing checkpoint at --out (kept until the new run is better or completes; "
        "never replaces a file that is not a checkpoint)",
    )
    p.add_argument("--no-optimizer-state", action="store_true", help="save weights only (smaller file)")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _overrides(args) -> dict:
    changes = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    for name in ("lstm_sizes", "dropouts", "hidden_linear"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.no_optimizer_state:
        changes["save_optimizer"] = False
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set needs KEY=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a bare word such as cosine
        changes[key.strip()] = value
    return changes


def _out_path(args):
    from bachlstm.model.checkpoints import SUFFIX, run_path

    if args.out is None:
        return run_path(f"{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}")
    if "/" in args.out or args.out.endswith(SUFFIX):
        return args.out
    return run_path(args.out)


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most every 0.2 s."""

    def __init__(self, stream=sys.stderr, width: int = 24) -> None:
        self.stream, self.width, self.last = stream, width, 0.0
        self.val = ""

    def __call__(self, p) -> None:
        now = time.monotonic()
        if p.kind == "epoch":
            self.val = f" val {p.val_loss:.3f} ppl {p.val_perplexity:.2f} top1 {p.val_top1:.3f}"
        elif p.kind == "step" and now - self.last < 0.2:
            return
        self.last = now
        frac = p.step / p.total_steps if p.total_steps else 1.0
        bar = "#" * int(frac * self.width)
        eta = f" eta {p.eta_s:.0f}s" if p.eta_s is not None else ""
        loss = f" loss {p.train_loss:.3f}" if p.train_loss is not None else ""
        line = (
            f"\repoch {p.epoch} [{bar:<{self.width}}] {p.step}/{p.total_steps}{loss}{self.val}"
            f" {p.tokens_per_s / 1000:.1f}k tok/s {p.elapsed_s:.0f}s{eta}"
        )
        self.stream.write(line.ljust(120))
        if p.kind == "done":
            self.stream.write("\n")
        self.stream.flush()


def run(args) -> int:
    """Train, save the best checkpoint, print the final metrics."""
    from bachlstm.training.loop import train
    from bachlstm.training.presets import get_preset
    from bachlstm.training.run_data import check_budget
    from bachlstm.training.run_files import check_out, remove_stale_temp_files

    preset = get_preset(args.preset, **_overrides(args))
    # Refuse an occupied --out before the corpus is even loaded.
    out = check_out(_out_path(args), overwrite=args.overwrite, resume=args.resume)
    remove_stale_temp_files([Path(out).parent])
    if args.resume is None:
        estimate = check_budget(preset)  # BudgetError (one line, exit 2) when over a limit
        if not args.quiet:
            print(estimate.summary(), file=sys.stderr)
    result = train(
        preset,
        callback=None if args.quiet else ProgressBar(),
        resume=args.resume,
        out=out,
        overwrite=args.overwrite,
    )
    summary = {"checkpoint": str(result.checkpoint_path), "preset": preset.name, **result.metrics}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        m = result.metrics
        print(f"saved {result.checkpoint_path}")
        if result.checkpoint_path is not None and Path(result.checkpoint_path) != Path(out):
            print(f"(kept beside {out}, which holds a better model; README: 'Nothing saved is lost')")
        print(
            f"best epoch {m['best_epoch']} of {m['epochs_run']} in {m['elapsed_s']:.1f} s "
            f"({m['train_tokens_per_s'] or 0:.0f} tokens/s, {m['device']}, {m['threads']} threads)"
        )
        for split in ("val", "test"):
            print(
                f"{split}: perplexity {m[f'{split}_perplexity']:.3f}  top-1 {m[f'{split}_top1']:.3f}  "
                f"top-5 {m[f'{split}_top5']:.3f}  ({m[f'{split}_tokens']} tokens)"
            )
        if result.stopped:
            print(f"stopped early: {result.stop_reason}")
    return 0
