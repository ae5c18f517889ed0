"""The class's records: schema, students, atomic run names, many writers at once, locked and damaged files."""

import multiprocessing
import sqlite3
import sys
import threading
import time
import types

import pytest

from bachlstm.classroom import records
from bachlstm.classroom.records import ClassRecords, RecordsError
from bachlstm.classroom.students import next_run_name


def _db(tmp_path, **kw) -> ClassRecords:
    return ClassRecords(tmp_path / "class.sqlite3", **kw)


def test_a_new_file_gets_the_newest_schema_in_wal_mode(tmp_path):
    db = _db(tmp_path)
    assert db.schema_version() == records.SCHEMA_VERSION == len(records.MIGRATIONS)
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"students", "runs"} <= tables


def test_the_default_file_is_in_the_runs_folder_and_one_setting_moves_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv(records.ENV_DATABASE, raising=False)
    assert records.database_path() == tmp_path / "runs" / "class.sqlite3"
    monkeypatch.setenv(records.ENV_DATABASE, str(tmp_path / "elsewhere.db"))
    assert ClassRecords().path == tmp_path / "elsewhere.db"


def test_students_are_one_per_name_in_any_case(tmp_path):
    db = _db(tmp_path)
    first = db.add_student("Anna")
    again = db.add_student("anna")
    db.add_student("Ben")
    assert again.name == "Anna" and again.created == first.created
    assert [s.name for s in db.students()] == ["Anna", "Ben"]


def test_a_taken_run_name_moves_on_to_the_next_free_one(tmp_path):
    db = _db(tmp_path)
    on_disk = {"anna-workshop-2"}
    free = lambda n: n.lower() not in on_disk  # noqa: E731
    names = [
        db.reserve_run("anna-workshop-1", "Anna", is_free=free, next_name=next_run_name) for _ in range(3)
    ]
    assert names == ["anna-workshop-1", "anna-workshop-3", "anna-workshop-4"]
    assert (
        db.reserve_run("ANNA-workshop-1", "Ben", is_free=free, next_name=next_run_name) == "ANNA-workshop-5"
    )
    assert [r.owner for r in db.runs(owner="anna")] == ["Anna"] * 3


def test_runs_record_state_and_sharing(tmp_path):
    db = _db(tmp_path)
    db.reserve_run("r-1", "Anna", next_name=next_run_name)
    assert db.set_state("r-1", "running") and db.share("r-1")
    record = db.run("r-1")
    assert (record.owner, record.state, record.shared_with_class) == ("Anna", "running", True)
    assert not db.set_state("nope", "running") and not db.share("nope")
    db.record_run("old-1", "Ben", "done")
    assert [r.name for r in db.runs()] == ["r-1", "old-1"]
    assert db.forget_run("r-1") and db.run("r-1") is None


def test_the_records_survive_a_new_instance(tmp_path):
    _db(tmp_path).reserve_run("r-1", "Anna", next_name=next_run_name)
    assert _db(tmp_path).run("r-1").owner == "Anna"  # a server restart: a new process, the same file


def test_thirty_threads_pressing_start_together_get_thirty_names(tmp_path):
    db = _db(tmp_path)
    barrier, names, errors = threading.Barrier(30), [], []

    def press(i):
        barrier.wait()
        try:
            names.append(db.reserve_run("my-workshop-1", f"s{i}", next_name=next_run_name))
        except Exception as exc:  # noqa: BLE001 (collected: the test says which)
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(names) == sorted(f"my-workshop-{i}" for i in range(1, 31))


def _reserve_in_process(path, owner, n, out):
    db = ClassRecords(path)
    got = [db.reserve_run("p-1", owner, next_name=next_run_name) for _ in range(n)]
    db.add_student(owner)
    out.put(got)


def test_processes_writing_at_once_lose_nothing(tmp_path, monkeypatch):
    # An AppTest earlier in the same pytest process leaves its temporary page script as __main__, which
    # spawn would re-run in each child (NameError: '__args'); the children need no __main__ of ours.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    path = tmp_path / "class.sqlite3"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reserve_in_process, args=(path, f"s{i}", 5, out)) for i in range(4)]
    for p in procs:
        p.start()
    got = [name for _ in procs for name in out.get(timeout=240)]  # spawn re-imports: slow on a busy machine
    for p in procs:
        p.join(30)
    assert sorted(got) == sorted(f"p-{i}" for i in range(1, 21))
    db = ClassRecords(path)
    assert len(db.runs()) == 20 and len(db.students()) == 4


def test_a_held_write_lock_is_locked_not_a_crash_and_loses_nothing(tmp_path):
    db = _db(tmp_path, busy_timeout_s=0.2)
    db.reserve_run("r-1", "Anna", next_name=next_run_name)
    holder = sqlite3.connect(db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holding the write lock
    try:
        with pytest.raises(RecordsError) as caught:
            db.reserve_run("r-2", "Ben", next_name=next_run_name)
        assert caught.value.code == records.LOCKED
        assert db.run("r-1").owner == "Anna"  # reading goes on while a writer holds the lock (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert db.reserve_run("r-2", "Ben", next_name=next_run_name) == "r-2"


def test_a_damaged_file_is_refused_never_deleted_and_can_be_moved_aside(tmp_path):
    path = tmp_path / "class.sqlite3"
    garbage = b"this is not a database, it was damaged on the way " * 100
    path.write_bytes(garbage)
    db = ClassRecords(path)
    with pytest.raises(RecordsError) as caught:
        db.students()
    assert caught.value.code == records.DAMAGED
    with pytest.raises(RecordsError):
        db.add_student("Anna")
    assert path.read_bytes() == garbage  # refused, not overwritten
    moved = db.move_aside()
    assert moved.read_bytes() == garbage and moved.name.startswith("class.sqlite3.damaged-")
    assert db.add_student("Anna").name == "Anna"  # a fresh file


def test_a_file_damaged_inside_its_pages_is_damaged(tmp_path):
    db = _db(tmp_path)
    for i in range(200):
        db.add_student(f"student {i}")
    with sqlite3.connect(db.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.path.read_bytes())
    data[4096 : 4096 + 64] = b"\xff" * 64  # scribble over the header of the students table's root page
    db.path.write_bytes(bytes(data))
    with pytest.raises(RecordsError) as caught:
        ClassRecords(db.path).students()
    assert caught.value.code == records.DAMAGED


def test_a_newer_schema_is_refused(tmp_path):
    db = _db(tmp_path)
    db.open()
    with sqlite3.connect(db.path) as conn:
        conn.execute(f"PRAGMA user_version = {records.SCHEMA_VERSION + 1}")
    with pytest.raises(RecordsError) as caught:
        ClassRecords(db.path).students()
    assert caught.value.code == records.NEWER_SCHEMA


def test_a_migration_appended_later_upgrades_an_old_file(tmp_path, monkeypatch):
    db = _db(tmp_path)
    db.add_student("Anna")
    later = (*records.MIGRATIONS, ("CREATE TABLE answers (student TEXT NOT NULL, answer TEXT NOT NULL)",))
    monkeypatch.setattr(records, "MIGRATIONS", later)
    monkeypatch.setattr(records, "SCHEMA_VERSION", len(later))
    upgraded = ClassRecords(db.path)
    assert upgraded.schema_version() == len(later)
    assert [s.name for s in upgraded.students()] == ["Anna"]  # nothing saved was lost


def test_a_folder_that_cannot_be_made_is_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordsError) as caught:
        ClassRecords(blocker / "class.sqlite3").students()
    assert caught.value.code == records.UNAVAILABLE


def test_opening_is_tried_again_while_sqlite_answers_locked_at_once_but_not_past_the_timeout(
    tmp_path, monkeypatch
):
    """Processes creating a new file together race for its journal mode and schema; SQLite answers some
    of those steps 'locked' without waiting. The opening is tried again until the busy timeout; any
    other problem is reported at once."""
    recs = records.ClassRecords(tmp_path / "class.sqlite3", busy_timeout_s=0.5)
    real, answers = records.ClassRecords._open_once, []

    def locked_twice(self):
        answers.append("try")
        if len(answers) <= 2:
            raise records.RecordsError(records.LOCKED, path=self.path.name)
        real(self)

    monkeypatch.setattr(records.ClassRecords, "_open_once", locked_twice)
    recs.open()
    assert len(answers) == 3 and recs.schema_version() == records.SCHEMA_VERSION

    def always(code):
        def fail(self):
            answers.append(code)
            raise records.RecordsError(code, path=self.path.name)

        return fail

    other = records.ClassRecords(tmp_path / "other.sqlite3", busy_timeout_s=0.2)
    monkeypatch.setattr(records.ClassRecords, "_open_once", always(records.LOCKED))
    t0 = time.monotonic()
    with pytest.raises(records.RecordsError) as err:
        other.open()
    assert err.value.code == records.LOCKED and 0.2 <= time.monotonic() - t0 < 2.0
    answers.clear()
    monkeypatch.setattr(records.ClassRecords, "_open_once", always(records.DAMAGED))
    with pytest.raises(records.RecordsError) as err:
        other.open()
    assert err.value.code == records.DAMAGED and answers == [records.DAMAGED]  # not tried again
