"""The teacher's view of the server and the end of a workshop: every run with its owner, state, queue
position and wait; the class's runs as one zip; archiving or deleting them (shipped models untouched).

A run here is a saved file in the runs folder (`runs/NAME.safetensors`, and `NAME.partial.safetensors`
where a continued run kept its best beside a better one) and/or a job the server knows. Only the runs
folder is ever touched: the shipped models live elsewhere and are never listed as student runs.
"""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bachlstm.classroom.ownership import Visibility
from bachlstm.classroom.records import ARCHIVED, ClassRecords
from bachlstm.model.checkpoints import SUFFIX, CheckpointInfo, runs_dir
from bachlstm.training.jobs import JobManager
from bachlstm.training.run_files import PARTIAL

ARCHIVE_FOLDER = "archive"  # runs/archive/WORKSHOP-STAMP/: archived runs, out of every list


@dataclass(frozen=True)
class ClassRun:
    """One row of the teacher's table: a run saved, training or queued."""

    name: str
    owner: str | None  # None: nobody's (the command line's, or from before the class had names)
    state: str  # the job's status while the server knows it, else the file's (complete, stopped, ...)
    queue_position: int | None
    wait_s: float | None  # estimated wait of a queued run
    shared: bool
    saved: bool  # a file in the runs folder
    active: bool  # queued, training or stopping
    info: CheckpointInfo | None = None  # the saved file's, where `state` is the file's (a page words it)


def class_runs(manager: JobManager, owners: Iterable[Visibility], waits: dict[str, float]) -> list[ClassRun]:
    """Every student run: the server's jobs (newest state) and the saved files, one row per name."""
    saved = {v.info.name: v for v in owners if not v.info.shipped}
    rows: dict[str, ClassRun] = {}
    for job in manager.jobs():  # oldest first: a later job of the same name (continued) wins
        v = saved.get(job.name)
        rows[job.name] = ClassRun(
            name=job.name,
            owner=job.owner or (v.owner if v else None),
            state=job.status,
            queue_position=manager.queue_position(job.id),
            wait_s=waits.get(job.id),
            shared=bool(v and v.shared),
            saved=v is not None,
            active=job.is_active,
        )
    for name, v in saved.items():
        if name not in rows:
            rows[name] = ClassRun(name, v.owner, v.info.state, None, None, v.shared, True, False, v.info)
    return sorted(
        rows.values(), key=lambda r: (not r.active, r.queue_position or 0, (r.owner or "").casefold(), r.name)
    )


def run_files(name: str, folder: Path | None = None) -> list[Path]:
    """The files of a saved run in the runs folder (the run and its .partial), those that exist."""
    folder = folder or runs_dir()
    paths = [folder / f"{name}{SUFFIX}", folder / f"{name}{PARTIAL}{SUFFIX}"]
    return [p for p in paths if p.is_file()]


def zip_runs(runs: Sequence[ClassRun], folder: Path | None = None) -> bytes:
    """The saved runs as one zip: OWNER/NAME.safetensors (nobody's runs under '(nobody)'), and
    runs.csv listing run, owner, state, shared. Stored, not compressed (weights do not shrink)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["run", "owner", "state", "shared", "files"])
        for run in runs:
            paths = run_files(run.name, folder)
            owner = run.owner or "(nobody)"
            for path in paths:
                zf.write(path, f"{owner}/{path.name}")
            writer.writerow([run.name, run.owner or "", run.state, "yes" if run.shared else "no", len(paths)])
        zf.writestr("runs.csv", table.getvalue())
    return buffer.getvalue()


def delete_run(name: str, records: ClassRecords | None, folder: Path | None = None) -> int:
    """Delete a saved run's files and forget its record; how many files went."""
    paths = run_files(name, folder)
    for path in paths:
        path.unlink(missing_ok=True)
    if records is not None:
        records.forget_run(name)
    return len(paths)


def archive_runs(names: Iterable[str], records: ClassRecords | None, folder: Path | None = None) -> Path:
    """Move saved runs into runs/archive/workshop-STAMP/ (out of every list, nothing deleted); the folder.

    Their records are kept, marked archived, so a later run never takes an archived run's name.
    """
    folder = folder or runs_dir()
    dest = folder / ARCHIVE_FOLDER / time.strftime("workshop-%Y%m%d-%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        for path in run_files(name, folder):
            os.replace(path, dest / path.name)
        if records is not None:
            records.set_state(name, ARCHIVED)
    return dest
