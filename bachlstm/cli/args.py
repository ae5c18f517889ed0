"""Argument types shared by the commands (argparse `type=` functions with a student-readable error)."""

from __future__ import annotations

import argparse
import os

from bachlstm.settings.seeds import SeedError, check_seed


def seed(text: str) -> int:
    """`--seed N`: a whole number in 0..2**32-1 (bachlstm.settings.seeds), else argparse's usage error."""
    try:
        return check_seed(int(text))
    except ValueError as exc:
        message = str(exc) if isinstance(exc, SeedError) else f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(message) from None


def add_track_option(parser) -> None:
    """`--track` / `--part N|NAME`: which track (MIDI) or part (MusicXML) of a file holds the melody."""
    parser.add_argument(
        "--track",
        "--part",
        dest="track",
        metavar="N|NAME",
        help="the track (MIDI) or part (MusicXML) of a file the melody is taken from, by number from 1 or "
        "name (default: one named like a melody, such as soprano or voice, else the highest)",
    )


def print_lines(name: str, lines) -> None:
    """List a file's tracks or parts on stderr when it has several, so the student can choose another."""
    import sys

    if len(lines) > 1:
        print(
            f"{name}: lines (choose with --track N or NAME): {'; '.join(x.label for x in lines)}",
            file=sys.stderr,
        )


def check_new_file(path: str | None, option: str, overwrite: bool) -> None:
    """A file a command is about to write: ValueError when `path` exists (unless `overwrite`, and never
    a folder), saying what to do. Checked before the work starts, so nothing is lost and no time wasted."""
    if path is None or not os.path.lexists(path):
        return
    if os.path.isdir(path):
        raise ValueError(
            f"{option} {path}: is a folder; give a file name such as {os.path.join(path, 'out.mid')}"
        )
    if not overwrite:
        raise ValueError(
            f"{option} {path}: the file already exists; choose another name, or pass --overwrite to "
            "replace it"
        )
