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
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
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
    # 2: the class board (shared melodies) and the "Bach or model?" listening test.
    (
        """CREATE TABLE board (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a removed item's number stays gone
            owner TEXT NOT NULL COLLATE NOCASE,
            title TEXT NOT NULL,
            model TEXT NOT NULL,
            method TEXT NOT NULL,  -- sampling.METHODS name
            label TEXT NOT NULL,  -- the method with its knobs, as the Sampling column is titled
            settings TEXT NOT NULL,  -- JSON: the link's query parameters, {} where a link cannot carry them
            melody TEXT NOT NULL,  -- JSON: {"events": [...], "n_primer": n, "key_sharps": k or null}
            created REAL NOT NULL
        )""",
        "CREATE INDEX board_by_created ON board (created)",
        """CREATE TABLE listening_rounds (
            id TEXT PRIMARY KEY,  -- the round's key, made when it is dealt: an answer names it
            student TEXT NOT NULL COLLATE NOCASE,
            model TEXT NOT NULL,
            method TEXT NOT NULL,
            bars INTEGER NOT NULL,
            bach TEXT NOT NULL,  -- the Bach excerpt's melody key 'piece_id:voice'
            generated TEXT NOT NULL,  -- the model excerpt's id in its pool
            bach_first INTEGER NOT NULL CHECK (bach_first IN (0, 1)),  -- 1: Bach plays as A
            dealt REAL NOT NULL,
            picked TEXT CHECK (picked IN ('A', 'B')),  -- the excerpt taken for Bach; NULL until answered
            answered REAL,
            cleared INTEGER NOT NULL DEFAULT 0 CHECK (cleared IN (0, 1))  -- 1: the teacher reset results
        )""",
        "CREATE INDEX rounds_by_student ON listening_rounds (student, picked)",
        """CREATE TABLE listening_settings (
            id INTEGER PRIMARY KEY CHECK (id = 1),  -- one row: the class's choice
            models TEXT NOT NULL,  -- JSON list of model names
            methods TEXT NOT NULL,  -- JSON list of sampling.METHODS names
            bars INTEGER NOT NULL,
            updated REAL NOT NULL
        )""",
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


@dataclass(frozen=True)
class BoardItem:
    """A melody on the class board: who shared it, its title, how it was made, the melody itself."""

    id: int
    owner: str
    title: str
    model: str
    method: str  # sampling.METHODS name
    label: str  # the method with its knobs ("top-k (k=8)")
    settings: dict  # the link's query parameters (links.to_query), {} where none
    melody: dict  # {"events": [Event.to_dict(), ...], "n_primer": n, "key_sharps": k or None}
    created: float


@dataclass(frozen=True)
class ListeningRound:
    """One "Bach or model?" round: who listened, the two excerpts, which played first, the answer."""

    id: str
    student: str
    model: str
    method: str
    bars: int
    bach: str  # the Bach excerpt's melody key
    generated: str  # the model excerpt's id in its pool
    bach_first: bool  # Bach plays as excerpt A
    dealt: float
    picked: str | None = None  # "A" or "B": the excerpt taken for Bach; None until answered
    answered: float | None = None

    @property
    def took_model_for_bach(self) -> bool | None:
        """Whether the listener took the model's excerpt for Bach (None before the answer)."""
        if self.picked is None:
            return None
        return (self.picked == "A") != self.bach_first

    @property
    def bach_letter(self) -> str:
        """The letter Bach's excerpt plays under."""
        return "A" if self.bach_first else "B"


@dataclass(frozen=True)
class ListeningSettings:
    """The teacher's choice for the class's listening test."""

    models: tuple[str, ...]
    methods: tuple[str, ...]
    bars: int
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
        """Check the file and bring its schema up to date (once per file and instance), else RecordsError.

        Several processes opening a new file at once race for its journal mode and schema; SQLite answers
        some of those steps "locked" at once, without waiting, so the opening is tried again until the
        busy timeout has passed."""
        key = _file_key(self.path)
        if key is not None and key == self._ready_key:
            return
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                self._open_once()
                return
            except RecordsError as exc:
                if exc.code != LOCKED or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _open_once(self) -> None:
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

    # --- the class board ------------------------------------------------------------------------
    def add_board_item(
        self, owner: str, title: str, model: str, method: str, label: str, settings: dict, melody: dict
    ) -> int:
        """Put a melody on the class board; its number."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO board (owner, title, model, method, label, settings, melody, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (owner, title, model, method, label, json.dumps(settings), json.dumps(melody), time.time()),
            )
            return int(cur.lastrowid)

    def board_items(self, model: str | None = None, method: str | None = None) -> list[BoardItem]:
        """The board, newest first, optionally one model's or one method's items."""
        query, args = f"SELECT {_BOARD_COLUMNS} FROM board WHERE 1", []
        for column, value in (("model", model), ("method", method)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        with self._read() as conn:
            return [_board_item(r) for r in conn.execute(query + " ORDER BY created DESC, id DESC", args)]

    def board_item(self, item_id: int) -> BoardItem | None:
        """One board item, or None."""
        with self._read() as conn:
            row = conn.execute(f"SELECT {_BOARD_COLUMNS} FROM board WHERE id = ?", (item_id,)).fetchone()
            return _board_item(row) if row else None

    def remove_board_item(self, item_id: int, by: str, *, teacher: bool = False) -> bool:
        """Take an item off the board: its owner (any case) or the teacher may; False when nothing was
        removed (no such item, or `by` may not)."""
        with self._write() as conn:
            if teacher:
                cur = conn.execute("DELETE FROM board WHERE id = ?", (item_id,))
            else:
                cur = conn.execute("DELETE FROM board WHERE id = ? AND owner = ?", (item_id, by))
            return cur.rowcount > 0

    # --- the listening test ------------------------------------------------------------------------
    def open_round(self, student: str) -> ListeningRound | None:
        """The student's round dealt and not yet answered (a reload finds it again), or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_ROUND_COLUMNS} FROM listening_rounds WHERE student = ? AND picked IS NULL "
                "AND cleared = 0 ORDER BY dealt DESC LIMIT 1",
                (student,),
            ).fetchone()
            return _round(row) if row else None

    def deal_round(self, new: ListeningRound) -> ListeningRound:
        """Record a dealt round, unless the student has one open already: then that one (the open round
        wins, so a reload or a second tab never deals twice)."""
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {_ROUND_COLUMNS} FROM listening_rounds WHERE student = ? AND picked IS NULL "
                "AND cleared = 0 ORDER BY dealt DESC LIMIT 1",
                (new.student,),
            ).fetchone()
            if row is not None:
                return _round(row)
            conn.execute(
                f"INSERT INTO listening_rounds ({_ROUND_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)",
                (new.id, new.student, new.model, new.method, new.bars, new.bach, new.generated,
                 int(new.bach_first), new.dealt),
            )  # fmt: skip
            return new

    def answer_round(self, round_id: str, picked: str) -> tuple[bool, ListeningRound | None]:
        """Store the answer of a round once: (True, the round) for the first answer, (False, the round
        with the answer stored first) for a second click or a reload's, (False, None) for no such round
        (the teacher reset the results meanwhile: its answer would count nowhere)."""
        if picked not in ("A", "B"):
            raise ValueError(f"picked must be 'A' or 'B', got {picked!r}")
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE listening_rounds SET picked = ?, answered = ? WHERE id = ? AND picked IS NULL "
                "AND cleared = 0",
                (picked, time.time(), round_id),
            )
            row = conn.execute(
                f"SELECT {_ROUND_COLUMNS} FROM listening_rounds WHERE id = ? AND cleared = 0", (round_id,)
            ).fetchone()
            return cur.rowcount > 0, (_round(row) if row else None)

    def abandon_round(self, round_id: str) -> bool:
        """Drop a dealt round that was never answered (its model or excerpts are gone, so it cannot be
        played); False when there was no such open round. An answered round is never dropped."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM listening_rounds WHERE id = ? AND picked IS NULL", (round_id,))
            return cur.rowcount > 0

    def answered_rounds(self, student: str | None = None) -> list[ListeningRound]:
        """Every answered round since the last reset (or one student's), in the order answered."""
        query, args = (
            f"SELECT {_ROUND_COLUMNS} FROM listening_rounds WHERE picked IS NOT NULL AND cleared = 0",
            (),
        )
        if student is not None:
            query, args = query + " AND student = ?", (student,)
        with self._read() as conn:
            return [_round(r) for r in conn.execute(query + " ORDER BY answered, id", args)]

    def reset_listening(self) -> int:
        """The teacher's reset: every round so far leaves the results (kept in the file, marked
        cleared); the number of rounds cleared."""
        with self._write() as conn:
            return conn.execute("UPDATE listening_rounds SET cleared = 1 WHERE cleared = 0").rowcount

    def listening_settings(self) -> ListeningSettings | None:
        """What the teacher chose for the class's listening test, or None before any choice."""
        with self._read() as conn:
            row = conn.execute("SELECT models, methods, bars, updated FROM listening_settings").fetchone()
        if row is None:
            return None
        return ListeningSettings(tuple(json.loads(row[0])), tuple(json.loads(row[1])), row[2], row[3])

    def set_listening_settings(self, models: Sequence[str], methods: Sequence[str], bars: int) -> None:
        """Record the teacher's choice of models, methods and excerpt length for the class."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO listening_settings (id, models, methods, bars, updated) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET models = excluded.models, methods = excluded.methods, "
                "bars = excluded.bars, updated = excluded.updated",
                (json.dumps(list(models)), json.dumps(list(methods)), int(bars), time.time()),
            )


_RUN_COLUMNS = "name, owner, shared_with_class, state, created, updated"
_BOARD_COLUMNS = "id, owner, title, model, method, label, settings, melody, created"
_ROUND_COLUMNS = (
    "id, student, model, method, bars, bach, generated, bach_first, dealt, picked, answered, cleared"
)


def _board_item(row: tuple) -> BoardItem:
    item_id, owner, title, model, method, label, settings, melody, created = row
    return BoardItem(
        item_id, owner, title, model, method, label, json.loads(settings), json.loads(melody), created
    )


def _round(row: tuple) -> ListeningRound:
    rid, student, model, method, bars, bach, generated, bach_first, dealt, picked, answered, cleared = row
    return ListeningRound(rid, student, model, method, bars, bach, generated, bool(bach_first), dealt, picked,
                          answered)  # fmt: skip


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
