"""`python -m benchmarks corpus|train|generate|inspect|app|class|listening [--json]`: run one, print it."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHES = ("corpus", "train", "generate", "inspect", "app", "class", "listening")
MODULES = {"class": "classroom"}  # `class` is a Python keyword: no module can be named so


def build_parser() -> argparse.ArgumentParser:
    """The benchmarks' argument parser."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("which", choices=BENCHES)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument(
        "--sessions",
        type=_counts,
        default=(1, 4, 8, 16),
        help="class: numbers of browser sessions clicking Generate at once, e.g. 1,4,8,16; listening: the "
        "number of sessions playing together (the largest given)",
    )
    p.add_argument("--rounds", type=int, default=5, help="listening: rounds each session plays")
    p.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="listening: each student clicks at a moment of their own within S seconds (0: all at once)",
    )
    p.add_argument(
        "--watchers",
        type=int,
        default=None,
        help="class: also train one default run while W sessions queue runs and watch",
    )
    p.add_argument(
        "--students",
        type=int,
        default=None,
        help="class: instead of Generate rounds, N students (distinct names) press Start within two seconds, "
        "press it again, reload while queued or training; the wait estimates against the real waits",
    )
    p.add_argument(
        "--one-by-one",
        action="store_true",
        help="class --students: the students press Start one after another, each page closing once it has "
        "shown the wait (a quiet server): the wait estimate against the real wait",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="class --students: shorten each run to N optimizer steps (development; else the default run)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="class --students: train each run N epochs (long runs stay queued or training through the "
        "reloads of 30 pages; with --wait-timeout 0 the queue is not waited for)",
    )
    p.add_argument(
        "--wait-timeout",
        type=float,
        default=1800.0,
        help="class --students: how long the queued runs may take to start once the pages have closed (s); "
        "the runs not started by then are counted, not measured",
    )
    p.add_argument(
        "--query",
        default="",
        help="class: open Sampling with this address query (a link's settings, e.g. "
        "'model=bach&cadence=0&length=100') instead of the page's defaults, to compare like with like",
    )
    p.add_argument(
        "--browser-nice",
        type=int,
        default=None,
        help="class, listening: CPU priority of the benchmark's browsers (default 10: they stand in for the "
        "students' own machines; 0 lets them compete with the server as equals)",
    )
    return p


def run(args) -> int:
    """Each bench module has `run() -> dict` (figures) and `format_report(dict) -> str`."""
    mod = importlib.import_module(f"benchmarks.{MODULES.get(args.which, args.which)}")
    options = {}
    if args.which == "class":
        options = {"sessions": args.sessions, "watchers": args.watchers, "query": args.query}
    if args.which == "listening":
        options = {"sessions": max(args.sessions), "rounds": args.rounds, "spread_s": args.spread}
    if args.which in ("class", "listening") and args.browser_nice is not None:
        options["browser_nice"] = args.browser_nice
    if args.which == "class" and args.students is not None:
        options = {k: v for k, v in options.items() if k == "browser_nice"}
        figures = mod.run_students(
            args.students,
            max_steps=args.max_steps,
            timeout_s=args.wait_timeout,
            epochs=args.epochs,
            one_by_one=args.one_by_one,
            **options,
        )
        print(json.dumps(figures, indent=2) if args.json else mod.format_students_report(figures))
        return 0
    figures = mod.run(**options)
    print(json.dumps(figures, indent=2) if args.json else mod.format_report(figures))
    return 0


def _counts(text: str) -> tuple[int, ...]:
    """'1,4,8' -> (1, 4, 8); argparse turns the ValueError into a usage message."""
    counts = tuple(int(x) for x in text.split(",") if x.strip())
    if not counts or min(counts) < 1:
        raise ValueError(f"session counts must be whole numbers >= 1, got {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the benchmark, print its figures."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
