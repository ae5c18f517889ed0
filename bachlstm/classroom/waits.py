"""How long a queued run waits: the cost estimates of the runs ahead of it, slot by slot.

The server trains `max_running` runs at once and takes queued runs first come, first served. A
running run has left what its own progress says (`Progress.eta_s`, from its measured speed), or, before
its first progress, its estimated cost (`budget.Estimate.run_s` plus the data preparation) less the
time it has run. A queued run waits until a slot is free for it: the slots are filled in queue order,
each queued run taking its estimated cost. The estimates are for a laptop CPU; `pace` (the median of
real over estimated time of the runs this server finished, and of the running runs so far, `pace_from`)
scales them to this server as busy as it is now.
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections.abc import Callable, Iterable, Sequence

from bachlstm.training.jobs import DONE, QUEUED, JobManager, TrainingJob

PREPARE_S = 5.0  # reading and windowing the data before the first step (measured: 3-6 s, workshop)
PACE_BOUNDS = (0.25, 4.0)  # a pace outside this is a measurement gone wrong, not this server


def queue_waits(running_left: Sequence[float], queued_cost: Sequence[float], slots: int) -> list[float]:
    """Seconds until each queued run starts (queue order), given each running run's time left."""
    if slots < 1:
        raise ValueError(f"slots must be at least 1, got {slots}")
    free_at = sorted(max(0.0, t) for t in running_left)[:slots]
    free_at += [0.0] * (slots - len(free_at))  # idle slots are free now
    heapq.heapify(free_at)
    waits = []
    for cost in queued_cost:
        start = heapq.heappop(free_at)
        waits.append(start)
        heapq.heappush(free_at, start + max(0.0, cost))
    return waits


def pace_from(pairs: Iterable[tuple[float, float]]) -> float:
    """Real over estimated seconds, the median of finished runs' (real, estimated) pairs; 1 without any."""
    ratios = [real / est for real, est in pairs if est > 0 and real > 0]
    if not ratios:
        return 1.0
    low, high = PACE_BOUNDS
    return min(high, max(low, statistics.median(ratios)))


def time_left(job: TrainingJob, cost_s: float, now: float, pace: float = 1.0) -> float:
    """A running run's seconds left: its own speed so far carried to its end once it has made a step
    (`observed`), else its estimated cost (`cost_s` plus PREPARE_S, times `pace`) less its time so far."""
    elapsed = max(0.0, now - (job.started or now))  # a `now` from before the start: not begun yet
    seen = observed(job, cost_s, now)
    if seen is not None and seen[1] > 0:
        pace = seen[0] / seen[1]
    return max(0.0, pace * (cost_s + PREPARE_S) - elapsed)


def observed(job: TrainingJob, cost_s: float, now: float) -> tuple[float, float] | None:
    """A running run's (real, estimated) seconds so far, from its progress; None before its first step.

    So the pace reflects how busy the server is now, before any run has finished."""
    latest = job.latest()
    if latest is None or not job.started or not latest.total_steps or latest.step <= 0:
        return None
    if now <= job.started:  # progress from after `now`: no time to divide it by
        return None
    done = min(1.0, latest.step / latest.total_steps)
    return now - job.started, PREPARE_S + done * cost_s


def job_waits(
    manager: JobManager, cost_s: Callable[[TrainingJob], float], now: float | None = None
) -> dict[str, float]:
    """Each queued job's estimated wait in seconds, by job id.

    `cost_s(job)`: the job's estimated seconds on a laptop CPU (the page gives budget's run_s); the
    server's pace (its finished runs, real over estimated) and PREPARE_S are applied here.
    """
    now = time.time() if now is None else now
    jobs = manager.jobs()
    pairs = [
        ((j.finished or 0) - (j.started or 0), cost_s(j) + PREPARE_S)
        for j in jobs
        if j.status == DONE and j.started and j.finished
    ]
    pairs += [p for j in manager.running() if (p := observed(j, cost_s(j), now)) is not None]
    pace = pace_from(pairs)
    running = [time_left(j, cost_s(j), now, pace) for j in manager.running()]
    queue = [j for j in manager.queue() if j.status == QUEUED]
    waits = queue_waits(running, [pace * (cost_s(j) + PREPARE_S) for j in queue], manager.max_running)
    return {j.id: w for j, w in zip(queue, waits)}
