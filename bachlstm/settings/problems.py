"""Bad settings as (field, problem) pairs, all of them at once, so a form can word each with its label.

A config's validation collects every problem it finds (`Checks`) and raises one `SettingsError` (or a
subclass: `PresetError`, `ModelConfigError`, `SeedError`, ...) that carries them. Its message names
the library's field ("batch_size must be ..."); the dashboard words `problems` with its own labels
("Batch size must be ..."), the command line with its options (`--batch-size`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Problem codes (the dashboard words them with their values).
WHOLE_NUMBER = "whole_number"  # lo, hi (None: no upper bound), got


@dataclass(frozen=True)
class Problem:
    """One bad setting: the library's field name and what is wrong, worded to follow any name.

    `code` and `values` say the same for a reader in another language (the dashboard words them:
    app_pages/messages.py); `text` is the English wording the command line shows.
    """

    field: str  # "batch_size", "lstm_sizes", "seed"
    text: str  # "must be a whole number from 1 to 65,536, got 0"
    code: str = ""  # WHOLE_NUMBER, ...; "" where only the English text exists
    values: tuple[tuple[str, object], ...] = ()  # (("lo", 1), ("hi", 65536), ("got", 0))

    def __str__(self) -> str:
        return f"{self.field} {self.text}"


class SettingsError(ValueError):
    """One or more settings cannot be used; `problems` lists each (field, problem), in field order.

    Built from Problems, or from a plain sentence (then `problems` is empty: nothing to map to a label).
    """

    def __init__(self, problems: str | Sequence[Problem]):
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems)
        else:
            self.problems = tuple(problems)
            super().__init__("; ".join(str(p) for p in self.problems))


def problems_of(exc: BaseException) -> tuple[Problem, ...]:
    """The Problems an error carries; () for any other error (or a SettingsError made from a sentence)."""
    return getattr(exc, "problems", ()) or ()


class Checks:
    """Collects the problems of one validation; `raise_any(ErrorClass)` raises them all together."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, field: str, text: str, code: str = "", **values: object) -> None:
        """Record that `field` `text` ("must be ..."), with its code and values for other languages."""
        self.problems.append(Problem(field, text, code, tuple(values.items())))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record problems found elsewhere (a nested config's)."""
        self.problems.extend(problems)

    def whole(self, field: str, value: object, lo: int, hi: int | None = None) -> bool:
        """Record a problem unless `value` is a whole number in lo..hi (hi None: no upper bound)."""
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo
        ok = ok and (hi is None or value <= hi)
        if not ok:
            span = f"from {lo:,} to {hi:,}" if hi is not None else f"of at least {lo:,}"
            self.add(
                field, f"must be a whole number {span}, got {value!r}", WHOLE_NUMBER, lo=lo, hi=hi, got=value
            )
        return ok

    def raise_any(self, error: type[SettingsError] = SettingsError) -> None:
        """Raise `error(problems)` when any problem was recorded."""
        if self.problems:
            raise error(self.problems)
