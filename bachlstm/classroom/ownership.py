"""Whose run is whose: what a student sees of the saved runs, and what the pages say about an owner.

A run's owner is in the class's records (`records.RunRecord`) and in its checkpoint's metadata
(`CheckpointInfo.owner`), so a lost or damaged records file does not hand every run to everyone. A
student sees the shipped models, their own runs, the runs the teacher shared with the class, and runs
no student owns (saved by the command line, or before the class had names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bachlstm.classroom.records import RunRecord
from bachlstm.model.checkpoints import CheckpointInfo


def same_student(a: str | None, b: str | None) -> bool:
    """True when two display names are one student ('Anna' and 'anna' are, as in the records)."""
    return a is not None and b is not None and a.casefold() == b.casefold()


@dataclass(frozen=True)
class Visibility:
    """One saved run as a student sees it: the checkpoint, its owner (None: nobody's) and whether shared."""

    info: CheckpointInfo
    owner: str | None
    shared: bool

    def mine(self, student: str | None) -> bool:
        """True for the student's own run."""
        return same_student(self.owner, student)


def run_owners(infos: Iterable[CheckpointInfo], records: Iterable[RunRecord]) -> list[Visibility]:
    """Each checkpoint with its owner (the records first, else the checkpoint's metadata) and sharing."""
    by_name = {r.name.casefold(): r for r in records}
    out = []
    for info in infos:
        record = by_name.get(info.name.casefold()) if not info.shipped else None
        owner = record.owner if record is not None else (None if info.shipped else info.owner)
        out.append(Visibility(info, owner or None, bool(record and record.shared_with_class)))
    return out


def visible_to(student: str | None, runs: Iterable[Visibility]) -> list[Visibility]:
    """What `student` may see and use: shipped models, their runs, shared runs, runs nobody owns."""
    return [v for v in runs if v.info.shipped or v.owner is None or v.shared or v.mine(student)]
