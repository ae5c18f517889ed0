"""Command line: `python -m bachlstm COMMAND ...`; one module per command family in this package."""

from __future__ import annotations

import argparse
import logging

# Each module defines `add_parser(subparsers)` and sets `func(args) -> int` on its parser(s).
# Heavy imports (torch, music21) stay inside the command functions so `--help` is instant.
from bachlstm.cli import corpus, evaluate, figures, generate, inspect, listening, score, train
from bachlstm.settings.problems import problems_of

COMMANDS = (corpus, train, evaluate, generate, figures, inspect, score, listening)
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
        parser.exit(2, error_text(exc, _options(parser, args.command)))


def error_text(exc: BaseException, options: dict[str, str]) -> str:
    """'error: ...' lines for a user error: each bad setting on its own line, named by its option
    (`--batch-size`) where the command has one, by its --set name otherwise."""
    problems = problems_of(exc)
    if not problems:
        return f"error: {exc}\n"
    return "".join(f"error: {options.get(p.field, p.field)} {p.text}\n" for p in problems)


def _options(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """The command's options by destination: {"batch_size": "--batch-size", ...}."""
    # argparse keeps its subparsers in a private attribute; its layout has been the same for years.
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.option_strings[-1] for a in sub.choices[command]._actions if a.option_strings}
