"""Command line: `python -m bachlstm COMMAND ...`; one module per command family in this package."""

from __future__ import annotations

import argparse
import logging

# Each module defines `add_parser(subparsers)` and sets `func(args) -> int` on its parser(s).
# Heavy imports (torch, music21) stay inside the command functions so `--help` is instant.
from bachlstm.cli import bench, corpus, evaluate, generate, inspect, score, train

COMMANDS = (corpus, train, evaluate, generate, inspect, score, bench)
COMMAND_MODULES = tuple(module.__name__.rpartition(".")[2] for module in COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command registered."""
    parser = argparse.ArgumentParser(prog="python -m bachlstm", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:  # user errors: a clear message, no traceback
        parser.exit(2, f"error: {exc}\n")
