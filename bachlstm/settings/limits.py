"""This server's limits on a training run (memory, time), read from the environment: one fact, one place.

Below the model package, because the checkpoint reader refuses a file whose weights exceed the memory
limit before it allocates anything; `training.budget` checks a run's estimate against the same limits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

MB = 1024 * 1024
DEFAULT_MAX_TRAIN_MB = 2048
DEFAULT_MAX_TRAIN_SECONDS = 3600
DEFAULT_MAX_STEP_SECONDS = 1.0
# A class: how many runs (a sweep counts as one) each student may have queued or training at once.
ENV_RUNS_PER_STUDENT = "BACHLSTM_RUNS_PER_STUDENT"
DEFAULT_RUNS_PER_STUDENT = 1


class BudgetError(ValueError):
    """A run that would exceed a limit; the message names the setting to change and a value that fits."""


@dataclass(frozen=True)
class Limits:
    """The limits a run is checked against (MB added to the process, seconds)."""

    max_mb: float = DEFAULT_MAX_TRAIN_MB
    max_run_s: float = DEFAULT_MAX_TRAIN_SECONDS
    max_step_s: float = DEFAULT_MAX_STEP_SECONDS

    def allow(self, est) -> bool:
        """True when the estimate (`training.budget.Estimate`) is within every limit."""
        return est.peak_mb <= self.max_mb and est.step_s <= self.max_step_s and est.run_s <= self.max_run_s

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from BACHLSTM_MAX_TRAIN_MB, BACHLSTM_MAX_TRAIN_SECONDS, BACHLSTM_MAX_STEP_SECONDS."""
        return cls(
            max_mb=_env_number("BACHLSTM_MAX_TRAIN_MB", DEFAULT_MAX_TRAIN_MB),
            max_run_s=_env_number("BACHLSTM_MAX_TRAIN_SECONDS", DEFAULT_MAX_TRAIN_SECONDS),
            max_step_s=_env_number("BACHLSTM_MAX_STEP_SECONDS", DEFAULT_MAX_STEP_SECONDS),
        )


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BudgetError(f"{name} must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise BudgetError(f"{name} must be a positive number, got {raw!r}")
    return value


def runs_per_student() -> int:
    """Runs one student may have queued or training at once: env BACHLSTM_RUNS_PER_STUDENT, default 1."""
    value = _env_number(ENV_RUNS_PER_STUDENT, DEFAULT_RUNS_PER_STUDENT)
    if value != int(value):
        raise BudgetError(f"{ENV_RUNS_PER_STUDENT} must be a whole number, got {value:g}")
    return int(value)
