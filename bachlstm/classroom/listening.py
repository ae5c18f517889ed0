"""The class's "Bach or model?" results: per model and method, the share of rounds in which listeners
took the model's excerpt for Bach, with a Wilson 95% interval, and each student's own score.

Pure functions over answered rounds (`records.ListeningRound`): the page, the projector chart and
`python -m bachlstm listening --json` show the same table. 50% is chance (the listener cannot tell);
Bach's own excerpt is taken for Bach in the other rounds, so a model "passes" as it nears 50%.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from bachlstm.classroom.records import ListeningRound

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95% interval


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share successes/trials, (low, high) in 0..1; (0, 1) without trials.

    Unlike share +- z * standard error it stays inside 0..1 and is not zero-wide at 0 or all of n
    (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it for small n).
    """
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be from 0 to trials ({trials}), got {successes}")
    share = successes / trials
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ListeningResult:
    """One model and method: answers, the share of them that took the model's excerpt for Bach, and
    that share's Wilson 95% interval."""

    model: str
    method: str
    answers: int
    taken_for_bach: float
    low: float
    high: float

    def to_dict(self) -> dict:
        """JSON-ready: the keys `python -m bachlstm listening --json` prints."""
        return asdict(self)


def listening_results(rounds: Iterable[ListeningRound]) -> list[ListeningResult]:
    """Per (model, method) of the answered rounds, sorted by model then method: the share of rounds in
    which the listener took the model's excerpt for Bach, with its Wilson 95% interval."""
    counts: dict[tuple[str, str], list[int]] = {}
    for r in rounds:
        took = r.took_model_for_bach
        if took is None:
            continue  # dealt, not answered: no verdict yet
        tally = counts.setdefault((r.model, r.method), [0, 0])
        tally[0] += int(took)
        tally[1] += 1
    out = []
    for (model, method), (taken, n) in sorted(counts.items()):
        low, high = wilson_interval(taken, n)
        out.append(ListeningResult(model, method, n, taken / n, low, high))
    return out


@dataclass(frozen=True)
class StudentScore:
    """One listener: rounds answered and how many of them found Bach."""

    student: str
    answers: int
    correct: int

    @property
    def share(self) -> float:
        """The share of rounds in which the listener found Bach (0 without answers)."""
        return self.correct / self.answers if self.answers else 0.0


def student_scores(rounds: Iterable[ListeningRound]) -> list[StudentScore]:
    """Each listener's answered rounds and correct answers, best share first (then most answers, name)."""
    tallies: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for r in rounds:
        took = r.took_model_for_bach
        if took is None:
            continue
        key = r.student.casefold()  # one student in any case, as the records' names
        names.setdefault(key, r.student)
        tally = tallies.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += int(not took)
    scores = [StudentScore(names[k], n, c) for k, (n, c) in tallies.items()]
    return sorted(scores, key=lambda s: (-s.share, -s.answers, s.student.casefold()))
