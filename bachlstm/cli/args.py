"""Argument types shared by the commands (argparse `type=` functions with a student-readable error)."""

from __future__ import annotations

import argparse

from bachlstm.seeds import SeedError, check_seed


def seed(text: str) -> int:
    """`--seed N`: a whole number in 0..2**32-1 (bachlstm.seeds), else argparse's usage error."""
    try:
        return check_seed(int(text))
    except ValueError as exc:
        message = str(exc) if isinstance(exc, SeedError) else f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(message) from None
