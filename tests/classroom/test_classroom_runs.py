"""Runs in a class: who sees which run, one active run per student, the owner saved with the run, wait
estimates for the queue."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from bachlstm.classroom.ownership import run_owners, same_student, visible_to
from bachlstm.classroom.records import RunRecord
from bachlstm.classroom.waits import PREPARE_S, job_waits, observed, pace_from, queue_waits, time_left
from bachlstm.model.checkpoints import CheckpointInfo
from bachlstm.settings.limits import BudgetError, runs_per_student
from bachlstm.training.jobs import JobManager, OwnerBusyError


class Gated:
    """A train() stand-in that waits for `gate` (or Stop) before it reports one step and saves."""

    def __init__(self) -> None:
        self.gate, self.started = threading.Event(), threading.Event()

    def __call__(self, config, *, callback, stop_event, out):
        self.started.set()
        while not (self.gate.wait(0.01) or stop_event.is_set()):
            pass
        out.write_text(f"checkpoint of {config}")
        return SimpleNamespace(checkpoint_path=out, metrics={}, stop_reason="")


@pytest.fixture
def manager():
    """A job manager over a train function of the test's; every job stopped and joined at the end."""
    managers = []

    def make(train, **kwargs):
        managers.append(JobManager(train, **kwargs))
        return managers[-1]

    yield make
    for m in managers:
        m.shutdown()


def info(name: str, owner: str | None = None, shipped: bool = False) -> CheckpointInfo:
    return CheckpointInfo(name=name, path=Path(f"{name}.safetensors"), shipped=shipped, owner=owner)


def record(name: str, owner: str, shared: bool = False) -> RunRecord:
    return RunRecord(name, owner, shared, "done", 0.0, 0.0)


def test_a_student_sees_shipped_own_shared_and_nobodys_runs():
    infos = [
        info("bach", shipped=True),
        info("anna-1", owner="Anna"),  # the checkpoint says Anna, the records agree
        info("anna-2"),  # only the records know it is Anna's
        info("ben-1", owner="Ben"),
        info("ben-2", owner="Ben"),  # shared by the teacher
        info("cli-run"),  # the command line's: nobody's
    ]
    records = [record("anna-1", "Anna"), record("ANNA-2", "anna"), record("ben-2", "Ben", shared=True)]
    owners = run_owners(infos, records)
    assert [(v.info.name, v.owner, v.shared) for v in owners] == [
        ("bach", None, False),
        ("anna-1", "Anna", False),
        ("anna-2", "anna", False),
        ("ben-1", "Ben", False),
        ("ben-2", "Ben", True),
        ("cli-run", None, False),
    ]
    assert [v.info.name for v in visible_to("Anna", owners)] == [
        "bach",
        "anna-1",
        "anna-2",
        "ben-2",
        "cli-run",
    ]
    assert [v.info.name for v in visible_to("ben", owners)] == ["bach", "ben-1", "ben-2", "cli-run"]
    assert same_student("Jürgen", "JÜRGEN") and not same_student("Anna", None)


def test_a_records_file_lost_still_keeps_the_owner_from_the_checkpoint():
    owners = run_owners([info("anna-1", owner="Anna")], [])
    assert [v.info.name for v in visible_to("Ben", owners)] == []


def test_queue_waits_fill_the_slots_first_come_first_served():
    # one slot busy for 30 s: queued runs of 60, 10, 20 s start at 30, 90, 100 s
    assert queue_waits([30.0], [60.0, 10.0, 20.0], slots=1) == [30.0, 90.0, 100.0]
    # two slots, one idle: the first queued run starts now, the next when the 30 s run ends
    assert queue_waits([30.0], [60.0, 10.0, 20.0], slots=2) == [0.0, 30.0, 40.0]
    assert queue_waits([-5.0, 100.0], [10.0], slots=2) == [0.0]  # a run past its estimate: ending now
    with pytest.raises(ValueError, match="slots must be at least 1"):
        queue_waits([], [1.0], slots=0)


def test_the_pace_is_the_median_of_real_over_estimated_within_bounds():
    assert pace_from([]) == 1.0
    assert pace_from([(20.0, 10.0), (30.0, 10.0), (10.0, 10.0)]) == 2.0
    assert pace_from([(100.0, 1.0)]) == 4.0 and pace_from([(1.0, 100.0)]) == 0.25
    assert pace_from([(5.0, 0.0)]) == 1.0  # no estimate: not counted


@dataclass
class Latest:
    eta_s: float | None
    step: int = 0
    total_steps: int = 0


class Job:
    def __init__(self, started: float, eta: float | None = None, step: int = 0, total: int = 0) -> None:
        self.started, self._latest = started, None if eta is None and not step else Latest(eta, step, total)

    def latest(self):
        return self._latest


def test_a_running_run_has_left_its_own_pace_carried_to_its_end_else_its_cost_less_its_time():
    # a quarter done after 60 s of a 100 s (+5 s) estimate: pace 60/30 = 2, so 2 x 105 - 60 = 150 s left
    assert time_left(Job(started=100.0, step=25, total=100), cost_s=100.0, now=160.0) == 150.0
    assert time_left(Job(started=100.0), cost_s=45.0, now=130.0) == 20.0  # no step yet: 45 + 5 - 30
    assert time_left(Job(started=100.0), cost_s=45.0, now=130.0, pace=2.0) == 70.0
    assert time_left(Job(started=100.0), cost_s=45.0, now=200.0) == 0.0


def test_a_running_run_shows_how_busy_the_server_is_now():
    # a quarter of a 100 s run done after 60 s: 60 s real against 5 + 25 s estimated (pace 2)
    assert observed(Job(started=100.0, step=25, total=100), cost_s=100.0, now=160.0) == (
        60.0,
        PREPARE_S + 25.0,
    )
    assert observed(Job(started=100.0), cost_s=100.0, now=160.0) is None  # no step yet


def test_a_run_that_started_after_now_has_run_no_time_and_shows_no_pace():
    """A `now` from before the run's start (an older clock reading than the progress it is given) must
    not read as a run that made its steps in no time: that pace (clamped to the lowest bound) told the
    first queued run of a class 'about 3 s' for a wait of 35 s."""
    ahead = Job(started=100.0, step=50, total=720)
    assert observed(ahead, cost_s=30.0, now=99.0) is None
    assert time_left(ahead, cost_s=30.0, now=99.0) == 30.0 + PREPARE_S  # its whole estimated cost
    assert time_left(ahead, cost_s=30.0, now=99.0, pace=2.0) == 2 * (30.0 + PREPARE_S)


def test_job_waits_from_the_costs_of_the_runs_ahead(manager, tmp_path):
    train = Gated()
    m = manager(train)
    running = m.submit("a", "cfg-a", out=tmp_path / "a")
    queued = [m.submit(n, f"cfg-{n}", out=tmp_path / n) for n in ("b", "c")]
    assert train.started.wait(5)
    costs = {"cfg-a": 100.0, "cfg-b": 40.0, "cfg-c": 10.0}
    now = running.started + 30.0
    waits = job_waits(m, lambda job: costs[job.config], now=now)
    # a: 100 s + preparation, 30 s gone; b waits for a, c for a and b
    left = 100.0 + PREPARE_S - 30.0
    assert waits == {queued[0].id: left, queued[1].id: left + 40.0 + PREPARE_S}
    train.gate.set()


def test_one_active_run_per_student_and_a_sweep_counts_as_one(manager, tmp_path):
    train = Gated()
    m = manager(train)
    first = m.submit("anna-1", "cfg", out=tmp_path / "anna-1", owner="Anna", max_per_owner=1)
    with pytest.raises(OwnerBusyError) as caught:
        m.submit("anna-2", "cfg", out=tmp_path / "anna-2", owner="anna", max_per_owner=1)
    assert caught.value.active == [first] and caught.value.limit == 1
    assert str(caught.value) == (
        "anna already has 1 run(s) queued or training ('anna-1'); this server allows 1 at a time: "
        "stop one first"
    )
    assert [j.name for j in m.jobs()] == ["anna-1"]  # nothing queued
    ben = m.submit("ben-1", "cfg", out=tmp_path / "ben-1", owner="Ben", max_per_owner=1)  # another student
    sweep = m.submit("ben-s1", "cfg", out=tmp_path / "s1", owner="Ben", max_per_owner=2)
    m.submit("ben-s2", "cfg", out=tmp_path / "s2", owner="Ben", max_per_owner=2, group=sweep.group)
    assert [j.name for j in m.active_for("BEN")] == ["ben-1", "ben-s1", "ben-s2"]
    assert ben.group != sweep.group
    m.stop(first.id)  # stopping: Anna may start her next run at once
    assert m.submit("anna-2", "cfg", out=tmp_path / "anna-2", owner="Anna", max_per_owner=1).name == "anna-2"
    train.gate.set()


@pytest.mark.parametrize(("raw", "value"), [("", 1), ("3", 3)])
def test_runs_per_student_is_a_server_setting(monkeypatch, raw, value):
    monkeypatch.setenv("BACHLSTM_RUNS_PER_STUDENT", raw)
    assert runs_per_student() == value


@pytest.mark.parametrize("raw", ["0", "1.5", "many"])
def test_a_bad_runs_per_student_setting_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv("BACHLSTM_RUNS_PER_STUDENT", raw)
    with pytest.raises(BudgetError, match="BACHLSTM_RUNS_PER_STUDENT must be"):
        runs_per_student()


def test_the_owner_is_saved_with_the_run_and_kept_when_it_is_continued(tmp_path, one_thread):
    from bachlstm.model.checkpoints import checkpoint_info, read_meta
    from bachlstm.training.loop import train
    from bachlstm.training.presets import get_preset
    from tests.builders import scale_melodies

    small = dict(
        embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,), epochs=1, batch_size=4, seq_len=16, stride=8
    )
    out = tmp_path / "anna-1.safetensors"
    train(get_preset("bach", **small, augment_semitones=()), out=out, data=scale_melodies(9), owner="Anna")
    assert read_meta(out)["owner"] == "Anna" and checkpoint_info(out).owner == "Anna"
    more = get_preset("bach", **{**small, "epochs": 2}, augment_semitones=())
    started = time.time()
    train(more, out=out, data=scale_melodies(9), resume=out)  # continued without naming the owner
    assert read_meta(out)["owner"] == "Anna" and out.stat().st_mtime >= started


def test_the_job_manager_tells_each_start_and_end_outside_its_lock(manager, tmp_path):
    seen = []
    train = Gated()
    m = manager(train, on_change=lambda job: seen.append((job.name, job.status)))
    first = m.submit("a", "cfg", out=tmp_path / "a")
    waiting = m.submit("b", "cfg", out=tmp_path / "b")
    assert train.started.wait(5)
    m.stop(waiting.id)  # leaves the queue: told at once
    train.gate.set()
    m.wait(first.id, timeout=5)
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [("a", "running"), ("b", "stopped"), ("a", "done")]
