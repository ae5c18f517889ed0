"""Where a training job runs: a worker process per run (the default), or a thread for tests and scripts.

The job manager (jobs.py) keeps the queue, the limit and the statuses; a *runner* only starts one run
and hands back a `Run` that yields the run's messages and takes a stop or kill. That is the whole
interface a distributed engine would have to serve (see the README's "Running for a class"):

    run = runner.start(train_fn, config, out)     # train_fn(config, callback=, stop_event=, out=)
    for message in run.follow(): ...              # Progress(...), then one Outcome; blocks
    run.stop(); run.kill()                        # from any thread

Worker processes use the 'spawn' start method on every platform (the only one on Windows, the
default on macOS): a fresh interpreter that shares nothing with the server, so training never holds
the server's GIL and a crashing or killed worker cannot take the server down.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.spawn as mp_spawn
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bachlstm.settings.problems import code_of

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often a follower wakes to notice a worker that died without a word
JOIN_S = 10.0  # how long to wait for a worker that has said its last word to exit


@dataclass(frozen=True)
class Outcome:
    """A run's last message: finished (maybe stopped early) or failed with a sentence for the page."""

    failed: bool
    error: str | None = None
    checkpoint: str | None = None  # where the run saved its model, None when nothing was saved
    metrics: dict = field(default_factory=dict)  # TrainResult.metrics, figures only (no model)
    stop_reason: str = ""  # e.g. early stopping; "" when the run ended normally or was stopped
    problem: tuple = ()  # a failure as (kind, code, values) for a page to word (problem_of); () if none


class Run(Protocol):
    """One started run, as the manager sees it."""

    def follow(self) -> Iterator[Any]:
        """The run's Progress records as they come, then exactly one Outcome; blocks between them."""
        ...

    def stop(self) -> None:
        """Ask the run to stop: it finishes its step, saves its best model and ends with an Outcome."""
        ...

    def kill(self) -> None:
        """End the run now (a run that ignores stop); follow() then ends with a failed Outcome."""
        ...


class Runner(Protocol):
    """Starts runs: the embedded default is `ProcessRunner`; a Ray/Dask/Celery runner would be another."""

    def start(self, train_fn: Callable, config: Any, out: Path | None, resume: Path | None = None) -> Run:
        """Start `train_fn(config, callback=, stop_event=, out=[, resume=])` somewhere; its Run.

        train_fn returns what training.train returns (its checkpoint_path, metrics, stop_reason are read).
        """
        ...


# Failure codes (kind "training"): what a page says when a run fails.
FAILED = "failed"  # error: the error's type name (the server's log has the details)
OUT_OF_MEMORY = "out_of_memory"
NO_RESULT = "no_result"  # the run ended without a result
PROCESS_ENDED = "process_ended"  # signal (a name, "" when none), exitcode (None when it stopped answering)


def problem_of(exc: BaseException) -> tuple[str, str, dict]:
    """A failed run's error as (kind, code, values): the error's own code where it has one."""
    coded = code_of(exc)
    if coded is not None:
        return coded
    if isinstance(exc, MemoryError):
        return ("training", OUT_OF_MEMORY, {})
    return ("training", FAILED, {"error": type(exc).__name__})


def describe(exc: BaseException) -> str:
    """A one-line message for the page: the error's type only when its text alone would be unclear."""
    text = str(exc).strip() or "no details"
    if isinstance(exc, ValueError):
        return f"training failed: {text}"
    if isinstance(exc, MemoryError):
        return "training failed: out of memory (try a smaller model, batch size or sequence length)"
    return f"training failed ({type(exc).__name__}): {text}"


def run_to_outcome(
    train_fn: Callable, config: Any, out: Path | None, callback, stop_event, resume: Path | None = None
) -> Outcome:
    """Call train_fn and turn whatever happens into an Outcome (never raises for a training error).

    `resume` (a checkpoint to continue) is passed on only when given.
    """
    kwargs = {"resume": resume} if resume is not None else {}
    try:
        result = train_fn(config, callback=callback, stop_event=stop_event, out=out, **kwargs)
    except Exception as exc:  # any training error becomes a message for the page, never a crash
        if stop_event.is_set():  # stopped while the data was prepared: nothing was saved
            return Outcome(failed=False)
        log.exception("training run %s failed", out)
        return Outcome(failed=True, error=describe(exc), problem=problem_of(exc))
    # Keep the figures, not the result: it holds the model, and the file on disk is what counts.
    path = result.checkpoint_path
    return Outcome(
        failed=False,
        checkpoint=str(path) if path is not None else None,
        metrics=dict(result.metrics),
        stop_reason=result.stop_reason,
    )


# --- threads (tests, scripts, a train_fn that cannot be pickled) --------------------------------


class ThreadRun:
    """A run in a thread of this process; kill() is not possible for a thread and only asks to stop."""

    def __init__(self, train_fn: Callable, config: Any, out: Path | None, resume: Path | None = None) -> None:
        self._messages: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(train_fn, config, out, resume), name=f"train-{out}", daemon=True
        )
        self._thread.start()

    def _main(self, train_fn, config, out, resume) -> None:
        outcome = run_to_outcome(train_fn, config, out, self._messages.put, self._stop, resume)
        self._messages.put(outcome)

    def follow(self) -> Iterator[Any]:
        """Progress records, then the Outcome."""
        while True:
            message = self._messages.get()
            yield message
            if isinstance(message, Outcome):
                return

    def stop(self) -> None:
        """Set the stop flag train() checks."""
        self._stop.set()

    def kill(self) -> None:
        """Threads cannot be killed: the same as stop()."""
        self._stop.set()


class ThreadRunner:
    """Runs each job in a thread of the calling process (what the dashboard did before worker processes)."""

    def start(
        self, train_fn: Callable, config: Any, out: Path | None, resume: Path | None = None
    ) -> ThreadRun:
        """Start the run in a daemon thread."""
        return ThreadRun(train_fn, config, out, resume)


# --- processes (the dashboard's default) ------------------------------------------------------


def _worker_main(train_fn: Callable, config: Any, out: Path | None, resume, conn, stop_event) -> None:
    """The worker process: train, sending each Progress and then the Outcome through `conn`."""
    parent = multiprocessing.parent_process()
    if parent is not None:  # a server that dies must not leave its workers training for nobody
        threading.Thread(target=_stop_when_gone, args=(parent, stop_event), daemon=True).start()

    def send(message: Any) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):  # the server is gone: finish quietly (the model is saved)
            stop_event.set()

    send(run_to_outcome(train_fn, config, out, send, stop_event, resume))
    conn.close()


def _stop_when_gone(parent, stop_event) -> None:
    parent.join()
    stop_event.set()


def _signal_name(exitcode: int | None) -> str:
    """The signal that ended a process ("SIGKILL"), "" when it exited or stopped answering."""
    if exitcode is None or exitcode >= 0:
        return ""
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


def exit_reason(exitcode: int | None) -> str:
    """Why a worker process ended without reporting, in words for the page."""
    if exitcode is None:
        return "the training process stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory, or the process was ended by hand)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint}"
    return f"the training process crashed (exit code {exitcode})"


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """Start 'spawn' children without re-running the parent's `__main__` in them.

    A spawned child normally re-executes the parent's main script first. In a dashboard that is the
    Streamlit page script (Streamlit runs each page as `__main__`), under AppTest a generated script,
    under a test runner the runner: none belongs in a worker, which needs only the train function,
    imported by its module name. multiprocessing has no option for this, so the preparation data of
    our own starts is trimmed (under a lock, restored at once).
    """
    original = mp_spawn.get_preparation_data

    def prepare(name: str) -> dict:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _START_LOCK:
        mp_spawn.get_preparation_data = prepare
        try:
            yield
        finally:
            mp_spawn.get_preparation_data = original


def _waiting_main(conn, stop_event, warm: tuple[str, ...]) -> None:
    """A worker started before its job: import what training needs, then take one job from `conn`.

    The imports (torch, music21: about two seconds) happen while the previous run trains, so the next
    run starts at once. A server that goes away before sending a job closes the pipe: the worker ends.
    """
    for name in warm:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the job itself will report what is wrong
            log.debug("warming %s failed: %s", name, exc)
    try:
        job = conn.recv()
    except (EOFError, OSError):
        return
    if job is None:
        return
    train_fn, config, out, resume = job
    _worker_main(train_fn, config, out, resume, conn, stop_event)


class _Worker:
    """A started worker process with its two-way pipe and stop flag, waiting for one job."""

    def __init__(self, ctx, warm: tuple[str, ...]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.stop = ctx.Event()
        self.process = ctx.Process(
            target=_waiting_main, args=(child, self.stop, warm), name="bachlstm-train", daemon=True
        )
        with _without_main():
            self.process.start()
        # Our copy of the child's end must go, or a dead worker would never read as end-of-file.
        child.close()

    def close(self) -> None:
        """Let a worker that never got a job go (it ends when its pipe closes)."""
        with contextlib.suppress(OSError):
            self.conn.close()
        self.process.join(JOIN_S)
        if self.process.is_alive():
            self.process.kill()


class ProcessRun:
    """A run in its own worker process; messages come through the worker's pipe."""

    def __init__(self, worker: _Worker, train_fn: Callable, config: Any, out: Path | None, resume) -> None:
        self.process = worker.process
        self._stop = worker.stop
        self._reader = worker.conn
        with contextlib.suppress(BrokenPipeError, OSError):  # a worker that died waiting: follow() says so
            worker.conn.send((train_fn, config, out, resume))

    def follow(self) -> Iterator[Any]:
        """Progress records, then the Outcome; a worker that dies silently gives a failed Outcome."""
        try:
            while True:
                if not self._reader.poll(POLL_S):
                    if not self.process.is_alive() and not self._reader.poll(0):
                        break
                    continue
                message = self._reader.recv()
                yield message
                if isinstance(message, Outcome):
                    self.process.join(JOIN_S)
                    return
        except (EOFError, OSError):  # the pipe closed (the worker died), or a message was cut short
            pass
        finally:
            self._reader.close()
        self.process.join(JOIN_S)
        code = self.process.exitcode
        yield Outcome(
            failed=True,
            error=f"training failed: {exit_reason(code)}",
            problem=("training", PROCESS_ENDED, {"exitcode": code, "signal": _signal_name(code)}),
        )

    def stop(self) -> None:
        """Set the stop flag the worker's train() checks."""
        self._stop.set()

    def kill(self) -> None:
        """End the worker process at once (its last complete checkpoint stays on disk)."""
        if self.process.is_alive():
            self.process.kill()


class ProcessRunner:
    """Runs each job in its own worker process started with 'spawn' (the same on Linux, macOS, Windows).

    `train_fn` must be picklable (a module-level function), as must the config and what train_fn
    reports. A fresh process per run gives each run a clean memory that is returned to the system when
    it ends; its interpreter start and imports (about two seconds with torch) are paid ahead: once a
    run has started, one more worker is started and waits, with `warm` imported, for the next run
    (`spare=False`: no waiting worker, each run starts its own).
    """

    def __init__(self, spare: bool = True, warm: tuple[str, ...] = ("bachlstm.training.loop",)) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._keep_spare, self._warm = spare, warm
        self._spare: _Worker | None = None
        self._lock = threading.Lock()

    def start(
        self, train_fn: Callable, config: Any, out: Path | None, resume: Path | None = None
    ) -> ProcessRun:
        """Hand the run to the waiting worker (or start one), then start the next waiting worker."""
        with self._lock:
            worker, self._spare = self._spare, None
            if worker is None or not worker.process.is_alive():
                worker = _Worker(self._ctx, self._warm)
            run = ProcessRun(worker, train_fn, config, out, resume)
            if self._keep_spare:
                self._spare = _Worker(self._ctx, self._warm)
        return run

    @property
    def spare(self) -> multiprocessing.process.BaseProcess | None:
        """The waiting worker's process (pid, exitcode, is_alive()), None when there is none."""
        spare = self._spare
        return spare.process if spare is not None else None

    def close(self) -> None:
        """End the waiting worker (server exit, tests); running workers are the job manager's."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()
