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
ABOVE_0_TO_1 = "above_0_to_1"  # got: a share, above 0 and at most 1
FROM_0_TO_1 = "from_0_to_1"  # got
POSITIVE = "positive"  # got: a finite number above 0
POSITIVE_TEMPERATURE = "positive_temperature"  # got: as POSITIVE, and greedy is the limit T -> 0
NOT_WHOLE = "not_whole"  # got: typed text that is no whole number
NOT_NUMBER = "not_number"  # got: typed text that is no number
NOT_NUMBER_LIST = "not_number_list"  # got: typed text that is no comma-separated list of numbers
EMPTY_LIST = "empty_list"  # a list of numbers with none in it
PROBABILITY = "probability"  # got: at least 0 and below 1 (a dropout, a weight decay)
LAYER_COUNT = "layer_count"  # max, got: how many LSTM layers
PER_LAYER = "per_layer"  # layers, got: one value per LSTM layer
EACH_WIDTH = "each_width"  # max, bad: ((layer, value), ...) of layers that are no width from 1 to max
EACH_PROBABILITY = "each_probability"  # bad: ((layer, value), ...) of layers not at least 0 and below 1
STRIDE = "stride"  # seq_len, got: a whole number from 1 to seq_len
MIN_OVER_LENGTH = "min_over_length"  # min, length (tokens)
MIN_OVER_MOST = "min_over_most"  # min, most (notes)
SHORT_TERM_TOKENS = "short_term_tokens"  # a short-term model with tokens that are not whole notes


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


class CodedError(ValueError):
    """An error that says what is wrong twice: in English (its message: the command line's words) and as
    a `code` with `values`, which a page words in its reader's language (app_pages/messages.py).

    `kind` names the family of codes ("checkpoint", "budget", "job", ...), so two families may share a
    code; a subclass sets it and its `DEFAULT` code (used where a raise gives none).
    """

    kind = "error"
    DEFAULT = ""

    def __init__(self, message: str, code: str | None = None, **values: object):
        self.code = self.DEFAULT if code is None else code
        self.values = values
        super().__init__(message)

    def __reduce__(self):  # code and values survive a trip to another process
        return type(self), (str(self), self.code), {"values": self.values}


class SettingsError(CodedError):
    """One or more settings cannot be used; `problems` lists each (field, problem), in field order.

    Built from Problems, or from a plain sentence (then `problems` is empty: nothing to map to a label),
    which may carry a code and values of its own (a CodedError's) for a page to word.
    """

    kind = "settings"

    def __init__(self, problems: str | Sequence[Problem], code: str | None = None, **values: object):
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems, code, **values)
        else:
            self.problems = tuple(problems)
            super().__init__("; ".join(str(p) for p in self.problems))


def code_of(exc: BaseException) -> tuple[str, str, dict[str, object]] | None:
    """(kind, code, values) of a CodedError that has a code; None for any other error."""
    if isinstance(exc, CodedError) and exc.code:
        return exc.kind, exc.code, dict(exc.values)
    return None


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
