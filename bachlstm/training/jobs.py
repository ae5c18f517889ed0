"""Background training jobs for the dashboard: a server-wide limit with a FIFO queue over a runner
(worker processes by default, see workers.py); statuses and progress for the pages."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bachlstm.model.checkpoints import validate_run_name
from bachlstm.settings.problems import CodedError

# Types only: importing training pulls in torch (~1-2 s), and every page imports jobs.py at start-up.
if TYPE_CHECKING:
    from bachlstm.training.loop import Progress, TrainResult
    from bachlstm.training.presets import Preset

from bachlstm.training.workers import (
    NO_RESULT,
    Outcome,
    ProcessRunner,
    Run,
    Runner,
    ThreadRunner,
    describe,
    problem_of,
)

log = logging.getLogger(__name__)

# Statuses a job moves through; the last three are final.
QUEUED, RUNNING, STOPPING = "queued", "running", "stopping"
DONE, FAILED, STOPPED = "done", "failed", "stopped"
FINAL = (DONE, FAILED, STOPPED)


# JobError codes (a page words them with their values).
NAME_TAKEN = "name_taken"  # name
QUEUE_FULL = "queue_full"  # waiting
UNKNOWN_JOB = "unknown_job"  # job
ENV_WHOLE = "env_whole"  # name, got: a server setting that is no whole number of at least 1
OWNER_BUSY = "owner_busy"  # owner, limit, runs (the names, comma-separated), n


# Why a job stopped (or ended early), as codes with the English words the command line and logs use.
BY_USER, BY_TEACHER, SWEEP_STOPPED, SHUTDOWN = "user", "teacher", "sweep", "shutdown"
TIME_LIMIT, EARLY = "time_limit", "early"  # minutes; patience
STOP_TEXTS = {
    BY_USER: "stopped by the user",
    BY_TEACHER: "stopped by the teacher",
    SWEEP_STOPPED: "the sweep was stopped",
    SHUTDOWN: "server shutting down",
    TIME_LIMIT: "stopped after the server's time limit of {minutes:g} min",
    EARLY: "early stopping: no better val loss for {patience} epochs",
}


class JobError(CodedError):
    """A job request that cannot be accepted (name taken, full queue, unknown job)."""

    kind = "job"


class OwnerBusyError(JobError):
    """The owner has as many runs queued or training as the server allows (`active`: those jobs)."""

    def __init__(self, owner: str, limit: int, active: list[TrainingJob]) -> None:
        self.owner, self.limit, self.active = owner, limit, active
        names = ", ".join(repr(j.name) for j in active)
        super().__init__(
            f"{owner} already has {len(active)} run(s) queued or training ({names}); this server allows "
            f"{limit} at a time: stop one first",
            OWNER_BUSY,
            owner=owner,
            limit=limit,
            runs=", ".join(j.name for j in active),
            n=len(active),
        )

    def __reduce__(self):
        return type(self), (self.owner, self.limit, self.active)


@dataclass
class TrainingJob:
    """One training run: its request, status and progress, written by its worker, read by pages."""

    name: str
    config: Preset  # what train() takes
    out: Path | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    owner: str = ""  # the student who started it (pages show other students' jobs only as queue entries)
    group: str = ""  # jobs started by one request (a sweep) share a group; one job is its own group
    status: str = QUEUED
    history: list = field(default_factory=list)  # Progress records, oldest first
    error: str | None = None
    problem: tuple = ()  # a failure as (kind, code, values) for a page to word (workers.problem_of)
    stop_code: str = ""  # why it stopped or ended early: a code of STOP_TEXTS ("" when it did not)
    stop_values: dict = field(default_factory=dict)
    checkpoint: Path | None = None
    metrics: dict = field(default_factory=dict)  # the finished run's metrics (TrainResult.metrics)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stop_reason: str | None = None
    resume: Path | None = None  # the checkpoint this job continues
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_final(self) -> bool:
        """True once the job is done, failed or stopped."""
        return self.status in FINAL

    @property
    def is_active(self) -> bool:
        """True while the job is queued, running or stopping."""
        return not self.is_final

    def progress(self) -> list:
        """A copy of the progress history, safe to read while the worker appends."""
        with self._lock:
            return list(self.history)

    def latest(self) -> Progress | None:
        """The most recent Progress record, or None before the first one."""
        with self._lock:
            return self.history[-1] if self.history else None

    def _record(self, progress: Progress) -> None:
        with self._lock:
            self.history.append(progress)


def default_train(config: Preset, *, callback, stop_event, out, resume=None, owner=None) -> TrainResult:
    """Call bachlstm.training.loop.train (`owner` saved in the checkpoint's metadata)."""
    from bachlstm.training.loop import train  # late: torch loads with the first job, not with every page

    return train(config, callback=callback, stop_event=stop_event, out=out, resume=resume, owner=owner)


def _same_file(a: Path | None, b: Path | None) -> bool:
    try:
        return a is not None and b is not None and os.path.samefile(a, b)
    except OSError:
        return False


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise JobError(f"{name} must be a whole number, got {raw!r}", ENV_WHOLE, name=name, got=raw) from exc
    if value < 1:
        raise JobError(f"{name} must be at least 1, got {value}", ENV_WHOLE, name=name, got=raw)
    return value


class JobManager:
    """Runs training jobs through a runner, at most `max_running` at once, the rest in a FIFO queue.

    Thread-safe; one instance is shared by every session of the server. The default runner starts a
    worker process per job (workers.ProcessRunner), so training never competes with the pages for the
    server's interpreter; a callable `train_fn` given instead runs in threads (tests, scripts). Jobs
    are bounded: each is asked to stop after `max_wall_s` seconds (env BACHLSTM_MAX_JOB_SECONDS,
    default 3600) and killed `kill_grace_s` seconds later if it has not ended; finished jobs are
    forgotten `keep_finished_s` seconds after they end (their checkpoints stay on disk).
    `max_running` defaults to env BACHLSTM_MAX_JOBS or 1, `max_queued` to BACHLSTM_MAX_QUEUED or 40.
    """

    def __init__(
        self,
        train_fn: Callable | None = None,
        *,
        runner: Runner | None = None,
        max_running: int | None = None,
        max_queued: int | None = None,
        max_wall_s: float | None = None,
        kill_grace_s: float = 30.0,
        keep_finished_s: float = 6 * 3600.0,
        on_change: Callable[[TrainingJob], None] | None = None,
    ) -> None:
        self.train_fn = train_fn or default_train
        self._owner_in_meta = train_fn is None  # default_train saves the owner; a caller's function may not
        # A function of the caller's may not survive pickling into a worker process: run it in threads.
        self.runner = runner or (ThreadRunner() if train_fn is not None else ProcessRunner())
        self.max_running = max_running if max_running is not None else _env_int("BACHLSTM_MAX_JOBS", 1)
        # A workshop server must not train forever for a tab closed long ago: one hour by default.
        if max_wall_s is None:
            max_wall_s = _env_int("BACHLSTM_MAX_JOB_SECONDS", 3600)
        if self.max_running < 1:
            raise JobError(f"max_running must be at least 1, got {self.max_running}")
        if max_wall_s <= 0:
            raise JobError(f"max_wall_s must be positive, got {max_wall_s}")
        # A class of 30 must all be accepted: 40 waiting by default (env BACHLSTM_MAX_QUEUED).
        self.max_queued = max_queued if max_queued is not None else _env_int("BACHLSTM_MAX_QUEUED", 40)
        self.max_wall_s = max_wall_s
        self.kill_grace_s = kill_grace_s
        self.keep_finished_s = keep_finished_s
        self.on_change = on_change  # told of each job that starts, ends or leaves the queue (never locked)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.version = 0  # bumped on every status or queue change (pages redraw a queue only then)
        self._jobs: dict[str, TrainingJob] = {}
        self._queue: list[str] = []
        self._threads: dict[str, threading.Thread] = {}
        self._runs: dict[str, Run] = {}

    # --- requests -------------------------------------------------------------------------------
    def submit(
        self,
        name: str,
        config: Preset,
        *,
        out: Path | None = None,
        owner: str = "",
        resume: Path | None = None,
        max_per_owner: int | None = None,
        group: str | None = None,
    ) -> TrainingJob:
        """Queue a job (started at once when a slot is free); `resume` continues that checkpoint.

        CheckpointError for an invalid run name (checkpoints.validate_run_name), JobError when the
        name is taken or the queue is full, OwnerBusyError when `owner` already has `max_per_owner`
        runs queued or training (jobs of one `group`, a sweep, count as one run). `out` must not
        exist, unless it is the resumed file.
        """
        with self._lock:
            self.prune()
            name = validate_run_name(name)
            if owner and max_per_owner is not None:
                # A stopping run ends within a batch: "stop the first and start this one" is allowed.
                active = [
                    j
                    for j in self.active_for(owner)
                    if j.status != STOPPING and (not group or j.group != group)
                ]
                if len({j.group for j in active}) >= max_per_owner:
                    raise OwnerBusyError(owner, max_per_owner, active)
            if name in {j.name for j in self._jobs.values() if j.is_active}:
                raise JobError(
                    f"a run named {name!r} already exists: choose another name (nothing is overwritten)",
                    NAME_TAKEN,
                    name=name,
                )
            if out is not None and os.path.lexists(out) and not _same_file(out, resume):
                # The name only: messages reach the browser, the server's folders are not its business.
                raise JobError(
                    f"a run named {name!r} already exists: choose another name (nothing is overwritten)",
                    NAME_TAKEN,
                    name=name,
                )
            if len(self._queue) >= self.max_queued:
                raise JobError(
                    f"the training queue is full ({self.max_queued} waiting): try again later",
                    QUEUE_FULL,
                    waiting=self.max_queued,
                )
            job = TrainingJob(name=name, config=config, out=Path(out) if out else None, owner=owner)
            job.group = group or job.id
            job.resume = Path(resume) if resume else None
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._start_waiting()
            self._bump()
            return job

    def stop(self, job_id: str, reason: str = BY_USER, **values: object) -> TrainingJob:
        """Stop a job: a queued one is dropped from the queue, a running one finishes its step and saves.

        `reason` is a code of STOP_TEXTS (with its values); the job keeps it and its English words.
        """
        words = STOP_TEXTS[reason].format(**values)
        with self._lock:
            job = self.get(job_id)
            dropped = job.status == QUEUED
            if dropped or job.status == RUNNING:
                job.stop_reason, job.stop_code, job.stop_values = words, reason, values
            if dropped:
                self._queue.remove(job.id)
                job.status, job.finished = STOPPED, time.time()
            elif job.status == RUNNING:
                job.status = STOPPING
                job.stop_event.set()
                run = self._runs.get(job.id)
                if run is not None:
                    run.stop()
            self._bump()
        if dropped:
            self._tell(job)
        return job

    def kill(self, job_id: str) -> None:
        """End a running job's worker at once (a run that does not stop); it is reported as failed."""
        with self._lock:
            run = self._runs.get(job_id)
        if run is not None:
            run.kill()

    # --- queries --------------------------------------------------------------------------------
    def get(self, job_id: str) -> TrainingJob:
        """The job with this id; JobError when it is unknown or was pruned."""
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise JobError(
                    f"no training job {job_id!r} (finished jobs are forgotten after a while)",
                    UNKNOWN_JOB,
                    job=job_id,
                ) from None

    def find(self, job_id: str | None) -> TrainingJob | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[TrainingJob]:
        """All known jobs, oldest first."""
        with self._lock:
            self.prune()
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def active_for(self, owner: str) -> list[TrainingJob]:
        """The owner's jobs queued, running or stopping, oldest first ('Anna' and 'anna' are one owner)."""
        key = owner.casefold()
        with self._lock:
            return [j for j in self.jobs() if j.is_active and j.owner.casefold() == key]

    def queue(self) -> list[TrainingJob]:
        """Queued jobs in the order they will start."""
        with self._lock:
            return [self._jobs[i] for i in self._queue]

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to start, None when the job is not waiting."""
        with self._lock:
            return self._queue.index(job_id) + 1 if job_id in self._queue else None

    def running(self) -> list[TrainingJob]:
        """Jobs currently running or stopping."""
        with self._lock:
            return [j for j in self._jobs.values() if j.status in (RUNNING, STOPPING)]

    def wait_change(self, version: int, timeout: float) -> int:
        """Wait until `version` is out of date (a status or the queue changed) or the timeout; the version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def wait(self, job_id: str, timeout: float | None = None) -> TrainingJob:
        """Block until the job is final (or the timeout passes); returns the job."""
        job = self.get(job_id)
        with self._changed:
            self._changed.wait_for(lambda: job.is_final, timeout)
        return job

    def prune(self, now: float | None = None) -> int:
        """Forget finished jobs older than keep_finished_s; returns how many were dropped."""
        now = time.time() if now is None else now
        with self._lock:
            stale = [
                j.id
                for j in self._jobs.values()
                if j.is_final and j.finished is not None and now - j.finished > self.keep_finished_s
            ]
            for job_id in stale:
                del self._jobs[job_id]
                self._threads.pop(job_id, None)
            return len(stale)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every job and wait for the workers (tests, server exit); kill those that do not end."""
        with self._lock:
            for job in list(self._jobs.values()):
                if job.is_active:
                    self.stop(job.id, SHUTDOWN)
            threads = list(self._threads.items())
        for job_id, thread in threads:
            thread.join(timeout)
            if thread.is_alive():
                self.kill(job_id)
                thread.join(timeout)
        close = getattr(self.runner, "close", None)  # a waiting spare worker (ProcessRunner)
        if close is not None:
            close()

    # --- workers --------------------------------------------------------------------------------
    def _bump(self) -> None:
        # Called with the lock held.
        self.version += 1
        self._changed.notify_all()

    def _start_waiting(self) -> None:
        # Called with the lock held: fill the free slots from the head of the queue. The run itself is
        # started by the job's thread, so a slow process start never holds the lock.
        while self._queue and len(self.running()) < self.max_running:
            job = self._jobs[self._queue.pop(0)]
            job.status, job.started = RUNNING, time.time()
            thread = threading.Thread(target=self._work, args=(job,), name=f"job-{job.name}", daemon=True)
            self._threads[job.id] = thread
            thread.start()

    def _tell(self, job: TrainingJob) -> None:
        # Called without the lock: the listener may write a file or a database.
        if self.on_change is None:
            return
        try:
            self.on_change(job)
        except Exception:  # a listener's problem never stops training
            log.exception("on_change for training job %s failed", job.name)

    def _work(self, job: TrainingJob) -> None:
        self._tell(job)  # running
        # A timer, not a check in the callback: a training that never reports must still be bounded.
        timer = threading.Timer(self.max_wall_s, self._time_out, args=(job,))
        timer.daemon = True
        timer.start()
        try:
            train_fn = self.train_fn
            if self._owner_in_meta and job.owner:
                train_fn = functools.partial(train_fn, owner=job.owner)  # picklable: a worker process
            run = self.runner.start(train_fn, job.config, job.out, resume=job.resume)
        except Exception as exc:  # e.g. the system refuses a new process
            log.exception("training job %s could not start", job.name)
            outcome = Outcome(failed=True, error=describe(exc), problem=problem_of(exc))
        else:
            with self._lock:
                self._runs[job.id] = run
                if job.stop_event.is_set():  # stopped while the run was being started
                    run.stop()
            outcome = self._follow(job, run)
        finally:
            timer.cancel()
        with self._lock:
            self._runs.pop(job.id, None)
            self._finish(job, outcome)
            self._start_waiting()
            self._bump()
        self._tell(job)  # done, failed or stopped

    def _follow(self, job: TrainingJob, run: Run) -> Outcome:
        outcome = Outcome(
            failed=True,
            error="training failed: the run ended without a result",
            problem=("training", NO_RESULT, {}),
        )
        for message in run.follow():
            if isinstance(message, Outcome):
                outcome = message
            else:
                job._record(message)
        return outcome

    def _finish(self, job: TrainingJob, outcome: Outcome) -> None:
        # Called with the lock held.
        job.metrics = dict(outcome.metrics)
        job.checkpoint = Path(outcome.checkpoint) if outcome.checkpoint else None
        if outcome.failed:
            job.status, job.error, job.problem = FAILED, outcome.error, outcome.problem
        else:
            if not job.stop_event.is_set() and outcome.stop_reason:  # the loop's only own reason
                job.stop_reason = outcome.stop_reason
                job.stop_code, job.stop_values = EARLY, {"patience": job.config.train.early_stopping}
            job.status = STOPPED if job.stop_event.is_set() else DONE
        job.finished = time.time()

    def _time_out(self, job: TrainingJob) -> None:
        with self._lock:
            if job.status != RUNNING:
                return
            minutes = self.max_wall_s / 60
            self.stop(job.id, TIME_LIMIT, minutes=minutes)
        # A run that does not stop in time is ended: the server's limit must hold.
        killer = threading.Timer(self.kill_grace_s, self._kill_if_running, args=(job,))
        killer.daemon = True
        killer.start()

    def _kill_if_running(self, job: TrainingJob) -> None:
        if not job.is_final:
            log.warning("training job %s did not stop within %.0f s: killing it", job.name, self.kill_grace_s)
            self.kill(job.id)
