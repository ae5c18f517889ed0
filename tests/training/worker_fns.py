"""Train-function stand-ins for worker-process tests: module level, so 'spawn' can pickle them by name."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """The fields of a TrainResult that the job manager reads."""

    checkpoint_path: Path
    metrics: dict = field(default_factory=dict)
    stop_reason: str = ""


@dataclass(frozen=True)
class Step:
    """A progress record that says which process sent it."""

    kind: str
    step: int
    pid: int


def counts(config, *, callback, stop_event, out):
    """Report `config` steps, then write `out` (a checkpoint stand-in) and return its path."""
    for step in range(1, config + 1):
        callback(Step("step", step, os.getpid()))
    out.write_text(f"{config} steps")
    return Result(out, {"steps": config})


def until_stopped(config, *, callback, stop_event, out):
    """Report a step every 20 ms until asked to stop; then save and return like train() does."""
    step = 0
    while not stop_event.is_set():
        step += 1
        callback(Step("step", step, os.getpid()))
        time.sleep(0.02)
    out.write_text(f"stopped at {step}")
    return Result(out)


def ignores_stop(config, *, callback, stop_event, out):
    """A run that never looks at its stop flag (only a kill ends it)."""
    callback(Step("step", 1, os.getpid()))
    time.sleep(600)


def raises(config, *, callback, stop_event, out):
    """A training error: the page must show its message."""
    callback(Step("step", 1, os.getpid()))
    raise ValueError(f"only {config} melodies, too few to split")


def exits(config, *, callback, stop_event, out):
    """A worker that ends abruptly without a word, as a crash in native code would."""
    callback(Step("step", 1, os.getpid()))
    os._exit(config)
