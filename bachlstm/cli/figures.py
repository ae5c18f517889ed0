"""`python -m bachlstm figures [--checkpoint NAME ...] [--check]`: the Sampling page's 64-melody method
comparison for its default settings, written beside each checkpoint (`reports.stored_figures`), so the
page reads them instead of making them on a server's first Generate. Run it after retraining a model."""

from __future__ import annotations

import sys
import time


def add_parser(sub) -> None:
    """Register `figures`."""
    p = sub.add_parser(
        "figures",
        help="store the Sampling page's method comparison (default settings) beside each checkpoint",
    )
    p.add_argument(
        "--checkpoint",
        action="append",
        metavar="NAME",
        help="shipped name, run name or path; repeat for several (default: the shipped models)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing: recompute and exit 1 unless the stored figures are exactly these",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Make each checkpoint's figures; write them, or with --check compare them with the stored file."""
    from bachlstm.model.checkpoints import SHIPPED_NAMES, load_checkpoint
    from bachlstm.reports.comparison import checkpoint_reference
    from bachlstm.reports.stored_figures import (
        default_settings,
        figures_path,
        figures_text,
        make_entry,
        write_figures,
    )

    settings = default_settings()
    stale = 0
    for name in args.checkpoint or SHIPPED_NAMES:
        checkpoint = load_checkpoint(name)
        start = time.process_time()
        entry = make_entry(checkpoint, checkpoint_reference(checkpoint), settings)
        cpu = time.process_time() - start
        if entry is None:
            print(f"{name}: no held-out split, nothing to compare with", file=sys.stderr)
            continue
        path = figures_path(checkpoint.path)
        if args.check:
            stored = path.read_text(encoding="utf-8") if path.is_file() else None
            same = stored == figures_text([entry])
            stale += not same
            print(f"{name}: {path} {'is current' if same else 'is missing or stale'} ({cpu:.1f} s CPU)")
        else:
            write_figures(checkpoint.path, [entry])
            print(f"{name}: wrote {path} ({cpu:.1f} s CPU)")
    return 1 if stale else 0
