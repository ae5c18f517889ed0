"""What a seed is: a whole number in 0..2**32-1, checked once here for training, sampling and the CLI."""

from __future__ import annotations

from bachlstm.settings.problems import WHOLE_NUMBER, Problem, SettingsError

# Generation folds a seed into 32 bits (generation.row_seed), so 2**32 would repeat seed 0's music;
# training uses the same range so one rule holds everywhere (forms, CLI, library).
MAX_SEED = 2**32 - 1


class SeedError(SettingsError):
    """A seed outside 0..MAX_SEED, or not a whole number."""


def check_seed(value: object, name: str = "seed") -> int:
    """`value` as an int if it is a whole number in 0..2**32-1, else SeedError naming the range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise SeedError(
            [
                Problem(
                    name,
                    f"must be a whole number from 0 to {MAX_SEED:,} (2**32 - 1), got {value!r}",
                    WHOLE_NUMBER,
                    (("lo", 0), ("hi", MAX_SEED), ("got", value)),
                )
            ]
        )
    return value
