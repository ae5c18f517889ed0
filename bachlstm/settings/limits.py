"""This server's limits on a training run (memory, time), read from the environment: one fact, one place.

Below the model package, because the checkpoint reader refuses a file whose weights exceed the memory
limit before it allocates anything; `training.budget` checks a run's estimate against the same limits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from bachlstm.settings.problems import CodedError

MB = 1024 * 1024
DEFAULT_MAX_TRAIN_MB = 2048
DEFAULT_MAX_TRAIN_SECONDS = 3600
DEFAULT_MAX_STEP_SECONDS = 1.0
# A class: how many runs (a sweep counts as one) each student may have queued or training at once.
ENV_RUNS_PER_STUDENT = "BACHLSTM_RUNS_PER_STUDENT"
DEFAULT_RUNS_PER_STUDENT = 1


# BudgetError codes: what is over its limit (values: the estimate, the limit, and `field` to lower with
# `best`, the largest value that fits; field None when no single setting does), or a bad server setting.
MEMORY = "memory"  # need_mb, limit_mb, field, best
STEP_TIME = "step_time"  # step_s, limit_s, field, best
RUN_TIME = "run_time"  # run_s, limit_s, field, best
ENV_NUMBER = "env_number"  # name, got: a limit in the environment that is no positive number
ENV_WHOLE = "env_whole"  # name, got: a count in the environment that is no whole number


class BudgetError(CodedError):
    """A run that would exceed a limit; the message names the setting to change and a value that fits."""

    kind = "budget"


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
        raise BudgetError(f"{name} must be a number, got {raw!r}", ENV_NUMBER, name=name, got=raw) from None
    if not (math.isfinite(value) and value > 0):
        raise BudgetError(f"{name} must be a positive number, got {raw!r}", ENV_NUMBER, name=name, got=raw)
    return value


def runs_per_student() -> int:
    """Runs one student may have queued or training at once: env BACHLSTM_RUNS_PER_STUDENT, default 1."""
    value = _env_number(ENV_RUNS_PER_STUDENT, DEFAULT_RUNS_PER_STUDENT)
    if value != int(value):
        raise BudgetError(
            f"{ENV_RUNS_PER_STUDENT} must be a whole number, got {value:g}",
            ENV_WHOLE,
            name=ENV_RUNS_PER_STUDENT,
            got=f"{value:g}",
        )
    return int(value)
