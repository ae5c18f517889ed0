"""`python -m bachlstm bench corpus|train|generate|inspect|app [--json]`: benchmarks that print figures."""

from __future__ import annotations

import importlib
import json

BENCHES = ("corpus", "train", "generate", "inspect", "app")


def add_parser(sub) -> None:
    """Register `bench`."""
    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    p.add_argument("which", choices=BENCHES)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    """Each bench module has `run() -> dict` (figures) and `format_report(dict) -> str`."""
    mod = importlib.import_module(f"bachlstm.bench.{args.which}")
    figures = mod.run()
    print(json.dumps(figures, indent=2) if args.json else mod.format_report(figures))
    return 0
