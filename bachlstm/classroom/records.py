"""The class's records (students, who owns which run, what the teacher shared) in one SQLite file.

One module owns the database, so that a server database can take its place when a class outgrows one
machine: every read and write of the class's records goes through `ClassRecords`, and nothing else in
the project knows there is SQL underneath.

- Where: `runs/class.sqlite3` beside the runs, or the file the one setting `BACHLSTM_CLASS_DB` names.
- Safe with a room of sessions writing at once: WAL mode (readers never wait for the writer), one short
  transaction per call, writes under `BEGIN IMMEDIATE` (the write lock is taken at the start, so two
  writers never both read and then one fails to upgrade), and a busy timeout (a writer waits up to
  `busy_timeout_s` for another's commit instead of failing at once). A connection per call: no
  connection is shared between threads or processes.
- Problems are `RecordsError(code, values)`: LOCKED (another program holds the write lock for longer
  than the timeout), DAMAGED (not a database, or its pages fail SQLite's quick check), NEWER_SCHEMA (a
  newer bachlstm wrote it), UNAVAILABLE (the file or its folder cannot be opened). The pages word the
  code and go on without the records. A damaged file is never deleted: `move_aside()` renames it (with
  its -wal and -shm files) to `NAME.damaged-TIMESTAMP` for the teacher to keep, and a fresh file starts.
- The schema has a version (SQLite's `user_version`) and an append-only list of `MIGRATIONS`: migration
  i (0-based) turns version i into version i+1. To add tables (board items and answers, say), append a
  new tuple of statements at the end of `MIGRATIONS` and the methods that use them below; never edit or
  reorder a migration that has shipped, since a class's file may already be at that version. Opening
  the file brings it up to the newest version, each step in its own transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bachlstm.model.checkpoints import runs_dir

ENV_DATABASE = "BACHLSTM_CLASS_DB"  # the one setting: the path of the class's database file
DEFAULT_NAME = "class.sqlite3"
BUSY_TIMEOUT_S = 5.0  # how long a writer waits for another's commit before LOCKED

# Problem codes (the page words them).
LOCKED, DAMAGED, NEWER_SCHEMA, UNAVAILABLE = "locked", "damaged", "newer_schema", "unavailable"

# Run states kept in the records: "reserved" from the moment a name is taken at Start, then the
# training job's own status (queued, running, stopping, done, failed, stopped), "archived" once the
# teacher has ended the workshop with it.
RESERVED, ARCHIVED = "reserved", "archived"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: students and the runs they own.
    (
        """CREATE TABLE students (
            name TEXT PRIMARY KEY COLLATE NOCASE,  -- 'Anna' and 'anna' are one student
            created REAL NOT NULL,
            last_seen REAL NOT NULL
        )""",
        """CREATE TABLE runs (
            name TEXT PRIMARY KEY COLLATE NOCASE,  -- a run's file name (case-insensitive on macOS, Windows)
            owner TEXT NOT NULL COLLATE NOCASE,
            shared_with_class INTEGER NOT NULL DEFAULT 0 CHECK (shared_with_class IN (0, 1)),
            state TEXT NOT NULL,
            created REAL NOT NULL,
            updated REAL NOT NULL
        )""",
        "CREATE INDEX runs_by_owner ON runs (owner)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class RecordsError(Exception):
    """The class's records cannot be read or written: `code` (LOCKED, DAMAGED, ...) and `values`."""

    def __init__(self, code: str, **values) -> None:
        self.code, self.values = code, values
        super().__init__(f"class records {code}: {values}")


@dataclass(frozen=True)
class Student:
    """A student of the class: the display name as first given, when it was first and last seen."""

    name: str
    created: float
    last_seen: float


@dataclass(frozen=True)
class RunRecord:
    """Who owns a run, whether the teacher shared it with the class, its last known state."""

    name: str
    owner: str
    shared_with_class: bool
    state: str
    created: float
    updated: float


def database_path() -> Path:
    """The class's database file: env BACHLSTM_CLASS_DB, else class.sqlite3 in the runs folder."""
    raw = os.environ.get(ENV_DATABASE, "").strip()
    return Path(raw).expanduser() if raw else runs_dir() / DEFAULT_NAME


def _classify(exc: sqlite3.Error, path: Path) -> RecordsError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return RecordsError(LOCKED, path=path.name)
    if "unable to open" in text or "readonly" in text or "disk i/o" in text:
        return RecordsError(UNAVAILABLE, path=path.name, reason=str(exc))
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return RecordsError(DAMAGED, path=path.name, reason=str(exc))  # "file is not a database", ...
    if "malformed" in text or "corrupt" in text:
        return RecordsError(DAMAGED, path=path.name, reason=str(exc))
    return RecordsError(UNAVAILABLE, path=path.name, reason=str(exc))


class ClassRecords:
    """The class's records in one SQLite file (see the module docstring); safe from any thread or process."""

    def __init__(self, path: str | os.PathLike | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path = Path(path) if path is not None else database_path()
        self.busy_timeout_s = busy_timeout_s
        self._ready_key: tuple | None = None  # the file (inode, device) last opened and migrated

    # --- connections and transactions ------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RecordsError(UNAVAILABLE, path=self.path.name, reason=str(exc)) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            yield conn
        except sqlite3.Error as exc:
            raise _classify(exc, self.path) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: the write lock taken at BEGIN, committed or rolled back at the end."""
        self.open()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        self.open()
        with self._connect() as conn:
            yield conn

    def open(self) -> None:
        """Check the file and bring its schema up to date (once per file and instance), else RecordsError."""
        key = _file_key(self.path)
        if key is not None and key == self._ready_key:
            return
        with self._connect() as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise RecordsError(DAMAGED, path=self.path.name, reason="quick_check failed")
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise RecordsError(UNAVAILABLE, path=self.path.name, reason="WAL mode refused")
            _migrate(conn, self.path)
        self._ready_key = _file_key(self.path)

    def schema_version(self) -> int:
        """The file's schema version (SCHEMA_VERSION once opened)."""
        with self._read() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def move_aside(self) -> Path | None:
        """Rename a damaged file (and its -wal, -shm) to NAME.damaged-TIMESTAMP, never deleting it.

        The next call starts a fresh file. Returns the new name of the database file (None if none).
        """
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved = None
        for suffix in ("", "-wal", "-shm"):
            src = self.path.with_name(self.path.name + suffix)
            if src.exists():
                dst = src.with_name(f"{self.path.name}.damaged-{stamp}{suffix}")
                os.replace(src, dst)
                moved = moved or dst
        self._ready_key = None
        return moved

    # --- students ----------------------------------------------------------------------------------
    def add_student(self, name: str) -> Student:
        """Record a student (a name seen again, in any case, is the same student); the record."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO students (name, created, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen",
                (name, now, now),
            )
            row = conn.execute("SELECT name, created, last_seen FROM students WHERE name = ?", (name,))
            return Student(*row.fetchone())

    def students(self) -> list[Student]:
        """Every student, in the order they first came."""
        with self._read() as conn:
            rows = conn.execute("SELECT name, created, last_seen FROM students ORDER BY created, name")
            return [Student(*r) for r in rows]

    # --- runs --------------------------------------------------------------------------------------
    def reserve_run(
        self,
        name: str,
        owner: str,
        *,
        is_free: Callable[[str], bool] = lambda name: True,
        next_name: Callable[[str], str],
        max_tries: int = 10_000,
    ) -> str:
        """Take `name` for `owner`'s new run, or the next free one: the name actually reserved.

        Atomic: two sessions that press Start at the same moment get two different names. A name is
        free when no record has it and `is_free(name)` (no file on disk, no job) says so; `next_name`
        gives the name to try after a taken one.
        """
        now = time.time()
        with self._write() as conn:
            candidate = name
            for _ in range(max_tries):
                taken = conn.execute("SELECT 1 FROM runs WHERE name = ?", (candidate,)).fetchone()
                if taken is None and is_free(candidate):
                    conn.execute(
                        "INSERT INTO runs (name, owner, shared_with_class, state, created, updated) "
                        "VALUES (?, ?, 0, ?, ?, ?)",
                        (candidate, owner, RESERVED, now, now),
                    )
                    return candidate
                candidate = next_name(candidate)
        raise RecordsError(UNAVAILABLE, path=self.path.name, reason=f"no free name after {name!r}")

    def record_run(self, name: str, owner: str, state: str) -> None:
        """Record a run that exists already (a run saved before the records, a continued run)."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (name, owner, shared_with_class, state, created, updated) "
                "VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                "updated = excluded.updated",
                (name, owner, state, now, now),
            )

    def set_state(self, name: str, state: str) -> bool:
        """Update a run's state; False when no record has the run."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET state = ?, updated = ? WHERE name = ?", (state, time.time(), name)
            )
            return cur.rowcount > 0

    def share(self, name: str, shared: bool = True) -> bool:
        """Share a run with the whole class (or stop sharing it); False when no record has the run."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET shared_with_class = ?, updated = ? WHERE name = ?",
                (int(shared), time.time(), name),
            )
            return cur.rowcount > 0

    def forget_run(self, name: str) -> bool:
        """Drop a run's record (its file was deleted, or its start failed); False when there was none."""
        with self._write() as conn:
            return conn.execute("DELETE FROM runs WHERE name = ?", (name,)).rowcount > 0

    def run(self, name: str) -> RunRecord | None:
        """The record of one run, or None."""
        with self._read() as conn:
            row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE name = ?", (name,)).fetchone()
            return _run_record(row) if row else None

    def runs(self, owner: str | None = None) -> list[RunRecord]:
        """Every run's record (or one owner's), oldest first."""
        query, args = f"SELECT {_RUN_COLUMNS} FROM runs", ()
        if owner is not None:
            query, args = query + " WHERE owner = ?", (owner,)
        with self._read() as conn:
            return [_run_record(r) for r in conn.execute(query + " ORDER BY created, name", args)]


_RUN_COLUMNS = "name, owner, shared_with_class, state, created, updated"


def _run_record(row: tuple) -> RunRecord:
    name, owner, shared, state, created, updated = row
    return RunRecord(name, owner, bool(shared), state, created, updated)


def _file_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_dev)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the file lacks, each in its own transaction (a concurrent opener waits)."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RecordsError(NEWER_SCHEMA, path=path.name, version=version, known=SCHEMA_VERSION)
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
