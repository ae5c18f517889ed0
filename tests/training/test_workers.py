"""Training in worker processes: progress, stop, errors, a crashed or killed worker, the limit, orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

from bachlstm.training.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobManager
from bachlstm.training.workers import ProcessRunner, exit_reason
from tests.builders import ROOT
from tests.training import worker_fns


@pytest.fixture
def manager():
    """A JobManager whose runs go through real 'spawn' worker processes."""
    made = []

    def make(train_fn, **kwargs):
        m = JobManager(train_fn, runner=ProcessRunner(), **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.shutdown(timeout=5)


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by its parent) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_a_run_reports_from_its_own_process_and_saves(manager, tmp_path):
    m = manager(worker_fns.counts)
    job = m.wait(m.submit("run-1", 3, out=tmp_path / "run-1.safetensors").id, timeout=60)
    assert job.status == DONE, job.error
    records = job.progress()
    assert [r.step for r in records] == [1, 2, 3]
    assert records[0].pid != os.getpid()  # trained elsewhere, not in the server's interpreter
    assert job.checkpoint == tmp_path / "run-1.safetensors"
    assert job.checkpoint.read_text() == "3 steps" and job.metrics == {"steps": 3}


def test_a_worker_does_not_run_the_servers_main_script(manager, tmp_path, monkeypatch):
    # Streamlit runs each page script as __main__; a spawned child would run it again by default.
    marker = tmp_path / "page-ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page script ran in the worker')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    m = manager(worker_fns.counts)
    job = m.wait(m.submit("no-main", 2, out=tmp_path / "no-main.safetensors").id, timeout=60)
    assert job.status == DONE, job.error
    assert not marker.exists()


def test_stop_reaches_the_worker_which_saves_and_ends(manager, tmp_path):
    m = manager(worker_fns.until_stopped)
    job = m.submit("stopme", None, out=tmp_path / "stopme.safetensors")
    wait_until(lambda: len(job.progress()) >= 3)
    m.stop(job.id)
    m.wait(job.id, timeout=30)
    assert job.status == STOPPED and job.stop_reason == "stopped by the user"
    assert (tmp_path / "stopme.safetensors").read_text().startswith("stopped at")


def test_an_error_in_the_worker_is_a_message(manager, tmp_path):
    m = manager(worker_fns.raises)
    job = m.wait(m.submit("bad", 2, out=tmp_path / "bad.safetensors").id, timeout=60)
    assert job.status == FAILED
    assert job.error == "training failed: only 2 melodies, too few to split"


def test_a_worker_that_exits_without_a_word_is_reported_failed(manager, tmp_path):
    m = manager(worker_fns.exits)
    job = m.wait(m.submit("crash", 3, out=tmp_path / "crash.safetensors").id, timeout=60)
    assert job.status == FAILED
    assert job.error == "training failed: the training process crashed (exit code 3)"
    assert job.checkpoint is None


def test_a_killed_worker_fails_its_run_and_the_queue_goes_on(manager, tmp_path):
    m = manager(worker_fns.until_stopped, max_running=1)
    first = m.submit("first", None, out=tmp_path / "first.safetensors")
    second = m.submit("second", 2, out=tmp_path / "second.safetensors")
    wait_until(lambda: first.progress())
    assert (first.status, second.status) == (RUNNING, QUEUED)
    pid = first.progress()[0].pid
    os.kill(pid, signal.SIGKILL)  # what the kernel's out-of-memory killer or a teacher's kill -9 does
    m.wait(first.id, timeout=30)
    assert first.status == FAILED
    assert "killed by SIGKILL" in first.error
    wait_until(lambda: second.progress())  # the server and its queue are unharmed: the next run starts
    assert second.progress()[0].pid != pid
    m.stop(second.id)
    assert m.wait(second.id, timeout=30).status == STOPPED
    wait_until(lambda: not alive(pid), timeout=10)


def test_jobs_start_in_order_and_never_more_than_the_limit(manager, tmp_path):
    m = manager(worker_fns.counts, max_running=2)
    jobs = [m.submit(f"r{i}", 2, out=tmp_path / f"r{i}.safetensors") for i in range(4)]
    assert [j.status for j in jobs] == [RUNNING, RUNNING, QUEUED, QUEUED]
    for job in jobs:
        m.wait(job.id, timeout=60)
    assert all(j.status == DONE for j in jobs)
    starts = [j.started for j in jobs]
    assert starts == sorted(starts)
    # at every moment at most two ran: each later job started after some earlier one had finished
    assert jobs[2].started >= min(jobs[0].finished, jobs[1].finished)
    assert jobs[3].started >= sorted([jobs[0].finished, jobs[1].finished, jobs[2].finished])[1]
    assert len({j.progress()[0].pid for j in jobs}) == 4  # a fresh process per run


def test_a_run_that_ignores_stop_is_killed_after_the_time_limit(manager, tmp_path):
    m = manager(worker_fns.ignores_stop, max_wall_s=1, kill_grace_s=1)
    job = m.submit("stubborn", None, out=tmp_path / "stubborn.safetensors")
    m.wait(job.id, timeout=30)
    assert job.status == FAILED
    assert "killed by SIGKILL" in job.error


def test_exit_reasons_are_sentences():
    assert exit_reason(-9).startswith("the training process was killed by SIGKILL (out of memory")
    assert exit_reason(-15) == "the training process was killed by SIGTERM"
    assert exit_reason(1) == "the training process crashed (exit code 1)"
    assert exit_reason(None) == "the training process stopped answering"


SERVER = """
import sys, time
sys.path[:0] = [{root!r}]
from tests.training import worker_fns
from pathlib import Path
from bachlstm.training.jobs import JobManager
from bachlstm.training.workers import ProcessRunner

if __name__ == "__main__":
    m = JobManager(worker_fns.until_stopped, runner=ProcessRunner())
    job = m.submit("orphan", None, out=Path({out!r}))
    while not job.progress():
        time.sleep(0.02)
    print(job.progress()[0].pid, flush=True)
    time.sleep(600)
"""


def test_a_worker_whose_server_dies_stops_and_saves(tmp_path):
    out = tmp_path / "orphan.safetensors"
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(SERVER.format(root=str(ROOT), out=str(out))))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(server.stdout.readline())
        server.kill()  # the server dies without cleaning up
        server.wait(10)
        wait_until(lambda: not alive(pid), timeout=20)  # the worker noticed and ended
        assert out.read_text().startswith("stopped at")  # after saving, as a stopped run does
    finally:
        server.kill()
        server.stdout.close()


def test_the_next_run_starts_in_a_worker_that_was_waiting_for_it(tmp_path):
    """After a run starts, one more worker starts and imports ahead; the next run uses it. A waiting
    worker that died is replaced, and closing the runner ends the one still waiting."""
    runner = ProcessRunner(warm=("bachlstm.training.presets",))
    m = JobManager(worker_fns.counts, runner=runner)
    try:
        first = m.wait(m.submit("a", 2, out=tmp_path / "a.safetensors").id, timeout=60)
        wait_until(lambda: runner.spare is not None)  # started just after the run was handed over
        waiting = runner.spare
        assert first.status == DONE and waiting.pid != first.progress()[0].pid
        second = m.wait(m.submit("b", 2, out=tmp_path / "b.safetensors").id, timeout=60)
        assert second.status == DONE and second.progress()[0].pid == waiting.pid  # the waiting one ran it
        wait_until(lambda: runner.spare is not None)
        killed = runner.spare
        os.kill(killed.pid, signal.SIGKILL)  # a waiting worker killed by hand
        wait_until(lambda: killed.exitcode is not None)  # every thread of it gone, as its parent sees
        third = m.wait(m.submit("c", 2, out=tmp_path / "c.safetensors").id, timeout=60)
        assert third.status == DONE, third.error  # a fresh worker took the run
        wait_until(lambda: runner.spare is not None)
        last = runner.spare
    finally:
        m.shutdown(timeout=5)
    assert last.exitcode is not None  # shutdown let the waiting worker go


def test_a_failed_runs_problem_keeps_the_errors_code_across_processes():
    import pickle

    from bachlstm.model.checkpoints import CheckpointError
    from bachlstm.training.jobs import OwnerBusyError
    from bachlstm.training.workers import problem_of

    taken = pickle.loads(
        pickle.dumps(CheckpointError("a run named 'x' already exists", "name_taken", name="x"))
    )
    assert (str(taken), problem_of(taken)) == (
        "a run named 'x' already exists",
        ("checkpoint", "name_taken", {"name": "x"}),
    )
    assert problem_of(CheckpointError("bad header")) == ("checkpoint", "damaged", {})  # the default code
    assert problem_of(MemoryError()) == ("training", "out_of_memory", {})
    busy = pickle.loads(pickle.dumps(OwnerBusyError("Anna", 1, [])))
    assert (busy.code, busy.values["owner"], busy.limit) == ("owner_busy", "Anna", 1)
