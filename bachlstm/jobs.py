"""Background training jobs for the dashboard: worker threads, a server-wide limit with a FIFO queue."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bachlstm.checkpoints import validate_run_name

# Types only: importing training pulls in torch (~1-2 s), and every page imports jobs.py at start-up.
if TYPE_CHECKING:
    from bachlstm.presets import Preset
    from bachlstm.training import Progress, TrainResult

log = logging.getLogger(__name__)

# Statuses a job moves through; the last three are final.
QUEUED, RUNNING, STOPPING = "queued", "running", "stopping"
DONE, FAILED, STOPPED = "done", "failed", "stopped"
FINAL = (DONE, FAILED, STOPPED)


class JobError(ValueError):
    """A job request that cannot be accepted (name taken, full queue, unknown job)."""


@dataclass
class TrainingJob:
    """One training run: its request, status and progress, written by its worker, read by pages."""

    name: str
    config: Preset  # what train() takes
    out: Path | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    owner: str = ""  # the session that started it (pages show other sessions' jobs only as queue entries)
    status: str = QUEUED
    history: list = field(default_factory=list)  # Progress records, oldest first
    error: str | None = None
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


def default_train(config: Preset, *, callback, stop_event, out, resume=None) -> TrainResult:
    """Call bachlstm.training.train."""
    from bachlstm.training import train  # late: torch loads with the first job, not with every page

    return train(config, callback=callback, stop_event=stop_event, out=out, resume=resume)


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
        raise JobError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise JobError(f"{name} must be at least 1, got {value}")
    return value


class JobManager:
    """Runs training jobs in worker threads, at most `max_running` at once, the rest in a FIFO queue.

    Thread-safe; one instance is shared by every session of the server. Jobs are bounded: each is
    asked to stop after `max_wall_s` seconds (env BACHLSTM_MAX_JOB_SECONDS, default 3600; threads
    outlive closed browser tabs), and finished jobs are forgotten `keep_finished_s` seconds after they
    end (their checkpoints stay on disk). `max_running` defaults to env BACHLSTM_MAX_JOBS or 1.
    """

    def __init__(
        self,
        train_fn: Callable | None = None,
        *,
        max_running: int | None = None,
        max_queued: int = 20,
        max_wall_s: float | None = None,
        keep_finished_s: float = 6 * 3600.0,
    ) -> None:
        self.train_fn = train_fn or default_train
        self.max_running = max_running if max_running is not None else _env_int("BACHLSTM_MAX_JOBS", 1)
        # A workshop server must not train forever for a tab closed long ago: one hour by default.
        if max_wall_s is None:
            max_wall_s = _env_int("BACHLSTM_MAX_JOB_SECONDS", 3600)
        if self.max_running < 1:
            raise JobError(f"max_running must be at least 1, got {self.max_running}")
        if max_wall_s <= 0:
            raise JobError(f"max_wall_s must be positive, got {max_wall_s}")
        self.max_queued = max_queued
        self.max_wall_s = max_wall_s
        self.keep_finished_s = keep_finished_s
        self._lock = threading.RLock()
        self._jobs: dict[str, TrainingJob] = {}
        self._queue: list[str] = []
        self._threads: dict[str, threading.Thread] = {}

    # --- requests -------------------------------------------------------------------------------
    def submit(
        self,
        name: str,
        config: Preset,
        *,
        out: Path | None = None,
        owner: str = "",
        resume: Path | None = None,
    ) -> TrainingJob:
        """Queue a job (started at once when a slot is free); `resume` continues that checkpoint.

        CheckpointError for an invalid run name (checkpoints.validate_run_name), JobError when the
        name is taken or the queue is full. `out` must not exist, unless it is the resumed file.
        """
        with self._lock:
            self.prune()
            name = validate_run_name(name)
            if name in {j.name for j in self._jobs.values() if j.is_active}:
                raise JobError(
                    f"a run named {name!r} already exists: choose another name (nothing is overwritten)"
                )
            if out is not None and os.path.lexists(out) and not _same_file(out, resume):
                # The name only: messages reach the browser, the server's folders are not its business.
                raise JobError(
                    f"a run named {name!r} already exists: choose another name (nothing is overwritten)"
                )
            if len(self._queue) >= self.max_queued:
                raise JobError(f"the training queue is full ({self.max_queued} waiting): try again later")
            job = TrainingJob(name=name, config=config, out=Path(out) if out else None, owner=owner)
            job.resume = Path(resume) if resume else None
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._start_waiting()
            return job

    def stop(self, job_id: str, reason: str = "stopped by the user") -> TrainingJob:
        """Stop a job: a queued one is dropped from the queue, a running one finishes its step and saves."""
        with self._lock:
            job = self.get(job_id)
            if job.status == QUEUED:
                self._queue.remove(job.id)
                job.status, job.stop_reason, job.finished = STOPPED, reason, time.time()
            elif job.status == RUNNING:
                job.status, job.stop_reason = STOPPING, reason
                job.stop_event.set()
            return job

    # --- queries --------------------------------------------------------------------------------
    def get(self, job_id: str) -> TrainingJob:
        """The job with this id; JobError when it is unknown or was pruned."""
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise JobError(
                    f"no training job {job_id!r} (finished jobs are forgotten after a while)"
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

    def wait(self, job_id: str, timeout: float | None = None) -> TrainingJob:
        """Block until the job is final (or the timeout passes); returns the job."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.get(job_id)
        while not job.is_final:
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.02)
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
        """Stop every job and wait for the workers (tests, server exit)."""
        with self._lock:
            for job in list(self._jobs.values()):
                if job.is_active:
                    self.stop(job.id, "server shutting down")
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)

    # --- workers --------------------------------------------------------------------------------
    def _start_waiting(self) -> None:
        # Called with the lock held: fill the free slots from the head of the queue.
        while self._queue and len(self.running()) < self.max_running:
            job = self._jobs[self._queue.pop(0)]
            job.status, job.started = RUNNING, time.time()
            thread = threading.Thread(target=self._work, args=(job,), name=f"train-{job.name}", daemon=True)
            self._threads[job.id] = thread
            thread.start()

    def _work(self, job: TrainingJob) -> None:
        # A timer, not a check in the callback: a training that never reports must still be bounded.
        timer = threading.Timer(self.max_wall_s, self._time_out, args=(job,))
        timer.daemon = True
        timer.start()
        try:
            kwargs = {"resume": job.resume} if job.resume is not None else {}
            result = self.train_fn(
                job.config, callback=job._record, stop_event=job.stop_event, out=job.out, **kwargs
            )
            # Keep the figures, not the result: it holds the model, and the file on disk is what counts.
            job.metrics = dict(result.metrics)
            job.checkpoint = result.checkpoint_path
            if not job.stop_event.is_set() and result.stop_reason:
                job.stop_reason = result.stop_reason  # e.g. early stopping
            status, error = (STOPPED if job.stop_event.is_set() else DONE), None
        except Exception as exc:  # any training error becomes a message for the page, never a crash
            if job.stop_event.is_set():  # stopped while the data was prepared: nothing was saved
                status, error = STOPPED, None
            else:
                log.exception("training job %s failed", job.name)
                status, error = FAILED, _describe(exc)
        finally:
            timer.cancel()
        with self._lock:
            job.status, job.error, job.finished = status, error, time.time()
            self._start_waiting()

    def _time_out(self, job: TrainingJob) -> None:
        with self._lock:
            if job.status == RUNNING:
                minutes = self.max_wall_s / 60
                self.stop(job.id, f"stopped after the server's time limit of {minutes:g} min")


def _describe(exc: Exception) -> str:
    """A one-line message for the page: the error's type only when its text alone would be unclear."""
    text = str(exc).strip() or "no details"
    if isinstance(exc, ValueError):
        return f"training failed: {text}"
    if isinstance(exc, MemoryError):
        return "training failed: out of memory (try a smaller model, batch size or sequence length)"
    return f"training failed ({type(exc).__name__}): {text}"
