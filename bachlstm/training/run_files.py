"""Where a run's checkpoint goes so that nothing saved is lost: no overwriting, staging, stale temp files.

The rule (also in the README):

- A target that exists is never replaced unless asked (`train --overwrite`), and a file that is not a
  bachlstm checkpoint is never replaced at all. Continuing a run (`--resume X --out X`) writes to X.
- While a run trains, its best checkpoint so far goes to the target itself when the target does not
  exist yet or holds a worse validation loss; otherwise next to it, as `NAME.partial.safetensors`.
  At the end the target is replaced when the run completed (all epochs, early stopping or max_steps)
  or its best is better; a run that was stopped without beating the target stays in the .partial file,
  listed as "stopped at epoch E of N" and resumable. Every write is atomic (temp file + rename).
- A process killed during a write leaves `.NAME.safetensors.PID.tmp`; `remove_stale_temp_files`
  (called when training starts and when the dashboard starts) deletes those whose process is gone.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bachlstm.model.checkpoint_format import NAME_TAKEN, NAME_TAKEN_UNUSABLE, CheckpointError, read_header

log = logging.getLogger(__name__)

SUFFIX = ".safetensors"
PARTIAL = ".partial"
TEMP_RE = re.compile(r"^\..+\.safetensors\.(\d+)\.tmp$")
# Where the process cannot be asked whether it lives (Windows: os.kill would end it), a temp file is
# stale once it is this old; no checkpoint write takes an hour.
STALE_AFTER_S = 3600.0


def _label(path: Path) -> str:
    return path.name.removesuffix(SUFFIX)


def check_out(
    path: str | os.PathLike, *, overwrite: bool = False, resume: str | os.PathLike | None = None
) -> Path:
    """The target `path` if training may write there, else CheckpointError saying why and what to do.

    Free paths are fine; the checkpoint being resumed may be continued; an existing checkpoint only
    with `overwrite`; anything else (a text file, a folder, a FIFO, a broken file) never.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return path
    if resume is not None and os.path.lexists(resume) and _same_file(path, Path(resume)):
        return path
    name = _label(path)
    if not path.is_file():
        raise CheckpointError(
            f"{name}: exists and is not a regular file; it is never overwritten",
            NAME_TAKEN_UNUSABLE,
            name=name,
        )
    try:
        read_header(path, name)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{name}: exists and is not a usable bachlstm checkpoint ({exc}); it is never overwritten: "
            "choose another name",
            NAME_TAKEN_UNUSABLE,
            name=name,
        ) from None
    if not overwrite:
        raise CheckpointError(
            f"a run named {name!r} already exists: choose another name, or pass --overwrite to replace "
            "it (it is kept until the new run is better or completes)",
            NAME_TAKEN,
            name=name,
        )
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def staging_path(target: Path) -> Path:
    """Where a run keeps its best checkpoint while the target holds a better one: NAME.partial.safetensors."""
    return target.with_name(f"{_label(target)}{PARTIAL}{SUFFIX}")


def recorded_val_loss(path: Path) -> float | None:
    """The validation loss a checkpoint records (header only); None when absent or unreadable."""
    try:
        value = read_header(path, _label(path)).meta.get("metrics", {}).get("val_loss")
    except (CheckpointError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def save_best(
    target: Path, write: Callable[[Path], object], val_loss: float | None, complete: bool, own: bool = False
) -> Path:
    """Write the run's checkpoint with `write(path)` to the target or its staging file (module rule).

    Returns the path written. The target is replaced when the run is complete, the target is absent
    or holds this run's own earlier save (`own`), records no loss, or records a higher validation loss
    than `val_loss`.
    """
    target = Path(target)
    staged = staging_path(target)
    old = recorded_val_loss(target) if target.exists() else None
    better = val_loss is not None and (old is None or val_loss < old)
    if complete or own or not target.exists() or better:
        write(target)
        staged.unlink(missing_ok=True)  # the target now holds this run's best: the staged copy is stale
        return target
    write(staged)
    return staged


def remove_stale_temp_files(directories: Iterable[str | os.PathLike]) -> list[Path]:
    """Delete `.NAME.safetensors.PID.tmp` files whose writing process has ended; returns those removed."""
    removed = []
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            m = TEMP_RE.match(path.name)
            if m and path.is_file() and _stale(path, int(m.group(1))):
                try:
                    path.unlink()
                except OSError as exc:
                    log.warning("could not remove stale temp file %s: %s", path.name, exc)
                    continue
                log.info("removed %s, left by a process that ended while writing", path.name)
                removed.append(path)
    return removed


def _stale(path: Path, pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process may be writing it right now
    if sys.platform != "win32":
        return not _alive(pid)
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OverflowError:
        return False
    return True
