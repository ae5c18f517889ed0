"""JobManager: limit and FIFO queue, stop, errors as messages, wall-time bound, pruning, run names."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bachlstm.training.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobError, JobManager


@dataclass
class FakeProgress:
    kind: str
    step: int


@dataclass
class FakeResult:
    """The fields of a TrainResult that the job manager reads."""

    checkpoint_path: Path
    metrics: dict = field(default_factory=dict)
    stop_reason: str = ""


class FakeTrain:
    """A train() stand-in: reports `steps` steps; each waits for `gate` (so tests decide when it moves)."""

    def __init__(self, steps: int = 3, fail: Exception | None = None, gated: bool = False):
        self.steps, self.fail = steps, fail
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.started = threading.Event()
        self.calls: list[str] = []

    def __call__(self, config, *, callback, stop_event, out):
        self.calls.append(config)
        self.started.set()
        for step in range(1, self.steps + 1):
            while not self.gate.wait(0.01):
                if stop_event.is_set():
                    break
            if stop_event.is_set():
                break
            callback(FakeProgress("step", step))
            if self.fail is not None:
                raise self.fail
        callback(FakeProgress("done", step))
        out.write_text(f"checkpoint of {config}")
        return FakeResult(out)


@pytest.fixture
def manager():
    managers = []

    def make(train, **kwargs):
        m = JobManager(train, **kwargs)
        managers.append(m)
        return m

    yield make
    for m in managers:
        m.shutdown()


def test_job_runs_reports_progress_and_saves(manager, tmp_path):
    m = manager(FakeTrain(steps=3))
    job = m.submit("run-1", "cfg", out=tmp_path / "run-1.safetensors", owner="s1")
    m.wait(job.id, timeout=5)
    assert job.status == DONE
    assert [(p.kind, p.step) for p in job.progress()] == [("step", 1), ("step", 2), ("step", 3), ("done", 3)]
    assert job.checkpoint == tmp_path / "run-1.safetensors"
    assert job.checkpoint.read_text() == "checkpoint of cfg"
    assert job.error is None and job.finished >= job.started >= job.created


def test_limit_of_one_queues_fifo_and_starts_next(manager, tmp_path):
    train = FakeTrain(steps=2, gated=True)
    m = manager(train, max_running=1)
    a = m.submit("a", "A", out=tmp_path / "a")
    b = m.submit("b", "B", out=tmp_path / "b")
    c = m.submit("c", "C", out=tmp_path / "c")
    assert [a.status, b.status, c.status] == [RUNNING, QUEUED, QUEUED]
    assert [m.queue_position(j.id) for j in (a, b, c)] == [None, 1, 2]
    assert [j.name for j in m.queue()] == ["b", "c"]
    train.gate.set()
    for job in (a, b, c):
        m.wait(job.id, timeout=5)
    assert [a.status, b.status, c.status] == [DONE, DONE, DONE]
    assert train.calls == ["A", "B", "C"]  # first in, first out


def test_env_sets_the_limit(manager, monkeypatch, tmp_path):
    monkeypatch.setenv("BACHLSTM_MAX_JOBS", "2")
    train = FakeTrain(gated=True)
    m = manager(train)
    jobs = [m.submit(n, n, out=tmp_path / n) for n in ("a", "b", "c")]
    assert [j.status for j in jobs] == [RUNNING, RUNNING, QUEUED]
    train.gate.set()


@pytest.mark.parametrize("raw", ["0", "two"], ids=["zero", "text"])
def test_bad_env_limit_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv("BACHLSTM_MAX_JOBS", raw)
    with pytest.raises(JobError, match="BACHLSTM_MAX_JOBS"):
        JobManager(FakeTrain())


def test_stop_running_job_keeps_its_checkpoint(manager, tmp_path):
    train = FakeTrain(steps=100, gated=True)
    m = manager(train)
    job = m.submit("r", "R", out=tmp_path / "r")
    train.started.wait(5)
    m.stop(job.id)
    m.wait(job.id, timeout=5)
    assert job.status == STOPPED and job.stop_reason == "stopped by the user"
    assert (job.stop_code, job.stop_values) == ("user", {})  # a page words the code
    assert job.checkpoint.exists()


def test_stop_queued_job_removes_it_from_queue(manager, tmp_path):
    train = FakeTrain(gated=True)
    m = manager(train)
    a = m.submit("a", "A", out=tmp_path / "a")
    b = m.submit("b", "B", out=tmp_path / "b")
    m.stop(b.id)
    assert b.status == STOPPED and m.queue() == []
    train.gate.set()
    m.wait(a.id, timeout=5)
    assert train.calls == ["A"]


def test_training_error_becomes_message_and_next_job_runs(manager, tmp_path):
    m = manager(FakeTrain(fail=RuntimeError("CUDA is not here")))
    bad = m.submit("bad", "X", out=tmp_path / "bad")
    m.wait(bad.id, timeout=5)
    assert bad.status == FAILED
    assert bad.error == "training failed (RuntimeError): CUDA is not here"
    assert len(bad.progress()) == 1  # what was reported before the error is kept
    m.train_fn = FakeTrain()
    good = m.submit("good", "G", out=tmp_path / "good")
    m.wait(good.id, timeout=5)
    assert good.status == DONE


def test_value_error_message_is_kept_plain(manager, tmp_path):
    m = manager(FakeTrain(fail=ValueError("seq_len must be > 1, got 0")))
    job = m.wait(m.submit("v", "V", out=tmp_path / "v").id, timeout=5)
    assert job.error == "training failed: seq_len must be > 1, got 0"
    assert job.problem == ("training", "failed", {"error": "ValueError"})


def test_wall_time_bound_stops_a_job(manager, tmp_path):
    train = FakeTrain(steps=10**6, gated=True)
    m = manager(train, max_wall_s=0.2)
    job = m.wait(m.submit("slow", "S", out=tmp_path / "slow").id, timeout=5)
    assert job.status == STOPPED
    assert "time limit" in job.stop_reason
    assert (job.stop_code, job.stop_values) == ("time_limit", {"minutes": 0.2 / 60})


def test_env_sets_the_wall_time_bound(monkeypatch):
    monkeypatch.setenv("BACHLSTM_MAX_JOB_SECONDS", "90")
    assert JobManager(FakeTrain()).max_wall_s == 90
    assert JobManager(FakeTrain(), max_wall_s=5).max_wall_s == 5


def test_finished_jobs_are_pruned(manager, tmp_path):
    m = manager(FakeTrain(), keep_finished_s=60)
    job = m.wait(m.submit("old", "O", out=tmp_path / "old").id, timeout=5)
    assert m.prune(now=job.finished + 30) == 0
    assert m.prune(now=job.finished + 61) == 1
    assert m.find(job.id) is None
    with pytest.raises(JobError, match="no training job"):
        m.get(job.id)


def test_duplicate_names_and_existing_files_are_refused(manager, tmp_path):
    train = FakeTrain(gated=True)
    m = manager(train)
    m.submit("same", "A", out=tmp_path / "same")
    with pytest.raises(JobError, match="already exists"):
        m.submit("same", "B", out=tmp_path / "other")
    (tmp_path / "saved").write_text("a finished run")
    with pytest.raises(JobError, match="already exists"):
        m.submit("saved", "C", out=tmp_path / "saved")
    assert (tmp_path / "saved").read_text() == "a finished run"  # nothing overwritten
    train.gate.set()


def test_full_queue_is_refused(manager, tmp_path):
    train = FakeTrain(gated=True)
    m = manager(train, max_queued=1)
    m.submit("a", "A", out=tmp_path / "a")
    m.submit("b", "B", out=tmp_path / "b")
    with pytest.raises(JobError, match="queue is full"):
        m.submit("c", "C", out=tmp_path / "c")
    train.gate.set()


def test_job_error_is_a_value_error():
    assert issubclass(JobError, ValueError)


def test_submit_checks_the_run_name_rule(manager, tmp_path):
    from bachlstm.model.checkpoints import CheckpointError

    m = manager(FakeTrain())
    with pytest.raises(CheckpointError, match="not allowed"):
        m.submit("x" * 49, "cfg", out=tmp_path / "x")
    assert m.wait(m.submit("  padded ", "cfg", out=tmp_path / "p").id, timeout=5).name == "padded"


@pytest.mark.slow
def test_real_tiny_training_run_saves_a_loadable_checkpoint(tmp_path):
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.training.presets import get_preset

    # 12 melodies fit in one batch of 64: one step per epoch, so 3 epochs make 3 steps
    preset = get_preset("workshop", epochs=3, max_melodies=12, num_threads=1)
    m = JobManager()  # the real train()
    try:
        job = m.wait(m.submit("tiny", preset, out=tmp_path / "tiny.safetensors").id, timeout=120)
    finally:
        m.shutdown()
    assert job.status == DONE, job.error
    kinds = [p.kind for p in job.progress()]
    assert kinds.count("step") == 3 and kinds.count("epoch") == 3 and kinds[-1] == "done"
    assert job.checkpoint == tmp_path / "tiny.safetensors"
    assert load_checkpoint(job.checkpoint).meta["preset"] == "workshop"
    assert job.metrics["steps"] == 3
